/**
 * A WebSocket echo in plain Node (RFC 6455), as JavaScript source for apps run in
 * wharf/node:local, which has no npm packages: it defines `wsEcho(req, socket)`, a handler for
 * an http server's `upgrade` event. It answers with Sec-WebSocket-Accept, unmasks the client's
 * frames and echoes text and binary ones unmasked; ping gets pong, close gets close. Payloads
 * under 64 KiB, no fragmentation. The app's source needs `crypto` (node:crypto) in scope.
 */
export const WS_ECHO_SOURCE = String.raw`
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const frame = (op, data) => {
  const n = data.length;
  const head = n < 126 ? Buffer.from([0x80 | op, n]) : Buffer.from([0x80 | op, 126, n >> 8, n & 255]);
  return Buffer.concat([head, data]);
};
const wsEcho = (req, socket) => {
  socket.on('error', () => socket.destroy());
  const key = req.headers['sec-websocket-key'];
  if (!key) return socket.destroy();
  const accept = crypto.createHash('sha1').update(key + GUID).digest('base64');
  socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    'Sec-WebSocket-Accept: ' + accept + '\r\n\r\n');
  let buf = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      if (buf.length < 2) return;
      const op = buf[0] & 0x0f, masked = (buf[1] & 0x80) !== 0;
      let len = buf[1] & 0x7f, off = 2;
      if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
      else if (len === 127) return socket.destroy();
      if (buf.length < off + (masked ? 4 : 0) + len) return;
      const mask = masked ? buf.subarray(off, off + 4) : null;
      if (masked) off += 4;
      const data = Buffer.from(buf.subarray(off, off + len));
      if (mask) for (let i = 0; i < len; i++) data[i] ^= mask[i & 3];
      buf = buf.subarray(off + len);
      if (op === 8) return socket.end(frame(8, data.subarray(0, 2)));
      if (op === 9) socket.write(frame(10, data));
      else if (op === 1 || op === 2) socket.write(frame(op, data));
    }
  });
};
`;
