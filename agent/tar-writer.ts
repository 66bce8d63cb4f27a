/*
 * A minimal POSIX tar (ustar, with a PAX header for long names) of regular files, for Docker's
 * put-archive: how an app's config files land in its container before it starts. Parents are
 * not archived, so existing directories (/etc) keep their owner and mode; the Engine creates
 * missing ones.
 */

const BLOCK = 512;

export interface TarFile {
  /** Relative to where the archive is extracted; no leading "/", no "..". */
  path: string;
  content: Buffer;
  mode: number;
  mtime?: number;
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function header(name: string, size: number, mode: number, mtime: number, type: '0' | 'x'): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(mode, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii'); // uid root
  h.write(octal(0, 8), 116, 'ascii'); // gid root
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(Math.floor(mtime), 12), 136, 'ascii');
  h.write('        ', 148, 'ascii'); // the checksum counts its own field as spaces
  h.write(type, 156, 'ascii');
  h.write('ustar\0' + '00', 257, 'ascii');
  h.write('root', 265, 'ascii');
  h.write('root', 297, 'ascii');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(octal(sum, 7) + ' ', 148, 'ascii');
  return h;
}

const pad = (size: number) => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);

/** A PAX record: "<len> path=<value>\n", where len counts the whole record, itself included. */
function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  const bodyLength = Buffer.byteLength(body);
  let digits = String(bodyLength).length;
  while (String(bodyLength + digits).length > digits) digits++;
  return Buffer.from(`${bodyLength + digits}${body}`);
}

export function tarFiles(files: TarFile[]): Buffer {
  const parts: Buffer[] = [];
  const now = Date.now() / 1000;
  for (const f of files) {
    if (!f.path || f.path.startsWith('/') || f.path.split('/').includes('..')) throw new Error(`tar: "${f.path}" must be a relative path without ".."`);
    const mtime = f.mtime ?? now;
    let name = f.path;
    if (Buffer.byteLength(name) > 99 || /[^\x20-\x7e]/.test(name)) {
      const pax = paxRecord('path', f.path);
      parts.push(header('PaxHeader', pax.length, 0o644, mtime, 'x'), pax, pad(pax.length));
      name = Buffer.from(f.path).subarray(0, 99).toString('latin1').replace(/[^\x20-\x7e]/g, '_');
    }
    parts.push(header(name, f.content.length, f.mode & 0o7777, mtime, '0'), f.content, pad(f.content.length));
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}
