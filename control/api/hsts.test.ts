import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { readSettings } from '../../protocol/settings.ts';
import { startControl, type Control } from '../server.ts';
import { controlSettings } from '../settings.ts';
import { TEST_SCRYPT_COST } from '../store/testing.ts';
import { HSTS_MAX_AGE_S, hstsApplies, hstsValue } from './hsts.ts';

const log = pino({ level: 'silent' });

/** GET `path` from control with the Host header a gateway would pass through; the HSTS header. */
function hstsOf(control: Control, host: string, path = '/healthz'): Promise<{ status: number; hsts: string | undefined }> {
  const [hostname, port] = control.listen.split(':');
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port: Number(port), path, headers: { host } }, (res) => {
      res.resume();
      resolve({ status: res.statusCode!, hsts: res.headers['strict-transport-security'] as string | undefined });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('Strict-Transport-Security', () => {
  it('is for domain names only: never localhost, *.localhost or an IP address', () => {
    for (const host of ['localhost', 'LOCALHOST.', 'apps.localhost', 'x.apps.localhost', '127.0.0.1', '[::1]', '::1', '10.1.2.3', '']) expect(hstsApplies(host), host).toBe(false);
    for (const host of ['wharf.example.com', 'localhost.example.com', 'example.localhost.com']) expect(hstsApplies(host), host).toBe(true);
    expect(hstsValue('https://wharf.example.com/', false)).toBe(`max-age=${HSTS_MAX_AGE_S}`);
    expect(hstsValue('https://wharf.example.com:8443/', true)).toBe(`max-age=${HSTS_MAX_AGE_S}; includeSubDomains`);
    expect(hstsValue('https://localhost:8443/', true)).toBeUndefined();
    expect(hstsValue('https://127.0.0.1:8443/', false)).toBeUndefined();
    expect(HSTS_MAX_AGE_S).toBeGreaterThanOrEqual(31_536_000); // a year at least (hstspreload.org)
  });

  describe('on a running control', () => {
    const homes: string[] = [];
    let control: Control | undefined;
    afterEach(async () => {
      await control?.close();
      control = undefined;
      for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
    });
    const start = async (argv: string[]) => {
      const home = mkdtempSync(join(tmpdir(), 'wharf-hsts-'));
      homes.push(home);
      control = await startControl({ ...readSettings(controlSettings, ['--listen', '127.0.0.1:0', ...argv], {}).values, home }, log, { scryptCost: TEST_SCRYPT_COST });
      return control;
    };

    it('sends it on every answer for the main host (200, 401, 404), without includeSubDomains unless set; not for control\'s own address', async () => {
      const c = await start(['--public-url', 'https://wharf.example.test:8443/']);
      expect(await hstsOf(c, 'wharf.example.test:8443')).toEqual({ status: 200, hsts: 'max-age=63072000' });
      expect(await hstsOf(c, 'WHARF.example.test', '/api/v1/instances')).toEqual({ status: 401, hsts: 'max-age=63072000' });
      expect(await hstsOf(c, 'wharf.example.test:8443', '/no-such-page')).toEqual({ status: 404, hsts: 'max-age=63072000' });
      expect((await hstsOf(c, c.listen)).hsts).toBeUndefined();
      expect((await hstsOf(c, 'other.example.test:8443')).hsts).toBeUndefined();
    });

    it('adds includeSubDomains with --hsts-include-subdomains (or WHARF_HSTS_INCLUDE_SUBDOMAINS)', async () => {
      expect(readSettings(controlSettings, [], { WHARF_HSTS_INCLUDE_SUBDOMAINS: '1' }).values.hstsIncludeSubdomains).toBe(true);
      expect(readSettings(controlSettings, [], {}).values.hstsIncludeSubdomains).toBe(false);
      const c = await start(['--public-url', 'https://wharf.example.test/', '--hsts-include-subdomains']);
      expect((await hstsOf(c, 'wharf.example.test')).hsts).toBe('max-age=63072000; includeSubDomains');
    });

    it('sends none while the public URL is localhost, and follows a public URL set after start', async () => {
      const c = await start(['--hsts-include-subdomains']);
      expect(c.hosts.publicUrl).toBe('https://localhost:8443/');
      expect((await hstsOf(c, 'localhost:8443')).hsts).toBeUndefined();
      expect(c.setPublicUrl('https://127.0.0.1:9443/')).toBe(true);
      expect((await hstsOf(c, '127.0.0.1:9443')).hsts).toBeUndefined();
      expect(c.setPublicUrl('https://wharf.example.test/')).toBe(true);
      expect((await hstsOf(c, 'wharf.example.test')).hsts).toBe('max-age=63072000; includeSubDomains');
    });
  });
});
