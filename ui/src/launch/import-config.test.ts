import { describe, expect, it } from 'vitest';
import { importConfig } from './import-config.ts';

describe('importing a configuration file', () => {
  it('checks and completes a valid file, switching to its kind', () => {
    const out = importConfig(JSON.stringify({ app: 'jupyter', name: 'nb', git: { repo: 'https://example.com/r.git' } }));
    expect(out.ok).toBe(true);
    expect(out.values?.app).toBe('jupyter');
    expect(out.values?.text).toMatchObject({ name: 'nb', 'git.repo': 'https://example.com/r.git', project: 'Interactive Session' });
  });

  it('says where a file is not JSON, without quoting it', () => {
    const out = importConfig('{"app": "container", "env": {"TOKEN": "s3cret"');
    expect(out).toEqual({ ok: false, message: expect.stringMatching(/^not valid JSON/) });
    expect(out.ok || out.message).not.toContain('s3cret');
  });

  it('refuses an unknown kind, and fills the form from a file of a known kind that fails the check', () => {
    expect(importConfig('{"app": "vm"}')).toEqual({ ok: false, message: 'app: must be one of "container", "jupyter"' });
    expect(importConfig('[]')).toMatchObject({ ok: false, message: 'an app config must be a JSON object' });
    const out = importConfig(JSON.stringify({ app: 'container', image: 'wharf/busybox:local', routing: { port: 0 } }));
    expect(out).toMatchObject({ ok: false, message: 'routing.port: must be a port from 1 to 65535' });
    expect(out.values?.text).toMatchObject({ image: 'wharf/busybox:local', 'routing.port': '0' });
  });
});
