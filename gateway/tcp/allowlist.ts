import { BlockList, isIPv4, isIPv6 } from 'node:net';

/**
 * A route's CIDR allowlist (`allow`), checked at accept: raw TCP carries no token, so the
 * source address is the only thing that tells a client apart. IPv4-mapped IPv6 addresses
 * (`::ffff:127.0.0.1`, what a dual-stack listener reports) are checked as IPv4.
 */
export class Allowlist {
  readonly #list = new BlockList();

  constructor(cidrs: string[]) {
    for (const cidr of cidrs) {
      const [net, bits] = cidr.split('/');
      const prefix = Number(bits);
      if (isIPv4(net) && prefix >= 0 && prefix <= 32) this.#list.addSubnet(net, prefix, 'ipv4');
      else if (isIPv6(net) && prefix >= 0 && prefix <= 128) this.#list.addSubnet(net, prefix, 'ipv6');
      else throw new Error(`"${cidr}" is not a CIDR such as 127.0.0.0/8 or ::1/128`);
    }
  }

  allows(address: string | undefined): boolean {
    if (!address) return false;
    if (address.startsWith('::ffff:') && isIPv4(address.slice(7))) return this.#list.check(address.slice(7), 'ipv4');
    return this.#list.check(address, isIPv6(address) ? 'ipv6' : 'ipv4');
  }
}
