// The cache's memory: stored responses by key and variant, bounded in bytes, least recently used
// evicted first (as Varnish's malloc storage and nginx's max_size do).
//
//   key 'GET static.geektime.test/hello'  ──▶  [ variant accept-language=fr, variant accept-language=en ]
//
// A key is one URL; a response with `Vary` can have several stored variants under it, one per
// combination of the request headers it varies on. Every variant is its own LRU item: a French
// page nobody asks for any more is evicted while the English one stays.
import type { CacheControl } from './cache-rules.ts';

/** One stored response: what came from upstream, and the times needed to compute its age. */
export interface StoredResponse {
  /** 'GET static.geektime.test/images/phone.png': method class, host without port, path?query. */
  key: string;
  status: number;
  /** Response headers as stored: no hop-by-hop fields, no Age (computed on the way out), no
   *  Cache-Status (it described the fetch that stored this, not later requests). */
  headers: Record<string, string | string[]>;
  body: Buffer;
  /** Parsed Cache-Control of `headers`. */
  cacheControl: CacheControl;
  /** The request headers named in Vary (lower-case), and their values in the request that
   *  fetched this response (null: absent). */
  varyNames: string[];
  varyValues: (string | null)[];
  /** When the request that fetched it went out, and when its answer arrived (ms, cache clock). */
  requestTime: number;
  responseTime: number;
  /** corrected_initial_age, seconds (RFC 9111 §4.2.3). */
  initialAge: number;
  /** Freshness lifetime, seconds, and which header gave it. */
  lifetime: number;
  lifetimeSource: string;
  /** What it costs to keep, in bytes: see sizeOf. */
  size: number;
}

/** Keep a user agent's "Vary: User-Agent" from turning one URL into thousands of copies. */
export const MAX_VARIANTS_PER_KEY = 32;

/**
 * What one stored response costs, as counted against maxBytes: everything it keeps that grows
 * with the request or the response. The key (host, path and query: the client chooses them), the
 * body, the response headers, and the request header values the variant is keyed on (Vary: the
 * client's own bytes, up to MAX_VARY_VALUE_BYTES). Anything left out here is memory a client can
 * make us hold beyond the cap, one request at a time.
 */
export function sizeOf(entry: Pick<StoredResponse, 'key' | 'headers' | 'body' | 'varyNames' | 'varyValues'>): number {
  let size = entry.key.length + entry.body.length;
  for (const [name, value] of Object.entries(entry.headers)) size += name.length + 4 + String(value).length;
  entry.varyNames.forEach((name, i) => (size += name.length + (entry.varyValues[i]?.length ?? 0)));
  return size;
}

/** A value cut for a log line: a key or Vary value can be kilobytes of the client's bytes. */
function shortened(text: string, max = 100): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}

/** "GET static.geektime.test/hello (accept-language: fr)": a variant, readable. */
export function describeEntry(entry: StoredResponse): string {
  const key = shortened(entry.key, 300);
  if (entry.varyNames.length === 0) return key;
  const values = entry.varyNames.map((name, i) => `${name}: ${shortened(entry.varyValues[i] ?? '(none)')}`);
  return `${key} (${values.join('; ')})`;
}

export class CacheStore {
  /** key → its variants, newest first (RFC 9111 §4.1: use the most recent when several match). */
  readonly #byKey = new Map<string, StoredResponse[]>();
  /** Every stored response, least recently used first (a Set keeps insertion order). */
  readonly #lru = new Set<StoredResponse>();
  #bytes = 0;

  constructor(
    readonly maxBytes: number,
    private readonly onEvict: (entry: StoredResponse) => void = () => {},
  ) {}

  get bytes(): number {
    return this.#bytes;
  }

  get count(): number {
    return this.#lru.size;
  }

  variants(key: string): readonly StoredResponse[] {
    return this.#byKey.get(key) ?? [];
  }

  /** A stored response was used: it moves to the "recently used" end. */
  touch(entry: StoredResponse): void {
    if (!this.#lru.delete(entry)) return;
    this.#lru.add(entry);
  }

  /** Store `entry`, dropping the variants it replaces, then evict until we fit again. */
  put(entry: StoredResponse, replaces: readonly StoredResponse[]): void {
    for (const old of replaces) this.remove(old);
    const variants = this.#byKey.get(entry.key) ?? [];
    variants.unshift(entry);
    this.#byKey.set(entry.key, variants);
    this.#lru.add(entry);
    this.#bytes += entry.size;
    while (variants.length > MAX_VARIANTS_PER_KEY) this.#evict(variants.at(-1)!);
    // The oldest first. The new entry itself always fits: objects over maxObjectBytes (at most
    // maxBytes) are never stored.
    for (const oldest of this.#lru) {
      if (this.#bytes <= this.maxBytes) break;
      if (oldest !== entry) this.#evict(oldest);
    }
  }

  /** A stored response got new headers from a 304: its size changes, its place in the LRU too. */
  resized(entry: StoredResponse, newSize: number): void {
    if (!this.#lru.has(entry)) return;
    this.#bytes += newSize - entry.size;
    entry.size = newSize;
    this.touch(entry);
  }

  remove(entry: StoredResponse): boolean {
    if (!this.#lru.delete(entry)) return false;
    this.#bytes -= entry.size;
    const variants = this.#byKey.get(entry.key) ?? [];
    variants.splice(variants.indexOf(entry), 1);
    if (variants.length === 0) this.#byKey.delete(entry.key);
    return true;
  }

  /** Remove every variant of a key; how many there were. */
  purge(key: string): number {
    const variants = [...this.variants(key)];
    for (const entry of variants) this.remove(entry);
    return variants.length;
  }

  /** Every stored response, least recently used first. */
  describe(): string[] {
    return [...this.#lru].map(describeEntry);
  }

  #evict(entry: StoredResponse): void {
    if (this.remove(entry)) this.onEvict(entry);
  }
}
