import type { ScryptCost } from '../passwords.ts';
import { NO_FEED, type ChangeFeed } from '../change-feed.ts';
import type { Clock, Store, StoreLocks } from '../store.ts';
import { SqlAgents } from './agents.ts';
import { SqlAudit } from './audit.ts';
import { SqlShares } from './shares.ts';
import { SqlProjects } from './projects.ts';
import { SqlSso } from './sso.ts';
import { SqlApiTokens } from './api-tokens.ts';
import { SqlConsole, type ConsoleLimits } from './console.ts';
import { SqlGateways } from './gateways.ts';
import { SqlInstances } from './instances.ts';
import { SqlJobs } from './jobs.ts';
import { SqlSessionRevocations } from './session-revocations.ts';
import { SqlSharedKeys } from './shared-keys.ts';
import { SqlSigningKeys } from './signing-keys.ts';
import { SqlSnapshots } from './snapshots.ts';
import type { Sql } from './sql.ts';
import { SqlUsedLinks } from './used-links.ts';
import { SqlSignOuts } from './sign-outs.ts';
import { SqlSigninFailures } from './signin-failures.ts';
import { SqlMetricsPoints } from './metrics-points.ts';
import { SqlUsers } from './users.ts';
import { SqlRouteTable } from './route-table.ts';

export interface SqlStoreOptions {
  /** Milliseconds since the epoch; control passes Date.now, tests a clock they move. */
  clock: Clock;
  /** Lower it in tests only: hashing at the default cost takes about 0.1 s. */
  scryptCost?: ScryptCost;
  console?: ConsoleLimits;
}

/** A store one control has to itself (SQLite): every lock is its own. */
const ONE_CONTROL = { hold: async () => true, close: async () => {} };

/** The whole store over one database, whichever it is; `close` releases the database (after the feed). */
export function sqlStore(sql: Sql, options: SqlStoreOptions, close: () => Promise<void>, shared: { changes: ChangeFeed; locks: StoreLocks & { close(): Promise<void> } } = { changes: NO_FEED, locks: ONE_CONTROL }): Store {
  const { changes, locks } = shared;
  const { clock } = options;
  return {
    users: new SqlUsers(sql, clock, options.scryptCost),
    apiTokens: new SqlApiTokens(sql, clock),
    agents: new SqlAgents(sql, clock),
    gateways: new SqlGateways(sql, clock),
    instances: new SqlInstances(sql, clock),
    jobs: new SqlJobs(sql),
    snapshots: new SqlSnapshots(sql, clock),
    console: new SqlConsole(sql, clock, options.console),
    revocations: new SqlSessionRevocations(sql),
    usedLinks: new SqlUsedLinks(sql),
    signOuts: new SqlSignOuts(sql),
    signinFailures: new SqlSigninFailures(sql),
    metrics: new SqlMetricsPoints(sql),
    sharedKeys: new SqlSharedKeys(sql, clock),
    signingKeys: new SqlSigningKeys(sql),
    audit: new SqlAudit(sql, clock),
    shares: new SqlShares(sql, clock),
    projects: new SqlProjects(sql, clock),
    sso: new SqlSso(sql),
    routeTable: new SqlRouteTable(sql),
    changes,
    locks,
    async close() {
      await changes.close();
      await locks.close();
      await close();
    },
  };
}
