import { describe, expect, it } from 'vitest';
import { showLines, statusWords } from './instances.ts';

const view = (over: Record<string, unknown> = {}) => ({
  id: 'i-abc', name: 'db', app: 'container', status: 'starting', statusReason: null, project: 'P', owner: 'ada', queue: 'default',
  agent: 'a-1', created: '2025-01-01T00:00:00.000Z', idleSeconds: null, restoredFrom: null,
  links: { https: 'https://i-abc.apps.localhost:8443/', browser: null, endpoint: 'https://i-abc.apps.localhost:8443/', tcp: null },
  config: { routing: { mode: 'https', port: 8080 } },
  ...over,
});

describe('wharf ls and show words (pure)', () => {
  it('prints a status in the dashboard\'s words, an unknown one as it is', () => {
    expect(statusWords('starting')).toBe('setting up');
    expect(statusWords('active')).toBe('active');
    expect(statusWords('someday')).toBe('someday');
  });

  it('shows the status label with its reason, and the HTTPS link of an HTTPS app', () => {
    const lines = showLines(view({ status: 'queued', statusReason: 'no agent serves queue gpu' }));
    expect(lines).toContain('status:       queued (no agent serves queue gpu)');
    expect(showLines(view())).toContain('status:       setting up');
    expect(showLines(view()).join('\n')).toContain('https:        https://i-abc.apps.localhost:8443/');
  });

  it('shows a TCP app\'s address and connect command, no HTTPS link', () => {
    const lines = showLines(view({ status: 'active', config: { routing: { mode: 'tcp', port: 5432 } }, links: { https: 'https://i-abc.apps.localhost:8443/', browser: null, endpoint: null, tcp: 'localhost:20001' } }));
    expect(lines.join('\n')).not.toContain('https');
    expect(lines).toContain('tcp:          localhost:20001');
    expect(lines).toContain('connect:      wharf connect i-abc');
  });
});
