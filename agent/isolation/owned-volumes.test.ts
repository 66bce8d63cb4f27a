import { describe, expect, it } from 'vitest';
import { compileApp } from '../../apps/index.ts';
import { parseAppConfig } from '../../protocol/app-config.ts';
import { ownedVolumes } from './owned-volumes.ts';

const spec = (containerArgs: string, admin = false) => compileApp(parseAppConfig({ app: 'container', image: 'x', routing: { mode: 'none' }, containerArgs }), { admin, owner: 'u-bob12345' });

describe('ownedVolumes', () => {
  it('lists the user volumes a spec mounts with their owner, and nothing else', () => {
    expect(ownedVolumes(spec('-v data:/data --mount src=cache,dst=/c -v /anon --mount target=/t --tmpfs /tmp'))).toEqual(new Map([
      ['wharf-u-bob12345.data', 'u-bob12345'],
      ['wharf-u-bob12345.cache', 'u-bob12345'],
    ]));
    // An admin's volumes are named as written and checked by no one.
    expect(ownedVolumes(spec('-v data:/data --mount src=xy,dst=/x', true))).toEqual(new Map());
  });
});
