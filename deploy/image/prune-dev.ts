// Run inside the image build (Dockerfile, first stage): removes from node_modules every package
// that package-lock.json marks `"dev": true` (needed only by devDependencies), so the image
// carries the runtime dependencies alone without npm or the network. A package the lock file
// marks `devOptional` (needed by a runtime dependency as an optional one) is kept.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export function devPackagePaths(lock: { packages?: Record<string, { dev?: boolean; [field: string]: unknown }> }): string[] {
  return Object.entries(lock.packages ?? {})
    .filter(([path, entry]) => path.startsWith('node_modules/') && entry.dev === true)
    .map(([path]) => path)
    // Deepest first is not needed (rm is recursive), but outer first skips nested ones already gone.
    .sort((a, b) => a.length - b.length);
}

if (import.meta.main) {
  const root = process.argv[2] ?? '.';
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
  let removed = 0;
  for (const path of devPackagePaths(lock)) {
    const dir = join(root, path);
    if (!existsSync(dir)) continue;
    rmSync(dir, { recursive: true, force: true });
    removed++;
  }
  // Links to the removed packages' commands (typescript's tsc, vitest…) would dangle.
  rmSync(join(root, 'node_modules', '.bin'), { recursive: true, force: true });
  console.log(`prune-dev: removed ${removed} devDependency package(s) of ${devPackagePaths(lock).length} in package-lock.json`);
}
