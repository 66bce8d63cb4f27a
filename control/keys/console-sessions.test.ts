import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../store/testing.ts';
import { ConsoleSessions } from './console-sessions.ts';

describe('ConsoleSessions', () => {
  it('ends a user\'s sessions issued before a time but the one kept, and lets later ones in', () => {
    const clock = new ManualClock();
    const sessions = new ConsoleSessions(randomBytes(32), clock.read);
    const a = sessions.mint('u-1');
    const b = sessions.mint('u-1');
    const other = sessions.mint('u-2');
    clock.advance(1);
    sessions.endSessionsOf('u-1', clock.now, a.session.sid);
    expect(sessions.verify(a.value)?.sid).toBe(a.session.sid); // the one that asked
    expect(sessions.verify(b.value)).toBeUndefined();
    expect(sessions.verify(other.value)?.sub).toBe('u-2');
    const later = sessions.mint('u-1');
    expect(sessions.verify(later.value)?.sub).toBe('u-1');
    // The kept session issued anew (same sid, new time) outlives a restart, which forgets `keep`.
    const reissued = sessions.mint('u-1', a.session.sid);
    expect(reissued.session.sid).toBe(a.session.sid);
    sessions.endSessionsOf('u-1', clock.now);
    expect(sessions.verify(a.value)).toBeUndefined();
    expect(sessions.verify(reissued.value)?.sid).toBe(a.session.sid);
  });
});
