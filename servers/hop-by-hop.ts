// Hop-by-hop headers describe one connection, not the message, so a proxy (the SLB, each cache
// tier) must not pass them on (RFC 9110 §7.6.1): the fixed ones below, and any the Connection
// header names. Proxy-Authenticate/-Authorization are for the proxy itself (RFC 9110 §11.7).
import type http from 'node:http';

export const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-authenticate', 'proxy-authorization'];

export function withoutHopByHop(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const named = String(headers['connection'] ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  const out: http.OutgoingHttpHeaders = {};
  for (const [key, value] of Object.entries(headers)) {
    if (!HOP_BY_HOP.includes(key) && !named.includes(key) && value !== undefined) out[key] = value;
  }
  return out;
}
