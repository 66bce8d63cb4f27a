import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyReply } from 'fastify';
import { DASHBOARD_CSP } from './dashboard.ts';

export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The dashboard's stylesheet as ui/dist/index.html names it (its name carries a content hash), or undefined before a build. */
async function dashboardStylesheet(dist: string): Promise<string | undefined> {
  try {
    return /<link rel="stylesheet" href="(\/ui\/[A-Za-z0-9_.-]+\.css)">/.exec(await readFile(join(dist, 'index.html'), 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/**
 * A page of its own (sign-in, a failed single sign-on), not the dashboard's shell: in the
 * dashboard's look (`dist`: the built dashboard), under the dashboard's CSP, never cached,
 * never framed, its address never sent to another site.
 */
export async function ownPage(reply: FastifyReply, dist: string, title: string, body: string): Promise<FastifyReply> {
  const stylesheet = await dashboardStylesheet(dist);
  return reply
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('x-frame-options', 'DENY')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'same-origin')
    .header('content-security-policy', DASHBOARD_CSP)
    .send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${escapeHtml(title)} · Wharf</title>
<link rel="icon" href="data:,">
${stylesheet ? `<link rel="stylesheet" href="${escapeHtml(stylesheet)}">\n` : ''}<script type="module" src="/signin.js"></script>
</head><body class="signin">
<header class="bar"><span class="brand">Wharf</span></header>
<main id="main">
${body}
</main></body></html>
`);
}
