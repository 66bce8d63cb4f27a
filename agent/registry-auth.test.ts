import { describe, expect, it } from 'vitest';
import { authFor, registryOf } from './registry-auth.ts';

describe('registryOf', () => {
  it('names the registry of an image reference, Docker Hub by default', () => {
    expect(registryOf('busybox')).toBe('https://index.docker.io/v1/');
    expect(registryOf('wharf/busybox:local')).toBe('https://index.docker.io/v1/');
    expect(registryOf('ghcr.io/org/app:1')).toBe('ghcr.io');
    expect(registryOf('registry.local:5000/app')).toBe('registry.local:5000');
    expect(registryOf('localhost/app')).toBe('localhost');
  });
});

describe('authFor', () => {
  const config = JSON.stringify({
    auths: {
      'https://index.docker.io/v1/': { auth: Buffer.from('hubuser:hub:pass').toString('base64') },
      'ghcr.io': { username: 'gh', password: 'tok' },
      'https://registry.local:5000/v2/': { auth: Buffer.from('r:s').toString('base64') },
    },
  });
  it('finds the credentials `docker login` wrote for the image\'s registry', () => {
    expect(authFor(config, 'jupyter/base')).toEqual({ username: 'hubuser', password: 'hub:pass', serveraddress: 'https://index.docker.io/v1/' });
    expect(authFor(config, 'ghcr.io/org/app')).toMatchObject({ username: 'gh', password: 'tok' });
    expect(authFor(config, 'registry.local:5000/app')).toMatchObject({ username: 'r', password: 's' });
  });
  it('has none for other registries, helpers only, or a broken file', () => {
    expect(authFor(config, 'quay.io/x')).toBeUndefined();
    expect(authFor(JSON.stringify({ credsStore: 'desktop' }), 'busybox')).toBeUndefined();
    expect(authFor('{not json', 'busybox')).toBeUndefined();
  });
});
