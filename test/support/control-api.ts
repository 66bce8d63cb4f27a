/** Control's answer to a test's JSON call: status, headers and the parsed body (undefined when empty). */
export interface ControlReply {
  status: number;
  headers: Headers;
  /** Whatever the endpoint answers: each test reads the fields it expects. */
  json: any;
}

/** A JSON call to control at `url`, with `auth` as the Authorization header ('' for none). */
export async function callControl(url: string, method: string, path: string, body?: unknown, auth = '', headers: Record<string, string> = {}): Promise<ControlReply> {
  const res = await fetch(`${url}${path}`, {
    method, headers: { ...(auth ? { authorization: auth } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined };
}
