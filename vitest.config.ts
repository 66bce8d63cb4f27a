import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'bench/.work/**'],
    // End-to-end files share one machine's ports and CPU (and later one Docker Engine): run
    // files one at a time so that timing-sensitive cases do not starve each other.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
