import { describe, expect, it } from 'vitest';
import { compileApp } from '../../apps/index.ts';
import { parseAppConfig } from '../../protocol/app-config.ts';
import { instanceView } from '../instances/instance-view.ts';
import type { Instance } from '../store/store.ts';
import { testConfig, testSpec } from '../store/testing.ts';
import { routeOf } from './endpoint-routes.ts';

function instance(fields: Partial<Instance> = {}): Instance {
  return {
    id: 'r1', owner: 'u1', app: 'container', name: '', project: 'Apps', tags: [], queue: 'default',
    config: testConfig(), spec: testSpec(), status: 'active', statusReason: null, agent: 'a1',
    endpoint: { host: '127.0.0.1', port: 32768, routing: 'https', containerPort: 8080 },
    restoredFrom: null, created: 0, updated: 0, started: 0, stopped: null, quietSince: null,
    ...fields,
  } as Instance;
}

describe('routeOf', () => {
  it('makes an http route without headers for a spec without routeHeaders', () => {
    expect(routeOf(instance())).toMatchObject({ id: 'r1', kind: 'http', target: 'http://127.0.0.1:32768', instance: 'r1', headers: {} });
  });

  it('carries the spec\'s routeHeaders (Jupyter\'s token) on the route', () => {
    const config = parseAppConfig({ app: 'jupyter' });
    const spec = compileApp(config, { admin: false });
    const token = spec.env.JUPYTER_TOKEN;
    const i = instance({ app: 'jupyter', config, spec, endpoint: { host: '127.0.0.1', port: 32769, routing: 'https', containerPort: 8888 } });
    expect(routeOf(i)).toMatchObject({ kind: 'http', target: 'http://127.0.0.1:32769', headers: { Authorization: `token ${token}` } });
    // The instance view (show, ls, the dashboard) and the exported config never carry it.
    const view = instanceView(i, 'alice', { publicUrl: 'https://localhost:8443/', appsDomain: 'apps.localhost' } as never, 0);
    expect(JSON.stringify(view)).not.toContain(token);
    expect(JSON.stringify(config)).not.toContain(token);
  });

  it('gives an app that is starting (leased, no endpoint yet) a starting route without a target', () => {
    expect(routeOf(instance({ status: 'starting', endpoint: null }))).toEqual({ id: 'r1', kind: 'http', instance: 'r1', public: false, status: 'starting', headers: {} });
    // Queued (no agent holds it yet) or a TCP app (no page to show): none.
    expect(routeOf(instance({ status: 'queued', endpoint: null }))).toBeUndefined();
    expect(routeOf(instance({ status: 'starting', endpoint: null, spec: { ...testSpec(), ports: [{ port: 5432, routing: 'tcp' }] } }))).toBeUndefined();
    expect(routeOf(instance({ status: 'starting', endpoint: null, spec: { ...testSpec(), ports: [] } }))).toBeUndefined();
  });

  it('has no route before an endpoint or once finished', () => {
    expect(routeOf(instance({ endpoint: null }))).toBeUndefined();
    expect(routeOf(instance({ status: 'stopped' }))).toBeUndefined();
  });
});
