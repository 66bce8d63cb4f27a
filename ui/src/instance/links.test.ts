import { describe, expect, it } from 'vitest';
import { INSTANCE_STATUSES } from '../../../protocol/instance-status.ts';
import { canStop, cloneHref, connectCommand, exportFileName, exportText, hostPort, openLabel, shellWord } from './links.ts';

describe('instance page links and actions', () => {
  it('names the open link by the kind of app', () => {
    expect(openLabel('jupyter')).toBe('Open IDE');
    expect(openLabel('container')).toBe('Open app');
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
