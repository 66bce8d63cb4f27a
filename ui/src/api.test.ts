import { afterEach, describe, expect, it, vi } from 'vitest';
import { goToSignin, SignedOut, signinHref } from './api.ts';

afterEach(() => { vi.unstubAllGlobals(); });

describe('leaving for sign-in', () => {
  it('keeps the page to come back to, on this host only', () => {
    expect(signinHref('/instances/i-1?tab=console#top')).toBe('/signin?return=/instances/i-1%3Ftab%3Dconsole%23top');
  });

  it('navigates once however many requests learn that the session ended', () => {
    const assign = vi.fn();
    vi.stubGlobal('location', { pathname: '/instances/i-1', search: '', hash: '', assign });
    // The instance page's two streams are refused together; a second assign would abort the first.
    expect(() => goToSignin()).toThrow(SignedOut);
    expect(() => goToSignin()).toThrow(SignedOut);
    expect(assign.mock.calls).toEqual([['/signin?return=/instances/i-1']]);
  });
});
