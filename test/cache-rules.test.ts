// The RFC 9111 rules of the CDN cache, one function at a time (no sockets).
import { describe, expect, it } from 'vitest';
import {
  ageField,
  ageValue,
  forbidsStale,
  freshnessLifetime,
  initialAge,
  lastModifiedValidator,
  parseDictionary,
  parseHttpDate,
  responseDirectives,
  withRepeatedLines,
  notModified,
  ifRangeAllows,
  parseCacheControl,
  parseRange,
  storability,
  staleWindows,
  varyNames,
  varyValue,
} from '../servers/cdn/cache-rules.ts';
import { requestAcceptsStored, unsafePath, isLoopback } from '../servers/cdn/cache.ts';
import { CacheStore, describeEntry, sizeOf, type StoredResponse } from '../servers/cdn/cache-store.ts';
import { parseSize } from '../servers/cdn/cache-cli.ts';

const T = Date.parse('2025-01-01T12:00:00Z');
const date = (offsetSeconds: number) => new Date(T + offsetSeconds * 1000).toUTCString();

describe('Cache-Control', () => {
  it('parses directives, quoted arguments with commas, and keeps the first of a repeated directive', () => {
    const cc = parseCacheControl('Public, MAX-AGE=60, no-cache="Set-Cookie, X-A", max-age=0, s-maxage="30"');
    expect([...cc]).toEqual([
      ['public', true],
      ['max-age', '60'],
      ['no-cache', 'Set-Cookie, X-A'],
      ['s-maxage', '30'],
    ]);
    expect(parseCacheControl(['max-age=1', 'private']).has('private')).toBe(true);
    expect(parseCacheControl(undefined).size).toBe(0);
  });

  it('is linear on hostile input', () => {
    const started = performance.now();
    parseCacheControl('"'.repeat(50_000) + ','.repeat(50_000));
    parseCacheControl('a=' + ' '.repeat(100_000));
    // Linear: about 10 ms here, 50 ms cold. Quadratic: 10^10 steps, many seconds. The bound sits far
    // from both, so a busy machine (two test files at once, a slow VM) cannot fail it by luck.
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

describe('freshness lifetime (RFC 9111 §4.2.1)', () => {
  const lifetime = (headers: Record<string, string>, status = 200) => freshnessLifetime(status, { date: date(0), ...headers }, T);

  it('s-maxage beats max-age beats Expires beats the heuristic', () => {
    const all = { 'cache-control': 's-maxage=30, max-age=60', expires: date(90), 'last-modified': date(-10_000) };
    expect(lifetime(all)).toEqual({ lifetime: 30, source: 's-maxage' });
    expect(lifetime({ ...all, 'cache-control': 'max-age=60' })).toEqual({ lifetime: 60, source: 'max-age' });
    expect(lifetime({ ...all, 'cache-control': '' })).toEqual({ lifetime: 90, source: 'expires' });
    expect(lifetime({ 'last-modified': date(-10_000) })).toEqual({ lifetime: 1000, source: 'heuristic' });
  });

  it('the heuristic is 10% of the time since Last-Modified, at most a day, and only for heuristically cacheable statuses', () => {
    expect(lifetime({ 'last-modified': date(-365 * 86_400) }).lifetime).toBe(86_400);
    expect(lifetime({ 'last-modified': date(-10_000) }, 404).lifetime).toBe(1000);
    expect(lifetime({ 'last-modified': date(-10_000) }, 302)).toEqual({ lifetime: 0, source: 'none' });
    expect(lifetime({ 'last-modified': date(-10_000), 'cache-control': 'public' }, 302).lifetime).toBe(1000);
  });

  it('an invalid Expires ("0") or max-age means already stale; no-cache means a lifetime of 0', () => {
    expect(lifetime({ expires: '0' })).toEqual({ lifetime: 0, source: 'expires' });
    expect(lifetime({ 'cache-control': 'max-age=soon' }).lifetime).toBe(0);
    expect(lifetime({ 'cache-control': 'max-age=99999999999999' }).lifetime).toBe(2 ** 31);
    expect(lifetime({ 'cache-control': 'no-cache, max-age=600' })).toEqual({ lifetime: 0, source: 'no-cache' });
  });
});

describe('HTTP-date, strictly (RFC 9110 §5.6.7)', () => {
  const ms = Date.UTC(1994, 10, 6, 8, 49, 37); // the RFC's own example instant

  it('reads the three forms of the RFC’s example', () => {
    expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT')).toBe(ms);
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', T)).toBe(ms);
    expect(parseHttpDate('Sun Nov  6 08:49:37 1994')).toBe(ms);
    expect(parseHttpDate('Sun Nov 06 08:49:37 1994')).toBe(ms); // date3 also allows 2DIGIT
    expect(parseHttpDate(date(0))).toBe(T);
  });

  it('refuses what Date.parse takes: UTC, no comma, ISO, one digit, lower case, a wrong weekday, a list', () => {
    for (const bad of [
      'Sun, 06 Nov 1994 08:49:37 UTC',
      'Sun 06 Nov 1994 08:49:37 GMT',
      'Sun, 06-Nov-1994 08:49:37 GMT',
      '1994-11-06T08:49:37Z',
      'Sun, 6 Nov 1994 08:49:37 GMT',
      'Sun, 06 Nov 1994 8:49:37 GMT',
      'sun, 06 nov 1994 08:49:37 gmt',
      'SUN, 06 NOV 1994 08:49:37 GMT',
      'Mon, 06 Nov 1994 08:49:37 GMT', // 6 Nov 1994 was a Sunday
      'Sunday, 06 Nov 1994 08:49:37 GMT', // the long name belongs to the RFC 850 form
      'Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT', // two Expires lines, joined
      ' Sun, 06 Nov 1994 08:49:37 GMT',
      'Sun, 06 Nov 1994 08:49:37 GMT+1',
      'Sun, 06 Nov 94 08:49:37 GMT',
      'Sun Nov 6 08:49:37 1994',
      '0',
      '',
      '-1',
    ]) {
      expect(parseHttpDate(bad, T), bad).toBeUndefined();
    }
  });

  it('checks the calendar and the clock: no 31 April, no 29 February 2023, no 24:00; 23:59:60 is a leap second', () => {
    expect(parseHttpDate('Mon, 31 Apr 2023 00:00:00 GMT')).toBeUndefined();
    expect(parseHttpDate('Wed, 29 Feb 2023 00:00:00 GMT')).toBeUndefined();
    expect(parseHttpDate('Thu, 29 Feb 2024 00:00:00 GMT')).toBe(Date.UTC(2024, 1, 29));
    expect(parseHttpDate('Sat, 01 Jan 2000 24:00:00 GMT')).toBeUndefined();
    expect(parseHttpDate('Sat, 01 Jan 2000 12:60:00 GMT')).toBeUndefined();
    expect(parseHttpDate('Sat, 01 Jan 2000 12:00:60 GMT')).toBeUndefined();
    expect(parseHttpDate('Sat, 31 Dec 2016 23:59:60 GMT')).toBe(Date.UTC(2017, 0, 1));
    expect(parseHttpDate('Sat, 01 Jan 0000 00:00:00 GMT')).toBe(Date.UTC(2000, 0, 1) - 2000 * 365.2425 * 86_400_000);
  });

  it('an RFC 850 year more than 50 years ahead is in the past', () => {
    const in2026 = Date.UTC(2026, 5, 1);
    expect(parseHttpDate('Saturday, 01-Jan-50 00:00:00 GMT', in2026)).toBe(Date.UTC(2050, 0, 1)); // Date.parse says 1950
    expect(parseHttpDate('Wednesday, 01-Jan-70 00:00:00 GMT', in2026)).toBe(Date.UTC(2070, 0, 1));
    expect(parseHttpDate('Saturday, 01-Jan-77 00:00:00 GMT', in2026)).toBe(Date.UTC(1977, 0, 1));
    expect(parseHttpDate('Friday, 01-Jan-99 00:00:00 GMT', in2026)).toBe(Date.UTC(1999, 0, 1));
    expect(parseHttpDate('Sunday, 01-Jan-50 00:00:00 GMT', Date.UTC(1999, 0, 1))).toBe(Date.UTC(1950, 0, 1)); // read in 1999
    expect(parseHttpDate('Saturday, 01-Jan-50 00:00:00 GMT', Date.UTC(1999, 0, 1))).toBeUndefined(); // 1 Jan 1950 was a Sunday
  });

  it('is quick on hostile input', () => {
    const started = performance.now();
    parseHttpDate('Sun, ' + '0'.repeat(100_000));
    parseHttpDate('Sunday, '.repeat(20_000));
    expect(performance.now() - started).toBeLessThan(50);
  });
});

describe('Expires, Date and Last-Modified when they are not HTTP-dates', () => {
  const lifetime = (headers: Record<string, string>) => freshnessLifetime(200, headers, T);

  it('an invalid Expires has already expired (RFC 9111 §5.3); so has a list of two', () => {
    expect(lifetime({ date: date(0), expires: date(600) })).toEqual({ lifetime: 600, source: 'expires' });
    expect(lifetime({ date: date(0), expires: date(600).replace('GMT', 'UTC') })).toEqual({ lifetime: 0, source: 'expires' });
    expect(lifetime({ date: date(0), expires: `${date(600)}, ${date(900)}` })).toEqual({ lifetime: 0, source: 'expires' });
  });

  it('an invalid Date is as good as none: the time received stands in', () => {
    const weird = 'Wed, 01 Jan 2025 11:00:00 UTC'; // an hour before T, if one believed it
    expect(lifetime({ date: weird, expires: date(600) }).lifetime).toBe(600);
    expect(initialAge({ date: weird }, T, T)).toBe(0);
  });

  it('an invalid Last-Modified gives no heuristic and is no validator', () => {
    const bad = new Date(T - 10_000_000).toUTCString().replace('GMT', 'UTC');
    expect(lifetime({ date: date(0), 'last-modified': bad })).toEqual({ lifetime: 0, source: 'none' });
    expect(lastModifiedValidator({ 'last-modified': bad })).toBeUndefined();
    expect(lastModifiedValidator({ 'last-modified': date(-3600) })).toBe(date(-3600));
    expect(storability({}, 200, { date: date(0), 'last-modified': bad }, T)).toEqual({ store: false, detail: 'no-freshness' });
  });

  it('Node keeps one line of Age, Expires and Last-Modified; the others are put back', () => {
    const headers = { expires: date(600), age: '0', 'content-type': 'text/plain' };
    const distinct = { expires: [date(600), date(-600)], age: ['0'], 'content-type': ['text/plain'] };
    expect(withRepeatedLines(headers, distinct)).toEqual({ expires: `${date(600)}, ${date(-600)}`, age: '0', 'content-type': 'text/plain' });
  });
});

describe('age (RFC 9111 §4.2.3)', () => {
  it('takes the larger of now − Date and Age + the request’s own delay', () => {
    expect(initialAge({ date: date(0) }, T, T)).toBe(0);
    expect(initialAge({ date: date(-50) }, T, T)).toBe(50);
    expect(initialAge({ date: date(0), age: '120' }, T, T)).toBe(120);
    expect(initialAge({ date: date(0), age: '120' }, T - 2000, T)).toBe(122); // + 2 s response delay
    expect(initialAge({ date: date(30) }, T, T)).toBe(0); // a Date in the future: clock skew, not negative age
    expect(initialAge({ age: 'soon' }, T, T)).toBe(0);
  });

  it('Age is the first member of a list; anything else that is not a non-negative integer is ignored (§5.1)', () => {
    expect(ageValue({ age: '7200, 0' })).toBe(7200); // was read as 0: a stale response looked fresh
    expect(ageValue({ age: '0, 7200' })).toBe(0);
    expect(ageValue({ age: ['7200', '0'] })).toBe(7200);
    expect(initialAge({ date: date(0), age: '7200, 0' }, T, T)).toBe(7200);
    for (const ignored of ['-1', '1.5', '7200.0', 'soon', '', ' ', 'a7200', '7200a', '0x10']) {
      expect(ageValue({ age: ignored }), ignored).toBeUndefined();
    }
    expect(ageValue({})).toBeUndefined();
  });

  it('past 2^31 is 2147483648, on the way in and on the way out (§1.2.2)', () => {
    expect(ageValue({ age: '99999999999999999999999' })).toBe(2147483648);
    expect(initialAge({ age: '4294967296' }, T - 5000, T)).toBe(2147483653); // + 5 s in transit
    expect(ageField(2147483653)).toBe('2147483648');
    expect(ageField(59.9)).toBe('59');
  });
});

describe('CDN-Cache-Control (RFC 9213)', () => {
  it('is a Structured Fields Dictionary: lower-case keys, SF strings, the last of a repeated key', () => {
    expect([...parseDictionary('max-age=600, stale-if-error=60, private')!]).toEqual([
      ['max-age', '600'],
      ['stale-if-error', '60'],
      ['private', true],
    ]);
    expect([...parseDictionary('no-cache="set-cookie, x-a";p=1, max-age=5, max-age=6')!]).toEqual([
      ['no-cache', 'set-cookie, x-a'],
      ['max-age', '6'],
    ]);
    expect([...parseDictionary('no-store=?0, must-revalidate=?1, none')!]).toEqual([
      ['must-revalidate', true],
      ['none', true],
    ]);
    // Values no directive takes: kept as '', so max-age reads as invalid, i.e. stale.
    expect(parseDictionary('max-age=1.5')!.get('max-age')).toBe('');
    expect(parseDictionary('max-age=-1')!.get('max-age')).toBe('');
    expect(parseDictionary('max-age=(1 2)')!.get('max-age')).toBe('');
  });

  it('a delta-seconds directive takes only a non-negative Integer; any other type is invalid: stale, not coerced (§2.1)', () => {
    const browser = { date: date(0), 'cache-control': 'public, max-age=60' };
    for (const wrongType of ['max-age="600"', 'max-age=1.5', 'max-age=-1', 'max-age=?1', 'max-age=?0', 'max-age', 'max-age=six', 'max-age=:NjAw:']) {
      // The field is a valid Dictionary, so it still rules (not ignored, not Cache-Control's 60 s)...
      expect(responseDirectives({ ...browser, 'cdn-cache-control': wrongType }).field, wrongType).toBe('cdn-cache-control');
      // ...and its max-age is there but invalid: a lifetime of 0, i.e. stale (RFC 9111 §4.2.1).
      expect(parseDictionary(wrongType)!.get('max-age'), wrongType).toBe('');
      expect(freshnessLifetime(200, { ...browser, 'cdn-cache-control': wrongType }, T), wrongType).toEqual({ lifetime: 0, source: 'max-age' });
    }
    expect(freshnessLifetime(200, { ...browser, 'cdn-cache-control': 'stale-if-error="600", max-age=600' }, T).lifetime).toBe(600);
    expect(staleWindows(parseDictionary('stale-if-error="600", stale-while-revalidate=1.5')!)).toEqual({ whileRevalidate: 0, ifError: 0 });
    expect(freshnessLifetime(200, { ...browser, 'cdn-cache-control': 'max-age=600' }, T)).toEqual({ lifetime: 600, source: 'max-age' });
    // A String is right for no-cache's field list, and a Token for an extension.
    expect(parseDictionary('no-cache="set-cookie", x=abc')).toEqual(new Map([['no-cache', 'set-cookie'], ['x', 'abc']]));
  });

  it('is linear on hostile input', () => {
    const started = performance.now();
    parseDictionary('a="' + 'x'.repeat(100_000));
    parseDictionary('a=' + '1'.repeat(100_000));
    parseDictionary('a;' + 'b;'.repeat(50_000));
    parseDictionary('a=(' + '1 '.repeat(50_000));
    // As above: 14–50 ms when linear, seconds when not; the bound is far from both.
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('a syntax error makes the whole field invalid', () => {
    for (const bad of ['Max-Age=600', 'max-age=600,', 'max-age=600;', ', max-age=600', 'max-age="600', 'max-age=1234567890123456', 'max-age=6 0', 'max-age==6', "max-age='600'", 'a\tb', 'max-age=600 , ,private']) {
      expect(parseDictionary(bad), bad).toBeUndefined();
    }
  });

  it('when valid and non-empty it rules, and Cache-Control and Expires are set aside (§2.2)', () => {
    const browser = { date: date(0), 'cache-control': 'public, max-age=60', expires: date(60) };
    expect(responseDirectives({ ...browser, 'cdn-cache-control': 'max-age=86400' })).toEqual({ cc: new Map([['max-age', '86400']]), field: 'cdn-cache-control' });
    expect(freshnessLifetime(200, { ...browser, 'cdn-cache-control': 'max-age=86400' }, T)).toEqual({ lifetime: 86_400, source: 'max-age' });
    // No max-age of its own: Expires does not count either, so a heuristic (or nothing) decides.
    expect(freshnessLifetime(200, { ...browser, 'cdn-cache-control': 'public' }, T)).toEqual({ lifetime: 0, source: 'none' });
    expect(storability({}, 200, { ...browser, 'cdn-cache-control': 'no-store' }, T)).toEqual({ store: false, detail: 'no-store' });
    expect(storability({}, 200, { ...browser, 'cdn-cache-control': 'private' }, T)).toEqual({ store: false, detail: 'private' });
    expect(storability({}, 200, { date: date(0), 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=600' }, T)).toEqual({ store: true });
    expect(storability({}, 200, { date: date(0), 'cache-control': 'private', 'cdn-cache-control': 'none' }, T)).toEqual({ store: false, detail: 'no-freshness' });
  });

  it('empty or invalid: ignored, Cache-Control rules as if it were absent (§2.1)', () => {
    for (const ignored of ['', '   ', 'Max-Age=86400', 'max-age=86400,']) {
      expect(responseDirectives({ 'cache-control': 'max-age=60', 'cdn-cache-control': ignored }).field, ignored).toBe('cache-control');
      expect(freshnessLifetime(200, { date: date(0), 'cache-control': 'max-age=60', 'cdn-cache-control': ignored }, T).lifetime).toBe(60);
    }
  });
});

describe('storability (RFC 9111 §3)', () => {
  const verdict = (headers: Record<string, string | string[]>, request: Record<string, string> = {}, status = 200) =>
    storability(request, status, { date: date(0), ...headers }, T);

  it('stores what is explicitly or heuristically cacheable', () => {
    expect(verdict({ 'cache-control': 'max-age=60' })).toEqual({ store: true });
    expect(verdict({ 'cache-control': 'max-age=60' }, {}, 500)).toEqual({ store: true }); // explicit freshness: any final status
    expect(verdict({ etag: '"x"' })).toEqual({ store: true }); // stale at once, but can be revalidated
  });

  it('names the reason when it does not', () => {
    expect(verdict({ 'cache-control': 'no-store, max-age=60' })).toEqual({ store: false, detail: 'no-store' });
    expect(verdict({ 'cache-control': 'private="X-Secret", max-age=60' })).toEqual({ store: false, detail: 'private' });
    expect(verdict({ 'cache-control': 'max-age=60', 'set-cookie': ['a=1'] })).toEqual({ store: false, detail: 'set-cookie' });
    expect(verdict({ 'cache-control': 'max-age=60', vary: 'Accept, *' })).toEqual({ store: false, detail: 'vary-star' });
    // A variant keyed on more than 1 KiB of the client's header values would be that client's own.
    const vary = { 'cache-control': 'max-age=60', vary: 'Accept-Language, Accept' };
    expect(verdict(vary, { 'accept-language': 'x'.repeat(1000), accept: 'y'.repeat(24) })).toEqual({ store: true });
    expect(verdict(vary, { 'accept-language': 'x'.repeat(1000), accept: 'y'.repeat(25) })).toEqual({ store: false, detail: 'vary-too-large' });
    expect(verdict({ 'cache-control': 'max-age=60' }, { 'cache-control': 'no-store' })).toEqual({ store: false, detail: 'request-no-store' });
    expect(verdict({}, {}, 302)).toEqual({ store: false, detail: 'status' });
    expect(verdict({ 'cache-control': 'max-age=60' }, {}, 206)).toEqual({ store: false, detail: 'status' });
    expect(verdict({})).toEqual({ store: false, detail: 'no-freshness' });
  });

  it('must-understand: no-store is for caches that do not know the status code; we know 200, not 299 (§5.2.2.3)', () => {
    expect(verdict({ 'cache-control': 'must-understand, no-store, max-age=60' })).toEqual({ store: true });
    expect(verdict({ 'cache-control': 'must-understand, no-store, max-age=60' }, {}, 299)).toEqual({ store: false, detail: 'must-understand' });
    expect(verdict({ 'cache-control': 'must-understand, max-age=60' }, {}, 299)).toEqual({ store: false, detail: 'must-understand' });
  });

  it('Authorization: only with public, s-maxage or must-revalidate (§3.5)', () => {
    const auth = { authorization: 'Basic eDp5' };
    expect(verdict({ 'cache-control': 'max-age=60' }, auth)).toEqual({ store: false, detail: 'authorization' });
    for (const cc of ['public, max-age=60', 's-maxage=60', 'must-revalidate, max-age=60']) {
      expect(verdict({ 'cache-control': cc }, auth)).toEqual({ store: true });
    }
  });
});

describe('serving stale (RFC 9111 §4.2.4)', () => {
  it('must-revalidate, proxy-revalidate, no-cache and s-maxage (it carries proxy-revalidate, §5.2.2.10) forbid it', () => {
    for (const cc of ['must-revalidate', 'proxy-revalidate', 'no-cache', 's-maxage=60, stale-if-error=600']) {
      expect(forbidsStale(parseCacheControl(cc)), cc).toBe(true);
    }
    expect(forbidsStale(parseCacheControl('max-age=60, stale-if-error=600'))).toBe(false);
  });
});

describe('Vary', () => {
  it('names are lower-cased and de-duplicated; * is its own answer', () => {
    expect(varyNames({ vary: ' Accept-Language ,accept-encoding, ACCEPT-LANGUAGE' })).toEqual(['accept-language', 'accept-encoding']);
    expect(varyNames({ vary: 'Accept, *' })).toBe('*');
    expect(varyNames({})).toEqual([]);
  });

  it('values are compared with whitespace normalised; absent is not empty', () => {
    expect(varyValue({ 'accept-language': ' en-GB ,  en;q=0.8 ' }, 'accept-language')).toBe('en-GB, en;q=0.8');
    expect(varyValue({}, 'accept-language')).toBeNull();
    expect(varyValue({ 'accept-language': '' }, 'accept-language')).toBe('');
  });
});

describe('conditional requests', () => {
  const stored = { etag: '"abc"', 'last-modified': date(-3600), date: date(0) };
  it('If-None-Match (weak comparison, lists, *) wins over If-Modified-Since', () => {
    expect(notModified({ 'if-none-match': '"abc"' }, stored)).toBe(true);
    expect(notModified({ 'if-none-match': '"x", W/"abc"' }, stored)).toBe(true);
    expect(notModified({ 'if-none-match': '*' }, stored)).toBe(true);
    expect(notModified({ 'if-none-match': '"x"', 'if-modified-since': date(0) }, stored)).toBe(false);
    expect(notModified({ 'if-modified-since': date(-3600) }, stored)).toBe(true);
    expect(notModified({ 'if-modified-since': date(-3601) }, stored)).toBe(false);
    expect(notModified({ 'if-modified-since': 'yesterday' }, stored)).toBe(false);
    expect(notModified({}, stored)).toBe(false);
  });

  it('If-Range needs a strong ETag match or the exact Last-Modified', () => {
    expect(ifRangeAllows({}, stored)).toBe(true);
    expect(ifRangeAllows({ 'if-range': '"abc"' }, stored)).toBe(true);
    expect(ifRangeAllows({ 'if-range': 'W/"abc"' }, stored)).toBe(false);
    expect(ifRangeAllows({ 'if-range': date(-3600) }, stored)).toBe(true);
    expect(ifRangeAllows({ 'if-range': date(-3599) }, stored)).toBe(false);
  });

  it('the client’s own Cache-Control', () => {
    const none = new Map();
    expect(requestAcceptsStored(none, 10, 50)).toBe(true);
    expect(requestAcceptsStored(parseCacheControl('no-cache'), 10, 50)).toBe(false);
    expect(requestAcceptsStored(parseCacheControl('max-age=0'), 0, 50)).toBe(false);
    expect(requestAcceptsStored(parseCacheControl('max-age=5'), 10, 50)).toBe(false);
    expect(requestAcceptsStored(parseCacheControl('max-age=20'), 10, 50)).toBe(true);
    expect(requestAcceptsStored(parseCacheControl('min-fresh=60'), 10, 50)).toBe(false);
  });
});

describe('ranges (RFC 9110 §14)', () => {
  it('one range, in its three forms', () => {
    expect(parseRange('bytes=0-99', 1000)).toEqual({ start: 0, end: 99 });
    expect(parseRange('bytes=500-', 1000)).toEqual({ start: 500, end: 999 });
    expect(parseRange('bytes=-100', 1000)).toEqual({ start: 900, end: 999 });
    expect(parseRange('bytes=-5000', 1000)).toEqual({ start: 0, end: 999 });
    expect(parseRange('bytes=990-99999', 1000)).toEqual({ start: 990, end: 999 });
  });

  it('unsatisfiable, or ignored (→ 200) when malformed or several', () => {
    expect(parseRange('bytes=1000-', 1000)).toBe('unsatisfiable');
    expect(parseRange('bytes=-0', 1000)).toBe('unsatisfiable');
    for (const bad of ['bytes=a-b', 'bytes=-', 'bytes=5-1', 'pages=1-2', 'bytes=0-1,3-4', 'bytes=' + '0-0,'.repeat(10_000)]) {
      expect(parseRange(bad, 1000)).toBeUndefined();
    }
  });
});

describe('paths and addresses', () => {
  it('refuses dot-segments however they are spelled, but not dots in names', () => {
    for (const bad of ['/..', '/a/../b', '/a/%2E%2E/b', '/a/.%2e/b', '/a%2f..%2fb', '/a\\b', '/a/%5Cb', '/a/%25252e%25252e/b', '/a/%00']) {
      expect(unsafePath(bad), bad).toBeDefined();
    }
    for (const good of ['/', '/a..b/c', '/.well-known/x', '/a/b?x=../..', '/images/phone.png']) {
      expect(unsafePath(good), good).toBeUndefined();
    }
  });

  it('loopback is 127.0.0.0/8 and ::1, also IPv4-mapped', () => {
    expect(['127.0.0.1', '127.10.1.5', '::1', '::ffff:127.0.0.1'].every(isLoopback)).toBe(true);
    expect(['10.0.0.1', '::ffff:10.0.0.1', '128.0.0.1', '::2'].some(isLoopback)).toBe(false);
  });

  it('sizes for --max-bytes', () => {
    expect([parseSize('64m'), parseSize('512k'), parseSize('1g'), parseSize('1000'), parseSize('2MiB')]).toEqual([
      64 * 1024 ** 2,
      512 * 1024,
      1024 ** 3,
      1000,
      2 * 1024 ** 2,
    ]);
    expect(parseSize('lots')).toBeUndefined();
  });
});

describe('the store: LRU by bytes', () => {
  const entry = (key: string, bytes: number): StoredResponse => {
    const e = {
      key,
      status: 200,
      headers: {},
      body: Buffer.alloc(bytes),
      cacheControl: new Map(),
      varyNames: [],
      varyValues: [],
      requestTime: 0,
      responseTime: 0,
      initialAge: 0,
      lifetime: 60,
      lifetimeSource: 'max-age',
      size: 0,
    } as StoredResponse;
    e.size = sizeOf(e);
    return e;
  };

  it('evicts least recently used first, counts bytes, purges by key', () => {
    const evicted: string[] = [];
    const store = new CacheStore(350, (e) => evicted.push(e.key));
    const [a, b, c] = [entry('a', 100), entry('b', 100), entry('c', 100)];
    store.put(a, []);
    store.put(b, []);
    store.touch(a);
    store.put(c, []);
    expect(store.bytes).toBe(a.size + b.size + c.size);
    store.put(entry('d', 100), []);
    expect(evicted).toEqual(['b']);
    expect(store.describe()).toEqual(['a', 'c', 'd']);
    expect(store.purge('a')).toBe(1);
    expect(store.bytes).toBe(c.size + 101);
    expect(store.count).toBe(2);
  });

  it('sizeOf counts the Vary values a variant keeps; describeEntry shortens them', () => {
    const plain = entry('GET h/greeting', 5);
    const variant = { ...plain, varyNames: ['accept-language'], varyValues: ['x'.repeat(1000)] } as StoredResponse;
    expect(sizeOf(variant) - sizeOf(plain)).toBe('accept-language'.length + 1000);
    expect(describeEntry(variant)).toBe(`GET h/greeting (accept-language: ${'x'.repeat(100)}… (1000 characters))`);
    expect(describeEntry({ ...variant, varyValues: [null] })).toBe('GET h/greeting (accept-language: (none))');
  });

  it('a replaced variant is removed, not counted twice', () => {
    const store = new CacheStore(10_000);
    const first = entry('k', 100);
    store.put(first, []);
    const second = entry('k', 200);
    store.put(second, [first]);
    expect(store.variants('k')).toEqual([second]);
    expect(store.bytes).toBe(second.size);
  });
});
