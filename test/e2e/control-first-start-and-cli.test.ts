import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlProcess } from '../support/control-process.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { adminRoutes, envLines, runWharf, type Running } from '../support/tcp.ts';

// The real `wharf control` process on port 0 with its own WHARF_HOME, driven by the real CLI.
describe('wharf control, first start and the CLI', () => {
  let home: string;
  let control: Running | undefined;
  let gw: GatewayProcess | undefined;
  const env = () => ({ ...process.env, WHARF_HOME: home, WHARF_URL: '', WHARF_TOKEN: '' });
  const runFile = () => join(home, 'run', 'control.json');
  const secrets: string[] = [];

  async function startControl(): Promise<string> {
    control = await startControlProcess(env());
    return (JSON.parse(readFileSync(runFile(), 'utf8')) as { url: string }).url;
  }

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'wharf-control-'));
    await startControl();
  });
  afterAll(async () => {
    await gw?.stop();
    await control?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('writes admin.token and admin.password, owner-only, on first start', async () => {
    for (const file of ['admin.token', 'admin.password']) {
      expect(statSync(join(home, file)).mode & 0o777, file).toBe(0o600);
    }
    const token = readFileSync(join(home, 'admin.token'), 'utf8').trim();
    const password = readFileSync(join(home, 'admin.password'), 'utf8').trim();
    expect(token).toMatch(/^wharf_/);
    expect(password.length).toBeGreaterThanOrEqual(16);
    secrets.push(token, password);
  });

  it('adds a user with the password on stdin and lists it', async () => {
    const added = await runWharf(['users', 'add', 'bob'], env(), 'bob-s3cret-password\n');
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    secrets.push('bob-s3cret-password');
    const ls = await runWharf(['users', 'ls', '--json'], env());
    expect(ls.code).toBe(0);
    expect((JSON.parse(ls.stdout) as { name: string }[]).map((u) => u.name)).toEqual(['admin', 'bob']);
  });

  it('fails with one line naming the field or the argument', async () => {
    const short = await runWharf(['users', 'add', 'carol'], env(), 'short\n');
    expect(short.code).not.toBe(0);
    expect(short.stderr.trim().split('\n')).toHaveLength(1);
    expect(short.stderr).toContain('password');
    const missing = await runWharf(['tokens', 'create'], env());
    expect(missing.code).not.toBe(0);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toContain('NAME');
    const flag = await runWharf(['users', 'ls', '--nope'], env());
    expect(flag.code).not.toBe(0);
    expect(flag.stderr).toContain('--nope');
  });

  it('creates an API token that works as WHARF_TOKEN, and revokes it', async () => {
    const created = await runWharf(['tokens', 'create', 'ci', '--json'], env());
    expect(created.code).toBe(0);
    const { id, token } = JSON.parse(created.stdout) as { id: string; token: string };
    secrets.push(token);
    expect((await runWharf(['users', 'ls'], { ...env(), WHARF_TOKEN: token })).code).toBe(0);
    expect((await runWharf(['tokens', 'revoke', id], env())).code).toBe(0);
    const refused = await runWharf(['users', 'ls'], { ...env(), WHARF_TOKEN: token });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('CTL_UNAUTHENTICATED');
  });

  it('adds a gateway whose printed env lines start a real gateway fed by control', async () => {
    const added = await runWharf(['gateways', 'add', 'g1'], env());
    expect(added.code).toBe(0);
    const lines = envLines(added.stdout);
    expect(Object.keys(lines)).toEqual(['WHARF_GATEWAY_CONTROL', 'WHARF_GATEWAY_KEY']);
    secrets.push(lines.WHARF_GATEWAY_KEY);
    // The gateway refuses to start unless control accepts its key and sends the snapshot.
    gw = await startGateway({ env: lines });
    expect(await adminRoutes(gw.adminPort)).toMatchObject({ routes: [] });
  });

  it('keeps users and credentials across a restart, and the database holds no secret in clear', async () => {
    await gw?.stop();
    gw = undefined;
    expect(await control!.stop()).toBe(0);
    const token = readFileSync(join(home, 'admin.token'), 'utf8');
    await startControl();
    expect(readFileSync(join(home, 'admin.token'), 'utf8')).toBe(token);
    const ls = await runWharf(['users', 'ls', '--json'], env());
    expect(ls.code).toBe(0);
    expect((JSON.parse(ls.stdout) as { name: string }[]).map((u) => u.name)).toEqual(['admin', 'bob']);

    expect(secrets.length).toBeGreaterThanOrEqual(5);
    const db = join(home, 'wharf.db');
    const bytes = Buffer.concat([db, `${db}-wal`, `${db}-shm`].filter(existsSync).map((f) => readFileSync(f)));
    expect(bytes.includes('bob')).toBe(true); // names are there: the scan sees the data
    for (const secret of secrets) {
      expect(bytes.includes(secret), 'a secret in clear').toBe(false);
      const part = secret.split('_')[2];
      if (part) expect(bytes.includes(part), 'a token secret in clear').toBe(false);
    }
  });
});
