import type { Upstream } from '../peers/upstream-nginx.ts';
import type { TlsFiles } from '../peers/tls-files.ts';
import type { WorkDir } from '../support/work-dir.ts';

/** What every group of cases shares: one upstream, one certificate, one clock. */
export interface BenchContext {
  work: WorkDir;
  tls: TlsFiles;
  upstream: Upstream;
  durationS: number;
  warmupS: number;
  log(line: string): void;
}
