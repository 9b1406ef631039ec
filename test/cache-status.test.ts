// Cache-Status (RFC 9211) over RFC 8941 List syntax: the one parser the caches and the phone use.
import { describe, expect, it } from 'vitest';
import { formatCacheStatusEntry, parseCacheStatus } from '../servers/net/cache-status.ts';
import { parseList, serializeString, Token } from '../servers/net/structured-fields.ts';

describe('Cache-Status', () => {
  it('members nearest-origin first, with every RFC 9211 parameter', () => {
    expect(parseCacheStatus('parent; fwd=uri-miss; fwd-status=200; stored; key="GET https://s.test/a"; ttl=300, edge-north; hit; ttl=-3; collapsed')).toEqual([
      { cache: 'parent', hit: false, fwd: 'uri-miss', fwdStatus: 200, stored: true, key: 'GET https://s.test/a', ttl: 300, collapsed: false },
      { cache: 'edge-north', hit: true, ttl: -3, stored: false, collapsed: true },
    ]);
  });

  it('quoted strings keep commas, semicolons, equals signs and escaped quotes and backslashes', () => {
    const [a, b] = parseCacheStatus('"Edge, North"; detail="stale-if-error; upstream down, 502 = \\"bad\\" \\\\ gateway", edge-south;hit');
    expect(a).toMatchObject({ cache: 'Edge, North', detail: 'stale-if-error; upstream down, 502 = "bad" \\ gateway' });
    expect(b).toMatchObject({ cache: 'edge-south', hit: true });
  });

  it('detail may be a token; fwd must be one; booleans written ?1 / ?0 count as such', () => {
    expect(parseCacheStatus('c; detail=private; hit=?1; stored=?0')[0]).toMatchObject({ detail: 'private', hit: true, stored: false });
    expect(parseCacheStatus('c; fwd="uri-miss"')[0]!.fwd).toBeUndefined(); // a String where a Token belongs
    expect(parseCacheStatus('c; ttl=1.5')[0]!.ttl).toBeUndefined(); // a Decimal where an Integer belongs
  });

  it('whitespace: optional around commas, spaces after semicolons, several header lines joined', () => {
    expect(parseCacheStatus('  a;  hit ,\tb;stored').map((e) => e.cache)).toEqual(['a', 'b']);
    expect(parseCacheStatus('a ;hit')).toEqual([]); // parameters follow their item at once (RFC 8941 §3.1.2)
    expect(parseCacheStatus(['parent; stored', 'edge-north; hit']).map((e) => e.cache)).toEqual(['parent', 'edge-north']);
    expect(parseCacheStatus(undefined)).toEqual([]);
    expect(parseCacheStatus('')).toEqual([]);
  });

  it('a header that is not List syntax is ignored as a whole (RFC 8941 §4.2)', () => {
    for (const bad of ['a; detail="unterminated', 'a,', 'a;;hit', 'a; Hit', 'a; detail="\\x"', 'a b', 'a; detail="é"', '@cache']) {
      expect(parseCacheStatus(bad), bad).toEqual([]);
    }
  });

  it('members that name no cache (an inner list, a number) are skipped', () => {
    expect(parseCacheStatus('(a b), 42, edge; hit').map((e) => e.cache)).toEqual(['edge']);
  });

  it('what a cache writes reads back the same', () => {
    const written = formatCacheStatusEntry('edge-north', [['fwd', 'stale'], ['fwd-status', 304], ['stored'], ['ttl', 299], ['detail', 'say "hi", \\ twice; ok']]);
    expect(written).toBe('edge-north; fwd=stale; fwd-status=304; stored; ttl=299; detail="say \\"hi\\", \\\\ twice; ok"');
    expect(parseCacheStatus(written)).toEqual([
      { cache: 'edge-north', hit: false, fwd: 'stale', fwdStatus: 304, stored: true, ttl: 299, collapsed: false, detail: 'say "hi", \\ twice; ok' },
    ]);
    expect(formatCacheStatusEntry('my cache', [['hit']])).toBe('"my cache"; hit');
    expect(serializeString('naïve\n')).toBe('"na?ve?"'); // a String carries printable ASCII only
  });
});

describe('RFC 8941 List', () => {
  it('bare items of every kind, with parameters', () => {
    const list = parseList('1, -2.5, "s", tok/en:x, :aGk=:, ?0, *star;a=1;b, (x y);z');
    expect(list.map((m) => ('items' in m ? 'inner' : m.value))).toEqual([1, -2.5, 's', new Token('tok/en:x'), new Uint8Array([104, 105]), false, new Token('*star'), 'inner']);
    expect(list[6]).toMatchObject({ params: new Map<string, unknown>([['a', 1], ['b', true]]) });
  });

  it('refuses numbers too long and trailing garbage', () => {
    expect(() => parseList('1234567890123456')).toThrow(/at most 15 digits/);
    expect(() => parseList('1.2345')).toThrow(/fractional/);
    expect(() => parseList('1.')).toThrow(/fractional/);
    expect(() => parseList('-')).toThrow(/digit/);
    expect(() => parseList('a, b c')).toThrow(/","/);
  });
});
