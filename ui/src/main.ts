import { api, SignedOut } from './api.ts';
import { byId } from './dom.ts';
import { instancesPage } from './instances-page.ts';

/* The dashboard's entry: who is signed in, sign-out, and the one page of this first cut. */

interface Me { user: { id: string; name: string; admin: boolean } }

async function main(): Promise<void> {
  const who = byId('who');
  const notice = byId('notice');
  byId<HTMLButtonElement>('signout').addEventListener('click', async (event) => {
    (event.currentTarget as HTMLButtonElement).disabled = true;
    try {
      await api('/api/v1/auth/logout', { method: 'POST' });
    } catch (err) {
      if (err instanceof SignedOut) return;
    }
    location.assign('/signin?return=/');
  });
  instancesPage(byId('view'), notice);
  try {
    const me = await api<Me>('/api/v1/auth/me');
    who.textContent = `Signed in as ${me.user.name}${me.user.admin ? ' (admin)' : ''}`;
  } catch (err) {
    if (!(err instanceof SignedOut)) notice.textContent = `Cannot reach Wharf (${err instanceof Error ? err.message : String(err)}).`;
  }
}

void main();
