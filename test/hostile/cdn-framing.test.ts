// Request smuggling through the CDN tiers, over raw sockets. Every request a client sends with a
// body in every framing we know of (and some that two parsers read two ways) goes to a tier; behind
// it, a recording upstream parses what arrives exactly as an origin would. No tier may ever see a
// request the tier in front of it did not receive, and no cached entry may be poisoned.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startCache, type CacheLogEntry, type RunningCache } from '../../servers/cdn/cache.ts';
import { startOrigin } from '../../servers/cdn/origin.ts';
import { exchange, header, HOST, startRecordingUpstream, type RecordingUpstream } from './cdn-fixtures.ts';

const SMUGGLED = `GET /smuggled HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;
const chunked = (text: string) => `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n0\r\n\r\n`;

/** How the body (a whole second request) is framed; `requests` = top-level requests written. */
const FRAMINGS: Record<string, { build: (method: string, path: string) => string; requests: number }> = {
  'Transfer-Encoding: chunked': { requests: 1, build: (m, p) => `${m} ${p} HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(SMUGGLED)}` },
  'Content-Length': { requests: 1, build: (m, p) => `${m} ${p} HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}` },
  'Content-Length and Transfer-Encoding (CL.TE)': {
    requests: 1,
    build: (m, p) => `${m} ${p} HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`,
  },
  'duplicate Content-Length': { requests: 1, build: (m, p) => `${m} ${p} HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 0\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}` },
  'obs-fold Transfer-Encoding': { requests: 1, build: (m, p) => `${m} ${p} HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding:\r\n chunked\r\n\r\n${chunked(SMUGGLED)}` },
  'Transfer-Encoding: gzip, chunked': { requests: 1, build: (m, p) => `${m} ${p} HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: gzip, chunked\r\n\r\n${chunked(SMUGGLED)}` },
  'Transfer-Encoding in HTTP/1.0': { requests: 1, build: (m, p) => `${m} ${p} HTTP/1.0\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(SMUGGLED)}` },
  'two requests in one write': {
    requests: 2,
    build: (m, p) => `${m} ${p} HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(SMUGGLED)}GET /second HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`,
  },
};
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE'];

interface Stack {
  front: RunningCache;
  /** Each tier's received requests, outermost first; the recording upstream last. */
  received: Array<() => string[]>;
  upstream: RecordingUpstream;
  close(): Promise<void>;
}

/** Requests a tier received, as 'GET /x' (a HEAD is fetched upstream as GET, so count it as one). */
const asKey = (method: string, path: string) => `${method === 'HEAD' ? 'GET' : method} ${path}`;

async function startStack(tiers: Array<'edge-north' | 'parent'>): Promise<Stack> {
  // A cacheable answer for everything; the smuggled request's answer is a PNG kept a day, and held
  // back until the next request on its connection, as a slow answer behind a pipelined one is.
  const upstream = await startRecordingUpstream(
    (m) =>
      m.path === '/smuggled'
        ? { status: 200, headers: { 'content-type': 'image/png', 'cache-control': 'public, max-age=86400' }, body: 'SMUGGLED' }
        : { status: 200, headers: { 'content-type': 'text/plain', 'cache-control': 'public, max-age=600' }, body: `genuine ${m.method} ${m.path}` },
    { holdUntilNext: (m) => m.path === '/smuggled' },
  );
  const caches: RunningCache[] = [];
  const received: Array<() => string[]> = [];
  let next = upstream.url;
  for (const name of [...tiers].reverse()) {
    const cache = await startCache({ name, host: '127.0.0.1', port: 0, upstream: next, hostnames: [HOST], log: () => {} });
    const seen: string[] = [];
    cache.events.on('request', (e: CacheLogEntry) => seen.push(asKey(e.method, e.path)));
    caches.unshift(cache);
    received.unshift(() => seen);
    next = cache.url;
  }
  received.push(() => upstream.seen.map((m) => asKey(m.method, m.path)));
  return {
    front: caches[0]!,
    received,
    upstream,
    close: async () => {
      for (const c of caches) await c.close();
      await upstream.close();
    },
  };
}

/** Every request a tier received was received by the tier in front of it (as many times or more).
 *  A tier logs a request when its answer is done, so wait for the logs to catch up. */
async function expectNoInventedRequests(stack: Stack): Promise<void> {
  await vi.waitFor(() => inventedRequests(stack), { timeout: 2000, interval: 10 });
}

function inventedRequests(stack: Stack): void {
  const lists = stack.received.map((r) => r());
  for (let i = 1; i < lists.length; i++) {
    const front = new Map<string, number>();
    for (const k of lists[i - 1]!) front.set(k, (front.get(k) ?? 0) + 1);
    for (const k of lists[i]!) {
      expect(front.get(k) ?? 0, `tier ${i} received "${k}" that tier ${i - 1} never did (${JSON.stringify(lists[i - 1])})`).toBeGreaterThan(0);
      front.set(k, front.get(k)! - 1);
    }
  }
  expect(stack.upstream.seen.map((m) => m.path)).not.toContain('/smuggled');
}

let victims = 0;
/** A client on its own connection asks for a cold URL, then for it again (from the cache). */
async function expectGenuineVictim(stack: Stack): Promise<void> {
  const path = `/victim-${++victims}`;
  const ask = `GET ${path} HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;
  for (let i = 0; i < 2; i++) {
    const got = await exchange(stack.front.port, ask, 1);
    expect(got.responses[0]?.status).toBe(200);
    expect(got.responses[0]?.body.toString()).toBe(`genuine GET ${path}`);
  }
}

