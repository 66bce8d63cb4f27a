import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { readSettings } from '../protocol/settings.ts';
import { startControl, type Control } from './server.ts';
import { controlSettings } from './settings.ts';
import { TEST_SCRYPT_COST } from './store/testing.ts';

const log = pino({ level: 'silent' });

describe('startControl', () => {
  const homes: string[] = [];
  let control: Control | undefined;
  afterEach(async () => {
    await control?.close();
    control = undefined;
    for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
  });
  const settings = (argv: string[] = []) => {
    const home = mkdtempSync(join(tmpdir(), 'wharf-start-'));
    homes.push(home);
    return { ...readSettings(controlSettings, ['--listen', '127.0.0.1:0', ...argv], {}).values, home };
  };

  it('refuses a raw metrics retention longer than the coarse one, naming both flags', async () => {
    await expect(startControl(settings(['--metrics-raw-retention', '2d', '--metrics-retention', '1d']), log, { scryptCost: TEST_SCRYPT_COST }))
      .rejects.toThrow(/--metrics-raw-retention .* must not be longer than --metrics-retention/);
  });

  it('lets an in-process composer set the public URL; links follow it, WHARF_PUBLIC_URL wins', async () => {
    const s = settings();
    control = await startControl(s, log, { scryptCost: TEST_SCRYPT_COST });
    const token = readFileSync(join(s.home, 'admin.token'), 'utf8').trim();
    const headers = { authorization: `Bearer ${token}` };
    const launched = await control.app.inject({ method: 'POST', url: '/api/v1/instances', headers, payload: { app: 'container', image: 'wharf/busybox:local', routing: { mode: 'https', port: 8080 } } });
    const id = launched.json().id as string;
    expect(launched.json().links.https).toBe(`https://${id}.apps.localhost:8443/`);
    expect(control.setPublicUrl('https://localhost:12345/')).toBe(true);
    expect((await control.app.inject({ url: `/api/v1/instances/${id}`, headers })).json().links.https).toBe(`https://${id}.apps.localhost:12345/`);
    expect(control.hosts.source).toBe('composer');
    await control.close();

    control = await startControl({ ...s, publicUrl: 'https://wharf.test/' }, log, { scryptCost: TEST_SCRYPT_COST });
    expect(control.setPublicUrl('https://localhost:12345/')).toBe(false);
    expect((await control.app.inject({ url: `/api/v1/instances/${id}`, headers })).json().links.https).toBe(`https://${id}.apps.localhost/`);
  });
});
