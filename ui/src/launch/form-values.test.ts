import { describe, expect, it } from 'vitest';
import { parseAppConfig } from '../../../protocol/app-config.ts';
import { configFromValues, defaultValues, moveUnknown, removeUnknown, switchKind, valuesFromConfig } from './form-values.ts';
import { afterFileRemoved } from './unknown-fields.ts';

const container = {
  kind: 'wharf.app-config', version: 1, app: 'container',
  name: 'my session', project: 'Demo', tags: ['demo', 'web app'], queue: 'gpu',
  image: 'wharf/busybox:local',
  command: "sh -c 'mkdir -p /www && httpd -f -p 8080 -h /www'",
  workdir: '/www', containerArgs: '--shm-size 256m --cpus 1',
  env: { KEY: 'value', OTHER: 'a=b c' },
  files: [{ path: '/etc/app.ini', content: 'a=1\nb=2\n', mode: '0600' }, { path: '/www/index.html', content: '<p>hi</p>', mode: '0644' }],
  routing: { mode: 'tcp', port: 8080 },
  idle: { maxHours: 0.005, networkMBps: 0.25, cpuPercent: 7.5, gpuPercent: 12 },
  workspace: { path: '~/work', restoreFrom: 'abc123', exclude: ['.cache', '*.log'] },
} as const;

const jupyter = {
  ...container, app: 'jupyter', image: 'wharf/jupyter:local', routing: { mode: 'https', port: 9999 },
  git: { repo: 'https://git.example/team/analysis.git', branch: 'main', commit: 'abc1234', storeInSnapshot: false },
  extraPackages: ['pandas', 'numpy>=1.26,<2'], initScript: '#!/bin/bash\necho ready',
} as const;

