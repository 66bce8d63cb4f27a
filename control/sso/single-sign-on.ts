import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { AppSessions } from '../keys/app-sessions.ts';
import type { ConsoleSessions } from '../keys/console-sessions.ts';
import type { AppHosts } from '../keys/gateway-tokens.ts';
import type { Clock, Store } from '../store/store.ts';
import { IdentityProvider } from './identity-provider.ts';
import { PendingSignIns } from './pending-sign-ins.ts';
import { Sealer } from './sealed.ts';
import type { SsoConfig } from './sso-config.ts';
import { ssoRoutes } from './sso-routes.ts';
import { SsoSessions } from './sso-sessions.ts';

export interface SingleSignOnDeps {
  config: SsoConfig;
  /** A 32-byte key every control shares (keys/shared-key.ts): what seals refresh tokens and pending sign-ins. */
  key: Buffer;
  store: Store;
  appSessions: AppSessions;
  consoleSessions: ConsoleSessions;
  hosts: AppHosts;
  clock: Clock;
  log: Logger;
  distDir: string;
}

/** Single sign-on's parts, made once per control: the IdP client, its sessions, and the /auth/oidc routes (`routes` registers them). */
export function singleSignOn(deps: SingleSignOnDeps): { name: string; sessions: SsoSessions; routes(app: FastifyInstance): void } {
  const idp = new IdentityProvider(deps.config);
  const sessions = new SsoSessions({ ...deps, idp, sealer: new Sealer(deps.key, 'refresh token') });
  const pending = new PendingSignIns(new Sealer(deps.key, 'pending sign-in'));
  return {
    name: idp.name,
    sessions,
    routes: (app) => ssoRoutes(app, { ...deps, idp, pending, ssoSessions: sessions }),
  };
}
