import tls from 'node:tls';

/*
 * A raw HTTP/2 client (RFC 9113 frames written by hand) for what a well-behaved client such
 * as node:http2 never sends: rapid resets, CONTINUATION floods.
 */

export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, GOAWAY: 7, CONTINUATION: 9 } as const;
export const FLAG = { END_STREAM: 0x1, END_HEADERS: 0x4 } as const;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

export function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK length-prefixed string (RFC 7541 §5.2), no Huffman coding. */
function hpackString(s: string): Buffer {
  const bytes = Buffer.from(s, 'latin1');
  if (bytes.length < 127) return Buffer.concat([Buffer.from([bytes.length]), bytes]);
  const out = [127];
  let n = bytes.length - 127;
  while (n >= 128) {
    out.push((n % 128) + 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.concat([Buffer.from(out), bytes]);
}

/** A header block of literal fields without indexing (RFC 7541 §6.2.2): no table state to keep. */
export function headerBlock(fields: [string, string][]): Buffer {
  return Buffer.concat(fields.flatMap(([n, v]) => [Buffer.from([0]), hpackString(n), hpackString(v)]));
}

export interface RawH2 {
  socket: tls.TLSSocket;
  /** Frame types received so far, in order. */
  received: number[];
  /** The error code of the GOAWAY received, if any. */
  goaway(): number | undefined;
  closed: Promise<void>;
}

/** Opens a TLS connection with ALPN h2 and sends the preface and an empty SETTINGS frame. */
export function rawH2(port: number, servername: string, ca: string): Promise<RawH2> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, ca, ALPNProtocols: ['h2'] }, () => {
      if (socket.alpnProtocol !== 'h2') return reject(new Error(`ALPN gave ${socket.alpnProtocol}`));
      socket.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0)]));
      resolve(conn);
    });
    const received: number[] = [];
    let goaway: number | undefined;
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        const type = buf[3];
        received.push(type);
        if (type === FRAME.GOAWAY) goaway = buf.readUInt32BE(9 + 4);
        if (type === FRAME.SETTINGS && (buf[4] & 1) === 0) socket.write(frame(FRAME.SETTINGS, 1, 0)); // ACK
        buf = buf.subarray(9 + len);
      }
    });
    socket.on('error', () => {});
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    const conn: RawH2 = { socket, received, goaway: () => goaway, closed };
    socket.once('error', reject);
  });
}
