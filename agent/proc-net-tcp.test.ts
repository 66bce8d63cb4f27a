import { describe, expect, it } from 'vitest';
import { parseProcNetTcp } from './proc-net-tcp.ts';

// Captured from real containers (wharf/node:local): a node process listening on 0.0.0.0:3000,
// 127.0.0.1:5000 and [::]:8080, with one connection of its own to 8080 (state 01, not a listener).
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode                                                     
   0: 00000000:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 148738 1 00000000602f0700 100 0 0 10 0                    
   1: 0100007F:1388 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 148739 1 000000007dfa7ab0 100 0 0 10 0                    
   2: 0100007F:9F6A 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 148740 2 00000000380c0058 20 0 0 10 -1                    
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 148737 1 00000000c67e02b1 100 0 0 10 0
   1: 0000000000000000FFFF00000100007F:1F90 0000000000000000FFFF00000100007F:9F6A 01 00000000:00000000 00:00000000 00000000     0        0 148741 1 00000000f7b19e8c 20 0 0 10 -1
`;
// wharf/busybox:local running `nc -ll -p 8888 -e cat`: /proc/net/tcp has its header only.
const BUSYBOX_TCP = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode                                                     \n';
const BUSYBOX_TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:22B8 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 145124 1 00000000c67e02b1 100 0 0 10 0
`;

describe('parseProcNetTcp', () => {
  it('lists the listening sockets of /proc/net/tcp and tcp6 together, by port, with their addresses', () => {
    expect(parseProcNetTcp(TCP + TCP6)).toEqual([
      { address: '0.0.0.0', port: 3000, any: true, loopback: false },
      { address: '127.0.0.1', port: 5000, any: false, loopback: true },
      { address: '::', port: 8080, any: true, loopback: false },
    ]);
  });

  it('reads busybox nc listening on [::]:8888, and a header alone as nothing', () => {
    expect(parseProcNetTcp(BUSYBOX_TCP + BUSYBOX_TCP6)).toEqual([{ address: '::', port: 8888, any: true, loopback: false }]);
    expect(parseProcNetTcp(BUSYBOX_TCP)).toEqual([]);
    expect(parseProcNetTcp('')).toEqual([]);
  });

  it('reads IPv6 loopback and mapped addresses, and skips lines it cannot read', () => {
    const lines = [
      '   0: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 0 0 0 0 0',
      '   1: 0000000000000000FFFF00000100007F:0051 00000000000000000000000000000000:0000 0A 0 0 0 0 0',
      '   2: 0000000000000000FFFF00000A00000A:0052 00000000000000000000000000000000:0000 0A 0 0 0 0 0',
      '   3: 00000000000000000000000000000001:0053 00000000000000000000000000000000:0000 0A 0 0 0 0 0',
      '   4: nothex00:0050 00000000:0000 0A',
      '   5: 00000000:0000 00000000:0000 0A',
      'garbage',
    ].join('\n');
    expect(parseProcNetTcp(lines)).toEqual([
      { address: '::1', port: 80, any: false, loopback: true },
      { address: '::ffff:127.0.0.1', port: 81, any: false, loopback: true },
      { address: '::ffff:10.0.0.10', port: 82, any: false, loopback: false },
      { address: '::100:0', port: 83, any: false, loopback: false },
    ]);
  });
});
