// HTTP caching exactly by the RFCs, end to end: an upstream that writes its response bytes by hand
// (so it can send what no well-behaved server would: `UTC` dates, two Expires lines, `Age: 7200, 0`),
// the real cache tiers in front of it, and a client. Time is a fake clock moved by hand.
//
//   client ──▶ edge-north ──▶ parent ──▶ raw upstream (net.Server, bytes as written)
//
// The pure rules behind each of these are tested one function at a time in cache-rules.test.ts.
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startCache, type CacheOptions, type RunningCache } from '../servers/cdn/cache.ts';
import { startOrigin as startLabOrigin } from '../servers/cdn/origin.ts';
import { ensureOriginContent } from '../servers/cdn/origin-content.ts';
import { parseHttpDate } from '../servers/cdn/cache-rules.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fakeClock, type Clock } from './fake-clock.ts';

const HOST = 'static.geektime.test';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of cleanups.splice(0).reverse()) await close();
});


const httpDate = (ms: number) => new Date(ms).toUTCString();

interface RawRequest {
  path: string;
  headers: Record<string, string>;
}

/** The head of one response: status line included, no Content-Length (added), as raw lines. */
type RawHandler = (req: RawRequest, n: number) => string[];

/** An upstream that writes each response's header lines exactly as the handler gives them. */
async function rawUpstream(handler: RawHandler, body = 'hello') {
  const seen: RawRequest[] = [];
  const server = net.createServer((socket) => {
    let buffered = '';
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      let end: number;
      while ((end = buffered.indexOf('\r\n\r\n')) >= 0) {
        const [requestLine = '', ...fields] = buffered.slice(0, end).split('\r\n');
        buffered = buffered.slice(end + 4);
        const headers: Record<string, string> = {};
        for (const field of fields) {
          const colon = field.indexOf(':');
          headers[field.slice(0, colon).toLowerCase()] = field.slice(colon + 1).trim();
        }
        const req = { path: requestLine.split(' ')[1] ?? '', headers };
        seen.push(req);
        const lines = handler(req, seen.length);
        const status = lines[0] ?? '';
        const bodyless = / 304 /.test(status);
        const head = [...lines, ...(bodyless ? [] : [`Content-Length: ${Buffer.byteLength(body)}`])].join('\r\n');
        socket.write(`${head}\r\n\r\n${bodyless ? '' : body}`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  );
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return { url: `http://127.0.0.1:${port}`, seen, count: (p?: string) => seen.filter((r) => p === undefined || r.path === p).length };
}

async function startTier(name: string, upstream: string, clock: Clock, extra: Partial<CacheOptions> = {}): Promise<RunningCache> {
  const cache = await startCache({ name, host: '127.0.0.1', port: 0, upstream, hostnames: [HOST], now: clock.now, log: () => {}, ...extra });
  cleanups.push(() => cache.close());
  return cache;
}

/** edge-north → parent → upstream, as in the lab. */
async function tiers(upstreamUrl: string, clock: Clock) {
  const parent = await startTier('parent', upstreamUrl, clock);
  const edge = await startTier('edge-north', parent.url, clock);
  return { parent, edge };
}

interface Got {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The header lines as received: [name, value, name, value, …]. */
  raw: string[];
  text: string;
}

function get(cache: { url: string }, urlPath: string, headers: Record<string, string> = {}): Promise<Got> {
  const url = new URL(cache.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: urlPath, headers: { host: HOST, ...headers }, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, raw: res.rawHeaders, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** This tier's own Cache-Status entry: the last member. */
const ours = (got: Got) => String(got.headers['cache-status']).split(', ').at(-1) ?? '';

// ── Dates ────────────────────────────────────────────────────────────────────────────────────

describe('Expires must be an HTTP-date (RFC 9110 §5.6.7, RFC 9111 §5.3)', () => {
  // Each of these is a year ahead if read the way Date.parse reads it. None is an HTTP-date, so
  // each has already expired: the second request must not be a hit.
  const inAYear = (clock: Clock) => httpDate(clock.now() + 365 * 86_400_000);
  const notHttpDates: Record<string, (clock: Clock) => string> = {
    '/utc': (c) => inAYear(c).replace('GMT', 'UTC'),
    '/no-comma': (c) => inAYear(c).replace(',', ''),
    '/iso': (c) => new Date(c.now() + 365 * 86_400_000).toISOString(),
    '/one-digit-hour': (c) => inAYear(c).replace(/ \d\d:(\d\d):(\d\d) /, ' 1:$1:$2 '),
    '/lower-case': (c) => inAYear(c).toLowerCase(),
    '/wrong-weekday': (c) => {
      const good = inAYear(c);
      const other = good.startsWith('Mon') ? 'Tue' : 'Mon';
      return other + good.slice(3);
    },
  };

  it('Date.parse would read each as a year ahead; the cache treats each as expired: no hit the second time', async () => {
    const clock = fakeClock();
    const upstream = await rawUpstream((req) => [
      'HTTP/1.1 200 OK',
      `Date: ${httpDate(clock.now())}`,
      `Expires: ${notHttpDates[req.path]!(clock)}`,
      'Content-Type: text/plain',
    ]);
    const { edge } = await tiers(upstream.url, clock);
    for (const urlPath of Object.keys(notHttpDates)) {
      expect(Number.isNaN(Date.parse(notHttpDates[urlPath]!(clock))), `${urlPath}: Date.parse takes it`).toBe(false);
      await get(edge, urlPath);
      const second = await get(edge, urlPath);
      expect(ours(second), urlPath).not.toMatch(/; hit/);
      expect(upstream.count(urlPath), urlPath).toBe(2);
    }
  });

  it('two Expires lines are no expiry: asked again, though the first line says a year ahead', async () => {
    const clock = fakeClock();
    const upstream = await rawUpstream(() => [
      'HTTP/1.1 200 OK',
      `Date: ${httpDate(clock.now())}`,
      `Expires: ${httpDate(clock.now() + 365 * 86_400_000)}`,
      `Expires: ${httpDate(clock.now() + 2 * 365 * 86_400_000)}`,
    ]);
    const { edge } = await tiers(upstream.url, clock);
    await get(edge, '/twice');
    const second = await get(edge, '/twice');
    expect(ours(second)).not.toMatch(/; hit/);
    expect(upstream.count()).toBe(2);
  });

  it('the three valid forms are honoured, and an RFC 850 "-50" is 2050, not 1950', async () => {
    const clock = fakeClock();
    const inAYear = clock.now() + 365 * 86_400_000;
    const d = new Date(inAYear);
    const long = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'][d.getUTCDay()];
    const [wk, dd, mon, yyyy, time] = httpDate(inAYear).replace(',', '').split(' ');
    const forms: Record<string, string> = {
      '/imf': httpDate(inAYear),
      '/rfc850': `${long}, ${dd}-${mon}-${yyyy!.slice(2)} ${time} GMT`,
      '/asctime': `${wk} ${mon} ${dd!.replace(/^0/, ' ')} ${time} ${yyyy}`,
      '/rfc850-2050': 'Saturday, 01-Jan-50 00:00:00 GMT',
    };
    const upstream = await rawUpstream((req) => ['HTTP/1.1 200 OK', `Date: ${httpDate(clock.now())}`, `Expires: ${forms[req.path]}`]);
    const { edge } = await tiers(upstream.url, clock);
    for (const urlPath of Object.keys(forms)) {
      await get(edge, urlPath);
      clock.advance(60);
      const second = await get(edge, urlPath);
      expect(ours(second), `${urlPath}: ${forms[urlPath]}`).toMatch(/^edge-north; hit; ttl=\d+$/);
      expect(upstream.count(urlPath)).toBe(1);
    }
  });
});

describe('Date and Last-Modified that are not HTTP-dates', () => {
  it('an invalid Date is replaced by the time received, not believed: 1970 "UTC" does not make the copy 56 years old', async () => {
    const clock = fakeClock();
    const upstream = await rawUpstream(() => ['HTTP/1.1 200 OK', 'Date: Thu, 01 Jan 1970 00:00:00 UTC', 'Cache-Control: max-age=60']);
    const { edge } = await tiers(upstream.url, clock);
    const first = await get(edge, '/old-clock');
    expect(first.headers['age']).toBe('0');
    expect(first.headers['date']).toBe(httpDate(clock.now())); // RFC 9110 §6.6.1 MAY: replaced, at each tier
    clock.advance(30);
    const second = await get(edge, '/old-clock');
    expect(ours(second)).toBe('edge-north; hit; ttl=30');
    expect(second.headers['age']).toBe('30');
    expect(upstream.count()).toBe(1);
  });

  it('an invalid Last-Modified gives no heuristic freshness: not stored, asked every time', async () => {
    const clock = fakeClock();
    const lastYear = httpDate(clock.now() - 365 * 86_400_000).replace('GMT', 'UTC');
    const upstream = await rawUpstream(() => ['HTTP/1.1 200 OK', `Date: ${httpDate(clock.now())}`, `Last-Modified: ${lastYear}`]);
    const { edge } = await tiers(upstream.url, clock);
    const first = await get(edge, '/lm');
    expect(ours(first)).toBe('edge-north; fwd=uri-miss; detail="no-freshness"');
    await get(edge, '/lm');
    expect(upstream.count()).toBe(2);
  });

  it('an invalid Last-Modified is not sent back as If-Modified-Since; the ETag is', async () => {
    const clock = fakeClock();
    const badLm = 'Mon, 1 Jan 2024 00:00:00 GMT';
    const upstream = await rawUpstream((req) =>
      req.headers['if-none-match'] === '"v1"'
        ? ['HTTP/1.1 304 Not Modified', `Date: ${httpDate(clock.now())}`, 'ETag: "v1"', 'Cache-Control: max-age=10']
        : ['HTTP/1.1 200 OK', `Date: ${httpDate(clock.now())}`, 'Cache-Control: max-age=10', 'ETag: "v1"', `Last-Modified: ${badLm}`],
    );
    const parent = await startTier('parent', upstream.url, clock);
    await get(parent, '/v');
    clock.advance(20);
    const again = await get(parent, '/v');
    expect(again.status).toBe(200);
    expect(ours(again)).toBe('parent; fwd=stale; fwd-status=304; ttl=10');
    const revalidation = upstream.seen[1]!;
    expect(revalidation.headers['if-none-match']).toBe('"v1"');
    expect(revalidation.headers['if-modified-since']).toBeUndefined();
  });
});

// ── Age ──────────────────────────────────────────────────────────────────────────────────────

describe('Age (RFC 9111 §5.1, §1.2.2)', () => {
  it('a list counts by its first member: `Age: 7200, 0` on a max-age=3600 answer is stale, not fresh', async () => {
    const clock = fakeClock();
    const upstream = await rawUpstream(() => ['HTTP/1.1 200 OK', `Date: ${httpDate(clock.now())}`, 'Cache-Control: max-age=3600', 'Age: 7200, 0']);
    const parent = await startTier('parent', upstream.url, clock);
    const first = await get(parent, '/listed');
    expect(first.headers['age']).toBe('7200');
    const second = await get(parent, '/listed');
    expect(ours(second)).not.toMatch(/; hit/);
    expect(upstream.count()).toBe(2);
  });

  it('two Age lines: the first counts (7200 then 0 is stale; 0 then 7200 is fresh)', async () => {
    const clock = fakeClock();
    const upstream = await rawUpstream((req) => [
      'HTTP/1.1 200 OK',
      `Date: ${httpDate(clock.now())}`,
      'Cache-Control: max-age=3600',
      ...(req.path === '/old-first' ? ['Age: 7200', 'Age: 0'] : ['Age: 0', 'Age: 7200']),
    ]);
    const parent = await startTier('parent', upstream.url, clock);
    for (const urlPath of ['/old-first', '/young-first']) {
      await get(parent, urlPath);
      await get(parent, urlPath);
    }
    expect(upstream.count('/old-first')).toBe(2);
    expect(upstream.count('/young-first')).toBe(1);
  });

  it('an Age that is no non-negative integer is ignored (-1, 1.5, abc): the answer is as fresh as its max-age', async () => {
    const clock = fakeClock();
    const ages: Record<string, string> = { '/negative': '-7200', '/decimal': '7200.5', '/word': 'old' };
    const upstream = await rawUpstream((req) => ['HTTP/1.1 200 OK', `Date: ${httpDate(clock.now())}`, 'Cache-Control: max-age=3600', `Age: ${ages[req.path]}`]);
    const parent = await startTier('parent', upstream.url, clock);
    for (const urlPath of Object.keys(ages)) {
      expect((await get(parent, urlPath)).headers['age'], urlPath).toBe('0');
      expect(ours(await get(parent, urlPath)), urlPath).toBe('parent; hit; ttl=3600');
    }
    expect(upstream.count()).toBe(3);
  });

  it('an Age past 2^31 is 2147483648 on the way out, whatever time is added to it', async () => {
    const clock = fakeClock();
    // The upstream takes 5 s to answer: the age grows by the response delay (RFC 9111 §4.2.3).
    const upstream = await rawUpstream((req) => {
      clock.advance(5);
      return ['HTTP/1.1 200 OK', `Date: ${httpDate(clock.now())}`, `Cache-Control: ${req.path === '/kept' ? 'max-age=60' : 'no-store'}`, 'Age: 4294967296'];
    });
    const parent = await startTier('parent', upstream.url, clock);
    expect((await get(parent, '/kept')).headers['age']).toBe('2147483648'); // stored, answered from the store
    expect((await get(parent, '/passed')).headers['age']).toBe('2147483648'); // not stored, relayed
  });
});

// ── Fields the cache writes itself ───────────────────────────────────────────────────────────

describe('fields a cache writes itself replace the stored ones, never join them', () => {
  it('a stored answer with its own Via and a stray Content-Range: one Via, one Content-Length, one Content-Range', async () => {
    const clock = fakeClock();
    // A Content-Range on a 200 means nothing (RFC 9110 §14.4); sent with a 206 of ours, it would
    // contradict the range we cut.
    const upstream = await rawUpstream(() => ['HTTP/1.1 200 OK', `Date: ${httpDate(clock.now())}`, 'Cache-Control: max-age=3600', 'Content-Range: bytes 0-0/99', 'Via: 1.1 far-away'], 'hello');
    const parent = await startTier('parent', upstream.url, clock);
    await get(parent, '/stray');
    const lines = (got: Got, field: string) => got.raw.filter((_, i) => i % 2 === 1 && got.raw[i - 1]!.toLowerCase() === field);

    const hit = await get(parent, '/stray');
    expect(ours(hit)).toBe('parent; hit; ttl=3600');
    expect(lines(hit, 'via')).toEqual(['1.1 far-away, 1.1 parent']);
    expect(lines(hit, 'content-length')).toEqual(['5']);
    expect(lines(hit, 'content-range')).toEqual([]);

    const part = await get(parent, '/stray', { range: 'bytes=1-3' });
    expect(part.status).toBe(206);
    expect(part.text).toBe('ell');
    expect(lines(part, 'content-range')).toEqual(['bytes 1-3/5']);
    expect(lines(part, 'content-length')).toEqual(['3']);
    expect(lines(part, 'via')).toEqual(['1.1 far-away, 1.1 parent']);
    expect(upstream.count()).toBe(1);
  });

  it('after a 304 freshens the copy, the next HIT sends the fields the 304 brought (RFC 9111 §4.3.4)', async () => {
    const clock = fakeClock();
    const upstream = await rawUpstream((_req, n) =>
      n === 1
        ? ['HTTP/1.1 200 OK', `Date: ${httpDate(clock.now())}`, 'ETag: "v1"', 'Cache-Control: max-age=10', 'X-Release: 1']
        : ['HTTP/1.1 304 Not Modified', `Date: ${httpDate(clock.now())}`, 'ETag: "v1"', 'Cache-Control: max-age=60', 'X-Release: 2'],
    );
    const parent = await startTier('parent', upstream.url, clock);
    expect((await get(parent, '/freshened')).headers['x-release']).toBe('1');
    clock.advance(11); // stale: revalidated with If-None-Match, and the 304 updates the stored fields
    await get(parent, '/freshened');
    const hit = await get(parent, '/freshened');
    expect(ours(hit)).toMatch(/^parent; hit; ttl=60$/);
    expect(hit.headers['x-release']).toBe('2');
    expect(hit.headers['cache-control']).toBe('max-age=60');
    expect(hit.text).toBe('hello');
    expect(upstream.count()).toBe(2);
  });
});

// ── CDN-Cache-Control ────────────────────────────────────────────────────────────────────────

describe('CDN-Cache-Control (RFC 9213)', () => {
  it('a day for the CDN, a minute for browsers: a hit at the edge after an hour; both fields reach the phone', async () => {
    const clock = fakeClock();
    const upstream = await rawUpstream(() => [
      'HTTP/1.1 200 OK',
      `Date: ${httpDate(clock.now())}`,
      'Cache-Control: public, max-age=60',
      'CDN-Cache-Control: max-age=86400',
    ]);
    const { edge } = await tiers(upstream.url, clock);
    const first = await get(edge, '/img');
    expect(first.headers['cache-status']).toBe('parent; fwd=uri-miss; stored; ttl=86400, edge-north; fwd=uri-miss; stored; ttl=86400');
    clock.advance(3600);
    const later = await get(edge, '/img');
    expect(later.headers['cache-status']).toBe('edge-north; hit; ttl=82800');
    expect(later.headers['age']).toBe('3600');
    // The parent passed it on (the edge's ttl came from it), and the edge keeps it (cache.ts, storedHeaders).
    expect(later.headers['cdn-cache-control']).toBe('max-age=86400');
    expect(later.headers['cache-control']).toBe('public, max-age=60');
    expect(upstream.count()).toBe(1);
  });

  it('it overrules Cache-Control both ways: no-store there, max-age here is stored; and the reverse is not', async () => {
    const clock = fakeClock();
    const upstream = await rawUpstream((req) => [
      'HTTP/1.1 200 OK',
      `Date: ${httpDate(clock.now())}`,
      ...(req.path === '/cdn-only' ? ['Cache-Control: no-store', 'CDN-Cache-Control: max-age=600'] : ['Cache-Control: max-age=600', 'CDN-Cache-Control: no-store']),
    ]);
    const { edge } = await tiers(upstream.url, clock);
    await get(edge, '/cdn-only');
    expect(ours(await get(edge, '/cdn-only'))).toBe('edge-north; hit; ttl=600');
    expect(ours(await get(edge, '/browsers-only'))).toBe('edge-north; fwd=uri-miss; detail="no-store"');
    await get(edge, '/browsers-only');
    expect(upstream.count('/cdn-only')).toBe(1);
    expect(upstream.count('/browsers-only')).toBe(2);
  });

  it('Expires is set aside too (§2.2): an Expires in the past does not stop a CDN max-age', async () => {
    const clock = fakeClock();
    const upstream = await rawUpstream(() => ['HTTP/1.1 200 OK', `Date: ${httpDate(clock.now())}`, 'Expires: 0', 'CDN-Cache-Control: max-age=300']);
    const parent = await startTier('parent', upstream.url, clock);
    await get(parent, '/x');
    expect(ours(await get(parent, '/x'))).toBe('parent; hit; ttl=300');
  });

  it('an invalid one (upper-case key) is ignored as a whole: Cache-Control rules', async () => {
    const clock = fakeClock();
    const upstream = await rawUpstream(() => ['HTTP/1.1 200 OK', `Date: ${httpDate(clock.now())}`, 'Cache-Control: max-age=60', 'CDN-Cache-Control: Max-Age=86400']);
    const parent = await startTier('parent', upstream.url, clock);
    expect(ours(await get(parent, '/x'))).toBe('parent; fwd=uri-miss; stored; ttl=60');
  });

  it('max-age="600" is a String, not the Integer max-age takes: not obeyed, the copy is stale at once (§2.1)', async () => {
    const clock = fakeClock();
    const upstream = await rawUpstream(() => ['HTTP/1.1 200 OK', `Date: ${httpDate(clock.now())}`, 'ETag: "s"', 'Cache-Control: public, max-age=60', 'CDN-Cache-Control: max-age="600"']);
    const parent = await startTier('parent', upstream.url, clock);
    // Stored (it has a validator) but with a lifetime of 0: neither 600 s nor Cache-Control's 60 s.
    expect(ours(await get(parent, '/quoted'))).toBe('parent; fwd=uri-miss; stored; ttl=0');
    expect(ours(await get(parent, '/quoted'))).toMatch(/^parent; fwd=stale; /);
    expect(upstream.count('/quoted')).toBe(2);
  });

  it('its stale-if-error is honoured: the origin is down, the edge answers with its stale copy', async () => {
    const clock = fakeClock();
    let down = false;
    const upstream = await rawUpstream(() =>
      down
        ? ['HTTP/1.1 503 Service Unavailable', `Date: ${httpDate(clock.now())}`, 'Cache-Control: no-store']
        : ['HTTP/1.1 200 OK', `Date: ${httpDate(clock.now())}`, 'ETag: "a"', 'Cache-Control: max-age=60', 'CDN-Cache-Control: max-age=60, stale-if-error=600'],
    );
    const parent = await startTier('parent', upstream.url, clock);
    await get(parent, '/p');
    down = true;
    clock.advance(120);
    const stale = await get(parent, '/p');
    expect(stale.status).toBe(200);
    expect(ours(stale)).toBe('parent; fwd=stale; fwd-status=503; ttl=-60; detail="stale-if-error"');
  });
});

describe('s-maxage carries proxy-revalidate (RFC 9111 §5.2.2.10)', () => {
  it('so stale-if-error next to it does not let a shared cache serve stale: the error goes through', async () => {
    const clock = fakeClock();
    let down = false;
    const upstream = await rawUpstream(() =>
      down
        ? ['HTTP/1.1 503 Service Unavailable', `Date: ${httpDate(clock.now())}`, 'Cache-Control: no-store']
        : ['HTTP/1.1 200 OK', `Date: ${httpDate(clock.now())}`, 'ETag: "a"', 'Cache-Control: s-maxage=60, stale-if-error=600'],
    );
    const parent = await startTier('parent', upstream.url, clock);
    await get(parent, '/s');
    down = true;
    clock.advance(120);
    const answer = await get(parent, '/s');
    expect(answer.status).toBe(503);
  });
});

// ── The lab's own origin ─────────────────────────────────────────────────────────────────────

describe('the lab origin speaks CDN-Cache-Control for pictures and the page', () => {
  it('a picture two hours later: stale for a browser (max-age=3600), a hit at the edge (CDN max-age=86400)', async () => {
    const clock = fakeClock();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cache-rfc-origin-'));
    cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
    ensureOriginContent(dir);
    const origin = await startLabOrigin({ host: '127.0.0.1', port: 0, contentDir: dir });
    cleanups.push(() => origin.close());
    const { edge } = await tiers(origin.url, clock);
    const first = await get(edge, '/images/phone-thumb.png');
    expect(first.status).toBe(200);
    expect(first.headers['cache-control']).toBe('public, max-age=3600');
    expect(first.headers['cdn-cache-control']).toBe('max-age=86400, stale-if-error=86400');
    clock.advance(2 * 3600);
    const later = await get(edge, '/images/phone-thumb.png');
    expect(ours(later)).toMatch(/^edge-north; hit; ttl=79\d\d\d$/);
    expect(Number(later.headers['age'])).toBeGreaterThan(3600); // what a browser compares with its max-age=3600
    expect(parseHttpDate(String(later.headers['date']))).toBeDefined();
  });
});
