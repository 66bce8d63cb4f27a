import net from 'node:net';
import { startChild } from '../support/children.ts';
import { freePort, waitUntilListening } from '../support/net.ts';

export interface Redis {
  port: number;
  /** total_commands_processed from INFO stats (the INFO itself included). */
  commandsProcessed(): Promise<number>;
  stop(): Promise<void>;
}

/** One command over a fresh connection; resolves with the reply's text (simple or bulk string). */
export function redisCommand(port: number, ...args: string[]): Promise<string> {
  const request = `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    s.setTimeout(5_000, () => s.destroy(new Error(`redis ${args[0]} timed out`)));
    s.on('error', reject);
    s.on('connect', () => s.write(request));
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      const eol = buf.indexOf('\r\n');
      if (eol < 0) return;
      const head = buf.subarray(0, eol).toString();
      let reply: string | undefined;
      if (head[0] === '+') reply = head.slice(1);
      else if (head[0] === '-') {
        s.destroy();
        reject(new Error(`redis ${args[0]}: ${head.slice(1)}`));
        return;
      } else if (head[0] === '$') {
        const length = Number(head.slice(1));
        if (buf.length >= eol + 2 + length + 2) reply = buf.subarray(eol + 2, eol + 2 + length).toString();
      } else {
        s.destroy();
        reject(new Error(`redis ${args[0]}: unexpected reply ${JSON.stringify(head)}`));
        return;
      }
      if (reply === undefined) return;
      s.end();
      resolve(reply);
    });
  });
}

/**
 * A real redis-server for the redis-benchmark cases: in memory only (no RDB snapshots, no
 * AOF), on loopback, in the foreground, its files in `dir`.
 */
export async function startRedis(dir: string): Promise<Redis> {
  const port = await freePort();
  const child = startChild('redis-server', 'redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
    '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--logfile', '', '--loglevel', 'warning',
  ]);
  try {
    await waitUntilListening(child, port);
    const pong = await redisCommand(port, 'PING');
    if (pong !== 'PONG') throw new Error(`redis-server answered PING with ${pong}`);
  } catch (err) {
    await child.stop();
    throw err;
  }
  return {
    port,
    async commandsProcessed() {
      const info = await redisCommand(port, 'INFO', 'stats');
      const m = /^total_commands_processed:(\d+)/m.exec(info);
      if (!m) throw new Error(`redis INFO stats has no total_commands_processed:\n${info}`);
      return Number(m[1]);
    },
    stop: () => child.stop(),
  };
}
