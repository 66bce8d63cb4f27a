import WebSocket from 'ws';
import type { Stack } from './stack.ts';

/*
 * Jupyter through the gateway for end-to-end tests: REST calls and a kernel's WebSocket on
 * `<id>.apps.localhost`, authorised with a Wharf bearer token (the gateway adds Jupyter's own
 * token upstream; the test never knows it).
 */

export const JUPYTER = 'wharf/jupyter:local';

export async function jupyterApi(stack: Stack, id: string, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any; text: string }> {
  const r = await stack.app(id, {
    method, path,
    headers: { accept: 'application/json', authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  let json: any;
  try {
    json = r.body ? JSON.parse(r.body) : undefined;
  } catch {
    json = undefined;
  }
  return { status: r.status, json, text: r.body };
}

/** Starts a python3 kernel; its id. */
export async function startKernel(stack: Stack, id: string, token: string): Promise<string> {
  const r = await jupyterApi(stack, id, token, 'POST', '/api/kernels', { name: 'python3' });
  if (r.status !== 201) throw new Error(`POST /api/kernels: ${r.status} ${r.text.slice(0, 300)}`);
  return r.json.id as string;
}

/** Opens the kernel's channels WebSocket through the gateway. */
export function kernelSocket(stack: Stack, id: string, token: string, kernel: string): Promise<WebSocket> {
  const host = `${id}.apps.localhost`;
  return new Promise((resolve, reject) => {
    const s = new WebSocket(`wss://127.0.0.1:${stack.gateway.httpsPort}/api/kernels/${kernel}/channels`, {
      headers: { host, authorization: `Bearer ${token}` }, servername: host, ca: stack.gateway.ca,
    } as WebSocket.ClientOptions);
    s.once('open', () => resolve(s));
    s.once('error', reject);
  });
}

/** Sends an execute_request on an open kernel socket; resolves with its stdout once the kernel is idle again (or rejects on an error reply). */
export function execute(socket: WebSocket, code: string, timeoutMs = 60_000): Promise<string> {
  const msgId = `wharf-${Math.random().toString(36).slice(2)}`;
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      socket.off('message', onMessage);
      reject(new Error(`no answer to ${JSON.stringify(code)} within ${timeoutMs} ms (so far: ${out})`));
    }, timeoutMs);
    const onMessage = (data: WebSocket.RawData) => {
      const m = JSON.parse(data.toString());
      if (m.parent_header?.msg_id !== msgId) return;
      if (m.msg_type === 'stream') out += m.content.text;
      if (m.msg_type === 'error') out += `${m.content.ename}: ${m.content.evalue}\n`;
      if (m.msg_type === 'status' && m.content.execution_state === 'idle') {
        clearTimeout(timer);
        socket.off('message', onMessage);
        resolve(out);
      }
    };
    socket.on('message', onMessage);
    socket.send(JSON.stringify({
      header: { msg_id: msgId, username: 'wharf', session: 'wharf-e2e', msg_type: 'execute_request', version: '5.3', date: new Date().toISOString() },
      parent_header: {}, metadata: {}, channel: 'shell', buffers: [],
      content: { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true },
    }));
  });
}

/** Runs one cell in a fresh kernel through the gateway; its output. */
export async function runCell(stack: Stack, id: string, token: string, code: string): Promise<string> {
  const kernel = await startKernel(stack, id, token);
  const socket = await kernelSocket(stack, id, token, kernel);
  try {
    return await execute(socket, code);
  } finally {
    socket.close();
  }
}
