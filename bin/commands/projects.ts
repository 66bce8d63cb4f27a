import { UsageError } from '../../protocol/settings.ts';
import { parseCommand, positionals } from './cli-args.ts';
import { ControlClient } from './control-client.ts';

export const projectsHelp = `wharf projects add NAME [--owner USER] | ls [--json] | members NAME [--json] | members add NAME USER [--role R] | members rm NAME USER

  add NAME [--owner USER]    create a project (admins), USER its first owner
  ls [--json]                the projects you may use: the built-in ones ("Interactive Session",
                             "Apps": anyone launches there) and those you are a member of (an admin: all)
  members NAME [--json]      a project's members (its owners and admins)
  members add NAME USER [--role viewer|user|owner]
                             add a member, or change their role (default user): a viewer sees the
                             project's instances, a user also launches into it and opens its apps,
                             an owner also manages its members
  members rm NAME USER       remove a member: their live connections to the project's apps close

A launch names its project in the config's "project". Control and the token come from
WHARF_URL and WHARF_TOKEN, else WHARF_HOME.`;

interface ProjectView { name: string; created: string | null; builtIn: boolean; role: string | null; members: number }
interface MemberView { user: string; role: string; added: string; by: string | null }

const ROLES = ['viewer', 'user', 'owner'];
const path = (name: string, user?: string) => `/api/v1/projects/${encodeURIComponent(name)}/members${user === undefined ? '' : `/${encodeURIComponent(user)}`}`;

export async function runProjects(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'add': {
      const { values, positionals: given } = parseCommand(rest, { owner: { type: 'string' }, json: { type: 'boolean' } });
      const [name] = positionals(given, ['NAME'], 'wharf projects add NAME [--owner USER]');
      const project = await new ControlClient().call<ProjectView>('POST', '/api/v1/projects', { name, ...(values.owner === undefined ? {} : { owner: values.owner }) });
      console.log(values.json ? JSON.stringify(project, null, 2) : `added project ${project.name}${values.owner ? ` (owner ${values.owner})` : ''}`);
      return;
    }
    case 'ls': {
      const { values, positionals: given } = parseCommand(rest, { json: { type: 'boolean' } });
      positionals(given, [], 'wharf projects ls [--json]');
      const { projects } = await new ControlClient().call<{ projects: ProjectView[] }>('GET', '/api/v1/projects');
      if (values.json) console.log(JSON.stringify(projects, null, 2));
      else for (const p of projects) console.log(`${p.name}\t${p.builtIn ? 'built in: anyone launches here' : `${p.role}\t${p.members} member${p.members === 1 ? '' : 's'}`}`);
      return;
    }
    case 'members': {
      const [action, ...args] = rest;
      if (action === 'add') {
        const { values, positionals: given } = parseCommand(args, { role: { type: 'string' }, json: { type: 'boolean' } });
        const [name, user] = positionals(given, ['NAME', 'USER'], 'wharf projects members add NAME USER [--role viewer|user|owner]');
        if (values.role !== undefined && !ROLES.includes(values.role)) throw new UsageError(`--role must be viewer, user or owner, got "${values.role}"`);
        const member = await new ControlClient().call<MemberView>('POST', path(name), { user, role: values.role ?? 'user' });
        console.log(values.json ? JSON.stringify(member, null, 2) : `${member.user} is a ${member.role} of ${name}`);
        return;
      }
      if (action === 'rm') {
        const { positionals: given } = parseCommand(args, {});
        const [name, user] = positionals(given, ['NAME', 'USER'], 'wharf projects members rm NAME USER');
        await new ControlClient().call('DELETE', path(name, user));
        console.log(`${user} is no longer a member of ${name}; their connections to its apps are closed`);
        return;
      }
      const { values, positionals: given } = parseCommand(rest, { json: { type: 'boolean' } });
      const [name] = positionals(given, ['NAME'], 'wharf projects members NAME [--json] | members add|rm NAME USER');
      const { members } = await new ControlClient().call<{ members: MemberView[] }>('GET', path(name));
      if (values.json) console.log(JSON.stringify(members, null, 2));
      else for (const m of members) console.log(`${m.user}\t${m.role}\tadded ${m.added}${m.by ? ` by ${m.by}` : ''}`);
      return;
    }
    default:
      throw new UsageError(sub ? `unknown subcommand "projects ${sub}": use add, ls or members` : 'wharf projects needs a subcommand: add, ls or members');
  }
}
