import { startChild } from '../support/children.ts';
import { freePort, waitUntilServing } from '../support/net.ts';

const SERVER = new URL('./ws-echo-server.ts', import.meta.url).pathname;

export interface WsEcho {
  url: string;
  stop(): Promise<void>;
}

export async function startWsEcho(): Promise<WsEcho> {
  const port = await freePort();
  const child = startChild('WebSocket echo server', process.execPath, [SERVER, String(port)]);
  try {
    // A plain GET gets 426 Upgrade Required: enough to know it listens.
    await waitUntilServing(child, { url: `http://127.0.0.1:${port}/` });
  } catch (err) {
    await child.stop();
    throw err;
  }
  return { url: `http://127.0.0.1:${port}`, stop: () => child.stop() };
}
