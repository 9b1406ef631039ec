// The CDN's cache tiers in Chinese words, from the Cache-Status entries (RFC 9211) a fetch got back.
// Same facts as ../en/cache.ts; HIT/MISS stay as Cache-Status shows them (命中（HIT）/ 未命中（MISS）).
import type { CacheStatusEntry } from '../../../../servers/net/cache-status.ts';

/** The path of one fetch through the tiers, from the edge the phone talked to inward. */
export function cachePathLines(cacheStatus: readonly CacheStatusEntry[]): string[] {
  const tiers = [...cacheStatus].reverse(); // the header lists nearest-origin first; tell it nearest the client first
  const lines = tiers.map((t) => {
    const detail = t.detail ? `（${t.detail}）` : '';
    if (t.hit) {
      const stale = t.ttl !== undefined && t.ttl < 0;
      const freshness = stale ? `，但已过期 ${-t.ttl!} s${detail}` : t.ttl !== undefined ? `，新鲜期还剩 ${t.ttl} s` : '';
      return `${t.cache}：命中（HIT）${freshness}${t.collapsed ? '，与另一个请求合并' : ''}`;
    }
    const why =
      t.fwd === 'uri-miss' || t.fwd === 'miss' ? '未命中（MISS，它没有副本）'
      : t.fwd === 'stale' ? '副本已过期：向上游重新验证'
      : t.fwd ? `转发给上游（${t.fwd}）`
      : '转发给上游';
    const revalidated = t.fwdStatus === 304 ? '，上游回复 304 Not Modified' : '';
    return `${t.cache}：${why}${revalidated}${t.stored ? '，存下了响应' : '，没有存下'}${detail}${t.collapsed ? '，请求已合并' : ''}`;
  });
  const last = tiers.at(-1);
  if (last && !last.hit) lines.push('源站：返回了这个对象');
  return lines;
}
