import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_ACTIONS } from '../../control/audit/audit-log.ts';
import { startControlProcess } from '../support/control-process.ts';
import { envLines, runWharf, type Running } from '../support/tcp.ts';

interface Entry { seq: number; at: string; actor: string | null; action: string; target: string | null; instance: string | null; detail: Record<string, unknown> }

// The real `wharf control` and the real CLI: every kind of action an admin or a user does from a
// terminal (or a browser's sign-in) shows in `wharf audit`, with actor, target and time.
describe('wharf audit', () => {
  let home: string;
  let control: Running | undefined;
  let url: string;
  let bobCookie: string;
  let instance: string;
  const env = () => ({ ...process.env, WHARF_HOME: home, WHARF_URL: '', WHARF_TOKEN: '' });
  const secrets: string[] = [];
  const wharf = async (args: string[], stdin?: string) => {
    const out = await runWharf(args, env(), stdin);
    expect(out.code, `wharf ${args.join(' ')}: ${out.stderr}`).toBe(0);
    return out.stdout;
  };
  const entries = async (...args: string[]) => JSON.parse(await wharf(['audit', '--json', ...args])) as Entry[];
  const signIn = (name: string, password: string) => fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password }) });

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'wharf-audit-'));
    control = await startControlProcess(env());
    url = (JSON.parse(readFileSync(join(home, 'run', 'control.json'), 'utf8')) as { url: string }).url;
    secrets.push(readFileSync(join(home, 'admin.token'), 'utf8').trim(), readFileSync(join(home, 'admin.password'), 'utf8').trim());

    // Users and their tokens, as an admin does them.
    await wharf(['users', 'add', 'bob'], 'bob-s3cret-password\n');
    await wharf(['users', 'add', 'carol'], 'carol-s3cret-password\n');
    await wharf(['users', 'admin', 'carol']);
    await wharf(['users', 'passwd', 'carol'], 'carol-n3w-password\n');
    await wharf(['users', 'rm', 'carol']);
    secrets.push('bob-s3cret-password', 'carol-s3cret-password', 'carol-n3w-password');
    expect((await signIn('bob', 'not-his-password')).status).toBe(401);
    const signedIn = await signIn('bob', 'bob-s3cret-password');
    expect(signedIn.status).toBe(200);
    bobCookie = signedIn.headers.getSetCookie()[0].split(';')[0];
    secrets.push(bobCookie.slice(bobCookie.indexOf('=') + 1));
    // A second sign-in of bob's, signed out.
    const other = (await signIn('bob', 'bob-s3cret-password')).headers.getSetCookie()[0].split(';')[0];
    secrets.push(other.slice(other.indexOf('=') + 1));
    expect((await fetch(`${url}/api/v1/auth/logout`, { method: 'POST', headers: { cookie: other, origin: 'https://localhost:8443' } })).status).toBe(204);
    const created = JSON.parse(await wharf(['tokens', 'create', 'laptop', '--json'])) as { id: string; token: string };
    secrets.push(created.token);
    await wharf(['tokens', 'revoke', created.id]);
    // Projects and their members.
    await wharf(['projects', 'add', 'ML']);
    await wharf(['projects', 'members', 'add', 'ML', 'bob', '--role', 'viewer']);
    await wharf(['projects', 'members', 'rm', 'ML', 'bob']);
    // Agents, gateways, keys.
    const agent = envLines(await wharf(['agents', 'add', 'gpu-1', '--queues', 'gpu']));
    secrets.push(agent.WHARF_AGENT_SECRET);
    const agents = JSON.parse(await wharf(['agents', 'ls', '--json'])) as { id: string; name: string }[];
    const agentId = agents.find((a) => a.name === 'gpu-1')!.id;
    await wharf(['agents', 'drain', agentId]);
    await wharf(['agents', 'resume', agentId]);
    secrets.push(envLines(await wharf(['gateways', 'add', 'edge'])).WHARF_GATEWAY_KEY);
    await wharf(['keys', 'rotate']);
    // An instance of the admin's: launched (no agent serves its queue: it waits), a token, a link, stopped, removed.
    const file = join(home, 'app.json');
    writeFileSync(file, JSON.stringify({ app: 'container', name: 'audited', image: 'wharf/busybox:local', routing: { mode: 'https', port: 8080 } }));
    instance = (JSON.parse(await wharf(['launch', '-f', file, '--json'])) as { id: string }).id;
    secrets.push((await wharf(['token', instance])).trim());
    secrets.push((await wharf(['open', instance])).trim());
    await wharf(['share', instance, 'bob', '--role', 'viewer']);
    await wharf(['share', instance, 'bob', '--revoke']);
    await wharf(['stop', instance]);
    await wharf(['rm', instance]);
  }, 120_000);
  afterAll(async () => {
    await control?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('lists each kind of action with its actor, target and time, newest first', async () => {
    const all = await entries('--limit', '1000');
    const seen = new Map<string, Entry>();
    for (const e of all) if (!seen.has(e.action)) seen.set(e.action, e);
    // Every kind (the idle limit's own stops: control/idle/idle-monitor.test.ts).
    expect(new Set(seen.keys())).toEqual(new Set(Object.keys(AUDIT_ACTIONS)));
    for (const e of all) {
      expect(Date.now() - Date.parse(e.at), `${e.action} at ${e.at}`).toBeLessThan(10 * 60_000);
      expect(e.actor, e.action).toBeTruthy();
    }
    expect(all.map((e) => e.seq)).toEqual([...all.map((e) => e.seq)].sort((a, b) => b - a));
    const about = (action: string) => all.filter((e) => e.action === action).map((e) => `${e.actor} ${e.target ?? '-'}`);
    expect(about('user.add')).toEqual(['admin carol', 'admin bob']);
    expect(about('user.admin')).toEqual(['admin carol']);
    expect(about('user.password')).toEqual(['admin carol']);
    expect(about('user.remove')).toEqual(['admin carol']);
    expect(about('signin')).toEqual(['bob bob', 'bob bob']);
    expect(about('signout')).toEqual(['bob bob']);
    expect(about('signin.failed')).toEqual(['bob -']);
    expect(about('agent.drain')).toEqual(about('agent.resume'));
    expect(about('gateway.add')).toHaveLength(1);
    expect(about('project.add')).toEqual(['admin ML']);
    expect(about('member.add')).toEqual(['admin bob']);
    expect(about('member.remove')).toEqual(['admin bob']);
    expect(all.filter((e) => e.instance === instance).map((e) => `${e.action}${e.detail.purpose ? `:${e.detail.purpose}` : ''}`))
      .toEqual(['instance.remove', 'instance.stop', 'share.remove', 'share.add', 'app.token:open', 'app.token:token', 'instance.launch']);
    expect(about('share.add')).toEqual(['admin bob']);
    const text = JSON.stringify(all) + await wharf(['audit', '--limit', '1000']);
    for (const secret of secrets) expect(text, 'a secret in the audit log').not.toContain(secret);
  });

  it('filters by user, instance, action and time, and stops at --limit', async () => {
    expect((await entries('--user', 'bob')).map((e) => e.action)).toEqual(['signout', 'signin', 'signin', 'signin.failed']);
    expect((await entries('--instance', instance, '--action', 'instance.stop')).map((e) => e.actor)).toEqual(['admin']);
    expect(await entries('--since', '2000-01-01T00:00:00Z', '--until', '2000-01-02T00:00:00Z')).toEqual([]);
    const recent = await entries('--since', '1h');
    expect(recent.length).toBeGreaterThan(15);
    const three = await entries('--limit', '3');
    expect(three).toEqual(recent.slice(0, 3));
    const line = (await wharf(['audit', '--instance', instance, '--action', 'instance.remove'])).trim();
    expect(line.split('\t').slice(1)).toEqual(['admin', 'instance.remove', instance, 'snapshots=false']);
  });

  it('is for admins, and a mistake gets one line naming the flag', async () => {
    const refused = await fetch(`${url}/api/v1/audit`, { headers: { cookie: bobCookie } });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('x-wharf-error')).toBe('CTL_FORBIDDEN');
    for (const [args, named] of [[['--since', 'yesterday'], '--since'], [['--limit', '0'], '--limit'], [['--action', 'launch'], 'action']] as const) {
      const out = await runWharf(['audit', ...args], env());
      expect(out.code, args.join(' ')).not.toBe(0);
      expect(out.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(out.stderr, args.join(' ')).toContain(named);
    }
  });
});
