import http from 'node:http';
import { HostMatcher } from '../routing/route-table.ts';

/** The optional plain-HTTP entrypoint: every request is sent to the same URL over HTTPS (308). */
export function createHttpRedirect(httpsPort: number): http.Server {
  return http.createServer({ maxHeaderSize: 8192, headersTimeout: 10_000, requestTimeout: 10_000 }, (req, res) => {
    const host = HostMatcher.hostname(req.headers.host);
    if (!host || !/^[a-z0-9.\-[\]:]+$/.test(host)) {
      res.writeHead(400, { 'content-type': 'text/plain', 'x-wharf-error': 'GW_BAD_REQUEST' }).end('Bad Host header\n');
      return;
    }
    const port = httpsPort === 443 ? '' : `:${httpsPort}`;
    res.writeHead(308, { location: `https://${host}${port}${req.url}`, 'content-length': '0' }).end();
  });
}
