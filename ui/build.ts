import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { build } from 'esbuild';

/*
 * Builds the dashboard into ui/dist: one bundled, minified script and one stylesheet with a
 * content hash in their names (served with a year-long cache), and index.html naming them.
 * Run by `npm run build:ui`, and by npm's `prepare` (after `npm ci`), `prestart` and `pretest`.
 * The script and stylesheet also get `.br` and `.gz` copies, compressed once here at the
 * highest levels, which control sends to browsers that accept them (230 KB of script → 66 KB).
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
  const compressed: string[] = [];
  for (const name of [script, style]) {
    const bytes = readFileSync(join(dist, name));
    writeFileSync(join(dist, `${name}.br`), brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length } }));
    writeFileSync(join(dist, `${name}.gz`), gzipSync(bytes, { level: 9 }));
    compressed.push(`${name}.br`, `${name}.gz`);
  }
  return [...outputs, 'index.html', ...compressed];
}

if (process.argv[1] === import.meta.filename) {
  const started = performance.now();
  const files = await buildUi();
  console.log(`ui/dist: ${files.join(', ')} (${Math.round(performance.now() - started)} ms)`);
}
