// The rules of HTTP caching for a *shared* cache (a CDN tier), as plain functions.
//
// Everything here is pure: headers and times in, decisions out. The server (cache.ts) asks these
// functions the questions every CDN cache asks about each response and request:
//
//   which directives are mine?      responseDirectives()  RFC 9213 §2.2 (CDN-Cache-Control)
//   may I store it?                 storability()         RFC 9111 §3
//   for how long is it fresh?       freshnessLifetime()   RFC 9111 §4.2.1, heuristics §4.2.2
//   is this a date at all?          parseHttpDate()       RFC 9110 §5.6.7
//   how old is it?                  initialAge()          RFC 9111 §4.2.3, Age §5.1
//   which stored variant fits?      varyNames/varyValue   RFC 9111 §4.1
//   may the client have a 304?      notModified()         RFC 9110 §13.1, RFC 9111 §4.3.2
//   which bytes did it ask for?     parseRange()          RFC 9110 §14
//
// Where the RFCs leave room, the choice made here is said next to the code, with what Varnish,
// nginx and Squid do.
//
// Header values come from Node: names lower-case, repeated lines joined with ", " (only
// Set-Cookie stays an array; see withRepeatedLines for the fields Node cuts to one line). Times
// are milliseconds on the cache's clock; ages and lifetimes are seconds, as on the wire.

export type HeaderBag = Record<string, string | string[] | undefined>;

