import type { Store } from '../store/store.ts';
import type { ConsoleSession, ConsoleSessions } from './console-sessions.ts';

/**
 * A dashboard sign-out: refused here at once, kept in the store until the cookie would have
 * expired (so a restart does not forget it), and the other controls on the store told to read it
 * (follow-other-controls.ts), so that a copy of the cookie works on none of them.
 */
export async function signOut(store: Store, sessions: ConsoleSessions, session: ConsoleSession): Promise<void> {
  sessions.revoke(session);
  await store.signOuts.add(session.sid, session.exp * 1000);
  await store.changes.publish({ kind: 'sessions' }).catch(() => { /* they read it again when their feed resyncs */ });
}