for (const tiers of [['edge-north', 'parent'], ['parent']] as const) {
  describe(`smuggling into ${tiers.join(' → ')} → recording upstream`, () => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await startStack([...tiers]);
    });
    afterAll(() => stack.close());

    for (const [framing, { build, requests }] of Object.entries(FRAMINGS)) {
      it(`${framing}: every method is refused or forwarded with a length of ours; nothing smuggled, nothing poisoned`, async () => {
        for (const method of METHODS) {
          const before = stack.upstream.seen.length;
          const got = await exchange(stack.front.port, build(method, '/target'), requests, { headFor: (i) => method === 'HEAD' && i === 0 });
          expect(got.text, `${method}, ${framing}`).not.toContain('SMUGGLED');
          const first = got.responses[0];
          expect(first, `${method}, ${framing}: no answer`).toBeDefined();
          if (first!.status >= 400) {
            // Refused: the client's connection is closed (its remaining bytes cannot be trusted),
            // and nothing went upstream for it.
            expect([400, 405, 501], `${method}, ${framing}`).toContain(first!.status);
            expect(got.closed || /close/i.test(header(first!, 'connection') ?? ''), `${method}, ${framing}: connection left open`).toBe(true);
            expect(stack.upstream.seen.slice(before).map((m) => m.path)).not.toContain('/target');
          } else {
            // Forwarded: only methods with a meaning for a body, and the body went as the body,
            // with a Content-Length we set, never as a request.
            expect(['POST', 'PUT', 'PATCH'], `${method}, ${framing} was forwarded`).toContain(method);
            const sent = stack.upstream.seen.slice(before).find((m) => m.path === '/target');
            expect(sent?.method).toBe(method);
            expect(header(sent!, 'transfer-encoding')).toBeUndefined();
            expect(header(sent!, 'content-length')).toBe(String(SMUGGLED.length));
            expect(sent!.body.toString()).toBe(SMUGGLED);
          }
          await expectNoInventedRequests(stack);
          await expectGenuineVictim(stack);
        }
      });
    }

    it('the recorded upstream never parsed a request out of a body, and the cache holds no smuggled answer', async () => {
      await expectNoInventedRequests(stack);
      const page = await exchange(stack.front.port, `GET / HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`, 1);
      expect(page.responses[0]?.body.toString()).toBe('genuine GET /');
    });
  });
}

