import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { build } from 'esbuild';

/*
 * Builds the dashboard into ui/dist: one bundled, minified script and one stylesheet with a
 * content hash in their names (served with a year-long cache), and index.html naming them.
 * Run by `npm run build:ui`, and by npm's `prepare` (after `npm ci`), `prestart` and `pretest`.
 */

const root = import.meta.dirname;
const dist = join(root, 'dist');

export async function buildUi(): Promise<string[]> {
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(dist, { recursive: true });
  const result = await build({
    entryPoints: { app: join(root, 'src', 'main.ts'), style: join(root, 'src', 'style.css') },
    outdir: dist,
    entryNames: '[name]-[hash]',
    bundle: true,
    minify: true,
    sourcemap: false,
    format: 'esm',
    target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
    metafile: true,
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((f) => basename(f));
  const script = outputs.find((f) => f.startsWith('app-') && f.endsWith('.js'));
  const style = outputs.find((f) => f.startsWith('style-') && f.endsWith('.css'));
  if (!script || !style) throw new Error(`esbuild wrote ${outputs.join(', ')}: app-*.js or style-*.css is missing`);
  const html = readFileSync(join(root, 'index.html'), 'utf8')
    .replace('%SCRIPT%', `/ui/${script}`)
    .replace('%STYLE%', `/ui/${style}`);
  writeFileSync(join(dist, 'index.html'), html);
  return [...outputs, 'index.html'];
}

if (process.argv[1] === import.meta.filename) {
  const started = performance.now();
  const files = await buildUi();
  console.log(`ui/dist: ${files.join(', ')} (${Math.round(performance.now() - started)} ms)`);
}
