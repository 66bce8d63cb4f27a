// The apps of the raw TCP cases, in one process of their own (never the proxy's):
// - a sink that reads and discards everything sent to it, counting the bytes;
// - a control port that answers each connection with that count (a decimal line) and closes,
//   so that the bulk client can measure what arrived, not what it managed to write;
// - an echo server for the connection-setup cases.
// Run as: node tcp-upstream-server.ts SINK_PORT CONTROL_PORT ECHO_PORT
import net from 'node:net';

const [sinkPort, controlPort, echoPort] = process.argv.slice(2).map(Number);
let received = 0;

const sink = net.createServer((socket) => {
  socket.on('data', (chunk: Buffer) => {
    received += chunk.length;
  });
  // A client that goes away mid-write resets the connection: nothing to report.
  socket.on('error', () => socket.destroy());
});

const control = net.createServer((socket) => {
  socket.on('error', () => socket.destroy());
  socket.end(`${received}\n`);
});

const echo = net.createServer({ noDelay: true }, (socket) => {
  socket.on('error', () => socket.destroy());
  // Ends its side when the client ends its own (allowHalfOpen is off).
  socket.pipe(socket);
});

sink.listen({ port: sinkPort, host: '127.0.0.1', backlog: 4096 });
control.listen({ port: controlPort, host: '127.0.0.1' });
echo.listen({ port: echoPort, host: '127.0.0.1', backlog: 4096 });
process.on('SIGTERM', () => process.exit(0));
