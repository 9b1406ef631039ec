// The rules of HTTP caching for a *shared* cache (a CDN tier), as plain functions.
//
// Everything here is pure: headers and times in, decisions out. The server (cache.ts) asks these
// functions the questions every CDN cache asks about each response and request:
//
//   may I store it?                 storability()         RFC 9111 §3
//   for how long is it fresh?       freshnessLifetime()   RFC 9111 §4.2.1, heuristics §4.2.2
//   how old is it?                  initialAge()          RFC 9111 §4.2.3
//   which stored variant fits?      varyNames/varyValue   RFC 9111 §4.1
//   may the client have a 304?      notModified()         RFC 9110 §13.1, RFC 9111 §4.3.2
//   which bytes did it ask for?     parseRange()          RFC 9110 §14
//
// Where the RFCs leave room, the choice made here is said next to the code, with what Varnish,
// nginx and Squid do.
//
// Header values come from Node: names lower-case, repeated lines already joined with ", " (only
// Set-Cookie stays an array). Times are milliseconds on the cache's clock; ages and lifetimes are
// seconds, as on the wire.

export type HeaderBag = Record<string, string | string[] | undefined>;

/** One header as a single string (repeated lines joined as HTTP allows), or undefined. */
export function headerValue(headers: HeaderBag, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

// ── Cache-Control ─────────────────────────────────────────────────────────────────────────────

/** Directive name (lower-case) → its argument, or true when it has none. */
export type CacheControl = Map<string, string | true>;

/** Split on `separator` except inside double quotes (a quoted argument may contain commas). */
export function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\\' && quoted) i++; // an escaped character inside quotes, e.g. \"
    else if (ch === '"') quoted = !quoted;
    else if (ch === separator && !quoted) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter(Boolean);
}

/** `max-age=60, no-cache="Set-Cookie", public` → Map { max-age → '60', no-cache → 'Set-Cookie', public → true }. */
export function parseCacheControl(value: string | string[] | undefined): CacheControl {
  const directives: CacheControl = new Map();
  if (value === undefined) return directives;
  const text = Array.isArray(value) ? value.join(', ') : value;
  for (const part of splitOutsideQuotes(text, ',')) {
    const eq = part.indexOf('=');
    const name = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    // A directive given twice with different values: RFC 9111 §4.2.1 allows using the first.
    if (!name || directives.has(name)) continue;
    let argument: string | true = true;
    if (eq >= 0) {
      argument = part.slice(eq + 1).trim();
      if (argument.length >= 2 && argument.startsWith('"') && argument.endsWith('"')) {
        argument = argument.slice(1, -1).replace(/\\(.)/g, '$1');
      }
    }
    directives.set(name, argument);
  }
  return directives;
}

/**
 * A delta-seconds argument (max-age=60). RFC 9111 §1.2.2: a value too big to hold is taken as
 * 2^31 seconds; an invalid one (max-age=soon, max-age without a value) makes the response stale,
 * so it is read as 0. Undefined when the directive is absent.
 */
export function deltaSeconds(cc: CacheControl, name: string): number | undefined {
  const argument = cc.get(name);
  if (argument === undefined) return undefined;
  if (argument === true || !/^\d+$/.test(argument)) return 0;
  return Math.min(Number(argument), 2 ** 31);
}

// ── Dates ────────────────────────────────────────────────────────────────────────────────────

