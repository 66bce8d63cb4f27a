import { describe, expect, it } from 'vitest';
import { validateForm } from './form-errors.ts';
import { configFromValues } from './form-values.ts';
import { importConfig, importedWithProblems } from './import-config.ts';

describe('importing a configuration file', () => {
  it('checks and completes a valid file, switching to its kind', () => {
    const out = importConfig(JSON.stringify({ app: 'jupyter', name: 'nb', git: { repo: 'https://example.com/r.git' } }));
    expect(out.ok).toBe(true);
    expect(out.values?.app).toBe('jupyter');
    expect(out.values?.text).toMatchObject({ name: 'nb', 'git.repo': 'https://example.com/r.git', project: 'Interactive Session' });
  });

  it('says where a file is not JSON, without quoting it', () => {
    const out = importConfig('{"app": "container", "env": {"TOKEN": "s3cret"');
    expect(out).toMatchObject({ ok: false, message: expect.stringMatching(/^not valid JSON/) });
    expect(out).not.toHaveProperty('values');
    expect(out.ok || out.message).not.toContain('s3cret');
  });

  it('refuses an unknown kind, and fills the form from a file of a known kind that fails the check', () => {
    expect(importConfig('{"app": "vm"}')).toEqual({ ok: false, message: 'app: must be one of "container", "jupyter"', problems: [{ field: 'app', message: 'must be one of "container", "jupyter"' }] });
    expect(importConfig('[]')).toMatchObject({ ok: false, message: 'an app config must be a JSON object' });
    const out = importConfig(JSON.stringify({ app: 'container', image: 'wharf/busybox:local', routing: { port: 0 } }));
    expect(out).toMatchObject({ ok: false, message: 'routing.port: must be a port from 1 to 65535' });
    expect(out.values?.text).toMatchObject({ image: 'wharf/busybox:local', 'routing.port': '0' });
  });

  it('keeps the fields the form does not know, with their values, as errors with their "did you mean", and writes them back', () => {
    const file = { app: 'container', image: 'wharf/busybox:local', comand: 'sleep 60', routing: { mode: 'https', prot: 8080 }, colour: { r: 1 } };
    const out = importConfig(JSON.stringify(file));
    expect(out.ok).toBe(false);
    if (out.ok || !out.values) throw new Error('expected the form filled from a failed import');
    expect(out.values.unknown).toEqual([
      { path: ['comand'], field: 'comand', value: 'sleep 60' },
      { path: ['routing', 'prot'], field: 'routing.prot', value: 8080 },
      { path: ['colour'], field: 'colour', value: { r: 1 } },
    ]);
    // Nothing is lost: what the form describes still holds them, so control would refuse them too.
    expect(configFromValues(out.values)).toMatchObject({ comand: 'sleep 60', routing: { prot: 8080 }, colour: { r: 1 } });
    expect(validateForm(out.values)).toEqual([
      { key: 'unknown[0]', field: 'comand', message: 'unknown field (did you mean command?)', suggestion: 'command' },
      { key: 'unknown[2]', field: 'colour', message: 'unknown field' },
      { key: 'unknown[1]', field: 'routing.prot', message: 'unknown field (did you mean routing.port?)', suggestion: 'routing.port' },
    ]);
    expect(importedWithProblems('x.json', { ...out, values: out.values })).toBe(
      'x.json was imported with 3 problems, each shown at its field below: fix them there. The 3 fields the form does not know are kept, with their values, '
      + 'at the top of the form: Launch is refused until each is used as the field it was meant to be or removed.',
    );
  });
});
