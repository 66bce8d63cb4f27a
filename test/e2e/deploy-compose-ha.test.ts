import { describe, expect, it } from 'vitest';
import { CONTROL_COMPOSE, ROOT, run } from '../support/compose.ts';

const HA_COMPOSE = `${ROOT}docker-compose.ha.yml`;

/*
 * docker-compose.ha.yml as Debian's docker-compose 1.29 reads it over docker-compose.yml
 * (`config`: the merged file, nothing started): two controls on WHARF_STORE, sharing their
 * home, the gateway following both; and a clear refusal without WHARF_STORE. Controls, agents
 * and gateways on one PostgreSQL running for real are test/e2e/ha-controls.test.ts.
 */
describe('docker-compose.ha.yml over docker-compose.yml', () => {
  const config = (env: Record<string, string>) => run('docker-compose', ['-f', CONTROL_COMPOSE, '-f', HA_COMPOSE, 'config'], { env });

  it('runs two controls on the store, with one home, and a gateway that follows both', async () => {
    const merged = await config({ WHARF_STORE: 'postgres://wharf:pw@db.internal:5432/wharf', WHARF_CONTROL_2_PORT: '7411' });
    expect(merged.code, merged.stderr).toBe(0);
    const service = (name: string) => {
      const start = merged.stdout.indexOf(`\n  ${name}:\n`);
      expect(start, `service ${name}`).toBeGreaterThan(-1);
      const rest = merged.stdout.slice(start + 1);
      const end = rest.slice(1).search(/\n {2}\S/);
      return end === -1 ? rest : rest.slice(0, end + 1);
    };
    for (const name of ['control', 'control-2']) {
      expect(service(name)).toContain('WHARF_STORE: postgres://wharf:pw@db.internal:5432/wharf');
      expect(service(name)).toContain('- control-home:/var/lib/wharf:rw');
    }
    expect(service('control-2')).toContain('127.0.0.1:7411:7400/tcp');
    expect(service('gateway')).toContain('WHARF_GATEWAY_CONTROL: http://127.0.0.1:7400,http://127.0.0.1:7411');
    expect(service('gateway')).toMatch(/control-2:\n\s+condition: service_healthy/);
  });

  it('refuses to start without WHARF_STORE, saying what to set', async () => {
    const refused = await config({});
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('set WHARF_STORE to postgres://USER:PASSWORD@HOST:PORT/DATABASE');
  });
});
