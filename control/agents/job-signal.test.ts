import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { apiFixture, type ApiFixture } from '../api/testing.ts';
import { testConfig } from '../store/testing.ts';

// A waiting lease and a launch through the real API, in process: the lease's next look at the
// queues would be a minute away, so only the launch's wake-up can hand it the job.
describe('a waiting lease', () => {
  let f: ApiFixture;
  beforeEach(async () => {
    f = await apiFixture({ agents: { leaseMs: 30_000, tcpPorts: [21400, 21409], pollMs: 60_000 } });
  });
  afterEach(() => f.close());

  it('takes a job launched while it waits, without waiting for its next look', async () => {
    const admin = await f.user('admin', { admin: true });
    const agent = await f.agent(admin.token, 'a1', ['default']);
    const started = Date.now();
    const waiting = f.control.app.inject({ method: 'POST', url: '/api/v1/agent/lease?wait=20000', headers: { authorization: agent.auth } });
    await new Promise((r) => setTimeout(r, 50)); // the lease has looked once and waits
    const launched = await f.call('POST', '/api/v1/instances', admin.token, testConfig());
    expect(launched.statusCode, launched.body).toBe(201);
    const lease = await waiting;
    expect(lease.statusCode).toBe(200);
    expect(lease.json().instance).toBe(launched.json().id);
    // Woken by the launch, not by the end of its 20 s wait (its own next look is a minute away).
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