/** An HTTP-date (IMF-fixdate, and the obsolete RFC 850 and asctime forms) in ms, or undefined. */
export function parseHttpDate(value: string | undefined): number | undefined {
  if (value === undefined || value.length > 64) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

export function formatHttpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

// ── Freshness (RFC 9111 §4.2) ────────────────────────────────────────────────────────────────

/**
 * Status codes a cache may store without explicit freshness, "heuristically cacheable"
 * (RFC 9110 §15.1). Any other status is stored only with explicit freshness (max-age, Expires).
 */
export const HEURISTICALLY_CACHEABLE = new Set([200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501]);

/** The heuristic: 10% of the time since Last-Modified, never more than a day. */
export const HEURISTIC_FRACTION = 0.1;
export const HEURISTIC_MAX_SECONDS = 24 * 60 * 60;

export interface Freshness {
  /** Seconds the response is fresh for, counted from its creation at the origin. */
  lifetime: number;
  source: 'no-cache' | 's-maxage' | 'max-age' | 'expires' | 'heuristic' | 'none';
}

/**
 * How long a response stays fresh in a shared cache, in the RFC's order of precedence:
 * s-maxage (meant for shared caches) > max-age > Expires − Date > a heuristic.
 * `receivedAt` stands in for a missing Date.
 */
export function freshnessLifetime(status: number, headers: HeaderBag, receivedAt: number): Freshness {
  const cc = parseCacheControl(headers['cache-control']);
  // no-cache: "store it, but ask me every time" — never fresh, whatever else it says.
  if (cc.has('no-cache')) return { lifetime: 0, source: 'no-cache' };
  const sMaxage = deltaSeconds(cc, 's-maxage');
  if (sMaxage !== undefined) return { lifetime: sMaxage, source: 's-maxage' };
  const maxAge = deltaSeconds(cc, 'max-age');
  if (maxAge !== undefined) return { lifetime: maxAge, source: 'max-age' };

  const date = parseHttpDate(headerValue(headers, 'date')) ?? receivedAt;
  const expiresHeader = headerValue(headers, 'expires');
  if (expiresHeader !== undefined) {
    // RFC 9111 §5.3: an invalid Expires, notably "0", means "already expired".
    const expires = parseHttpDate(expiresHeader);
    return { lifetime: expires === undefined ? 0 : Math.max(0, Math.floor((expires - date) / 1000)), source: 'expires' };
  }

  // Heuristic freshness (RFC 9111 §4.2.2), only for heuristically cacheable statuses (or `public`)
  // that carry Last-Modified: a file unchanged for ten days is unlikely to change in the next one.
  // 10% is the RFC's suggestion and Squid's lm-factor style; the one-day cap is ours (Squid's
  // default refresh_pattern caps at 3 days). nginx uses no heuristic and Varnish a flat
  // default_ttl of 120 s instead.
  const lastModified = parseHttpDate(headerValue(headers, 'last-modified'));
  if ((HEURISTICALLY_CACHEABLE.has(status) || cc.has('public')) && lastModified !== undefined && lastModified < date) {
    const lifetime = Math.floor((HEURISTIC_FRACTION * (date - lastModified)) / 1000);
    return { lifetime: Math.min(lifetime, HEURISTIC_MAX_SECONDS), source: 'heuristic' };
  }
  return { lifetime: 0, source: 'none' };
}

/**
 * The age of a response when it arrived (RFC 9111 §4.2.3, corrected_initial_age), in seconds:
 * the larger of what the clocks say (now − Date) and what the caches upstream said (Age) plus the
 * time the request took. The Age from an upstream tier is how tiers add up: the parent held it
 * for 60 s, so it reaches the edge already 60 s old.
 */
export function initialAge(headers: HeaderBag, requestTime: number, responseTime: number): number {
  const ageHeader = headerValue(headers, 'age')?.trim();
  const ageValue = ageHeader && /^\d+$/.test(ageHeader) ? Math.min(Number(ageHeader), 2 ** 31) : 0;
  const date = parseHttpDate(headerValue(headers, 'date')) ?? responseTime;
  const apparentAge = Math.max(0, (responseTime - date) / 1000);
  const responseDelay = (responseTime - requestTime) / 1000;
  const correctedAgeValue = ageValue + responseDelay;
  return Math.max(apparentAge, correctedAgeValue);
}

/**
 * Directives that forbid serving this response stale (RFC 9111 §4.2.4): must-revalidate,
 * proxy-revalidate (shared caches only) and no-cache. s-maxage also implies proxy-revalidate, but
 * an explicit stale-while-revalidate / stale-if-error next to it is taken as the origin's
 * permission (RFC 5861 §3–4, "regardless of other freshness information"), as nginx does.
 */
export function forbidsStale(cc: CacheControl): boolean {
  return cc.has('must-revalidate') || cc.has('proxy-revalidate') || cc.has('no-cache');
}

/** The RFC 5861 windows, in seconds after the response became stale (0 when absent). */
export function staleWindows(cc: CacheControl): { whileRevalidate: number; ifError: number } {
  return { whileRevalidate: deltaSeconds(cc, 'stale-while-revalidate') ?? 0, ifError: deltaSeconds(cc, 'stale-if-error') ?? 0 };
}

// ── May it be stored? (RFC 9111 §3) ──────────────────────────────────────────────────────────

export type Storability = { store: true } | { store: false; detail: string };

/**
 * Whether a shared cache may store this response to a GET. `detail` names the reason when not;
 * it goes into the Cache-Status header, so a learner sees *why* the origin is asked every time.
 */
export function storability(requestHeaders: HeaderBag, status: number, headers: HeaderBag, receivedAt: number): Storability {
  const cc = parseCacheControl(headers['cache-control']);
  const requestCc = parseCacheControl(requestHeaders['cache-control']);
  // Only complete final responses: we never ask upstream for a range, and 304s are used to
  // refresh, not stored on their own.
  if (status < 200 || status === 206 || status === 304) return { store: false, detail: 'status' };
  if (cc.has('no-store')) return { store: false, detail: 'no-store' };
  // `private` is for the user's own browser cache, never a shared one. A qualified private="X"
  // would allow storing without X; we treat it as unqualified (RFC 9111 §5.2.2.7 allows it).
  if (cc.has('private')) return { store: false, detail: 'private' };
  if (requestCc.has('no-store')) return { store: false, detail: 'request-no-store' };
  // §3.5: an answer to a request with credentials is someone's own unless the origin says it is
  // for everyone (public, s-maxage or must-revalidate).
  if (requestHeaders['authorization'] !== undefined && !cc.has('public') && !cc.has('s-maxage') && !cc.has('must-revalidate')) {
    return { store: false, detail: 'authorization' };
  }
  // Set-Cookie: the RFC would let a cache store it, but a cookie handed to every visitor is a
  // session leak. Varnish's builtin VCL and nginx's proxy_cache both refuse to store it by
  // default, and so do we.
  if (headers['set-cookie'] !== undefined) return { store: false, detail: 'set-cookie' };
  if (varyNames(headers) === '*') return { store: false, detail: 'vary-star' };

  const explicit = cc.has('s-maxage') || cc.has('max-age') || headers['expires'] !== undefined;
  if (!explicit && !HEURISTICALLY_CACHEABLE.has(status) && !cc.has('public')) return { store: false, detail: 'status' };
  // Storable, but useless: never fresh and nothing to revalidate with, so every request would
  // go upstream anyway. (no-cache with a validator is worth keeping: a 304 is cheaper than a body.)
  const { lifetime } = freshnessLifetime(status, headers, receivedAt);
  const hasValidator = headers['etag'] !== undefined || headers['last-modified'] !== undefined;
  if (lifetime === 0 && !hasValidator) return { store: false, detail: 'no-freshness' };
  return { store: true };
}

// ── Vary (RFC 9111 §4.1) ─────────────────────────────────────────────────────────────────────

/** The request headers a response varies on, lower-case, or '*' (never matches anything). */
export function varyNames(headers: HeaderBag): string[] | '*' {
  const names = splitOutsideQuotes(headerValue(headers, 'vary') ?? '', ',').map((n) => n.toLowerCase());
  if (names.includes('*')) return '*';
  return [...new Set(names)];
}

/**
 * A request header's value as Vary compares it: repeated lines joined, whitespace around commas
 * and runs of spaces normalised (RFC 9111 §4.1 allows that much). Case is kept: Varnish and Squid
 * compare values byte for byte too. Absent is null, and only matches absent.
 */
export function varyValue(headers: HeaderBag, name: string): string | null {
  const raw = headerValue(headers, name);
  if (raw === undefined) return null;
  return raw
    .split(',')
    .map((part) => part.trim().replace(/\s+/g, ' '))
    .join(', ');
}

// ── Validators and conditional requests (RFC 9110 §8.8, §13) ─────────────────────────────────

/** The entity-tags in an If-None-Match / If-Match list: `"a", W/"b"`. */
export function entityTags(list: string): string[] {
  return list.match(/(?:W\/)?"[^"]*"/g) ?? [];
}

/** Weak comparison: W/"x" and "x" match (what If-None-Match uses). */
export function weakMatch(a: string, b: string): boolean {
  return a.replace(/^W\//, '') === b.replace(/^W\//, '');
}

/** Strong comparison: both strong and identical (what If-Range uses). */
export function strongMatch(a: string, b: string): boolean {
  return !a.startsWith('W/') && !b.startsWith('W/') && a === b;
}

/**
 * Would this client be satisfied by a 304 Not Modified, given the stored response's headers?
 * If-None-Match wins over If-Modified-Since when both are sent (RFC 9110 §13.2.2). With no
 * Last-Modified, If-Modified-Since is checked against Date (RFC 9111 §4.3.2).
 */
export function notModified(requestHeaders: HeaderBag, stored: HeaderBag): boolean {
  const ifNoneMatch = headerValue(requestHeaders, 'if-none-match');
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() === '*') return true;
    const etag = headerValue(stored, 'etag');
    return etag !== undefined && entityTags(ifNoneMatch).some((tag) => weakMatch(tag, etag));
  }
  const since = parseHttpDate(headerValue(requestHeaders, 'if-modified-since'));
  if (since === undefined) return false;
  const modified = parseHttpDate(headerValue(stored, 'last-modified')) ?? parseHttpDate(headerValue(stored, 'date'));
  return modified !== undefined && modified <= since;
}

