// What every proxy here (the SLB, each cache tier) does to headers on the way through: drop the
// hop-by-hop ones, append itself to a list header (Via, X-Forwarded-For), read the host out of Host.
//
// Hop-by-hop headers describe one connection, not the message, so a proxy must not pass them on
// (RFC 9110 §7.6.1): the fixed ones below, and any the Connection header names.
// Proxy-Authenticate/-Authorization are for the proxy itself (RFC 9110 §11.7).
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

/** Add one member to a comma-separated list header: `1.1 parent` + `1.1 edge-north`. A header
 *  that came more than once counts as one list (RFC 9110 §5.3). */
export function appendList(existing: string | string[] | undefined, value: string): string {
  const before = Array.isArray(existing) ? existing.join(', ') : existing;
  return before ? `${before}, ${value}` : value;
}

/** The host name in a Host header (or a URL's authority), lower case, without its port:
 *  `WWW.Geektime.test:8443` → `www.geektime.test`, `[::1]:80` → `::1`. Undefined when missing or
 *  not a host with an optional numeric port (`a:b`, `a:1:2`, stray brackets). */
export function hostWithoutPort(hostHeader: string | undefined): string | undefined {
  if (!hostHeader) return undefined;
  const match = /^\[([^\]]+)\](?::\d+)?$/.exec(hostHeader) ?? /^([^:[\]]+)(?::\d+)?$/.exec(hostHeader);
  return match?.[1]?.toLowerCase();
}
