// The containers' healthcheck (docker-compose.yml, deploy/agent/docker-compose.yml):
//   node /opt/wharf/deploy/image/healthcheck.ts control|gateway|agent
// finds the part's bound address in its run file (WHARF_HOME/run/<part>.json, written once it
// listens), so flags, env and port 0 need no second copy here, and asks its /healthz.
// Exit 0: healthy; 1: not (the reason on stderr, which `docker inspect` shows).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { wharfHome } from '../../protocol/home.ts';

type Part = 'control' | 'gateway' | 'agent';

/** The run file of a part: control.json, gateway.json, or the newest agent-<id>.json. */
export function runFile(home: string, part: Part): string | undefined {
  const dir = join(home, 'run');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  const matching = names.filter((n) => (part === 'agent' ? /^agent-.+\.json$/.test(n) : n === `${part}.json`));
  matching.sort((a, b) => statSync(join(dir, b)).mtimeMs - statSync(join(dir, a)).mtimeMs);
  return matching.length ? join(dir, matching[0]) : undefined;
}

/** `HOST:PORT` to ask: a wildcard bind is asked on loopback. */
export function healthAddress(part: Part, run: Record<string, any>): string | null {
  const raw: string | null | undefined = part === 'control' ? run.listen : part === 'gateway' ? run.admin : run.metrics;
  if (!raw) return null;
  return raw.replace(/^(0\.0\.0\.0|\[::\]|::):/, '127.0.0.1:');
}

function probe(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith('https:') ? httpsGet : httpGet;
    const req = get(url, { rejectUnauthorized: false, timeout: 4_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer in 4 s`)));
    req.on('error', reject);
  });
}

async function main(part: Part): Promise<string> {
  const file = runFile(wharfHome(), part);
  if (!file) throw new Error(`no run file for ${part} in ${wharfHome()}/run yet`);
  const run = JSON.parse(readFileSync(file, 'utf8')) as Record<string, any>;
  if (typeof run.pid === 'number') {
    try {
      process.kill(run.pid, 0);
    } catch {
      throw new Error(`${file}: process ${run.pid} is gone`);
    }
  }
  const address = healthAddress(part, run);
  // An agent run with --metrics-listen off has no HTTP port: a live process is all there is to see.
  if (!address) return `${part} pid ${run.pid} alive (no health port)`;
  // Control over HTTPS (--tls): its certificate need not name loopback, and this probe asks the
  // process next to it, so it checks liveness, not the certificate.
  const url = `${part === 'control' && String(run.url).startsWith('https:') ? 'https' : 'http'}://${address}/healthz`;
  const status = await probe(url);
  if (status !== 200) throw new Error(`${url} answered ${status}`);
  return `${part} ${url} ${status}`;
}

if (import.meta.main) {
  const part = process.argv[2];
  if (part !== 'control' && part !== 'gateway' && part !== 'agent') {
    console.error('usage: healthcheck.ts control|gateway|agent');
    process.exit(2);
  }
  main(part).then(
    (line) => { console.log(line); process.exit(0); },
    (err: Error) => { console.error(`unhealthy: ${err.message}`); process.exit(1); },
  );
}
