import { describe, expect, it } from 'vitest';
import { describeListening, watchListening } from './port-hint.ts';
import type { ListeningSocket } from './proc-net-tcp.ts';

const any = (port: number, address = '0.0.0.0'): ListeningSocket => ({ address, port, any: true, loopback: false });
const loop = (port: number, address = '127.0.0.1'): ListeningSocket => ({ address, port, any: false, loopback: true });

describe('what the console says while an app does not answer on its port', () => {
  it('names the ports the app listens on instead, or that nothing listens yet', () => {
    expect(describeListening(8080, [loop(5000), any(8888), any(8888, '::')])).toBe('the app listens on 127.0.0.1:5000, 8888 (tcp), not on 8080: check routing.port');
    expect(describeListening(8080, [])).toBe('nothing listens on a TCP port in the container yet');
    expect(describeListening(8080, undefined)).toBeUndefined();
  });

  it('says when the app listens on the port on loopback only, and when it listens but has not answered', () => {
    expect(describeListening(8080, [loop(8080), loop(8080, '::1')])).toBe('the app listens on 127.0.0.1:8080, [::1]:8080 only, which is not reachable from outside its container: make it listen on 0.0.0.0 (all addresses)');
    expect(describeListening(8080, [any(8080, '::')])).toBe('the app listens on 8080 but has not answered yet');
  });

  it('says a line only when what it sees changed, until stopped', async () => {
    const seen: (ListeningSocket[] | undefined)[] = [[], [], undefined, [any(8888)], [any(8888)], [any(8888), any(9000)]];
    let reads = 0;
    const lines: string[] = [];
    let allRead!: () => void;
    const done = new Promise<void>((r) => (allRead = r));
    // Once every answer was read and said, the next read ends the wait.
    const hint = watchListening(8080, async () => {
      if (reads === seen.length) allRead();
      return seen[reads++];
    }, (line) => lines.push(line), 1, 1);
    await done;
    hint.stop();
    expect(lines).toEqual([
      'waiting for port 8080: nothing listens on a TCP port in the container yet',
      'waiting for port 8080: the app listens on 8888 (tcp), not on 8080: check routing.port',
      'waiting for port 8080: the app listens on 8888, 9000 (tcp), not on 8080: check routing.port',
    ]);
    expect(hint.last()).toBe('the app listens on 8888, 9000 (tcp), not on 8080: check routing.port');
  });
});
