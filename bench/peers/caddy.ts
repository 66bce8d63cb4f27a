import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startChild } from '../support/children.ts';
import { freePort } from '../support/net.ts';
import { whenServingHttps, type HttpsPeer } from './https-peer.ts';
import type { ProxyTargets } from './nginx-proxy.ts';
import type { TlsFiles } from './tls-files.ts';

export type Caddy = HttpsPeer;

const hostPort = (origin: string) => new URL(origin).host;

/**
 * Caddy (Debian's 2.6) as a reverse proxy, from a private Caddyfile: HTTPS on the bench's
 * certificate (HTTP/1.1 and h2 by ALPN, as the gateway and nginx offer), `reverse_proxy` to
 * the same upstream as nginx with its defaults otherwise (keep-alive pool, WebSocket upgrades).
 * GOMAXPROCS=1: one core of Go scheduler, the peer of one nginx worker and one gateway worker.
 */
export async function startCaddy(dir: string, tls: TlsFiles, targets: ProxyTargets): Promise<Caddy> {
  const port = await freePort();
  const routes: string[] = [];
  // A path matcher sorts before the bare directive, so /ws* reaches the echo app.
  if (targets.ws) routes.push(`reverse_proxy /ws* ${hostPort(targets.ws)}`);
  if (targets.http) routes.push(`reverse_proxy ${hostPort(targets.http)}`);
  const conf = join(dir, 'Caddyfile');
  writeFileSync(conf, `# written by bench/peers/caddy.ts
{
	# No admin API (it would listen on :2019) and no ACME or HTTP→HTTPS redirect: a fixed certificate.
	admin off
	auto_https off
	servers {
		# No HTTP/3: nothing in the bench speaks QUIC, and it would open a UDP listener.
		protocols h1 h2
	}
}
https://:${port} {
	bind 127.0.0.1
	tls ${tls.cert} ${tls.key}
	${routes.join('\n\t')}
}
`);
  // Its autosaved config and certificate storage go to XDG_*: keep them in the private dir.
  const env = { ...process.env, GOMAXPROCS: '1', XDG_CONFIG_HOME: join(dir, 'config'), XDG_DATA_HOME: join(dir, 'data') };
  const child = startChild('caddy', 'caddy', ['run', '--config', conf, '--adapter', 'caddyfile'], env);
  return whenServingHttps(child, port, tls);
}
