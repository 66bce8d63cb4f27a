import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Stack } from '../support/stack.ts';

/*
 * Real processes: `wharf control` (a refusal after 3 failed sign-ins per address, 1 ms first
 * wait) and a `wharf gateway` fed by it; no agent. Browsers on different loopback addresses
 * (127.0.0.2, 127.0.0.3) sign in through the gateway, whose X-Forwarded-For control believes
 * because the gateway proves itself with its key; a client that talks to control directly
 * cannot pick the address it is counted by. No test waits out a refusal: it reads Retry-After.
 */
describe('sign-in throttling through the gateway', () => {
  let stack: Stack;
  const password = 'bob-password-1';

  beforeAll(async () => {
    // No agent, and so no Docker image: only control and the gateway take part.
    stack = new Stack({ noAgent: true, controlArgs: ['--signin-failures', '3', '--signin-delay-ms', '1'] });
    try {
      await stack.start();
      await stack.addUser('bob', password);
    } catch (err) {
      await stack.stop();
      throw err;
    }
  }, 60_000);
  afterAll(() => stack?.stop());

  const origin = () => `https://localhost:${stack.gateway.httpsPort}`;

  /** POST /api/v1/auth/login through the gateway's main host, from the loopback address `from`. */
  const viaGateway = (from: string, name: string, pass: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
      const req = https.request({
        host: '127.0.0.1', port: stack.gateway.httpsPort, localAddress: from, servername: 'localhost', ca: stack.gateway.ca, agent: false,
        method: 'POST', path: '/api/v1/auth/login',
        headers: { host: `localhost:${stack.gateway.httpsPort}`, origin: origin(), 'content-type': 'application/json', ...headers },
      }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end(JSON.stringify({ name, password: pass }));
    });

  /** The same login straight to control (from 127.0.0.1), with headers a client chose itself. */
  const direct = (name: string, pass: string, headers: Record<string, string>) => fetch(`${stack.url}/api/v1/auth/login`, {
    method: 'POST', headers: { origin: origin(), 'content-type': 'application/json', ...headers }, body: JSON.stringify({ name, password: pass }),
  });

  const failures = async () => {
    const text = await (await fetch(`${stack.url}/metrics`)).text();
    const count = (reason: string) => Number(new RegExp(`^wharf_control_signin_failures_total\\{reason="${reason}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
    return { bad_login: count('bad_login'), throttled: count('throttled') };
  };

  it('refuses one client address with 429 and Retry-After; other addresses and the right password are unaffected', async () => {
    const before = await failures();
    const wrongPassword = await viaGateway('127.0.0.2', 'bob', 'wrong');
    const noSuchUser = await viaGateway('127.0.0.2', 'nobody', password);
    // A wrong name and a wrong password get the same answer.
    expect([wrongPassword.status, wrongPassword.headers['x-wharf-error'], wrongPassword.body]).toEqual([401, 'CTL_BAD_LOGIN', noSuchUser.body]);
    expect((await viaGateway('127.0.0.2', 'bob', 'wrong-again')).status).toBe(401);

    const refused = await viaGateway('127.0.0.2', 'bob', password);
    expect(refused.status).toBe(429);
    expect(refused.headers['x-wharf-error']).toBe('CTL_TOO_MANY_SIGNINS');
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // The gateway replaces what the client says about itself (and drops a key header of its own).
    const spoofed = await viaGateway('127.0.0.2', 'bob', password, { 'x-forwarded-for': '198.51.100.7', 'x-wharf-gateway-key': 'wharfgw_x_y' });
    expect(spoofed.status).toBe(429);

    // Another browser through the same gateway, and bob himself from there: no lockout.
    const other = await viaGateway('127.0.0.3', 'bob', password);
    expect(other.status, other.body).toBe(200);
    expect(other.headers['set-cookie']?.[0]).toMatch(/^wharf_console=/);
    expect(await failures()).toEqual({ bad_login: before.bad_login + 3, throttled: before.throttled + 2 });
  });

  it('counts a direct client by its own address, whatever X-Forwarded-For it sends', async () => {
    const before = await failures();
    for (let i = 0; i < 3; i++) {
      const res = await direct('bob', 'wrong', { 'x-forwarded-for': `203.0.113.${i}`, 'x-wharf-gateway-key': 'wharfgw_x_y' });
      expect(res.status).toBe(401);
    }
    const refused = await direct('bob', password, { 'x-forwarded-for': '203.0.113.99' });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // Bob still signs in from another address through the gateway.
    expect((await viaGateway('127.0.0.3', 'bob', password)).status).toBe(200);
    expect(await failures()).toEqual({ bad_login: before.bad_login + 3, throttled: before.throttled + 1 });
  });
});
