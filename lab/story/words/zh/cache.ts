// The CDN's cache tiers in words, from the Cache-Status entries (RFC 9211) a fetch got back.
import type { CacheStatusEntry } from '../../../../servers/net/cache-status.ts';

/** The path of one fetch through the tiers, from the edge the phone talked to inward. */
export function cachePathLines(cacheStatus: readonly CacheStatusEntry[]): string[] {
  const tiers = [...cacheStatus].reverse(); // the header lists nearest-origin first; tell it nearest the client first
  const lines = tiers.map((t) => {
    if (t.hit) {
      const stale = t.ttl !== undefined && t.ttl < 0;
      return `${t.cache}: HIT${stale ? ` (stale by ${-t.ttl!} s${t.detail ? `, ${t.detail}` : ''})` : t.ttl !== undefined ? `, fresh for ${t.ttl} s more` : ''}${t.collapsed ? ', collapsed with another request' : ''}`;
    }
    const why = t.fwd === 'uri-miss' || t.fwd === 'miss' ? 'MISS (it had no copy)' : t.fwd === 'stale' ? 'stale copy: revalidated upstream' : t.fwd ? `went upstream (${t.fwd})` : 'went upstream';
    const revalidated = t.fwdStatus === 304 ? ', upstream said 304 Not Modified' : '';
    return `${t.cache}: ${why}${revalidated}${t.stored ? ', stored the answer' : ', did not store it'}${t.detail ? ` (${t.detail})` : ''}${t.collapsed ? ', collapsed' : ''}`;
  });
  const last = tiers.at(-1);
  if (last && !last.hit) lines.push('origin: served the object');
  return lines;
}