/** One header as a single string (repeated lines joined as HTTP allows), or undefined. */
export function headerValue(headers: HeaderBag, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * Fields Node's `message.headers` keeps only the first line of, among those a cache reads. A
 * second line is news the cache must not miss: two Expires lines are no valid expiry (RFC 9111
 * §4.2.1), two Last-Modified no validator, and which Age counts is RFC 9111 §5.1's call, not Node's.
 */
const CUT_TO_ONE_LINE = ['age', 'expires', 'last-modified'];

/** `headers` with those fields' repeated lines put back, joined with ", " like any other field
 *  (pass Node's `message.headersDistinct`, which has every line). */
export function withRepeatedLines<T extends HeaderBag>(headers: T, distinct: Record<string, string[] | undefined>): T {
  const out: HeaderBag = { ...headers };
  for (const field of CUT_TO_ONE_LINE) {
    const lines = distinct[field];
    if (lines && lines.length > 1) out[field] = lines.join(', ');
  }
  return out as T;
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

/** 2^31 seconds, over 68 years: what any larger delta-seconds counts as (RFC 9111 §1.2.2). */
export const MAX_DELTA_SECONDS = 2 ** 31;

/**
 * A delta-seconds argument (max-age=60). RFC 9111 §1.2.2: a value too big to hold is taken as
 * 2^31 seconds; an invalid one (max-age=soon, max-age without a value) makes the response stale,
 * so it is read as 0. Undefined when the directive is absent.
 */
export function deltaSeconds(cc: CacheControl, name: string): number | undefined {
  const argument = cc.get(name);
  if (argument === undefined) return undefined;
  if (argument === true || !/^\d+$/.test(argument)) return 0;
  return Math.min(Number(argument), MAX_DELTA_SECONDS);
}

// ── CDN-Cache-Control (RFC 9213) ─────────────────────────────────────────────────────────────

/**
 * The targeted fields a CDN tier obeys, most specific first (RFC 9213 §2.2, the "target list").
 * Ours has one: `CDN-Cache-Control`. An origin says there how long *the CDN* may keep something,
 * apart from what browsers are told in Cache-Control:
 *
 *   Cache-Control: public, max-age=3600          ← browsers: an hour (nobody can purge a browser)
 *   CDN-Cache-Control: max-age=86400             ← the CDN: a day (the shop can PURGE the CDN)
 *
 * The idea is older than the RFC: Varnish's builtin VCL lets Surrogate-Control (the Edge
 * Architecture note's field for surrogates) overrule Cache-Control's no-cache/no-store/private;
 * Fastly and Akamai have their own fields. RFC 9213 standardised one name for every CDN.
 */
export const TARGET_LIST = ['cdn-cache-control'] as const;

export interface ResponseDirectives {
  cc: CacheControl;
  /** Where they came from: a targeted field, or plain Cache-Control. */
  field: (typeof TARGET_LIST)[number] | 'cache-control';
}

/**
 * Which caching directives of a response this cache obeys. RFC 9213 §2.2: the first field of the
 * target list that is present, valid and non-empty; then Cache-Control *and Expires* are ignored
 * for this cache's own decisions (they still go on to the browser). A targeted field that fails
 * to parse as a Structured Fields Dictionary, or is empty, is ignored as if absent (§2.1), and
 * Cache-Control rules as usual. The directives mean what they mean in Cache-Control (max-age,
 * s-maxage, no-store, no-cache, private, must-revalidate, stale-while-revalidate...).
 */
export function responseDirectives(headers: HeaderBag): ResponseDirectives {
  for (const field of TARGET_LIST) {
    const value = headers[field];
    const dictionary = value === undefined ? undefined : parseDictionary(Array.isArray(value) ? value.join(', ') : value);
    if (dictionary && dictionary.size > 0) return { cc: dictionary, field };
  }
  return { cc: parseCacheControl(headers['cache-control']), field: 'cache-control' };
}

/** An RFC 8941 bare item, with its type: `600` is an Integer, `"600"` a String, `?1` a Boolean. */
export type BareItem =
  | { type: 'integer'; value: number }
  | { type: 'decimal'; value: number }
  | { type: 'string'; value: string }
  | { type: 'token'; value: string }
  | { type: 'byte-sequence' }
  | { type: 'boolean'; value: boolean };

/** Directives whose argument is delta-seconds (RFC 9111 §1.2.2, RFC 5861). */
const DELTA_SECONDS_DIRECTIVES = new Set(['max-age', 's-maxage', 'stale-while-revalidate', 'stale-if-error', 'max-stale', 'min-fresh']);

/**
 * A targeted field's member as a Cache-Control directive argument (what deltaSeconds and the rest
 * read), or undefined for "not set". RFC 9213 §2.1 maps each directive to one type: delta-seconds
 * to Integer, a quoted argument to String, no argument to Boolean true. It says implementations
 * "SHOULD NOT consume values that violate these inferred constraints" (its example: a max-age
 * that is a Decimal). The field itself stays valid (it parsed), so we act on the directive, not on
 * its value: a delta-seconds directive with anything but a non-negative Integer (max-age="600",
 * max-age=1.5, max-age=-1, max-age=?1, max-age alone) becomes '', which deltaSeconds reads as
 * invalid, i.e. 0 s: the response is stale, as RFC 9111 §4.2.1 encourages for "a max-age
 * directive with non-integer content". Quietly taking "600" for 600 would be coercing the type,
 * exactly what §2.1 warns would make caches disagree.
 * For other directives: `?0` means not set (no-store=?0 stores); Strings and Tokens are their
 * text (no-cache="set-cookie"); any other value is one no directive takes, ''.
 */
export function directiveArgument(name: string, item: BareItem | 'inner-list'): string | true | undefined {
  if (DELTA_SECONDS_DIRECTIVES.has(name)) {
    return item !== 'inner-list' && item.type === 'integer' && item.value >= 0 ? String(item.value) : '';
  }
  if (item === 'inner-list') return '';
  switch (item.type) {
    case 'boolean':
      return item.value ? true : undefined;
    case 'string':
    case 'token':
      return item.value;
    case 'integer':
      return item.value >= 0 ? String(item.value) : '';
    default:
      return '';
  }
}

/**
 * A Structured Fields Dictionary (RFC 8941 §3.2, parsed as §4.2.2 says), as cache directives:
 * `max-age=600, no-cache="set-cookie", private` → Map { max-age → '600', no-cache → 'set-cookie',
 * private → true }. Undefined on any syntax error: keys are lower-case, strings double-quoted,
 * no trailing comma. Unlike Cache-Control, a repeated key keeps its *last* value (§4.2.2).
 * Each value is first read as the typed item it is (bareItem), then turned into a directive
 * argument by directiveArgument, which holds the type rules. Parameters are ignored (RFC 9213 §2.1).
 */
export function parseDictionary(text: string): CacheControl | undefined {
  const input = text.replace(/^ +| +$/g, ''); // §4.2: leading and trailing SP only
  const directives: CacheControl = new Map();
  let i = 0;
  const skip = (chars: RegExp) => {
    while (i < input.length && chars.test(input[i]!)) i++;
  };
  const take = (pattern: RegExp): string | undefined => {
    pattern.lastIndex = i;
    const m = pattern.exec(input);
    if (!m) return undefined;
    i += m[0].length;
    return m[0];
  };
  // bare-item (RFC 8941 §4.2.3): the typed value, or null on a syntax error.
  const bareItem = (): BareItem | null => {
    const number = take(/-?\d{1,15}(?:\.\d{1,3})?/y);
    if (number !== undefined) {
      if (!number.includes('.')) return { type: 'integer', value: Number(number) };
      const [whole = ''] = number.split('.');
      if (whole.replace('-', '').length > 12) return null; // a Decimal has at most 12 integer digits
      return { type: 'decimal', value: Number(number) };
    }
    if (input[i] === '"') {
      const string = take(/"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*"/y);
      return string === undefined ? null : { type: 'string', value: string.slice(1, -1).replace(/\\(.)/g, '$1') };
    }
    const token = take(/[A-Za-z*][!#$%&'*+\-.^_`|~\w:/]*/y);
    if (token !== undefined) return { type: 'token', value: token };
    if (take(/:[A-Za-z0-9+/=]*:/y) !== undefined) return { type: 'byte-sequence' };
    const boolean = take(/\?[01]/y);
    if (boolean !== undefined) return { type: 'boolean', value: boolean === '?1' };
    return null;
  };
  const parameters = (): boolean => {
    while (input[i] === ';') {
      i++;
      skip(/ /);
      if (take(/[a-z*][a-z0-9_\-.*]*/y) === undefined) return false;
      if (input[i] === '=') {
        i++;
        if (bareItem() === null) return false;
      }
    }
    return true;
  };
  const innerList = (): boolean => {
    i++; // (
    for (;;) {
      skip(/ /);
      if (input[i] === ')') {
        i++;
        return parameters();
      }
      if (bareItem() === null || !parameters()) return false;
      if (input[i] !== ' ' && input[i] !== ')') return false;
    }
  };
  while (i < input.length) {
    const key = take(/[a-z*][a-z0-9_\-.*]*/y);
    if (key === undefined) return undefined;
    // A key alone is Boolean true (RFC 8941 §3.2).
    let item: BareItem | 'inner-list' = { type: 'boolean', value: true };
    if (input[i] === '=') {
      i++;
      if (input[i] === '(') {
        if (!innerList()) return undefined;
        item = 'inner-list';
      } else {
        const bare = bareItem();
        if (bare === null) return undefined;
        item = bare;
      }
    }
    if (!parameters()) return undefined;
    directives.delete(key);
    const argument = directiveArgument(key, item);
    if (argument !== undefined) directives.set(key, argument);
    skip(/[ \t]/);
    if (i >= input.length) break;
    if (input[i] !== ',') return undefined;
    i++;
    skip(/[ \t]/);
    if (i >= input.length) return undefined; // a trailing comma
  }
  return directives;
}

// ── Dates ────────────────────────────────────────────────────────────────────────────────────

// An HTTP-date, exactly as RFC 9110 §5.6.7 spells it (%s: case-sensitive):
//
//   HTTP-date    = IMF-fixdate / obs-date
//   IMF-fixdate  = day-name "," SP date1 SP time-of-day SP GMT     Sun, 06 Nov 1994 08:49:37 GMT
//   date1        = day SP month SP year
//   obs-date     = rfc850-date / asctime-date
//   rfc850-date  = day-name-l "," SP date2 SP time-of-day SP GMT   Sunday, 06-Nov-94 08:49:37 GMT
//   date2        = day "-" month "-" 2DIGIT
//   asctime-date = day-name SP date3 SP time-of-day SP year         Sun Nov  6 08:49:37 1994
//   date3        = month SP ( 2DIGIT / ( SP DIGIT ) )
//   time-of-day  = hour ":" minute ":" second    ; 00:00:00 - 23:59:60 (leap second)
//   day = 2DIGIT   year = 4DIGIT   hour = minute = second = 2DIGIT
//   day-name     = %s"Mon" / %s"Tue" / %s"Wed" / %s"Thu" / %s"Fri" / %s"Sat" / %s"Sun"
//   day-name-l   = %s"Monday" / ... / %s"Sunday"
//   month        = %s"Jan" / %s"Feb" / ... / %s"Dec"
//   GMT          = %s"GMT"
//
// Date.parse is no judge of that: it takes "UTC" for "GMT", drops the comma, reads "1 Jan 2030",
// "2030-01-01", one-digit hours, lower-case names, and whatever weekday. Anything else here is
// invalid, which each field turns into its own rule: an invalid Expires is already expired
// (RFC 9111 §5.3), an invalid Date is as good as none (the time we received it stands in,
// RFC 9111 §4.2.3), an invalid Last-Modified gives no heuristic and no validator, an invalid
// If-Modified-Since is ignored (RFC 9110 §13.1.3). One more check than the ABNF: the weekday must
// be the date's (RFC 5322 §3.3, where IMF-fixdate comes from, says so); a date that contradicts
// itself is not trusted. Browsers are laxer (RFC 9110 §5.6.7 encourages robustness); a cache
// deciding what to serve to everyone errs on the side of asking again.

const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const DAY_NAMES_LONG = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const oneOf = (names: string[]) => `(${names.join('|')})`;
const TIME_OF_DAY = '(\\d{2}):(\\d{2}):(\\d{2})';
const IMF_FIXDATE = new RegExp(`^${oneOf(DAY_NAMES)}, (\\d{2}) ${oneOf(MONTHS)} (\\d{4}) ${TIME_OF_DAY} GMT$`);
const RFC850_DATE = new RegExp(`^${oneOf(DAY_NAMES_LONG)}, (\\d{2})-${oneOf(MONTHS)}-(\\d{2}) ${TIME_OF_DAY} GMT$`);
const ASCTIME_DATE = new RegExp(`^${oneOf(DAY_NAMES)} ${oneOf(MONTHS)} (\\d{2}| \\d) ${TIME_OF_DAY} (\\d{4})$`);

/**
 * An HTTP-date (IMF-fixdate, or the obsolete RFC 850 and asctime forms) in ms, or undefined when
 * the value is not one. `now` (ms) places an RFC 850 two-digit year: RFC 9110 §5.6.7 reads a year
 * that would be more than 50 years in the future as the most recent past year ending in the same
 * two digits ("01-Jan-99" read in 2026 is 1999, "01-Jan-70" is 2070, "01-Jan-77" is 1977).
 */
export function parseHttpDate(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  let m: RegExpExecArray | null;
  if ((m = IMF_FIXDATE.exec(value))) {
    const [, weekday, day, month, year, hour, minute, second] = m;
    return timestamp(DAY_NAMES.indexOf(weekday), +year, MONTHS.indexOf(month), +day, +hour, +minute, +second);
  }
  if ((m = RFC850_DATE.exec(value))) {
    const [, weekday, day, month, yy, hour, minute, second] = m;
    const thisYear = new Date(now).getUTCFullYear();
    let year = thisYear - (thisYear % 100) + +yy;
    if (year > thisYear + 50) year -= 100;
    else if (year <= thisYear - 50) year += 100; // the other way round: "01-Jan-30" read in 2090 is 2130
    return timestamp(DAY_NAMES_LONG.indexOf(weekday), year, MONTHS.indexOf(month), +day, +hour, +minute, +second);
  }
  if ((m = ASCTIME_DATE.exec(value))) {
    const [, weekday, month, day, hour, minute, second, year] = m;
    return timestamp(DAY_NAMES.indexOf(weekday), +year, MONTHS.indexOf(month), +day.trim(), +hour, +minute, +second);
  }
  return undefined;
}

/** The instant the fields name, or undefined when they name none (31 Feb, 24:00, the wrong weekday). */
function timestamp(weekday: number, year: number, month: number, day: number, hour: number, minute: number, second: number): number | undefined {
  const midnight = new Date(0);
  midnight.setUTCFullYear(year, month, day); // not Date.UTC: it reads years 0-99 as 1900-1999
  if (midnight.getUTCMonth() !== month || midnight.getUTCDay() !== weekday) return undefined; // day 31 of a 30-day month rolls over
  const leapSecond = hour === 23 && minute === 59 && second === 60; // leap seconds end a UTC day, nothing else
  if (hour > 23 || minute > 59 || (second > 59 && !leapSecond)) return undefined;
  return midnight.getTime() + ((hour * 60 + minute) * 60 + second) * 1000;
}

/** IMF-fixdate, the one form a sender generates (RFC 9110 §5.6.7). */
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
 * s-maxage (meant for shared caches) > max-age > Expires − Date > a heuristic. The directives
 * are those responseDirectives() picks: with a valid CDN-Cache-Control, Cache-Control and Expires
 * do not count here (RFC 9213 §2.2). `receivedAt` stands in for a missing or invalid Date.
 */
export function freshnessLifetime(status: number, headers: HeaderBag, receivedAt: number): Freshness {
  const { cc, field } = responseDirectives(headers);
  // no-cache: "store it, but ask me every time" — never fresh, whatever else it says. The
  // qualified form, no-cache="Set-Cookie", would allow serving the rest fresh without those
  // fields; RFC 9111 §5.2.2.4 notes caches commonly treat it as plain no-cache, and so do we
  // (always revalidating is never wrong). Varnish's builtin VCL goes further and does not store a
  // no-cache response at all.
  if (cc.has('no-cache')) return { lifetime: 0, source: 'no-cache' };
  const sMaxage = deltaSeconds(cc, 's-maxage');
  if (sMaxage !== undefined) return { lifetime: sMaxage, source: 's-maxage' };
  const maxAge = deltaSeconds(cc, 'max-age');
  if (maxAge !== undefined) return { lifetime: maxAge, source: 'max-age' };

  const date = parseHttpDate(headerValue(headers, 'date'), receivedAt) ?? receivedAt;
  const expiresHeader = field === 'cache-control' ? headerValue(headers, 'expires') : undefined;
  if (expiresHeader !== undefined) {
    // RFC 9111 §5.3: an invalid Expires, notably "0", means "already expired". So do two Expires
    // lines, or a list (they arrive joined with ", ", which no HTTP-date can be): §4.2.1 lets a
    // cache use the first or consider the response stale, and a response that says two things
    // about its own expiry is not trusted to mean the later one.
    const expires = parseHttpDate(expiresHeader, receivedAt);
    return { lifetime: expires === undefined ? 0 : Math.max(0, Math.floor((expires - date) / 1000)), source: 'expires' };
  }

  // Heuristic freshness (RFC 9111 §4.2.2), only for heuristically cacheable statuses (or `public`)
  // that carry a valid Last-Modified: a file unchanged for ten days is unlikely to change in the
  // next one. 10% is the RFC's suggestion and Squid's lm-factor style; the one-day cap is ours
  // (Squid's default refresh_pattern caps at 3 days). nginx uses no heuristic and Varnish a flat
  // default_ttl of 120 s instead.
  const lastModified = parseHttpDate(headerValue(headers, 'last-modified'), receivedAt);
  if ((HEURISTICALLY_CACHEABLE.has(status) || cc.has('public')) && lastModified !== undefined && lastModified < date) {
    const lifetime = Math.floor((HEURISTIC_FRACTION * (date - lastModified)) / 1000);
    return { lifetime: Math.min(lifetime, HEURISTIC_MAX_SECONDS), source: 'heuristic' };
  }
  return { lifetime: 0, source: 'none' };
}

/**
 * The Age an upstream cache gave, in seconds (RFC 9111 §5.1), or undefined to ignore it. Age is a
 * singleton, `Age = delta-seconds`, yet a list turns up (two caches each appending, or two lines
 * joined): "a cache encountering a message with a list-based Age field value SHOULD use the first
 * member of the field value, discarding subsequent ones", so `7200, 0` is 7200. What is left, if
 * not a non-negative integer (-1, 1.5, "soon"), the cache "SHOULD ignore". Too big to count is
 * 2^31, "infinity" (§1.2.2).
 */
export function ageValue(headers: HeaderBag): number | undefined {
  const first = splitOutsideQuotes(headerValue(headers, 'age') ?? '', ',')[0];
  if (first === undefined || !/^\d+$/.test(first)) return undefined;
  return Math.min(Number(first), MAX_DELTA_SECONDS);
}

/** The Age field a cache sends: whole seconds, and never past 2147483648 however long a copy that
 *  arrived as "infinity" then sat here (RFC 9111 §1.2.2: a calculation that overflows is 2^31). */
export function ageField(seconds: number): string {
  return String(Math.min(Math.floor(Math.max(0, seconds)), MAX_DELTA_SECONDS));
}

/**
 * The age of a response when it arrived (RFC 9111 §4.2.3, corrected_initial_age), in seconds:
 * the larger of what the clocks say (now − Date) and what the caches upstream said (Age) plus the
 * time the request took. The Age from an upstream tier is how tiers add up: the parent held it
 * for 60 s, so it reaches the edge already 60 s old. An Age ignored (§5.1) counts as 0, an
 * invalid Date as none: then the time it arrived stands in for it.
 */
export function initialAge(headers: HeaderBag, requestTime: number, responseTime: number): number {
  const date = parseHttpDate(headerValue(headers, 'date'), responseTime) ?? responseTime;
  const apparentAge = Math.max(0, (responseTime - date) / 1000);
  const responseDelay = (responseTime - requestTime) / 1000;
  const correctedAgeValue = (ageValue(headers) ?? 0) + responseDelay;
  return Math.max(apparentAge, correctedAgeValue);
}

/**
 * Directives that forbid serving this response stale (RFC 9111 §4.2.4): must-revalidate,
 * proxy-revalidate (shared caches only), no-cache, and s-maxage, which "incorporates the
 * semantics of the proxy-revalidate response directive" for a shared cache (§5.2.2.10). They
 * win over an RFC 5861 stale-while-revalidate / stale-if-error in the same field: §4.2.1 says
 * conflicting directives are settled by the most restrictive. (nginx implements neither
 * must-revalidate nor proxy-revalidate and would serve it stale; Squid honours both.) An origin
 * that wants its CDN to serve stale says so in CDN-Cache-Control, without s-maxage.
 */
export function forbidsStale(cc: CacheControl): boolean {
  return cc.has('must-revalidate') || cc.has('proxy-revalidate') || cc.has('no-cache') || cc.has('s-maxage');
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
  const { cc, field } = responseDirectives(headers);
  const requestCc = parseCacheControl(requestHeaders['cache-control']);
  // Only complete final responses: we never ask upstream for a range, and 304s are used to
  // refresh, not stored on their own.
  if (status < 200 || status === 206 || status === 304) return { store: false, detail: 'status' };
  // must-understand (§5.2.2.3): "store this only if you know the rules for its status code". It
  // comes with no-store for the caches that do not; a cache that does "SHOULD ignore the
  // no-store directive". We know the rules for the statuses below; any other is not stored.
  if (cc.has('must-understand')) {
    if (!UNDERSTOOD_STATUSES.has(status)) return { store: false, detail: 'must-understand' };
  } else if (cc.has('no-store')) return { store: false, detail: 'no-store' };
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
  const vary = varyNames(headers);
  if (vary === '*') return { store: false, detail: 'vary-star' };
  if (varyValueBytes(requestHeaders, vary) > MAX_VARY_VALUE_BYTES) return { store: false, detail: 'vary-too-large' };

  // Expires counts only where Cache-Control does: a CDN-Cache-Control sets both aside (RFC 9213 §2.2).
  const expires = field === 'cache-control' && headers['expires'] !== undefined;
  const explicit = cc.has('s-maxage') || cc.has('max-age') || expires;
  if (!explicit && !HEURISTICALLY_CACHEABLE.has(status) && !cc.has('public')) return { store: false, detail: 'status' };
  // Storable, but useless: never fresh and nothing to revalidate with, so every request would
  // go upstream anyway. (no-cache with a validator is worth keeping: a 304 is cheaper than a body.)
  // A Last-Modified that is no HTTP-date is no validator: we would not send it as If-Modified-Since.
  const { lifetime } = freshnessLifetime(status, headers, receivedAt);
  const hasValidator = headers['etag'] !== undefined || lastModifiedValidator(headers) !== undefined;
  if (lifetime === 0 && !hasValidator) return { store: false, detail: 'no-freshness' };
  return { store: true };
}

/**
 * For must-understand (RFC 9111 §5.2.2.3): the final status codes whose caching rules this cache
 * knows, those RFC 9110 §15 defines. A status invented later may come with caching rules of its
 * own, which is what must-understand protects.
 */
export const UNDERSTOOD_STATUSES = new Set([
  200, 201, 202, 203, 204, 205, 300, 301, 302, 303, 307, 308,
  400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 421, 422, 426,
  500, 501, 502, 503, 504, 505,
]);

/** The stored response's Last-Modified as sent in If-Modified-Since, if it is a valid HTTP-date
 *  (RFC 9111 §4.3.1: the validator is the Last-Modified value; an invalid one validates nothing). */
export function lastModifiedValidator(headers: HeaderBag): string | undefined {
  const lastModified = headerValue(headers, 'last-modified');
  return parseHttpDate(lastModified) === undefined ? undefined : lastModified;
}

// ── Vary (RFC 9111 §4.1) ─────────────────────────────────────────────────────────────────────

/** The request headers a response varies on, lower-case, or '*' (never matches anything). */
export function varyNames(headers: HeaderBag): string[] | '*' {
  const names = splitOutsideQuotes(headerValue(headers, 'vary') ?? '', ',').map((n) => n.toLowerCase());
  if (names.includes('*')) return '*';
  return [...new Set(names)];
}

/**
 * The most bytes of request headers one stored variant may be keyed on: the values of the fields
 * Vary names, all together. The values are the client's own bytes, and a stored variant keeps
 * them to compare with later requests, so without a limit every request with a new 20 KB
 * Accept-Language would leave 20 KB behind. Real values are short (a browser's Accept-Language
 * is a few dozen bytes, its Accept under 200), and a variant keyed on kilobytes is one client's
 * own copy: nobody else sends those exact bytes, so it would never be a hit, only push out copies
 * everyone uses. Such an answer is passed on, not stored (detail "vary-too-large"). nginx keeps
 * only an MD5 of the varied values (its "variant" hash), so for it a huge value costs 16 bytes;
 * Varnish keeps the values themselves in the object (its "vary spec"), bounded by
 * http_req_hdr_len (8 KiB a header) and counted in its storage.
 */
export const MAX_VARY_VALUE_BYTES = 1024;

/** How many bytes of `requestHeaders` the fields in `names` hold, as varyValue gives them. */
export function varyValueBytes(requestHeaders: HeaderBag, names: readonly string[]): number {
  let bytes = 0;
  for (const name of names) bytes += Buffer.byteLength(varyValue(requestHeaders, name) ?? '');
  return bytes;
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
