import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../store/testing.ts';
import { ConsoleSessions } from './console-sessions.ts';

describe('ConsoleSessions', () => {
  it('refuses a cookie with any character of its MAC changed, the spare bits of its last one too', () => {
    const sessions = ConsoleSessions.ephemeral(() => 1_000);
    const { value } = sessions.mint('u-1');
    expect(sessions.verify(value)?.sub).toBe('u-1');
    const mac = value.slice(value.lastIndexOf('.') + 1);
    for (let i = 0; i < mac.length; i++) {
      for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_') {
        if (c === mac[i]) continue;
        const altered = value.slice(0, value.length - mac.length) + mac.slice(0, i) + c + mac.slice(i + 1);
        expect(sessions.verify(altered), `${i}: ${c}`).toBeUndefined();
      }
    }
  });

  it('ends a user\'s sessions issued before a time, the asking one too, and lets later ones in', () => {
    const clock = new ManualClock();
    const sessions = new ConsoleSessions(randomBytes(32), clock.read);
    const a = sessions.mint('u-1');
    const b = sessions.mint('u-1');
    const other = sessions.mint('u-2');
    clock.advance(1);
    sessions.endSessionsOf('u-1', clock.now);
    // A copy of the cookie that asked (maybe why the password changes) ends with the others.
    expect(sessions.verify(a.value)).toBeUndefined();
    expect(sessions.verify(b.value)).toBeUndefined();
    expect(sessions.verify(other.value)?.sub).toBe('u-2');
    // The browser that asked gets a new session, as does any later sign-in.
    const renewed = sessions.mint('u-1');
    expect(renewed.session.sid).not.toBe(a.session.sid);
    expect(sessions.verify(renewed.value)?.sub).toBe('u-1');
    // An earlier time given later does not bring old sessions back.
    sessions.endSessionsOf('u-1', clock.now - 1);
    expect(sessions.verify(a.value)).toBeUndefined();
    expect(sessions.verify(renewed.value)?.sub).toBe('u-1');
  });
});
