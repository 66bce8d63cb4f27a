import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerName } from '../../agent/container-options.ts';
import { listeningSockets } from '../../agent/port-hint.ts';
import { startStack, type InstanceView, type Stack } from '../support/stack.ts';
import { adminRoutes, connectTcp, drain, spawnCollect, until, WHARF, type Running } from '../support/tcp.ts';

// Issue 15, as a newcomer meets it with real apps in Docker (busybox), a real control, gateway
// and agent, and `wharf connect` as a process:
// - `echo hi | nc 127.0.0.1 PORT` through `wharf connect` printed nothing: the client's
//   half-close ended the tunnel before the app's reply. The app here answers only after the
//   client's end; through the tunnel and through the gateway's TCP route port alike.
// - `wharf connect` to an HTTPS app said nothing until a client connected; it now refuses at once.
// - An app listening on another port than routing.port: the console says which one within
//   seconds, not only after the readiness timeout.

const LISTENING = /^wharf connect: 127\.0\.0\.1:(\d+) → /m;

describe('apps and their ports', () => {
  let stack: Stack;
  let reply: InstanceView;
  let wrongPort: InstanceView;
  const procs: Running[] = [];

  /** Opens a connection, sends `text` and ends the sending side (echo hi | nc): what came back until the close. */
  async function sendAndEnd(port: number, text: string): Promise<string> {
    const socket = await connectTcp(port, { allowHalfOpen: true });
    const received = drain(socket, 10_000);
    socket.end(text);
    const { data, error } = await received;
    expect(error).toBeUndefined();
    return data.toString();
  }

  beforeAll(async () => {
    stack = await startStack();
    [reply, wrongPort] = await Promise.all([
      // Echoes what it reads, then says "done" once the client has ended its side.
      stack.launch({ name: 'reply', routing: { mode: 'tcp', port: 9000 }, command: `nc -ll -p 9000 -e sh -c 'cat; echo done'` }),
      // Says it serves 8080, listens on 8888.
      stack.launch({ name: 'wrong-port', routing: { mode: 'https', port: 8080 }, command: 'nc -ll -p 8888 -e cat' }),
    ]);
    await stack.waitFor(reply.id, 'active');
  }, 90_000);
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await stack?.stop();
  });

  it('wharf connect delivers the reply of an app that answers after the client ended its side', async () => {
    // As a newcomer runs it: control (WHARF_HOME's run file and admin token) gives the rest.
    const proc = spawnCollect(process.execPath, [WHARF, 'connect', reply.id, '--port', '0'], stack.env());
    procs.push(proc);
    await until('wharf connect listens', () => LISTENING.test(proc.stdout()) || proc.child.exitCode !== null, 15_000);
    const m = LISTENING.exec(proc.stdout());
    expect(m, proc.stderr()).toBeTruthy();
    expect(await sendAndEnd(Number(m![1]), 'hi\n')).toBe('hi\ndone\n');
    expect(proc.stderr()).toBe('');
  });

  it('the gateway\'s TCP route port does the same', async () => {
    let port = 0;
    await until('the gateway listens on the TCP route', async () => {
      port = ((await adminRoutes(stack.gateway.adminPort)).routes.find((r) => r.id === reply.id)?.port as number | undefined) ?? 0;
      return port > 0 && (await connectTcp(port).then((s) => (s.destroy(), true), () => false));
    }, 10_000, 100);
    expect(await sendAndEnd(port, 'hello over the raw port\n')).toBe('hello over the raw port\ndone\n');
  });

  it('wharf connect to an HTTPS app says at once that it is not a TCP app, and listens on nothing', async () => {
    const proc = spawnCollect(process.execPath, [WHARF, 'connect', wrongPort.id, '--port', '0'], stack.env());
    procs.push(proc);
    await until('wharf connect exits or listens', () => proc.child.exitCode !== null || LISTENING.test(proc.stdout()), 15_000);
    expect(proc.stdout()).not.toMatch(LISTENING);
    expect(await proc.exited).not.toBe(0);
    expect(proc.stderr().trim()).toBe(`wharf: ${wrongPort.id} is an HTTPS app, not a TCP app: wharf connect carries TCP apps only (routing.mode "tcp"); open it with \`wharf open ${wrongPort.id}\``);
  });

  it('while an app does not answer, its console says which port it listens on instead', async () => {
    const wanted = `waiting for port 8080: the app listens on 8888 (tcp), not on 8080: check routing.port`;
    let texts: string[] = [];
    await until('the console names the port the app listens on', async () => {
      texts = ((await stack.api('GET', `/api/v1/instances/${wrongPort.id}/console?limit=1000`)).json.lines as { text: string }[]).map((l) => l.text);
      return texts.includes(wanted);
    }, 20_000, 200);
    // Still within the readiness wait (120 s): the hint came long before the timeout.
    expect((await stack.show(wrongPort.id)).status).toBe('starting');
    expect(texts.filter((t) => t.startsWith('waiting for port 8080:'))).toEqual(
      texts.includes('waiting for port 8080: nothing listens on a TCP port in the container yet')
        ? ['waiting for port 8080: nothing listens on a TCP port in the container yet', wanted]
        : [wanted],
    );
  }, 30_000);

  it('reads the listening ports with docker exec when the host\'s /proc is not the container\'s (an agent in its own container)', async () => {
    const docker = new Docker();
    const container = docker.getContainer(containerName(wrongPort.id));
    const elsewhere = mkdtempSync(join(tmpdir(), 'wharf-no-proc-'));
    expect(await listeningSockets(docker, container, elsewhere)).toEqual([{ address: '::', port: 8888, any: true, loopback: false }]);
    expect(await listeningSockets(docker, container)).toEqual([{ address: '::', port: 8888, any: true, loopback: false }]);
  });
});
