import { describe, expect, it } from 'vitest';
import { inputRule, inputRuleCommand, needsInputRule, ownContainerId, publishedPortRange } from './published-ports-rule.ts';

describe('the published-ports INPUT rule', () => {
  it('is needed for a non-loopback IPv4 bind only', () => {
    expect(needsInputRule('127.0.0.1')).toBe(false);
    expect(needsInputRule('127.0.1.1')).toBe(false);
    // The app network has no IPv6: its containers cannot reach a v6 address of the host.
    expect(needsInputRule('::1')).toBe(false);
    expect(needsInputRule('fd00::3')).toBe(false);
    expect(needsInputRule('10.0.0.3')).toBe(true);
    expect(needsInputRule('172.17.0.1')).toBe(true);
  });

  it('covers the ports Docker publishes on: the host\'s ephemeral range, else Docker\'s fallback', () => {
    expect(publishedPortRange('32768\t60999\n')).toEqual([32768, 60999]);
    expect(publishedPortRange(undefined)).toEqual([49153, 65535]);
    expect(publishedPortRange('60999 32768')).toEqual([49153, 65535]);
    expect(publishedPortRange('3')).toEqual([49153, 65535]);
  });

  it('rejects new TCP connections from the app bridge to the bind address on those ports, with a comment for operators', () => {
    const rule = inputRule('wharf-apps', '10.0.0.3', [32768, 60999]);
    expect(rule).toEqual([
      '-i', 'wharf-apps', '-d', '10.0.0.3/32', '-p', 'tcp', '-m', 'tcp', '--dport', '32768:60999', '-m', 'conntrack', '--ctstate', 'NEW',
      '-m', 'comment', '--comment', 'wharf: app containers may not reach published ports',
      '-j', 'REJECT', '--reject-with', 'tcp-reset',
    ]);
    expect(inputRuleCommand(rule)).toBe("iptables -I INPUT 1 -i wharf-apps -d 10.0.0.3/32 -p tcp -m tcp --dport 32768:60999 -m conntrack --ctstate NEW -m comment --comment 'wharf: app containers may not reach published ports' -j REJECT --reject-with tcp-reset");
  });

  it('finds the container the agent runs in from its mounts, and none on a bare host', () => {
    const id = 'ff651e26c6677446cbf2d6f46eca301e7ce89ba2222dae54b20f046b41912079';
    const inContainer = [
      `93 76 254:0 /var/lib/docker/containers/${id}/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/vda rw`,
      `94 76 254:0 /var/lib/docker/containers/${id}/hostname /etc/hostname rw,relatime - ext4 /dev/vda rw`,
    ].join('\n');
    expect(ownContainerId(inContainer)).toBe(id);
    // On the host, Docker's per-container shm mounts name container ids too: not ours.
    expect(ownContainerId(`120 25 0:52 / /var/lib/docker/containers/${id}/mounts/shm rw - tmpfs shm rw`)).toBeUndefined();
  });
});
