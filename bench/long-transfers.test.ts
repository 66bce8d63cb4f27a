import { describe, expect, it } from 'vitest';
import { longTransfersReport, runLongTransfers } from './long-transfers.ts';

// `npm run bench:long` moves 1 GiB each way for minutes; here the same run, small and fast,
// so that it cannot rot: every transfer arrives whole, paced (not faster than asked).
describe('long transfers (8 MiB at 4 MiB/s)', () => {
  it('uploads over HTTP/1.1 and HTTP/2 and downloads through the gateway, each body intact and paced', async () => {
    const r = await runLongTransfers({ sizeMiB: 8, rateMiBps: 4 });
    expect(r.transfers.map((t) => t.name)).toEqual(['upload, HTTP/1.1', 'upload, HTTP/2', 'download, HTTP/1.1']);
    for (const t of r.transfers) {
      expect(t, t.name).toMatchObject({ bytes: 8 * 1024 * 1024, intact: true });
      expect(t.seconds, t.name).toBeGreaterThan(1.5);
    }
    expect(longTransfersReport(r, 'node bench/long-run.ts --size-mib 8 --rate-mibps 4')).toMatch(/\| upload, HTTP\/2 \| 8 \| [\d.]+ \| [\d.]+ \| yes \|/);
  }, 60_000);
});
