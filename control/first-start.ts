import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Store } from './store/store.ts';

export const ADMIN_NAME = 'admin';

/**
 * First start (DESIGN.md): the `admin` user with a random password in
 * `WHARF_HOME/admin.password`, and an API token for it in `WHARF_HOME/admin.token`, both
 * 0600, so the local CLI just works. Each is made only when its file is missing; a restart
 * changes nothing. A missing password file for an existing admin is left missing: someone
 * removed it on purpose, and `wharf users passwd admin` sets a new one (given the current
 * one, as for anyone's own password; else another admin sets it). Of several controls
 * starting together on one new store, one makes the admin; each writes a token of its own.
 */
export async function firstStart(store: Store, home: string, log: Logger): Promise<void> {
  const passwordFile = join(home, 'admin.password');
  const tokenFile = join(home, 'admin.token');
  let admin = await store.users.getByName(ADMIN_NAME);
  if (!admin) {
    const password = randomBytes(18).toString('base64url'); // 144 bits
    try {
      admin = await store.users.add({ name: ADMIN_NAME, password, admin: true });
      // 'wx': never overwrite a file someone else made.
      if (!existsSync(passwordFile)) writeFileSync(passwordFile, `${password}\n`, { mode: 0o600, flag: 'wx' });
      log.info({ file: passwordFile }, 'created the admin user');
    } catch (err) {
      // Another control on the same store made it a moment ago: its WHARF_HOME has the password.
      if ((err as { code?: string }).code !== 'CTL_USER_EXISTS') throw err;
      admin = (await store.users.getByName(ADMIN_NAME))!;
    }
  }
  if (!existsSync(tokenFile)) {
    const { token } = await store.apiTokens.create(admin.id, 'admin.token');
    writeFileSync(tokenFile, `${token}\n`, { mode: 0o600, flag: 'wx' });
    log.info({ file: tokenFile }, 'wrote the admin API token');
  }
}
