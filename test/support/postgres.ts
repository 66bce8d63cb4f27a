// A real, throw-away PostgreSQL 15 cluster for tests: Debian's server binaries (initdb,
// pg_ctl from /usr/lib/postgresql/15/bin, not on PATH), a fresh data folder under the temp
// folder, on 127.0.0.1 at a free port, never the system's cluster. PostgreSQL refuses to run
// as root, so as root every server command runs as the `postgres` user (runuser), which owns
// the folder. The test user `wharf` logs in with a password (scram-sha-256) over TCP, as the
// control plane will; the superuser `postgres` only over the folder's own Unix socket (trust,
// the folder is 0700), for setup. Durability is off (fsync, synchronous_commit,
// full_page_writes): a crash loses a test cluster, nothing more.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, until } from './tcp.ts';

export const POSTGRES_BIN = '/usr/lib/postgresql/15/bin';

export interface Postgres {
  /** postgres://wharf:PASSWORD@127.0.0.1:PORT/wharf — the cluster's default test database. */
  url: string;
  port: number;
  /** The cluster's folder (data/, server.log, the Unix socket); removed by destroy(). */
  dir: string;
  /** Creates a new empty database owned by the test user and returns its URL (each test case can take a fresh one). Names are generated: wharf_1, wharf_2 … */
  createDatabase(): Promise<string>;
  /** Stops the server (pg_ctl stop -m fast) without removing its data: a later start() brings it back on the same port with the same data (tests of "PostgreSQL restarted"). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and removes its folder. Safe to call twice. */
  destroy(): Promise<void>;
}

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

const asRoot = process.getuid?.() === 0;

/** Clusters not destroyed yet: stopped and removed when the test process exits without destroy(). */
const leftovers = new Set<() => void>();
process.on('exit', () => {
  for (const cleanup of leftovers) cleanup();
});

/** `command args…` as the user that may run PostgreSQL: via runuser as root, else as is. */
function asServerUser(command: string, args: string[]): [string, string[]] {
  return asRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
}

/** Runs a PostgreSQL command to completion in `cwd` (the postgres user may not enter the caller's folder). */
function run(cwd: string, command: string, args: string[], timeoutMs = 60_000): Promise<Result> {
  const [file, argv] = asServerUser(join(POSTGRES_BIN, command), args);
  return new Promise((resolve) => {
    const child = spawn(file, argv, { cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', (err) => resolve({ code: null, stdout, stderr: stderr + err.message }));
    child.on('close', (code, signal) => resolve({ code, stdout, stderr: stderr + (signal ? `(killed by ${signal})` : '') }));
  });
}

/** The command line as a reader would type it, for error messages. */
function shown(command: string, args: string[]): string {
  const [file, argv] = asServerUser(join(POSTGRES_BIN, command), args);
  return [file, ...argv].join(' ');
}

/** Runs a PostgreSQL command and throws, saying what failed (plus `more()`, read after it ran), when it does not exit 0. */
async function must(cwd: string, command: string, args: string[], more?: () => string): Promise<Result> {
  const out = await run(cwd, command, args);
  if (out.code !== 0) {
    const extra = more?.();
    throw new Error(`${shown(command, args)} failed with exit code ${out.code}:\n${(out.stderr || out.stdout).trim()}${extra ? `\n${extra}` : ''}`);
  }
  return out;
}

/** The postgres user's uid and gid, from `id` (Node cannot look up other users). */
function postgresIds(): { uid: number; gid: number } {
  const ids = ['-u', '-g'].map((flag) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }));
  const [uid, gid] = ids.map((r) => Number(r.stdout.trim()));
  if (ids.some((r) => r.status !== 0) || !Number.isInteger(uid) || !Number.isInteger(gid)) {
    throw new Error(`no system user "postgres" to run PostgreSQL as (it refuses to run as root): ${ids.map((r) => r.stderr.trim()).join(' ')}`);
  }
  return { uid, gid };
}

