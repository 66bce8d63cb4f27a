import { readFile, realpath, stat } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ControlError } from '../errors.ts';
import type { ApiAuth } from './auth.ts';

/*
 * The dashboard (DESIGN.md "ui/ served by control"; issue 8), built by `npm run build:ui` into
 * ui/dist (npm's prepare, prestart and pretest run it):
 *
 * - GET / and the other SHELL_PATHS: the app shell (ui/dist/index.html) when signed in, else
 *   303 to /signin?return=<that path>. The shell's script draws the page the path names
 *   (ui/src/router.ts).
 * - GET /ui/<file>: a file of ui/dist and nothing else (no `..`, no dot files, no folders, no
 *   links out of it). Names with esbuild's content hash are cached for a year; others revalidate.
 *   Where the build left a `.br` or `.gz` copy and the browser accepts it, that is sent instead
 *   (`Content-Encoding`, `Vary: Accept-Encoding`).
 *
 * The shell's Content-Security-Policy allows scripts and styles from this origin only: no
 * inline script, no eval, no other host (the app's JSON comes from the same-origin API).
 */

export interface DashboardDeps {
  auth: Pick<ApiAuth, 'session'>;
  /** The built dashboard (default: ui/dist of this checkout). */
  distDir?: string;
}

export const DEFAULT_DIST_DIR = join(import.meta.dirname, '..', '..', 'ui', 'dist');

export const DASHBOARD_CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "font-src 'self'",
  "connect-src 'self'", "form-action 'self'", "base-uri 'none'", "frame-ancestors 'none'",
].join('; ');

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
};

/** The dashboard's pages (ui/src/router.ts): each serves the shell, so a reload or a return from sign-in lands on it. */
export const SHELL_PATHS = ['/', '/apps', '/launch', '/projects', '/account', '/users', '/agents', '/audit', '/instances/:id'];

/** esbuild's `[name]-[hash]`: eight base32 characters before the extension. */
const HASHED = /-[A-Z0-9]{8}\.[a-z0-9]+$/;
/** One or more path segments of plain names: letters, digits, `-`, `_`, `.`, never starting with a dot. */
const SAFE_PATH = /^(?:[A-Za-z0-9_][A-Za-z0-9_.-]*\/)*[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

const YEAR_S = 365 * 24 * 3600;

/** The precompressed copies ui/build.ts writes, by Content-Encoding, in the order preferred. */
const ENCODINGS = { br: 'br', gzip: 'gz' } as const;
type Encoding = keyof typeof ENCODINGS;

/** The encodings of ENCODINGS an Accept-Encoding header allows (`q=0` refuses one), best first. */
export function acceptedEncodings(header: string | string[] | undefined): Encoding[] {
  const allowed = new Set<string>();
  for (const part of String(header ?? '').toLowerCase().split(',')) {
    const [name, ...params] = part.trim().split(';').map((x) => x.trim());
    const q = params.find((p) => p.startsWith('q='));
    if (name && !(q && Number(q.slice(2)) === 0)) allowed.add(name);
  }
  // `*` is left alone: browsers name br and gzip, and an unnamed coding is never worth a guess.
  return (Object.keys(ENCODINGS) as Encoding[]).filter((e) => allowed.has(e));
}

function secure(reply: FastifyReply): FastifyReply {
  return reply.header('x-content-type-options', 'nosniff').header('referrer-policy', 'same-origin');
}

/** The file under `dist` that `rel` names, or undefined when it names anything else. */
export async function distFile(dist: string, rel: string): Promise<string | undefined> {
  if (!SAFE_PATH.test(rel) || rel.split('/').some((s) => s === '.' || s === '..')) return undefined;
  try {
    const root = await realpath(dist);
    const file = await realpath(join(root, rel));
    if (!file.startsWith(root + sep)) return undefined;
    return (await stat(file)).isFile() ? file : undefined;
  } catch {
    return undefined;
  }
}

export function dashboardRoutes(app: FastifyInstance, deps: DashboardDeps): void {
  const dist = deps.distDir ?? DEFAULT_DIST_DIR;

  const shell = async (request: FastifyRequest, reply: FastifyReply) => {
    reply.header('cache-control', 'no-store');
    if (!(await deps.auth.session(request))) return reply.redirect(`/signin?return=${encodeURIComponent(request.url).replaceAll('%2F', "/")}`, 303);
    let html: Buffer;
    try {
      html = await readFile(join(dist, 'index.html'));
    } catch {
      throw new ControlError('CTL_NOT_FOUND', 'the dashboard is not built: run `npm run build:ui` (npm ci, npm start and npm test build it)');
    }
    return secure(reply).header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', DASHBOARD_CSP).header('x-frame-options', 'DENY').send(html);
  };
  for (const path of SHELL_PATHS) app.get(path, shell);

  app.get<{ Params: { '*': string } }>('/ui/*', async (request, reply) => {
    const rel = request.params['*'];
    const type = CONTENT_TYPES[extname(rel)];
    const file = type ? await distFile(dist, rel) : undefined;
    if (!file) throw new ControlError('CTL_NOT_FOUND', `no dashboard file /ui/${rel}`);
    secure(reply).header('content-type', type).header('vary', 'accept-encoding')
      .header('cache-control', HASHED.test(rel) ? `public, max-age=${YEAR_S}, immutable` : 'no-cache');
    for (const encoding of acceptedEncodings(request.headers['accept-encoding'])) {
      const copy = await distFile(dist, `${rel}.${ENCODINGS[encoding]}`);
      if (copy) return reply.header('content-encoding', encoding).send(await readFile(copy));
    }
    return reply.send(await readFile(file));
  });
}
