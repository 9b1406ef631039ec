// Reading RFC 9211 Cache-Status the way the phone's narration does.
import { describe, expect, it } from 'vitest';
import { cachePathLines } from '../lab/story/words/cache.ts';
import { parseCacheStatus } from '../servers/net/cache-status.ts';

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
    expect(cachePathLines(parseCacheStatus('parent; fwd=uri-miss; stored, edge-north; fwd=uri-miss; stored'))).toEqual([
      'edge-north: MISS (it had no copy), stored the answer',
      'parent: MISS (it had no copy), stored the answer',
      'origin: served the object',
    ]);
    expect(cachePathLines(parseCacheStatus('edge-north; hit; ttl=299'))).toEqual(['edge-north: HIT, fresh for 299 s more']);
  });
});
