import { parseCommand, positionals } from './cli-args.ts';
import { ControlClient } from './control-client.ts';

/*
 * `wharf logs ID [-f] [--since SEQ] [--json]`: an instance's console (agent events and
 * container output). Without -f it prints what control holds and exits; with -f it goes on
 * printing lines as the agent sends them (server-sent events) until Ctrl-C, which exits 0.
 */

export const logsHelp = `wharf logs ID [-f] [--since SEQ] [--json]

  -f, --follow   keep printing lines as they come (Ctrl-C to stop)
  --since SEQ    only lines after this seq
  --json         one JSON object per line: {seq, at, stream, text}

Control and the token come from WHARF_URL and WHARF_TOKEN, else WHARF_HOME.`;

interface Line { seq: number; at: string; stream: string; text: string }

export async function runLogs(argv: string[]): Promise<void> {
  const { values, positionals: given } = parseCommand(argv, { follow: { type: 'boolean', short: 'f' }, since: { type: 'string' }, json: { type: 'boolean' } });
  const [id] = positionals(given, ['ID'], 'wharf logs ID [-f] [--since SEQ] [--json]');
  const client = new ControlClient();
  const print = (l: Line) => process.stdout.write(values.json ? `${JSON.stringify(l)}\n` : `${l.text}\n`);
  const base = `/api/v1/instances/${encodeURIComponent(id)}/console`;
  let since = values.since ?? '0';
  if (!values.follow) {
    for (;;) {
      const page = await client.call<{ lines: Line[]; last: number }>('GET', `${base}?since=${encodeURIComponent(since)}&limit=10000`);
      for (const l of page.lines) print(l);
      if (page.lines.length < 10_000) return;
      since = String(page.last);
    }
  }
  // Checked first with a plain call, so a wrong id or token is the usual one-line error.
  await client.call('GET', `${base}?since=${encodeURIComponent(since)}&limit=1`);
  process.once('SIGINT', () => process.exit(0));
  process.once('SIGTERM', () => process.exit(0));
  let res: Response;
  try {
    res = await fetch(`${client.target.url}${base}?follow=1&since=${encodeURIComponent(since)}`, {
      headers: { authorization: `Bearer ${client.target.token}`, accept: 'text/event-stream' },
    });
  } catch (err) {
    throw new Error(`cannot reach control at ${client.target.url} (${(err as Error).message}): is \`wharf control\` running? (WHARF_URL)`);
  }
  if (!res.ok || !res.body) throw new Error(`control answered ${res.status} to the console stream`);
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body) {
    buffer += decoder.decode(chunk as Uint8Array, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = /^data: ?(.*)$/m.exec(block)?.[1];
      if (data !== undefined) print(JSON.parse(data) as Line);
    }
  }
  throw new Error('control closed the console stream');
}
