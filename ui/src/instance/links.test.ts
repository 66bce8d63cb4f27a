import { describe, expect, it } from 'vitest';
import { INSTANCE_STATUSES } from '../../../protocol/instance-status.ts';
import { parseAppConfig } from '../../../protocol/app-config.ts';
import { canStop, cloneHref, connectCommand, exportFileName, exportText, hostPort, noAddressWords, openLabel, openState, shellWord } from './links.ts';

describe('instance page links and actions', () => {
  it('names the open link by the kind of app', () => {
    expect(openLabel('jupyter')).toBe('Open IDE');
    expect(openLabel('container')).toBe('Open app');
  });

  it('opens the app only once it answers: waits while queued or setting up, says why not once it has stopped', () => {
    const https = parseAppConfig({ app: 'container', image: 'x', routing: { mode: 'https', port: 8080 } });
    const links = { browser: 'https://localhost/auth/app?instance=k1' };
    const at = (status: (typeof INSTANCE_STATUSES)[number], statusReason: string | null = null) => openState({ status, statusReason, links, config: https });
    expect(at('active')).toEqual({ kind: 'open', href: links.browser });
    expect(at('idle')).toEqual({ kind: 'open', href: links.browser });
    expect(at('starting')).toEqual({ kind: 'wait', why: 'Opens once the app answers: setting up\u2026' });
    expect(at('queued')).toEqual({ kind: 'wait', why: 'Opens once it runs: queued, waiting for an agent.' });
    expect(at('queued', 'no agent serves queue gpu')).toEqual({ kind: 'wait', why: 'Opens once it runs: queued (no agent serves queue gpu).' });
    for (const status of ['stopping', 'stopped', 'failed'] as const) {
      const state = at(status, 'exit code 3');
      expect(state.kind).toBe('none');
      expect(state.kind === 'none' && state.why).toMatch(/^Nothing to open: the app (is stopping|is stopped|failed)\b/);
    }
    // Reached otherwise: no button, nothing to explain.
    const tcp = parseAppConfig({ app: 'container', image: 'x', routing: { mode: 'tcp', port: 5432 } });
    expect(openState({ status: 'active', statusReason: null, links, config: tcp })).toEqual({ kind: 'none', why: null });
    expect(openState({ status: 'active', statusReason: null, links: { browser: null }, config: https })).toEqual({ kind: 'none', why: null });
  });

  it('says why a stopped or failed app has no address', () => {
    expect(noAddressWords('stopped')).toBe('No address: the app is stopped. Clone it to run a copy.');
    expect(noAddressWords('failed')).toBe('No address: the app failed. Clone it to run a copy.');
  });

  it('writes the connect command, quoting only what a shell would split', () => {
    expect(connectCommand('k3f9a2b7c1d0')).toBe('wharf connect k3f9a2b7c1d0');
    expect(shellWord("it's a b")).toBe(`'it'\\''s a b'`);
  });

  it('reads host:port as control writes links.tcp', () => {
    expect(hostPort('localhost:20007')).toEqual({ host: 'localhost', port: 20007 });
    expect(hostPort('[::1]:20001')).toEqual({ host: '[::1]', port: 20001 });
    expect(hostPort('localhost')).toBeNull();
    expect(hostPort('host:70000')).toBeNull();
  });

  it('offers Stop exactly where control accepts it', () => {
    expect(INSTANCE_STATUSES.filter(canStop)).toEqual(['queued', 'starting', 'active', 'idle']);
  });

  it('names and writes the exported file, and links the clone form', () => {
    expect(exportFileName('k3f9a2b7c1d0')).toBe('wharf-k3f9a2b7c1d0.json');
    expect(exportFileName('../x')).toBe('wharf-.._x.json');
    expect(exportText({ kind: 'wharf.app-config', version: 1 })).toBe('{\n  "kind": "wharf.app-config",\n  "version": 1\n}\n');
    expect(cloneHref('k3f9a2b7c1d0')).toBe('/launch?clone=k3f9a2b7c1d0');
  });
});
