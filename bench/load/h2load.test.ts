import { describe, expect, it } from 'vitest';
import { h2loadArgs, parseH2load } from './h2load.ts';

// Real h2load 1.52 output (Debian's nghttp2-client), captured against Caddy 2.6 in front of
// the bench's upstream nginx: 100 B body over HTTP/1.1 and over h2, a path the upstream
// answers 404, and a port nothing listens on.
const H1 = `starting benchmark...
spawning thread #0: 50 total client(s). 2000 total requests
TLS Protocol: TLSv1.3
Cipher: TLS_AES_128_GCM_SHA256
Server Temp Key: X25519 253 bits
Application protocol: http/1.1
progress: 10% done
progress: 20% done
progress: 30% done
progress: 40% done
progress: 50% done
progress: 60% done
progress: 70% done
progress: 80% done
progress: 90% done
progress: 100% done

finished in 289.42ms, 6910.47 req/s, 1.58MB/s
requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed, 0 errored, 0 timeout
status codes: 2000 2xx, 0 3xx, 0 4xx, 0 5xx
traffic: 468.75KB (480000) total, 197.27KB (202000) headers (space savings 0.00%), 195.31KB (200000) data
                     min         max         mean         sd        +/- sd
time for request:      811us     77.01ms      5.77ms      8.10ms    97.30%
time for connect:    17.09ms     86.30ms     48.65ms     22.09ms    56.00%
time to 1st byte:    87.99ms    110.63ms    100.09ms      5.49ms    70.00%
req/s           :     139.76      146.95      142.92        1.69    64.00%
`;

const H2 = `starting benchmark...
spawning thread #0: 10 total client(s). 2000 total requests
TLS Protocol: TLSv1.3
Cipher: TLS_AES_128_GCM_SHA256
Server Temp Key: X25519 253 bits
Application protocol: h2
progress: 10% done
progress: 20% done
progress: 30% done
progress: 40% done
progress: 50% done
progress: 60% done
progress: 70% done
progress: 80% done
progress: 90% done
progress: 100% done

finished in 358.05ms, 5585.81 req/s, 679.87KB/s
requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed, 0 errored, 0 timeout
status codes: 2000 2xx, 0 3xx, 0 4xx, 0 5xx
traffic: 243.43KB (249270) total, 12.42KB (12720) headers (space savings 94.27%), 195.31KB (200000) data
                     min         max         mean         sd        +/- sd
time for request:     1.47ms     38.78ms     16.11ms      6.13ms    68.70%
time for connect:     8.47ms     18.94ms     14.35ms      3.06ms    80.00%
time to 1st byte:    24.72ms     45.34ms     32.81ms      7.76ms    70.00%
req/s           :     563.10      610.04      580.07       14.97    60.00%
`;

const H2_404 = `starting benchmark...
spawning thread #0: 10 total client(s). 200 total requests
TLS Protocol: TLSv1.3
Cipher: TLS_AES_128_GCM_SHA256
Server Temp Key: X25519 253 bits
Application protocol: h2
progress: 10% done
progress: 20% done
progress: 30% done
progress: 40% done
progress: 50% done
progress: 60% done
progress: 70% done
progress: 80% done
progress: 90% done
progress: 100% done

finished in 55.07ms, 3631.87 req/s, 646.39KB/s
requests: 200 total, 200 started, 200 done, 0 succeeded, 200 failed, 0 errored, 0 timeout
status codes: 0 2xx, 0 3xx, 200 4xx, 0 5xx
traffic: 35.60KB (36450) total, 1.66KB (1700) headers (space savings 92.27%), 29.88KB (30600) data
                     min         max         mean         sd        +/- sd
time for request:     4.80ms     32.89ms     16.83ms      8.24ms    68.00%
time for connect:     6.79ms     22.52ms     14.77ms      5.26ms    60.00%
time to 1st byte:    29.20ms     46.85ms     36.77ms      6.95ms    50.00%
req/s           :     379.22      452.05      409.40       26.86    50.00%
`;

const REFUSED = `starting benchmark...
spawning thread #0: 10 total client(s). 200 total requests

finished in 2.46ms, 0.00 req/s, 0B/s
requests: 200 total, 0 started, 0 done, 0 succeeded, 200 failed, 200 errored, 0 timeout
status codes: 0 2xx, 0 3xx, 0 4xx, 0 5xx
traffic: 0B (0) total, 0B (0) headers (space savings 0.00%), 0B (0) data
                     min         max         mean         sd        +/- sd
time for request:        0us         0us         0us         0us     0.00%
time for connect:        0us         0us         0us         0us     0.00%
time to 1st byte:        0us         0us         0us         0us     0.00%
req/s           :       0.00        0.00        0.00        0.00   100.00%
`;

describe('parseH2load', () => {
  it('reads an HTTP/1.1 run: protocol, counts, time, req/s, mean latency and bytes', () => {
    expect(parseH2load(H1)).toEqual({
      protocol: 'http/1.1', requests: 2000, succeeded: 2000, errors: 0, non2xx: 0,
      seconds: 0.28942, rps: 6910.47, meanMs: 5.77, bytesRead: 480000,
    });
  });

  it('reads the negotiated h2', () => {
    expect(parseH2load(H2)).toMatchObject({ protocol: 'h2', requests: 2000, succeeded: 2000, errors: 0, rps: 5585.81, meanMs: 16.11 });
  });

  it('counts answers other than 2xx as errors', () => {
    expect(parseH2load(H2_404)).toMatchObject({ requests: 200, succeeded: 0, errors: 200, non2xx: 200 });
  });

  it('reads a run that never connected as no protocol, every request an error', () => {
    expect(parseH2load(REFUSED)).toMatchObject({ protocol: null, requests: 0, errors: 200, rps: 0, meanMs: 0 });
  });

  it('refuses output without the summary', () => {
    expect(() => parseH2load(H1.slice(0, H1.indexOf('finished in')))).toThrow(/"finished in" line/);
  });
});

describe('h2loadArgs', () => {
  it('never pipelines HTTP/1.1: -m only for h2', () => {
    const base = { url: 'https://r1.apps.localhost:8443/small', connectTo: '127.0.0.1:8443', load: { requests: 100 } };
    expect(h2loadArgs({ ...base, h1: true })).not.toContain('-m');
    expect(h2loadArgs({ ...base, clients: 10, streams: 10 })).toEqual(['-n', '100', '-c', '10', '-m', '10', '--connect-to', '127.0.0.1:8443', base.url]);
  });
});