describe('launch form values', () => {
  it.each([['container', container], ['jupyter', jupyter]])('round-trip a %s config with every field set', (_, raw) => {
    const parsed = parseAppConfig(structuredClone(raw));
    const values = valuesFromConfig(parsed);
    expect(values.text['idle.maxHours']).toBe('0.005');
    expect(configFromValues(values)).toEqual(parsed);
    expect(parseAppConfig(configFromValues(values))).toEqual(parsed);
  });

  it('round-trips the defaults of both kinds', () => {
    const c = parseAppConfig({ app: 'container', image: 'x', routing: { mode: 'none' } });
    expect(configFromValues(valuesFromConfig(c))).toEqual(c);
    const j = parseAppConfig({ app: 'jupyter' });
    expect(configFromValues(valuesFromConfig(j))).toEqual(j);
  });

  it('starts a new form at the schema defaults, the container image and port empty', () => {
    const c = defaultValues('container');
    expect(c.text).toMatchObject({ name: '', project: 'Apps', queue: 'default', image: '', 'routing.mode': 'https', 'routing.port': '', 'idle.maxHours': '24', 'workspace.path': '/root/workspace', 'workspace.restoreFrom': '' });
    expect(c.text).not.toHaveProperty('git.repo');
    const j = defaultValues('jupyter');
    expect(j.text).toMatchObject({ project: 'Interactive Session', image: 'wharf/jupyter:local', 'routing.port': '8888', 'git.repo': '' });
    expect(j.storeInSnapshot).toBe(true);
  });

  it('leaves empty numbers out (defaults apply; no port) and passes non-numbers on for the schema to name', () => {
    const v = defaultValues('container');
    v.text.image = 'wharf/busybox:local';
    v.text['routing.mode'] = 'none';
    v.text['idle.cpuPercent'] = '';
    v.text['idle.maxHours'] = ' 1.5 ';
    const config = configFromValues(v) as { routing: object; idle: Record<string, unknown> };
    expect(config.routing).toEqual({ mode: 'none' });
    expect(config.idle).toEqual({ maxHours: 1.5, networkMBps: 0.05, gpuPercent: 5 });
    expect(parseAppConfig(config).idle.cpuPercent).toBe(5);
    v.text['idle.gpuPercent'] = 'lots';
    expect((configFromValues(v) as { idle: Record<string, unknown> }).idle.gpuPercent).toBe('lots');
  });

  it('reads lists one item per line, dropping empty lines, and an empty restoreFrom as null', () => {
    const v = defaultValues('jupyter');
    v.text.tags = 'a\n\nb c\n';
    v.text.extraPackages = '';
    const config = configFromValues(v) as { tags: string[]; extraPackages: string[]; workspace: { restoreFrom: unknown } };
    expect(config.tags).toEqual(['a', 'b c']);
    expect(config.extraPackages).toEqual([]);
    expect(config.workspace.restoreFrom).toBeNull();
  });

  it('switching the kind keeps what the user changed and takes the new kind\'s defaults for the rest', () => {
    const v = defaultValues('container');
    v.text.name = 'mine';
    v.text.image = '';
    v.env = [{ name: 'A', value: '1' }];
    const j = switchKind(v, 'jupyter');
    expect(j.app).toBe('jupyter');
    expect(j.text).toMatchObject({ name: 'mine', project: 'Interactive Session', image: 'wharf/jupyter:local', 'routing.port': '8888', 'git.repo': '' });
    expect(j.env).toEqual([{ name: 'A', value: '1' }]);
    j.text.image = 'my/jupyter:1';
    const c = switchKind(j, 'container');
    expect(c.text).toMatchObject({ name: 'mine', project: 'Apps', image: 'my/jupyter:1', 'routing.port': '' });
    expect(c.text).not.toHaveProperty('git.repo');
  });

  it('fills what it can from an import that fails the check, showing wrong types as text', () => {
    const v = valuesFromConfig({ app: 'container', image: 'x', routing: { mode: 'https', port: 'eighty' }, tags: 'one' } as never);
    expect(v.text['routing.port']).toBe('eighty');
    expect(v.text.tags).toBe('one');
    expect(v.text.project).toBe('Apps');
  });

  describe('fields the kind does not know (an imported file\'s)', () => {
    const imported = () => valuesFromConfig({
      app: 'container', image: 'x', comand: 'sleep 1', routing: { mode: 'https', prot: 8080 },
      files: [{ path: '/a', content: '', owner: 'me' }, { path: '/b', contnet: 'hello' }], git: { repo: 'https://x/r' },
    } as never);

    it('are kept aside with their values, at any depth, in the order of the file', () => {
      expect(imported().unknown.map((u) => [u.field, u.value])).toEqual([
        ['comand', 'sleep 1'], ['routing.prot', 8080], ['files[0].owner', 'me'], ['files[1].contnet', 'hello'], ['git', { repo: 'https://x/r' }],
      ]);
    });

    it('moves one to the field it was meant to be, keeping what the user typed elsewhere', () => {
      const v = imported();
      v.text.name = 'typed';
      const moved = moveUnknown(v, v.unknown.findIndex((u) => u.field === 'routing.prot'), 'port');
      expect(moved.text['routing.port']).toBe('8080');
      expect(moved.text.name).toBe('typed');
      expect(moved.unknown.map((u) => u.field)).not.toContain('routing.prot');
      const content = moveUnknown(moved, moved.unknown.findIndex((u) => u.field === 'files[1].contnet'), 'content');
      expect(content.files[1]).toEqual({ path: '/b', mode: '0644', content: 'hello' });
      expect(content.unknown.map((u) => u.field).sort()).toEqual(['comand', 'files[0].owner', 'git']);
    });

    it('removes one only when asked, and a file row takes its own with it', () => {
      const v = imported();
      expect(removeUnknown(v, 0).unknown.map((u) => u.field)).not.toContain('comand');
      expect(afterFileRemoved(v.unknown, 0).filter((u) => u.path[0] === 'files')).toEqual([{ path: ['files', 0, 'contnet'], field: 'files[0].contnet', value: 'hello' }]);
    });

    it('fill the new kind\'s inputs when the kind switches to one that knows them', () => {
      const j = switchKind(imported(), 'jupyter');
      expect(j.text['git.repo']).toBe('https://x/r');
      expect(j.unknown.map((u) => u.field)).not.toContain('git');
      expect(j.unknown.map((u) => u.field)).toContain('comand');
    });
  });
});
