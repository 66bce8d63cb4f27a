import { UsageError } from '../../protocol/settings.ts';
import { parseCommand, positionals, readPassword } from './cli-args.ts';
import { ControlClient } from './control-client.ts';

export const usersHelp = `wharf users add NAME [--admin] | passwd NAME | admin NAME [--off] | rm NAME | ls [--json]

  add NAME [--admin]   create a user; the password is read from stdin when it is not a terminal, else prompted
  passwd NAME          set a user's password (anyone's as an admin), read the same way; for your own,
                       your current password comes first (stdin: two lines, current then new)
  admin NAME [--off]   make a user an admin, or with --off no longer one (admins only; the last admin stays one)
  rm NAME              remove a user (admins only): their sign-ins, API tokens and app sessions end
  ls [--json]          list users (an admin sees all, others themselves)

A changed password or a removed user ends that user's app sessions on every gateway.

Control and the token come from WHARF_URL and WHARF_TOKEN, else WHARF_HOME.`;

interface UserView { id: string; name: string; admin: boolean; created: string }

export async function runUsers(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'add': {
      const { values, positionals: given } = parseCommand(rest, { admin: { type: 'boolean' }, json: { type: 'boolean' } });
      const [name] = positionals(given, ['NAME'], 'wharf users add NAME [--admin]');
      const client = new ControlClient();
      const password = await readPassword(`password for ${name}: `);
      const user = await client.call<UserView>('POST', '/api/v1/users', { name, password, admin: Boolean(values.admin) });
      console.log(values.json ? JSON.stringify(user, null, 2) : `added user ${user.name}${user.admin ? ' (admin)' : ''}`);
      return;
    }
    case 'passwd': {
      const { positionals: given } = parseCommand(rest, {});
      const [name] = positionals(given, ['NAME'], 'wharf users passwd NAME');
      const client = new ControlClient();
      const me = await client.call<UserView>('GET', '/api/v1/me');
      // Changing one's own password needs the current one (control refuses it otherwise).
      const [currentPassword, password] = me.name === name
        ? await readPasswords([`current password for ${name}: `, `new password for ${name}: `])
        : [undefined, await readPassword(`new password for ${name}: `)];
      await client.call('POST', `/api/v1/users/${encodeURIComponent(name)}/password`, { password, ...(currentPassword === undefined ? {} : { currentPassword }) });
      console.log(`password of ${name} changed; their other sessions ended`);
      return;
    }
    case 'rm': {
      const { positionals: given } = parseCommand(rest, {});
      const [name] = positionals(given, ['NAME'], 'wharf users rm NAME');
      await new ControlClient().call('DELETE', `/api/v1/users/${encodeURIComponent(name)}`);
      console.log(`removed user ${name}`);
      return;
    }
    case 'admin': {
      const { values, positionals: given } = parseCommand(rest, { off: { type: 'boolean' } });
      const [name] = positionals(given, ['NAME'], 'wharf users admin NAME [--off]');
      const user = await new ControlClient().call<UserView>('PATCH', `/api/v1/users/${encodeURIComponent(name)}`, { admin: !values.off });
      console.log(user.admin ? `${user.name} is an admin` : `${user.name} is no longer an admin`);
      return;
    }
    case 'ls': {
      const { values, positionals: given } = parseCommand(rest, { json: { type: 'boolean' } });
      positionals(given, [], 'wharf users ls [--json]');
      const { users } = await new ControlClient().call<{ users: UserView[] }>('GET', '/api/v1/users');
      if (values.json) console.log(JSON.stringify(users, null, 2));
      else for (const u of users) console.log(`${u.name}\t${u.admin ? 'admin' : 'user'}\t${u.created}`);
      return;
    }
    default:
      throw new UsageError(sub ? `unknown subcommand "users ${sub}": use add, passwd, admin, rm or ls` : 'wharf users needs a subcommand: add, passwd, admin, rm or ls');
  }
}

/** Several passwords: one line each from stdin when it is not a terminal, else one prompt each. */
async function readPasswords(prompts: string[]): Promise<string[]> {
  if (process.stdin.isTTY) {
    const out: string[] = [];
    for (const prompt of prompts) out.push(await readPassword(prompt));
    return out;
  }
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  const lines = text.split(/\r?\n/);
  if (lines.length < prompts.length || lines.slice(0, prompts.length).some((l) => !l)) {
    throw new UsageError(`${prompts.length} lines expected on stdin (${prompts.map((p) => p.replace(/:\s*$/, '')).join(', then ')})`);
  }
  return lines.slice(0, prompts.length);
}
