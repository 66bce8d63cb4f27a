import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { agentConfig } from '../bin/commands/agent.ts';
import { parseEnvFile } from './settings.ts';

describe('agent settings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-agent-settings-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('parses the env file `wharf agents add` prints, with comments, export and quotes', () => {
    expect(parseEnvFile('# agent\nexport WHARF_AGENT_KEY=ak1\n\nWHARF_QUEUES="gpu,default"\nA=\'x y\'\n')).toEqual({
      WHARF_AGENT_KEY: 'ak1', WHARF_QUEUES: 'gpu,default', A: 'x y',
    });
    expect(() => parseEnvFile('OK=1\nnot a line\n', 'agent.env')).toThrow('agent.env line 2: expected KEY=VALUE');
  });

  it('reads the env file below the environment and flags, and names what is missing', () => {
    const file = join(dir, 'agent.env');
    writeFileSync(file, 'WHARF_CONTROL_URL=http://127.0.0.1:7400/\nWHARF_AGENT_KEY=ak1\nWHARF_AGENT_SECRET=s1\nWHARF_QUEUES=gpu,default\nWHARF_MAX_APPS=3\n');
    const s = agentConfig(['--env-file', file, '--max-apps', '4'], { WHARF_DEFAULT_MEMORY: '1g', WHARF_QUEUES: 'cpu' });
    expect(s).toMatchObject({ controlUrl: 'http://127.0.0.1:7400', key: 'ak1', secret: 's1', queues: ['cpu'], maxApps: 4, defaultMemory: 1024 ** 3, defaultCpus: 1e9 });
    expect(() => agentConfig([], {})).toThrow('WHARF_CONTROL_URL, WHARF_AGENT_KEY, WHARF_AGENT_SECRET are not set');
    expect(() => agentConfig(['--env-file', join(dir, 'nope.env')], {})).toThrow(/--env-file: cannot read .*nope\.env \(ENOENT\)/);
  });

  it('refuses bad values with the setting\'s name', () => {
    const base = { WHARF_CONTROL_URL: 'http://c', WHARF_AGENT_KEY: 'k', WHARF_AGENT_SECRET: 's' };
    expect(() => agentConfig([], { ...base, WHARF_DEFAULT_MEMORY: '1x' })).toThrow(/WHARF_DEFAULT_MEMORY: must be a size/);
    expect(() => agentConfig([], { ...base, WHARF_CONTROL_URL: 'ftp://x' })).toThrow(/WHARF_CONTROL_URL: must be an http/);
    expect(() => agentConfig([], { ...base, WHARF_LABELS: 'wharf.agent=x' })).toThrow(/WHARF_LABELS: "wharf.agent" is set by the agent/);
    expect(() => agentConfig([], { ...base, WHARF_MAX_APPS: '0' })).toThrow(/WHARF_MAX_APPS/);
    expect(agentConfig([], { ...base, WHARF_LABELS: 'wharf.test=a, fleet=b' }).labels).toEqual([['wharf.test', 'a'], ['fleet', 'b']]);
  });

  it('publishes on one address, never on every address of the host', () => {
    const base = { WHARF_CONTROL_URL: 'http://c', WHARF_AGENT_KEY: 'k', WHARF_AGENT_SECRET: 's' };
    expect(agentConfig([], base).bind).toBe('127.0.0.1');
    expect(agentConfig(['--bind', '10.0.0.3'], base).bind).toBe('10.0.0.3');
    expect(agentConfig([], { ...base, WHARF_AGENT_BIND: '::1' }).bind).toBe('::1');
    for (const wildcard of ['0.0.0.0', '::', '0:0:0:0:0:0:0:0']) {
      expect(() => agentConfig([], { ...base, WHARF_AGENT_BIND: wildcard })).toThrow(/WHARF_AGENT_BIND: must be the one address gateways reach app ports at/);
    }
    expect(() => agentConfig([], { ...base, WHARF_AGENT_BIND: 'apps.example' })).toThrow(/WHARF_AGENT_BIND: must be the IP address/);
  });
});
