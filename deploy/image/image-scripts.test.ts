import { mkdtempSync, rmSync, utimesSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { healthAddress, runFile } from './healthcheck.ts';
import { devPackagePaths } from './prune-dev.ts';

describe('the image build prunes devDependencies by package-lock.json', () => {
  it('lists packages marked dev only, outer ones first, and keeps devOptional and runtime ones', () => {
    const lock = {
      packages: {
        '': { name: 'wharf' },
        'node_modules/fastify': {},
        'node_modules/vitest': { dev: true },
        'node_modules/vitest/node_modules/tinyrainbow': { dev: true },
        'node_modules/cpu-features': { optional: true },
        'node_modules/fsevents': { devOptional: true },
      },
    };
    expect(devPackagePaths(lock)).toEqual(['node_modules/vitest', 'node_modules/vitest/node_modules/tinyrainbow']);
  });
});

describe('the containers\' healthcheck finds the part\'s address in its run file', () => {
  it('asks a wildcard bind on loopback and reads each part\'s own field', () => {
    expect(healthAddress('control', { listen: '0.0.0.0:7400' })).toBe('127.0.0.1:7400');
    expect(healthAddress('gateway', { admin: '127.0.0.1:9401', https: '0.0.0.0:8443' })).toBe('127.0.0.1:9401');
    expect(healthAddress('agent', { metrics: '[::]:9402' })).toBe('127.0.0.1:9402');
    expect(healthAddress('agent', { metrics: null })).toBeNull();
  });

  it('takes the newest agent-<id>.json, and none when the run folder is missing', () => {
    const home = mkdtempSync(join(tmpdir(), 'wharf-health-'));
    try {
      expect(runFile(home, 'agent')).toBeUndefined();
      mkdirSync(join(home, 'run'));
      for (const [name, age] of [['agent-old.json', 100], ['agent-new.json', 1], ['control.json', 0]] as const) {
        writeFileSync(join(home, 'run', name), '{}');
        const t = Date.now() / 1000 - age;
        utimesSync(join(home, 'run', name), t, t);
      }
      expect(runFile(home, 'agent')).toBe(join(home, 'run', 'agent-new.json'));
      expect(runFile(home, 'control')).toBe(join(home, 'run', 'control.json'));
      expect(runFile(home, 'gateway')).toBeUndefined();
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
