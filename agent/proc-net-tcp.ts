/*
 * The listening sockets in Linux's /proc/net/tcp and /proc/net/tcp6 (proc(5)): one socket a
 * line after a header, `sl local_address rem_address st …`, the address as hex (IPv4: one
 * 32-bit word, IPv6: four, each in the host's byte order, little-endian here), the port as
 * big hex, the state as hex (0A: LISTEN). Used to tell, while an app does not answer, which
 * ports it does listen on.
 */

export interface ListeningSocket {
  /** The local address, printed (`0.0.0.0`, `127.0.0.1`, `::`, `::ffff:127.0.0.1`). */
  address: string;
  port: number;
  /** Listening on every address of the container (0.0.0.0 or ::). */
  any: boolean;
  /** Listening on a loopback address only: not reachable from outside the container. */
  loopback: boolean;
}

const LISTEN = '0A';

/** A little-endian 32-bit word's hex (as /proc prints it) → its 4 bytes in network order. */
function wordBytes(hex: string): number[] {
  const n = parseInt(hex, 16);
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

function ipv6Text(bytes: number[]): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  // The URL parser writes the canonical (compressed) form, ::ffff:7f00:1 for a mapped address.
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

function socketOf(address: string, port: number): ListeningSocket | undefined {
  if (!/^[0-9A-Fa-f]+$/.test(address) || (address.length !== 8 && address.length !== 32)) return undefined;
  const bytes: number[] = [];
  for (let i = 0; i < address.length; i += 8) bytes.push(...wordBytes(address.slice(i, i + 8)));
  if (bytes.length === 4) {
    return { address: bytes.join('.'), port, any: bytes.every((b) => b === 0), loopback: bytes[0] === 127 };
  }
  const zero = (from: number, to: number) => bytes.slice(from, to).every((b) => b === 0);
  const mapped = zero(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff;
  const v4 = bytes.slice(12);
  return {
    address: mapped ? `::ffff:${v4.join('.')}` : ipv6Text(bytes),
    port,
    any: zero(0, 16),
    loopback: (zero(0, 15) && bytes[15] === 1) || (mapped && v4[0] === 127),
  };
}

/**
 * The sockets in LISTEN state in the text of /proc/net/tcp and/or /proc/net/tcp6 (either or
 * both, concatenated: headers and lines it cannot read are skipped), by port then address,
 * without duplicates.
 */
export function parseProcNetTcp(text: string): ListeningSocket[] {
  const found = new Map<string, ListeningSocket>();
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 4 || !/^\d+:$/.test(fields[0]) || fields[3].toUpperCase() !== LISTEN) continue;
    const [address, portHex] = fields[1].split(':');
    const port = parseInt(portHex ?? '', 16);
    if (!Number.isInteger(port) || port <= 0 || port > 65535) continue;
    const socket = socketOf(address, port);
    if (socket) found.set(`${socket.address}|${socket.port}`, socket);
  }
  return [...found.values()].sort((a, b) => a.port - b.port || a.address.localeCompare(b.address));
}
