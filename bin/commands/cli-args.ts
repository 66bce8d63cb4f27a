import { parseArgs } from 'node:util';
import { UsageError } from '../../protocol/settings.ts';

/** parseArgs with its errors turned into one-line UsageErrors that name the flag. */
export function parseCommand<O extends Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional.*$/s, ''));
  }
}

/** Exactly `names.length` positionals, named in the message when one is missing or extra. */
export function positionals(given: string[], names: string[], usage: string): string[] {
  if (given.length < names.length) throw new UsageError(`${names[given.length]} is missing: ${usage}`);
  if (given.length > names.length) throw new UsageError(`unexpected argument "${given[names.length]}": ${usage}`);
  return given;
}

/** A password from stdin when it is not a terminal (its first line), else typed at a prompt without echo. */
export async function readPassword(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) {
    let text = '';
    for await (const chunk of process.stdin) text += chunk;
    const password = text.split(/\r?\n/)[0];
    if (!password) throw new UsageError('no password on stdin: pipe it in, e.g. `printf %s "$PW" | wharf users add NAME`');
    return password;
  }
  process.stderr.write(prompt);
  process.stdin.setRawMode(true);
  process.stdin.setEncoding('utf8');
  process.stdin.resume();
  try {
    let password = '';
    for await (const chunk of process.stdin as AsyncIterable<string>) {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return password;
        if (ch === '\u0003') throw new UsageError('cancelled');
        if (ch === '\u007f' || ch === '\b') password = password.slice(0, -1);
        else password += ch;
      }
    }
    return password;
  } finally {
    process.stdin.setRawMode(false);
    process.stdin.pause();
    process.stderr.write('\n');
  }
}
