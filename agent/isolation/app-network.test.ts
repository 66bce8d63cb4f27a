import { describe, expect, it } from 'vitest';
import { APP_NETWORK_OPTIONS, appNetworkOf } from './app-network.ts';

describe('the app network', () => {
  it('is made with inter-container traffic off and a bridge interface a host rule can name', () => {
    expect(APP_NETWORK_OPTIONS).toMatchObject({
      Name: 'wharf-apps', Driver: 'bridge', CheckDuplicate: true,
      Options: { 'com.docker.network.bridge.enable_icc': 'false', 'com.docker.network.bridge.name': 'wharf-apps' },
    });
    expect('wharf-apps'.length).toBeLessThanOrEqual(15); // IFNAMSIZ - 1
  });

  it('uses an existing one only when its containers cannot reach each other', () => {
    expect(appNetworkOf({ Id: 'abc', Driver: 'bridge', Options: APP_NETWORK_OPTIONS.Options })).toEqual({ name: 'wharf-apps', bridge: 'wharf-apps' });
    expect(appNetworkOf({ Id: '0123456789abcdef', Driver: 'bridge', Options: { 'com.docker.network.bridge.enable_icc': 'false' } })).toEqual({ name: 'wharf-apps', bridge: 'br-0123456789ab' });
    expect(() => appNetworkOf({ Id: 'abc', Driver: 'bridge', Options: {} })).toThrow(/wharf-apps exists but lets containers reach each other .*docker network rm wharf-apps/);
    expect(() => appNetworkOf({ Id: 'abc', Driver: 'macvlan', Options: { 'com.docker.network.bridge.enable_icc': 'false' } })).toThrow(/driver macvlan/);
  });
});
