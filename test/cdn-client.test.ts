// Reading RFC 9211 Cache-Status the way the phone's narration does, and finding the edge DNS named.
import { describe, expect, it } from 'vitest';
import { edgeAt } from '../client/cdn-client.ts';
import type { RoleState } from '../lab/state.ts';
import { edgeTlsRole } from '../lab/topology.ts';
import { parseCacheStatus } from '../servers/net/cache-status.ts';
import { words } from '../lab/story/words/index.ts';

describe('Cache-Status', () => {
  it('parses the tiers nearest-origin first, with their parameters', () => {
    const tiers = parseCacheStatus('parent; fwd=uri-miss; stored, edge-north; fwd=uri-miss; stored');
    expect(tiers.map((t) => [t.cache, t.hit, t.fwd, t.stored])).toEqual([
      ['parent', false, 'uri-miss', true],
      ['edge-north', false, 'uri-miss', true],
    ]);
  });

  it('keeps quoted details whole, even with commas and semicolons inside', () => {
    const [edge] = parseCacheStatus('edge-south; hit; ttl=-3; detail="stale-if-error; upstream down, 502"');
    expect(edge).toMatchObject({ cache: 'edge-south', hit: true, ttl: -3, detail: 'stale-if-error; upstream down, 502' });
  });

  it('reads revalidation and collapsing', () => {
    const [edge] = parseCacheStatus('edge-north; fwd=stale; fwd-status=304; stored; collapsed');
    expect(edge).toMatchObject({ fwd: 'stale', fwdStatus: 304, stored: true, collapsed: true });
    expect(parseCacheStatus(undefined)).toEqual([]);
  });

  it('narrates a miss path from the edge inward, ending at the origin; a hit ends at the edge', () => {
    expect(words().cache.cachePathLines(parseCacheStatus('parent; fwd=uri-miss; stored, edge-north; fwd=uri-miss; stored'))).toEqual([
      'edge-north: MISS (it had no copy), stored the answer',
      'parent: MISS (it had no copy), stored the answer',
      'origin: served the object',
    ]);
    expect(words().cache.cachePathLines(parseCacheStatus('edge-north; hit; ttl=299'))).toEqual(['edge-north: HIT, fresh for 299 s more']);
  });
});

describe('edgeAt', () => {
  const edge = (name: string, host: string, port: number): RoleState => ({ name, what: 'an edge', host, port, protocol: 'http' });
  const north = edge('edge-north', '127.0.0.21', 80);
  const south = edge('edge-south', '127.0.0.22', 80);

  it("finds the edge at DNS's address, never its https port (a part of the same edge)", () => {
    const roles = [north, edgeTlsRole(north, 443), south, edgeTlsRole(south, 443)];
    expect(roles[1]).toMatchObject({ name: 'edge-north-tls', partOf: 'edge-north', protocol: 'https', port: 443, url: 'https://static.geektime.test/' });
    expect(edgeAt(roles, '127.0.0.21', 'edge-south')).toBe(north); // the only edge there
    expect(edgeAt(roles, '127.0.0.22', 'edge-south')).toBe(south);
  });

  it('on one shared address, picks the preferred edge, and without it the first edge, not an https port', () => {
    const n = edge('edge-north', '127.0.0.1', 8091);
    const s = edge('edge-south', '127.0.0.1', 8092);
    const roles = [edgeTlsRole(n, 8444), n, edgeTlsRole(s, 8445), s];
    expect(edgeAt(roles, '127.0.0.1', 'edge-south')).toBe(s);
    expect(edgeAt(roles, '127.0.0.1', 'edge-north-tls')).toBe(n);
    expect(roles[0]!.url).toBe('https://static.geektime.test:8444/');
  });
});