/**
 * If-Range (RFC 9110 §13.1.5): "send me the range only if it is still this version". An
 * entity-tag must match strongly, a date must equal Last-Modified exactly; otherwise the client
 * gets the whole thing. True when there is no If-Range.
 */
export function ifRangeAllows(requestHeaders: HeaderBag, stored: HeaderBag): boolean {
  const ifRange = headerValue(requestHeaders, 'if-range')?.trim();
  if (ifRange === undefined) return true;
  if (ifRange.startsWith('"') || ifRange.startsWith('W/')) {
    const etag = headerValue(stored, 'etag');
    return etag !== undefined && strongMatch(ifRange, etag);
  }
  const date = parseHttpDate(ifRange);
  const lastModified = parseHttpDate(headerValue(stored, 'last-modified'));
  return date !== undefined && date === lastModified;
}

// ── Ranges (RFC 9110 §14) ────────────────────────────────────────────────────────────────────

export interface ByteRange {
  start: number;
  /** Inclusive, as in Content-Range. */
  end: number;
}

/**
 * One byte range, `bytes=a-b`, `bytes=a-` or `bytes=-n`, against a body of `length` bytes.
 * Returns the range, 'unsatisfiable' (→ 416), or undefined: ignore the header and send the whole
 * body with 200, which RFC 9110 §14.2 allows for anything we do not support — malformed headers
 * and several ranges at once (multipart/byteranges; nginx also answers those with 200 when the
 * ranges overlap, and a list of 10 000 ranges is a denial-of-service classic).
 */
export function parseRange(header: string, length: number): ByteRange | 'unsatisfiable' | undefined {
  if (header.length > 100) return undefined; // one range is never this long; do not even parse it
  const m = /^bytes=(\d*)-(\d*)$/i.exec(header.trim());
  if (!m) return undefined;
  const [first = '', last = ''] = [m[1], m[2]];
  if (first === '' && last === '') return undefined;
  if (first === '') {
    // The last n bytes.
    const n = Number(last);
    if (n === 0 || length === 0) return 'unsatisfiable';
    return { start: Math.max(0, length - n), end: length - 1 };
  }
  const start = Number(first);
  if (last !== '' && Number(last) < start) return undefined; // "bytes=9-3" is invalid: ignore it
  if (start >= length) return 'unsatisfiable';
  const end = last === '' ? length - 1 : Math.min(Number(last), length - 1);
  return { start, end };
}