/** A quoted postgresql.conf string. */
function confString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** Connects, runs `sql` and disconnects. */
async function query(config: string | pg.ClientConfig, sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client(typeof config === 'string' ? { connectionString: config, connectionTimeoutMillis: 5_000 } : { connectionTimeoutMillis: 5_000, ...config });
  client.on('error', () => {}); // the server going away while connected: the query rejects anyway
  try {
    await client.connect();
    return await client.query(sql);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Creates a cluster in a new temp folder, starts it, and makes the `wharf` user and database. */
export async function startPostgres(): Promise<Postgres> {
  if (!existsSync(join(POSTGRES_BIN, 'initdb'))) {
    throw new Error(`PostgreSQL 15 is not installed: no ${join(POSTGRES_BIN, 'initdb')} (Debian's postgresql-15 package; .ci/run installs it)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'wharf-postgres-'));
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  const password = randomBytes(18).toString('hex');
  let port = 0;
  let running = false;
  let destroyed = false;
  let databases = 0;

  const logTail = (lines = 30): string => {
    try {
      return `server log (${log}), last lines:\n${readFileSync(log, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')}`;
    } catch {
      return `no server log at ${log}`;
    }
  };

  // For a test process that exits without destroy(): stop at once, remove everything.
  const leftover = () => {
    const [file, argv] = asServerUser(join(POSTGRES_BIN, 'pg_ctl'), ['stop', '-D', data, '-m', 'immediate', '-w']);
    if (existsSync(join(data, 'postmaster.pid'))) spawnSync(file, argv, { cwd: dir, stdio: 'ignore', timeout: 10_000 });
    rmSync(dir, { recursive: true, force: true });
  };
  leftovers.add(leftover);

  const url = (database: string) => `postgres://wharf:${password}@127.0.0.1:${port}/${database}`;

  /** pg_ctl start: it waits (-w, up to -t seconds) until the server accepts connections, and fails early if the server exits. */
  const pgStart = async () => {
    await must(dir, 'pg_ctl', ['start', '-D', data, '-l', log, '-w', '-t', '30'], logTail);
    running = true;
  };

  /** Waits until wharf logs in over TCP (what tests do), ~30 s at most. */
  const accepting = async () => {
    let last = '';
    try {
      await until(`PostgreSQL accepts logins on 127.0.0.1:${port}`, async () => {
        try {
          await query(url('wharf'), 'SELECT 1');
          return true;
        } catch (err) {
          last = (err as Error).message;
          return false;
        }
      }, 30_000, 100);
    } catch (err) {
      throw new Error(`${(err as Error).message} (last error: ${last})\n${logTail()}`);
    }
  };

  const stop = async () => {
    if (!running) return;
    await must(dir, 'pg_ctl', ['stop', '-D', data, '-m', 'fast', '-w', '-t', '30'], logTail);
    running = false;
  };

  const destroy = async () => {
    if (destroyed) return;
    destroyed = true;
    try {
      // Asks pg_ctl rather than trusting `running`: a server may be up after a failed start().
      if (existsSync(data) && (await run(dir, 'pg_ctl', ['status', '-D', data])).code === 0) {
        running = true;
        await stop().catch(async (err) => {
          await run(dir, 'pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w']);
          throw err;
        });
      }
    } finally {
      running = false;
      leftovers.delete(leftover);
      rmSync(dir, { recursive: true, force: true });
    }
  };

  try {
    if (asRoot) {
      const { uid, gid } = postgresIds();
      chownSync(dir, uid, gid);
    }
    port = await freePort();
    await must(dir, 'initdb', [
      '-D', data,
      '--username=postgres',
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
      '-E', 'UTF8',
      '--locale=C.UTF-8',
      '--no-sync',
      '--no-instructions',
    ]);
    // In the cluster's own config rather than pg_ctl -o, so that start() after stop() comes
    // back with the same port and settings. Later lines override initdb's defaults above them.
    appendFileSync(join(data, 'postgresql.conf'), [
      '',
      '# test/support/postgres.ts: a throw-away test cluster',
      `listen_addresses = '127.0.0.1'`,
      `port = ${port}`,
      `unix_socket_directories = ${confString(dir)}`,
      'max_connections = 200',
      'fsync = off',
      'synchronous_commit = off',
      'full_page_writes = off',
      '',
    ].join('\n'));
    await pgStart();
    // As the superuser over the folder's Unix socket (pg takes a host starting with / as a socket folder).
    const superuser = { host: dir, port, user: 'postgres', database: 'postgres' };
    for (const sql of [`CREATE ROLE wharf LOGIN CREATEDB PASSWORD '${password}'`, 'CREATE DATABASE wharf OWNER wharf']) {
      await query(superuser, sql).catch((err: Error) => {
        throw new Error(`${sql.replace(password, '…')} as postgres on ${dir}/.s.PGSQL.${port} failed: ${err.message}\n${logTail()}`);
      });
    }
    await accepting();
  } catch (err) {
    await destroy().catch(() => {});
    throw err;
  }

  return {
    url: url('wharf'),
    port,
    dir,
    async createDatabase() {
      const name = `wharf_${++databases}`;
      try {
        await query(url('wharf'), `CREATE DATABASE ${name}`);
      } catch (err) {
        throw new Error(`CREATE DATABASE ${name} on 127.0.0.1:${port} failed: ${(err as Error).message}`);
      }
      return url(name);
    },
    stop,
    async start() {
      if (destroyed) throw new Error(`the PostgreSQL cluster in ${dir} was destroyed`);
      if (running) return;
      await pgStart();
      await accepting();
    },
    destroy,
  };
}
