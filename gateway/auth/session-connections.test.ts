import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { SessionConnections } from './session-connections.ts';
import { SessionRevocations } from './session-revocations.ts';

/** After destroy(), 'close' is emitted on the next tick. */
const closed = (_s: PassThrough) => new Promise<void>((resolve) => setImmediate(resolve));

describe('SessionConnections', () => {
  const t = 1_767_225_600_000;

  it('closes the connections of refused credentials and only those', async () => {
    const conns = new SessionConnections();
    const revocations = new SessionRevocations();
    const alice = new PassThrough(); // a keep-alive connection of alice's old cookie on r1
    const aliceNew = new PassThrough(); // alice after signing in again
    const aliceR2 = new PassThrough();
    const bob = new PassThrough();
    conns.track(alice, 'alice', 'r1', t / 1000 - 60);
    conns.track(alice, 'alice', 'r1', t / 1000 - 60); // the same credential again: one entry
    conns.track(aliceNew, 'alice', 'r1', t / 1000 + 1);
    conns.track(aliceR2, 'alice', 'r2', t / 1000 - 60);
    conns.track(bob, 'bob', 'r1', t / 1000 - 60);
    expect(conns.size).toBe(4);

    revocations.replace([{ user: 'alice', instance: 'r1', before: t }]);
    expect(conns.closeRefused((u, i, iat) => revocations.refuses(u, i, iat))).toBe(1);
    expect(alice.destroyed).toBe(true);
    expect([aliceNew.destroyed, aliceR2.destroyed, bob.destroyed]).toEqual([false, false, false]);
    await closed(alice);
    expect(conns.size).toBe(3);

    revocations.replace([{ user: 'alice', instance: '*', before: t }]);
    expect(conns.closeRefused((u, i, iat) => revocations.refuses(u, i, iat))).toBe(1);
    expect(aliceR2.destroyed).toBe(true);
    expect([aliceNew.destroyed, bob.destroyed]).toEqual([false, false]);
  });

  it('closes a connection that carried one refused credential among others, once', () => {
    const conns = new SessionConnections();
    const shared = new PassThrough();
    conns.track(shared, 'bob', 'r1', 100);
    conns.track(shared, 'alice', 'r1', 100);
    expect(conns.closeRefused((u) => u === 'alice')).toBe(1);
    expect(shared.destroyed).toBe(true);
  });

  it('forgets a connection when it closes, and never tracks a closed one', async () => {
    const conns = new SessionConnections();
    const s = new PassThrough();
    conns.track(s, 'alice', 'r1', 1);
    s.destroy();
    await closed(s);
    expect(conns.size).toBe(0);
    conns.track(s, 'alice', 'r1', 1);
    expect(conns.size).toBe(0);
    expect(conns.closeRefused(() => true)).toBe(0);
  });
});
