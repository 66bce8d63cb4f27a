import { isIP } from 'node:net';
import type { FastifyRequest } from 'fastify';
import { GATEWAY_KEY_HEADER } from '../../protocol/gateway-forwarding.ts';
import type { GatewayStore } from '../store/store.ts';

/** The peer's address as Node reports it, IPv4-mapped IPv6 written as IPv4. */
function peerAddress(request: FastifyRequest): string {
  const address = request.socket.remoteAddress ?? '';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/**
 * The address of the client behind `request`: the X-Forwarded-For a gateway set when the
 * request carries a gateway key control accepts (protocol/gateway-forwarding.ts), else the
 * peer's own address. Anyone else's X-Forwarded-For is ignored: a client talking to control
 * directly must not choose the address it is counted by. The gateway replaces the client's
 * X-Forwarded-For with one address; should several arrive, the last one is the gateway's.
 */
export async function clientAddress(request: FastifyRequest, gateways: Pick<GatewayStore, 'verify'>): Promise<string> {
  const peer = peerAddress(request);
  const key = request.headers[GATEWAY_KEY_HEADER];
  if (typeof key !== 'string' || !(await gateways.verify(key))) return peer;
  const forwarded = request.headers['x-forwarded-for'];
  const last = (Array.isArray(forwarded) ? forwarded.join(',') : forwarded ?? '').split(',').at(-1)!.trim();
  return isIP(last) ? last : peer;
}
