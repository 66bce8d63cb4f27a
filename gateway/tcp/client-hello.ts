/**
 * Reads the server name (SNI) from the first bytes of a TLS connection without consuming
 * them, so that the HTTPS port can send TCP routes elsewhere before any handshake.
 * RFC 8446 §4.1.2 (ClientHello) and RFC 6066 §3 (server_name).
 */
export type HelloResult =
  | { kind: 'need-more' }
  /** Not TLS, or a ClientHello without SNI: the HTTPS entrypoint will deal with it. */
  | { kind: 'no-sni' }
  | { kind: 'sni'; servername: string };

const NEED_MORE: HelloResult = { kind: 'need-more' };
const NO_SNI: HelloResult = { kind: 'no-sni' };
/** A ClientHello bigger than this is not worth buffering for (the largest seen are ~2 KiB; post-quantum ones ~1.8 KiB more). */
export const MAX_HELLO_BYTES = 16_384;

export function readServerName(buf: Buffer): HelloResult {
  if (buf.length < 5) return NEED_MORE;
  // TLS record: type 22 (handshake), version 3.x, length.
  if (buf[0] !== 22 || buf[1] !== 3) return NO_SNI;
  const recordLength = buf.readUInt16BE(3);
  if (buf.length < 5 + Math.min(recordLength, 4)) return NEED_MORE;
  // Handshake header: type 1 (ClientHello), 24-bit length. A hello split over several
  // records is legal but never sent by real clients for the first record's SNI.
  if (buf[5] !== 1) return NO_SNI;
  const helloLength = buf.readUIntBE(6, 3);
  const end = 9 + helloLength;
  if (end > 5 + recordLength) return NO_SNI;
  if (buf.length < end) return end > MAX_HELLO_BYTES ? NO_SNI : NEED_MORE;
  let p = 9 + 2 + 32; // legacy_version, random
  if (p + 1 > end) return NO_SNI;
  p += 1 + buf[p]; // legacy_session_id
  if (p + 2 > end) return NO_SNI;
  p += 2 + buf.readUInt16BE(p); // cipher_suites
  if (p + 1 > end) return NO_SNI;
  p += 1 + buf[p]; // legacy_compression_methods
  if (p + 2 > end) return NO_SNI;
  const extEnd = Math.min(end, p + 2 + buf.readUInt16BE(p));
  p += 2;
  while (p + 4 <= extEnd) {
    const type = buf.readUInt16BE(p);
    const len = buf.readUInt16BE(p + 2);
    p += 4;
    if (p + len > extEnd) return NO_SNI;
    if (type === 0) {
      // server_name_list: list length, then entries of (type, length, name); type 0 is host_name.
      let q = p + 2;
      while (q + 3 <= p + len) {
        const nameType = buf[q];
        const nameLen = buf.readUInt16BE(q + 1);
        q += 3;
        if (q + nameLen > p + len) return NO_SNI;
        if (nameType === 0) return { kind: 'sni', servername: buf.toString('latin1', q, q + nameLen).toLowerCase() };
        q += nameLen;
      }
      return NO_SNI;
    }
    p += len;
  }
  return NO_SNI;
}
