import net from 'node:net';
import tls from 'node:tls';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readServerName } from './client-hello.ts';

/*
 * Hostile input (issue 19): the gateway reads the SNI of every connection's first bytes before
 * any handshake, from anyone. Random and mutated bytes never make it throw or loop; real
 * ClientHellos (Node's own TLS client) give back the name they carry.
 */

/** The first bytes a real TLS client sends for `servername`. */
async function realHello(servername: string): Promise<Buffer> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      server.once('connection', (socket) => socket.once('data', (d: Buffer) => { resolve(d); socket.destroy(); }));
      const client = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false });
      client.on('error', () => { /* the server hangs up: expected */ });
      setTimeout(() => reject(new Error('no ClientHello')), 5_000).unref();
    });
  } finally {
    server.close();
  }
}

const hostLabel = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$/);
const hostName = fc.array(hostLabel, { minLength: 1, maxLength: 4 }).map((labels) => labels.join('.'));

describe('readServerName under hostile input', () => {
  it('answers random bytes with a result, never an exception', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
      expect(['need-more', 'no-sni', 'sni']).toContain(readServerName(Buffer.from(bytes)).kind);
    }), { numRuns: 5_000 });
  });

  it('answers bytes that start like a ClientHello (record and handshake headers right, the rest random) with a result', () => {
    const helloish = fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffffff }), fc.uint8Array({ maxLength: 1024 }))
      .map(([recordLength, helloLength, body]) => Buffer.concat([
        Buffer.from([22, 3, 1, recordLength >> 8, recordLength & 0xff, 1, helloLength >> 16, (helloLength >> 8) & 0xff, helloLength & 0xff]), Buffer.from(body),
      ]));
    fc.assert(fc.property(helloish, (bytes) => {
      expect(['need-more', 'no-sni', 'sni']).toContain(readServerName(bytes).kind);
    }), { numRuns: 5_000 });
  });

  it('reads the name of real ClientHellos, and survives them truncated or with bytes changed', async () => {
    const names = fc.sample(hostName, 8);
    for (const name of names) {
      const hello = await realHello(name);
      expect(readServerName(hello)).toEqual({ kind: 'sni', servername: name });
      // Every prefix asks for more or says what it can, never more than the truth.
      for (let n = 0; n < hello.length; n += 7) {
        const r = readServerName(hello.subarray(0, n));
        if (r.kind === 'sni') expect(r.servername).toBe(name);
      }
      fc.assert(fc.property(fc.array(fc.tuple(fc.nat(hello.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), (flips) => {
        const mutated = Buffer.from(hello);
        for (const [at, byte] of flips) mutated[at] = byte;
        expect(['need-more', 'no-sni', 'sni']).toContain(readServerName(mutated).kind);
      }), { numRuns: 500 });
    }
  });
});
