import { APP_HOST } from '../bodies.ts';
import { freePort } from '../support/net.ts';
import type { TlsFiles } from './tls-files.ts';
import { startNginx } from './nginx.ts';

export interface ProxyTargets {
  /** Upstream of `/` (plain HTTP origin). */
  http?: string;
  /** Upstream of `/ws` (WebSocket echo origin). */
  ws?: string;
}

export interface NginxProxy {
  port: number;
  /** The master; its worker is its child. */
  pid: number;
  stop(): Promise<void>;
}

const hostPort = (origin: string) => new URL(origin).host;

/**
 * nginx as the reference reverse proxy: HTTPS with the same certificate as the gateway,
 * HTTP/1.1 and h2 by ALPN (as the gateway and Caddy offer), a keep-alive pool to the upstream
 * (HTTP/1.1, Connection cleared), and WebSocket upgrades.
 */
export async function startNginxProxy(dir: string, tls: TlsFiles, targets: ProxyTargets): Promise<NginxProxy> {
  const port = await freePort();
  const upstreams: string[] = [];
  const locations: string[] = [];
  if (targets.http) {
    upstreams.push(`upstream app { server ${hostPort(targets.http)}; keepalive 64; keepalive_requests 1000000; }`);
    locations.push(`location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      # Stream what does not fit the buffers instead of spooling it to a temp file on disk,
      # as the gateway does (it holds no response on disk either).
      proxy_buffers 16 64k;
      proxy_buffer_size 64k;
      proxy_max_temp_file_size 0;
    }`);
  }
  if (targets.ws) {
    upstreams.push(`upstream ws { server ${hostPort(targets.ws)}; }`);
    locations.push(`location /ws {
      proxy_pass http://ws;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_read_timeout 1h;
    }`);
  }
  const nginx = await startNginx('nginx proxy', dir, { http: `
  ${upstreams.join('\n  ')}
  server {
    listen 127.0.0.1:${port} ssl http2 backlog=4096;
    ssl_certificate ${tls.cert};
    ssl_certificate_key ${tls.key};
    ${locations.join('\n    ')}
  }` }, { url: `https://127.0.0.1:${port}/`, host: APP_HOST, ca: tls.caPem });
  return { port, pid: nginx.child.process.pid!, stop: nginx.stop };
}
