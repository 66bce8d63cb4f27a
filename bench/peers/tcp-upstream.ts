import { startChild } from '../support/children.ts';
import { freePort, waitUntilListening } from '../support/net.ts';

const SERVER = new URL('./tcp-upstream-server.ts', import.meta.url).pathname;

export interface TcpUpstream {
  /** Reads and discards; counts the bytes. */
  sinkPort: number;
  /** Answers the sink's byte count and closes (always reached directly, never proxied). */
  controlPort: number;
  /** Echoes every byte back. */
  echoPort: number;
  stop(): Promise<void>;
}

/** The sink and echo apps of the raw TCP cases, in a Node process of their own. */
export async function startTcpUpstream(): Promise<TcpUpstream> {
  const [sinkPort, controlPort, echoPort] = [await freePort(), await freePort(), await freePort()];
  const child = startChild('TCP sink and echo server', process.execPath, [SERVER, String(sinkPort), String(controlPort), String(echoPort)]);
  try {
    for (const port of [sinkPort, controlPort, echoPort]) await waitUntilListening(child, port);
  } catch (err) {
    await child.stop();
    throw err;
  }
  return { sinkPort, controlPort, echoPort, stop: () => child.stop() };
}
