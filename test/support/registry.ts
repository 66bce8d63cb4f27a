// A private image registry for the agent's pull tests: Debian's docker-registry (the CNCF
// distribution server) with htpasswd logins (bcrypt, from apache2-utils' htpasswd) over TLS
// on the Docker bridge's address. Not on loopback: dockerd treats a loopback registry as
// insecure and would pull from it without checking anything. Its CA goes where dockerd reads
// per-registry CAs, /etc/docker/certs.d/HOST:PORT/ca.crt, and is removed at the end.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuthority, issueCertificate } from '../../certs/authority.ts';
import { docker, exec } from './stack.ts';
import { freePort, until } from './tcp.ts';

export interface Registry {
  /** HOST:PORT, as image references name it. */
  host: string;
  /**
   * A Docker client config folder (DOCKER_CONFIG) logged in to the registry with `password`:
   * what `docker login` writes, read by the agent as its credentials. Removed by stop().
   */
  login(password: string): Promise<string>;
  /** A Docker client config folder that holds `password` for the registry without logging in (login refuses a wrong one). Removed by stop(). */
  configWith(password: string): string;
  /** Tags a local image as HOST:PORT/`repository`, pushes it with the registry's user, and removes the local tag. */
  push(local: string, repository: string): Promise<string>;
  stop(): Promise<void>;
}

const CERTS_D = '/etc/docker/certs.d';

/**
 * The Docker bridge's address on this host (docker0), where containers and dockerd both reach
 * the host: the bridge network's gateway as the Engine reports it, or, when it reports none (an
 * Engine that found docker0 already there leaves IPAM's Gateway empty), the first address of its
 * subnet, which is what the Engine gives docker0.
 */
async function bridgeAddress(): Promise<string> {
  const out = await docker('network', 'inspect', 'bridge', '--format', '{{range .IPAM.Config}}{{.Gateway}}|{{.Subnet}}{{end}}');
  const [gateway, subnet] = out.stdout.trim().split('|');
  const first = /^(\d+\.\d+\.\d+)\.0\/\d+$/.exec(subnet ?? '')?.[1];
  const address = gateway || (first ? `${first}.1` : '');
  if (out.code !== 0 || !/^\d+\.\d+\.\d+\.\d+$/.test(address)) throw new Error(`no address for Docker's bridge network: ${out.stderr.trim() || out.stdout.trim()}`);
  return address;
}

/** The status of a GET, or 0 when nothing answers yet. */
function status(url: string, ca: string): Promise<number> {
  return new Promise((resolve) => {
    const req = https.get(url, { ca }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
  });
}

/** Starts a registry that lets `user` in with `password`, and no one else. */
export async function startRegistry(user: string, password: string): Promise<Registry> {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-registry-'));
  const address = await bridgeAddress();
  const port = await freePort();
  const host = `${address}:${port}`;
  const ca = createAuthority('Wharf test registry CA');
  const server = issueCertificate(ca, { names: [address] });
  writeFileSync(join(dir, 'server.pem'), server.cert);
  writeFileSync(join(dir, 'server-key.pem'), server.key, { mode: 0o600 });
  const htpasswd = await exec('htpasswd', ['-Bbn', user, password]);
  if (htpasswd.code !== 0) throw new Error(`htpasswd (apache2-utils) failed: ${htpasswd.stderr}`);
  writeFileSync(join(dir, 'htpasswd'), htpasswd.stdout);
  writeFileSync(join(dir, 'config.yml'), [
    'version: 0.1',
    'log:',
    '  level: warn',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    'http:',
    `  addr: ${host}`,
    '  tls:',
    `    certificate: ${join(dir, 'server.pem')}`,
    `    key: ${join(dir, 'server-key.pem')}`,
    'auth:',
    '  htpasswd:',
    '    realm: wharf-test',
    `    path: ${join(dir, 'htpasswd')}`,
    '',
  ].join('\n'));
  const certsDir = join(CERTS_D, host);
  mkdirSync(certsDir, { recursive: true });
  writeFileSync(join(certsDir, 'ca.crt'), ca.cert);

  let output = '';
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (c) => (output += c));
  child.stderr!.on('data', (c) => (output += c));
  let pushConfig = '';
  const pushed: string[] = [];

  const stop = async () => {
    child.kill('SIGTERM');
    for (const image of pushed) await docker('rmi', '-f', image);
    rmSync(certsDir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  };

  const login = async (secret: string): Promise<string> => {
    const config = mkdtempSync(join(dir, 'docker-config-'));
    const out = await exec('sh', ['-c', `printf '%s' "$1" | docker --config "$2" login --username "$3" --password-stdin "$4"`, 'sh', secret, config, user, host]);
    if (out.code !== 0) throw new Error(`docker login ${host} failed: ${out.stderr.trim()}`);
    return config;
  };

  try {
    // The registry answers /v2/ with 401 to a client without credentials once it serves.
    await until(`docker-registry serves on ${host}`, async () => {
      if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}:\n${output}`);
      return (await status(`https://${host}/v2/`, ca.cert)) === 401;
    }, 15_000, 100);
    pushConfig = await login(password);
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    host,
    login,
    configWith(secret) {
      const config = mkdtempSync(join(dir, 'docker-config-'));
      writeFileSync(join(config, 'config.json'), JSON.stringify({ auths: { [host]: { auth: Buffer.from(`${user}:${secret}`).toString('base64') } } }));
      return config;
    },
    async push(local, repository) {
      const image = `${host}/${repository}`;
      for (const args of [['tag', local, image], ['--config', pushConfig, 'push', image], ['rmi', image]]) {
        const out = await docker(...args);
        if (out.code !== 0) throw new Error(`docker ${args.join(' ')} failed: ${out.stderr.trim()}`);
      }
      pushed.push(image);
      return image;
    },
    stop,
  };
}
