// The WebSocket app of the round-trip cases: echoes every message as it came.
// Run as its own process: node ws-echo-server.ts PORT
import { WebSocketServer } from 'ws';

const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(process.argv[2]), perMessageDeflate: false });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
process.on('SIGTERM', () => process.exit(0));
