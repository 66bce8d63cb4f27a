import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseRouteStreamLine } from '../../protocol/route-stream.ts';
import { tempStore, type TempStore } from '../store/testing.ts';
import { AppSessions } from './app-sessions.ts';

describe('AppSessions', () => {
  let t: TempStore;
  beforeEach(() => {
    t = tempStore();
  });
  afterEach(() => t.cleanup());

  it('stores a revocation, tells its listeners with the whole state, and reads it back after a restart', async () => {
    const key = randomBytes(32);
    const sessions = new AppSessions(t.store, key);
    await sessions.load();
    const lines: string[] = [];
    const unsubscribe = sessions.subscribe((line) => lines.push(line));
    await sessions.revoke('u-1', 1_000, 'r1');
    await sessions.revoke('u-1', 2_000);
    await sessions.revoke('u-2', 1_500, 'r1');
    unsubscribe();
    await sessions.revoke('u-3', 1_000);
    expect(lines).toHaveLength(3);
    const last = parseRouteStreamLine(lines[2].trim());
    expect(last).toEqual({
      type: 'sessions', key: key.toString('base64url'),
      revoked: [{ user: 'u-1', instance: '*', before: 2_000 }, { user: 'u-2', instance: 'r1', before: 1_500 }],
    });
    expect(sessions.notBefore('u-1')).toBe(2_000);
    expect(sessions.notBefore('u-9')).toBeUndefined();

    const again = new AppSessions(await t.reopen(), key);
    await again.load();
    expect(again.state()).toEqual(sessions.state());
  });

  it('reaches past the tokens dated after an earlier revocation in the same second', async () => {
    const sessions = new AppSessions(t.store, randomBytes(32));
    await sessions.load();
    await sessions.revoke('u-1', 10_300);
    // A token issued after it, at 10.6 s, is dated 11 s (GatewayTokens); removing the user at
    // 10.8 s must refuse it too: gateways refuse when iat * 1000 < before.
    await sessions.revoke('u-1', 10_800);
    expect(11 * 1000).toBeLessThan(sessions.notBefore('u-1')!);
    // A revocation after that second keeps its own time.
    await sessions.revoke('u-1', 12_500);
    expect(sessions.notBefore('u-1')).toBe(12_500);
  });
});
