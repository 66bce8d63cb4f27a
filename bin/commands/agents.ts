import { UsageError } from '../../protocol/settings.ts';
import { parseCommand, positionals } from './cli-args.ts';
import { ControlClient } from './control-client.ts';

export const agentsHelp = `wharf agents add|ls|drain|resume

  add NAME [--queues a,b] [--json]
             create an agent (admin); prints the env lines an agent starts with:
             WHARF_CONTROL_URL, WHARF_AGENT_KEY, WHARF_AGENT_SECRET (shown only this once)
             and WHARF_QUEUES (taken in the order listed; default: default)
  ls [--json]   agents with their state, last heartbeat, queues and running apps
  drain ID      the agent takes no new jobs; its apps are snapshotted and stopped
  resume ID     a drained agent takes jobs again (after its server's upgrade or reboot)`;

interface AgentView {
  id: string;
  name: string;
  key: string;
  queues: string[];
  state: string;
  drain: boolean;
  lastSeen: string | null;
  resources: unknown;
  apps: { id: string; status: string }[];
  secret?: string;
}

export async function runAgents(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'add') {
    const { values, positionals: given } = parseCommand(rest, { json: { type: 'boolean' }, queues: { type: 'string' } });
    const [name] = positionals(given, ['NAME'], 'wharf agents add NAME [--queues a,b]');
    const queues = values.queues === undefined ? undefined : values.queues.split(',').map((q) => q.trim()).filter(Boolean);
    if (queues && queues.length === 0) throw new UsageError('--queues needs at least one queue name, such as --queues default,gpu');
    const client = new ControlClient();
    const agent = await client.call<AgentView & { secret: string }>('POST', '/api/v1/agents', { name, ...(queues ? { queues } : {}) });
    if (values.json) {
      console.log(JSON.stringify({ ...agent, control: client.target.url }, null, 2));
      return;
    }
    // stdout is an env file as is (`wharf agents add a1 > agent.env`); the note goes to stderr.
    console.log(`WHARF_CONTROL_URL=${client.target.url}`);
    console.log(`WHARF_AGENT_KEY=${agent.key}`);
    console.log(`WHARF_AGENT_SECRET=${agent.secret}`);
    console.log(`WHARF_QUEUES=${agent.queues.join(',')}`);
    console.error(`agent ${agent.name} added (${agent.id}); the secret is shown only this once`);
    return;
  }
  if (sub === 'ls') {
    const { values, positionals: given } = parseCommand(rest, { json: { type: 'boolean' } });
    positionals(given, [], 'wharf agents ls [--json]');
    const { agents } = await new ControlClient().call<{ agents: AgentView[] }>('GET', '/api/v1/agents');
    if (values.json) {
      console.log(JSON.stringify(agents, null, 2));
      return;
    }
    const rows = [['ID', 'NAME', 'STATE', 'QUEUES', 'APPS', 'LAST SEEN'],
      ...agents.map((a) => [a.id, a.name, a.drain ? `${a.state} (draining)` : a.state, a.queues.join(','), String(a.apps.length), a.lastSeen ?? '-'])];
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd());
    return;
  }
  if (sub === 'drain' || sub === 'resume') {
    const { values, positionals: given } = parseCommand(rest, { json: { type: 'boolean' } });
    const [id] = positionals(given, ['ID'], `wharf agents ${sub} ID`);
    const agent = await new ControlClient().call<AgentView>('POST', `/api/v1/agents/${encodeURIComponent(id)}/${sub}`);
    if (values.json) console.log(JSON.stringify(agent, null, 2));
    else if (sub === 'drain') console.log(`agent ${agent.name} (${agent.id}) drains: ${agent.apps.length} app(s) stopping, no new jobs`);
    else console.log(`agent ${agent.name} (${agent.id}) takes jobs again`);
    return;
  }
  throw new UsageError(sub ? `unknown subcommand "agents ${sub}": use add, ls, drain or resume` : 'wharf agents needs a subcommand: add, ls, drain or resume');
}
