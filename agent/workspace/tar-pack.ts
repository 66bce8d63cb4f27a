import type { TarHeader } from './tar-reader.ts';

/*
 * Writes tar members back: a ustar header per member, preceded by a PAX header when a path,
 * link target or number does not fit ustar. Deterministic by design: the same members give
 * the same bytes, whenever and wherever they are written (no time of writing, no user or
 * group names, only the member's own whole-second mtime), so that an unchanged workspace
 * gives a byte-identical snapshot.
 */

export const BLOCK = 512;
export const END_OF_ARCHIVE = Buffer.alloc(BLOCK * 2);

const FLAGS: Record<TarHeader['type'], string> = { file: '0', hardlink: '1', symlink: '2', char: '3', block: '4', directory: '5', fifo: '6' };

const MAX_OCTAL_8 = 0o7777777;
const MAX_OCTAL_12 = 0o77777777777;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/** A PAX record: "<len> key=value\n", where len counts the whole record, itself included. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLength = Buffer.byteLength(body);
  let digits = String(bodyLength).length;
  while (String(bodyLength + digits).length > digits) digits++;
  return `${bodyLength + digits}${body}`;
}

const fitsName = (s: string, max: number) => Buffer.byteLength(s) <= max && /^[\x20-\x7e]*$/.test(s);

function block(name: string, flag: string, h: { mode: number; uid: number; gid: number; size: number; mtime: number; linkname: string; devmajor: number; devminor: number }): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(name, 0, 100, 'utf8');
  b.write(octal(h.mode & 0o7777, 8), 100, 'ascii');
  b.write(octal(Math.min(h.uid, MAX_OCTAL_8), 8), 108, 'ascii');
  b.write(octal(Math.min(h.gid, MAX_OCTAL_8), 8), 116, 'ascii');
  b.write(octal(Math.min(h.size, MAX_OCTAL_12), 12), 124, 'ascii');
  b.write(octal(Math.min(Math.max(h.mtime, 0), MAX_OCTAL_12), 12), 136, 'ascii');
  b.write('        ', 148, 'ascii');
  b.write(flag, 156, 'ascii');
  b.write(h.linkname, 157, 100, 'utf8');
  b.write('ustar\0' + '00', 257, 'ascii');
  b.write(octal(h.devmajor, 8), 329, 'ascii');
  b.write(octal(h.devminor, 8), 337, 'ascii');
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(octal(sum, 7) + ' ', 148, 'ascii');
  return b;
}

/** The header block(s) of one member; its body (files: `size` bytes) and `padding(size)` follow. */
export function encodeHeader(h: TarHeader): Buffer {
  const records: string[] = [];
  let name = h.path;
  let linkname = h.linkname;
  if (!fitsName(name, 100)) {
    records.push(paxRecord('path', name));
    name = `PaxPath/${name.replace(/[^\x20-\x7e]/g, '_')}`.slice(0, 99);
  }
  if (!fitsName(linkname, 100)) {
    records.push(paxRecord('linkpath', linkname));
    linkname = linkname.replace(/[^\x20-\x7e]/g, '_').slice(0, 99);
  }
  if (h.uid > MAX_OCTAL_8) records.push(paxRecord('uid', String(h.uid)));
  if (h.gid > MAX_OCTAL_8) records.push(paxRecord('gid', String(h.gid)));
  if (h.size > MAX_OCTAL_12) records.push(paxRecord('size', String(h.size)));
  if (h.mtime < 0 || h.mtime > MAX_OCTAL_12) records.push(paxRecord('mtime', String(h.mtime)));
  const main = block(name, FLAGS[h.type], { ...h, linkname });
  if (!records.length) return main;
  const data = Buffer.from(records.join(''));
  const paxHeader = block('PaxHeader', 'x', { mode: 0o644, uid: 0, gid: 0, size: data.length, mtime: Math.max(0, Math.min(h.mtime, MAX_OCTAL_12)), linkname: '', devmajor: 0, devminor: 0 });
  return Buffer.concat([paxHeader, data, padding(data.length), main]);
}

export const padding = (size: number) => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