describe('the methods a CDN cache forwards', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack(['edge-north']);
  });
  afterAll(() => stack.close());

  it('TRACE and unknown methods get 405 with Allow, and never reach the upstream', async () => {
    for (const method of ['TRACE', 'PROPFIND', 'LINK']) {
      const got = await exchange(stack.front.port, `${method} / HTTP/1.1\r\nHost: ${HOST}\r\nCookie: session=secret\r\n\r\n`, 1);
      expect(got.responses[0]?.status, method).toBe(405);
      expect(header(got.responses[0]!, 'allow')).toBe('GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE');
    }
    expect(stack.upstream.seen).toEqual([]);
  });

  it('OPTIONS and DELETE without a body, and POST with an empty one, are forwarded with exact framing', async () => {
    const options = await exchange(stack.front.port, `OPTIONS /o HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 0\r\n\r\n`, 1);
    expect(options.responses[0]?.status).toBe(200);
    const post = await exchange(stack.front.port, `POST /p HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, 1);
    expect(post.responses[0]?.status).toBe(200);
    const [o, p] = stack.upstream.seen;
    expect([o?.startLine, header(o!, 'content-length'), header(o!, 'transfer-encoding')]).toEqual(['OPTIONS /o HTTP/1.1', undefined, undefined]);
    expect([p?.startLine, header(p!, 'content-length'), header(p!, 'transfer-encoding')]).toEqual(['POST /p HTTP/1.1', '0', undefined]);
  });

  it('a body over the limit gets 413 and the connection is closed; nothing goes upstream', async () => {
    const before = stack.upstream.seen.length;
    const big = 'x'.repeat(1024 * 1024 + 1);
    const got = await exchange(stack.front.port, `POST /big HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: ${big.length}\r\n\r\n${big}`, 1);
    expect(got.responses[0]?.status).toBe(413);
    expect(stack.upstream.seen.length).toBe(before);
  });
});

describe('a pooled upstream connection that speaks out of turn', () => {
  it('bytes arriving on an idle pooled connection drop it: they are never read as the next answer', async () => {
    let extra: (() => void) | undefined;
    const upstream = await startRecordingUpstream((m) => ({ status: 200, headers: { 'cache-control': 'public, max-age=600' }, body: `genuine ${m.path}` }));
    const edge = await startCache({ name: 'edge-north', host: '127.0.0.1', port: 0, upstream: upstream.url, hostnames: [HOST], log: () => {} });
    try {
      expect((await exchange(edge.port, `GET /a HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`, 1)).responses[0]?.body.toString()).toBe('genuine /a');
      expect(upstream.connections()).toBe(1);
      // The upstream now sends an answer nobody asked for on the idle connection.
      const closed = new Promise<void>((resolve) => (extra = resolve));
      upstream.sendOnIdle(0, 'HTTP/1.1 200 OK\r\nContent-Length: 6\r\nCache-Control: max-age=86400\r\n\r\nPOISON', () => extra?.());
      await closed;
      const b = await exchange(edge.port, `GET /b HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`, 1);
      expect(b.responses[0]?.body.toString()).toBe('genuine /b');
      expect(upstream.connections()).toBe(2);
    } finally {
      await edge.close();
      await upstream.close();
    }
  });
});

describe('the reported attack, against the real origin', () => {
  const contentRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'cdn-framing-'));
  afterAll(() => fs.rmSync(contentRoot, { recursive: true, force: true }));

  it('OPTIONS, DELETE and TRACE with a chunked body holding a request for the PNG: the origin never sees it, and / stays the product page', async () => {
    const origin = await startOrigin({ host: '127.0.0.1', port: 0, contentDir: path.join(contentRoot, 'origin') });
    const parent = await startCache({ name: 'parent', host: '127.0.0.1', port: 0, upstream: origin.url, hostnames: [HOST], log: () => {} });
    const edge = await startCache({ name: 'edge-north', host: '127.0.0.1', port: 0, upstream: parent.url, hostnames: [HOST], log: () => {} });
    try {
      const png = `GET /images/phone-large.png HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;
      for (const method of ['OPTIONS', 'DELETE', 'TRACE']) {
        const attack = await exchange(edge.port, `${method} / HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(png)}`, 1);
        expect([400, 405], method).toContain(attack.responses[0]?.status);
        const page = await exchange(edge.port, `GET / HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`, 1);
        expect(header(page.responses[0]!, 'content-type')).toMatch(/^text\/html/);
      }
      expect(origin.requestCount('/images/phone-large.png')).toBe(0);
      expect(edge.storedKeys()).toEqual(['GET static.geektime.test/']);
    } finally {
      await edge.close();
      await parent.close();
      await origin.close();
    }
  });
});
