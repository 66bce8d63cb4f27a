import { existsSync, readFileSync, statSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { tempStore, testConfig, testSpec, type TempStore } from './testing.ts';

/** Every byte SQLite has written for the database: the file, its write-ahead log and shared memory. */
function rawBytes(file: string): Buffer {
  return Buffer.concat([file, `${file}-wal`, `${file}-shm`].filter(existsSync).map((f) => readFileSync(f)));
}

describe('the SQLite file', () => {
  let t: TempStore;
  afterEach(() => t.cleanup());

  it('holds no password, token, agent secret or gateway key in clear', async () => {
    t = tempStore();
    const s = t.store;
    const passwords = ['first-Pa55word-of-ada', 'second-Pa55word-of-ada', 'Pa55word-of-bob'];
    const ada = await s.users.add({ name: 'ada', password: passwords[0], admin: true });
    await s.users.setPassword(ada.id, passwords[1]);
    await s.users.add({ name: 'bob', password: passwords[2] });
    const tokens = [await s.apiTokens.create(ada.id, 'cli'), await s.apiTokens.create(ada.id, 'ci')];
    await s.apiTokens.revoke(tokens[1].apiToken.id);
    await s.apiTokens.verify(tokens[0].token);
    const { agent, secret } = await s.agents.add({ name: 'host' });
    const { key } = await s.gateways.add('edge');
    const instance = await s.instances.create({ owner: ada.id, config: testConfig(), spec: testSpec() });

    const secrets = [
      ...passwords,
      ...tokens.flatMap(({ token }) => [token, token.split('_')[2]]),
      secret,
      key, key.split('_')[2],
    ];
    const check = () => {
      const bytes = rawBytes(t.file);
      // The scan sees what was written: ids and names are there in clear.
      for (const visible of [tokens[0].apiToken.id, agent.key, instance.id, 'ada']) expect(bytes.includes(visible), visible).toBe(true);
      for (const clear of secrets) {
        expect(bytes.includes(clear), 'a secret in clear').toBe(false);
        expect(bytes.includes(Buffer.from(clear, 'utf16le')), 'a secret in clear (UTF-16)').toBe(false);
      }
    };
    check(); // while open, with the write-ahead log in use
    await s.close();
    check(); // after the log is checkpointed into the file
    await t.reopen();
  });

  it('is readable by its owner only', () => {
    t = tempStore();
    expect(statSync(t.file).mode & 0o777).toBe(0o600);
  });
});
