// The Cache-Status response header (RFC 9211), read and written in one place. The caches write it
// (each tier appends its own member), the caches read their upstream's to know which tiers an
// answer came through, and the phone reads it to narrate the cache path.
//
//   Cache-Status: parent; fwd=uri-miss; stored; ttl=300, edge-north; hit; ttl=299
//
// It is a Structured Fields List (RFC 8941): one member per cache, nearest the origin first
// (§2); each member is the cache's name (a Token or a String) with parameters (§2.1–§2.8).
import { Token, parseList, serializeString, tokenOrString, StructuredFieldError, type BareItem } from './structured-fields.ts';

export interface CacheStatusEntry {
  cache: string;
  /** §2.1: answered from cache, without going forward. */
  hit: boolean;
  /** §2.2: why it went to the next tier: uri-miss, vary-miss, stale, request, bypass, method... */
  fwd?: string;
  /** §2.3: the status the next tier answered with. */
  fwdStatus?: number;
  /** §2.4: freshness left, in seconds (negative when stale). */
  ttl?: number;
  /** §2.5: the answer was stored. */
  stored: boolean;
  /** §2.6: the request was collapsed with another one to the next tier. */
  collapsed: boolean;
  /** §2.7: the cache key, when the cache says it. */
  key?: string;
  /** §2.8: anything else, free-form. */
  detail?: string;
}

/**
 * Parse a Cache-Status header into its members, nearest-origin first. A header that is not valid
 * RFC 8941 List syntax is ignored as a whole (RFC 8941 §4.2), so the result is []; so is a member
 * whose name is not a Token or String (RFC 9211 §2), and a parameter of the wrong type.
 */
export function parseCacheStatus(header: string | string[] | undefined): CacheStatusEntry[] {
  if (header === undefined) return [];
  let members;
  try {
    members = parseList(header);
  } catch (err) {
    if (err instanceof StructuredFieldError) return [];
    throw err;
  }
  const entries: CacheStatusEntry[] = [];
  for (const member of members) {
    if ('items' in member) continue; // an inner list names no cache
    const cache = text(member.value);
    if (cache === undefined) continue;
    const p = member.params;
    const entry: CacheStatusEntry = { cache, hit: p.get('hit') === true, stored: p.get('stored') === true, collapsed: p.get('collapsed') === true };
    const fwd = p.get('fwd');
    if (fwd instanceof Token) entry.fwd = fwd.name;
    const fwdStatus = p.get('fwd-status');
    if (Number.isInteger(fwdStatus)) entry.fwdStatus = fwdStatus as number;
    const ttl = p.get('ttl');
    if (Number.isInteger(ttl)) entry.ttl = ttl as number;
    const key = p.get('key');
    if (typeof key === 'string') entry.key = key;
    const detail = text(p.get('detail')); // §2.8: a Token or a String
    if (detail !== undefined) entry.detail = detail;
    entries.push(entry);
  }
  return entries;
}

function text(value: BareItem | undefined): string | undefined {
  if (typeof value === 'string') return value;
  return value instanceof Token ? value.name : undefined;
}

/** One parameter of a member: ['hit'], ['fwd', 'stale'], ['ttl', 299], ['detail', 'private']. */
export type CacheStatusParam = [name: string, value?: string | number];

/**
 * A cache's own member: `edge-north; fwd=uri-miss; stored; ttl=300`. Booleans are written bare
 * (`hit`, not `hit=?1`, RFC 8941 §4.1.1.2), `fwd` as a Token (RFC 9211 §2.2), numbers as Integers,
 * other text (detail, key) as a String.
 */
export function formatCacheStatusEntry(cacheName: string, params: CacheStatusParam[]): string {
  const rendered = params.map(([key, value]) => {
    if (value === undefined) return key;
    if (typeof value === 'number') return `${key}=${Math.trunc(value)}`;
    return `${key}=${key === 'fwd' ? value : serializeString(value)}`;
  });
  return [tokenOrString(cacheName), ...rendered].join('; ');
}
