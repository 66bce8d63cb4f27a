#!/usr/bin/env node
// The `wharf` command: one entry for every part (DESIGN.md "CLI").
import { ControlError } from '../control/errors.ts';
import { ValidationError } from '../protocol/validate.ts';
import { UsageError } from '../protocol/settings.ts';
import { commands } from './commands/index.ts';

const usage = `Usage: wharf COMMAND [flags]

Commands:
  up               control, gateway and agent in one process (what npm start runs)
  control          run control, the source of truth (see wharf control --help)
  gateway          run the gateway (see wharf gateway --help)
  agent            run apps on this Docker host for control's queues (see wharf agent --help)
  certs init|issue local CA and certificates
  launch -f FILE   launch an app from its config JSON
  ls               list instances (--status --project --tag --queue)
  show ID          an instance: status, owner, links
  stop ID          stop an instance
  rm ID [--snapshots]  remove stopped or failed instances (snapshots kept unless asked)
  export ID        print an instance's app config
  clone ID         print its config restoring from its snapshot
  token ID         print a gateway token for an instance
  open ID          print a one-time browser link
  share ID USER    share an instance with a user (--role viewer|user, --revoke)
  logs ID [-f]     an instance's console; -f follows it live
  connect ID       carry a TCP app to a local port through the gateway's HTTPS port
  users add|passwd|admin|rm|ls users of control
  tokens create|revoke|ls  your API tokens
  projects add|ls|members  projects and their members (viewer, user, owner)
  audit [--since 24h]      who did what: sign-ins, launches, stops, tokens, changes (admins)
  gateways add NAME        a gateway key and the env lines to start a gateway with
  agents add|ls|drain|resume agents: credentials, list, drain, resume
  snapshot ID              snapshot a running instance's workspace now
  snapshots ls|rm          workspace snapshots: list, delete
  keys rotate|ls           token signing keys: rotate now, list
  prune [--until 96h]      remove this host's stopped app containers older than that

Run \`wharf COMMAND --help\` for a command's flags. In a checkout the command is bin/wharf, which runs
the project's Node 24 (link it into your PATH to type wharf); the reference is in docs/ (docs/cli.md).`;


async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage);
    return;
  }
  if (!Object.hasOwn(commands, name)) throw new UsageError(`unknown command "${name}"; run \`wharf --help\``);
  const command = await commands[name]();
  if (typeof command.run !== 'function' || typeof command.help !== 'string') throw new Error(`command "${name}" is not wired up`);
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.help);
    return;
  }
  await command.run(rest);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  // Expected failures are one line that says what to fix; anything else keeps its stack.
  const e = err as Error & { code?: string };
  if (err instanceof UsageError || err instanceof ValidationError || ['ENOENT', 'EACCES', 'EADDRINUSE', 'EADDRNOTAVAIL'].includes(e.code ?? '')) {
    console.error(`wharf: ${e.message}`);
    process.exit(2);
  }
  // Control's own expected failures where the CLI runs control code itself (its start, `wharf store copy`).
  if (err instanceof ControlError) {
    console.error(`wharf: ${e.code}: ${e.message}`);
    process.exit(1);
  }
  if (e instanceof Error && !e.stack?.includes('/node_modules/') && e.constructor === Error) {
    console.error(`wharf: ${e.message}`);
    process.exit(1);
  }
  console.error(err);
  process.exit(1);
});
