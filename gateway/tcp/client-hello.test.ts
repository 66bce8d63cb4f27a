import tls from 'node:tls';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { readServerName } from './client-hello.ts';

/** The real first flight of Node's TLS client (OpenSSL), captured from a socket. */
function captureHello(servername: string | undefined): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((s) => {
      s.once('data', (b) => {
        resolve(b);
        s.destroy();
        server.close();
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      const c = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false });
      c.on('error', () => {});
    });
    server.on('error', reject);
  });
}

describe('readServerName', () => {
  it('finds the SNI of a real ClientHello, and asks for more bytes until it is complete', async () => {
    const hello = await captureHello('DB.apps.localhost');
    expect(readServerName(hello)).toEqual({ kind: 'sni', servername: 'db.apps.localhost' });
    for (const cut of [0, 3, 5, 40, hello.length - 1]) expect(readServerName(hello.subarray(0, cut)).kind).toBe('need-more');
  });

  it('says no-sni for a hello without a name, plain HTTP and garbage', async () => {
    const hello = await captureHello(undefined);
    expect(readServerName(hello).kind).toBe('no-sni');
    expect(readServerName(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')).kind).toBe('no-sni');
    const corrupt = Buffer.from(await captureHello('a.apps.localhost'));
    corrupt.writeUInt16BE(0xffff, 9 + 2 + 32 + 1 + corrupt[9 + 2 + 32]); // absurd cipher_suites length
    expect(readServerName(corrupt).kind).toBe('no-sni');
  });
});
