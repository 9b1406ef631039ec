// An error in answer to a revalidation must not evict a good stored response (RFC 9111 §4.3.3),
// whatever the client did to provoke it; and the tiers' header limits agree, so a request a cache
// accepts is one its upstream accepts.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { headerLimitBehind, MAX_HEADER_BYTES, startCache, type CacheLogEntry, type CacheOptions, type RunningCache } from '../../servers/cdn/cache.ts';
import { ensureOriginContent } from '../../servers/cdn/origin-content.ts';
import { startOrigin, type OriginRequestEvent } from '../../servers/cdn/origin.ts';
import { exchange, header, HOST } from './cdn-fixtures.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of cleanups.splice(0).reverse()) await close();
});

async function tier(name: string, upstream: string, extra: Partial<CacheOptions> = {}): Promise<RunningCache> {
  const cache = await startCache({ name, host: '127.0.0.1', port: 0, upstream, hostnames: [HOST], log: () => {}, ...extra });
  cleanups.push(() => cache.close());
  return cache;
}

interface Counted {
  url: string;
  /** Full 200 answers and the body bytes they carried; every status seen. */
  fulls: number;
  bytes: number;
  statuses: number[];
  setStatus(status: number | undefined): void;
}

/**
 * A foreign origin (Node's default 16 KiB header limit, as an origin a cache fronts by URL may
 * have), serving a 2 MB object with an ETag and answering If-None-Match with 304.
 */
async function bigObjectOrigin(): Promise<Counted> {
  const body = Buffer.alloc(2 * 1024 * 1024, 7);
  let forced: number | undefined;
  const counted = { fulls: 0, bytes: 0, statuses: [] as number[] };
  const server = http.createServer((req, res) => {
    if (forced) {
      counted.statuses.push(forced);
      res.writeHead(forced, { 'cache-control': 'max-age=60', 'content-type': 'text/plain' });
      return void res.end('upstream trouble');
    }
    if (req.headers['if-none-match'] === '"v1"') {
      counted.statuses.push(304);
      // Slow enough that 20 clients starting together all arrive while it is under way.
      setTimeout(() => {
        res.writeHead(304, { etag: '"v1"', 'cache-control': 'public, max-age=600' });
        res.end();
      }, 300);
      return;
    }
    counted.statuses.push(200);
    counted.fulls++;
    counted.bytes += body.length;
    res.writeHead(200, { etag: '"v1"', 'cache-control': 'public, max-age=600', 'content-type': 'image/png', 'content-length': body.length });
    res.end(body);
  });
  server.on('clientError', (_err, socket) => {
    counted.statuses.push(431);
    socket.end('HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  const { port } = server.address() as net.AddressInfo;
  return Object.assign(counted, { url: `http://127.0.0.1:${port}`, setStatus: (s: number | undefined) => void (forced = s) });
}

function get(cache: RunningCache, urlPath: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: cache.host, port: cache.port, path: urlPath, headers: { host: HOST, ...headers }, agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('an error to a revalidation leaves the stored response alone', () => {
  it('Cache-Control: no-cache with a header the origin refuses (431): only the attacker gets the error; both tiers keep the object, and collapsing still works', async () => {
    const origin = await bigObjectOrigin();
    const parent = await tier('parent', origin.url);
    const edge = await tier('edge-north', parent.url);
    expect((await get(edge, '/big.png')).bytes).toBe(2 * 1024 * 1024);
    expect(origin.fulls).toBe(1);

    const attack = await get(edge, '/big.png', { 'cache-control': 'no-cache', 'x-filler': 'a'.repeat(20_000) });
    expect(attack.status).toBe(431);
    expect(origin.statuses.at(-1)).toBe(431); // the origin did refuse it
    expect(edge.storedKeys()).toEqual(['GET static.geektime.test/big.png']);
    expect(parent.storedKeys()).toEqual(['GET static.geektime.test/big.png']);

    // 20 shoppers at once: hits, no origin fetch.
    const plain = await Promise.all(Array.from({ length: 20 }, () => get(edge, '/big.png')));
    expect(plain.every((g) => g.status === 200 && g.bytes === 2 * 1024 * 1024)).toBe(true);
    // 20 reloads at once: one revalidation per tier (collapsed), answered 304; no body refetched.
    const reloads = await Promise.all(Array.from({ length: 20 }, () => get(edge, '/big.png', { 'cache-control': 'no-cache' })));
    expect(reloads.every((g) => g.status === 200 && g.bytes === 2 * 1024 * 1024)).toBe(true);
    expect(origin.fulls).toBe(1);
    expect(origin.bytes).toBe(2 * 1024 * 1024);
    expect(origin.statuses.filter((s) => s === 304).length).toBe(1);
  });

  it('a storable 5xx in answer to a revalidation is passed on, not stored over the good copy', async () => {
    const origin = await bigObjectOrigin();
    const edge = await tier('edge-north', origin.url);
    expect((await get(edge, '/big.png')).status).toBe(200);
    origin.setStatus(503);
    expect((await get(edge, '/big.png', { 'cache-control': 'no-cache' })).status).toBe(503);
    origin.setStatus(undefined);
    const after = await get(edge, '/big.png');
    expect(after.status).toBe(200);
    expect(after.headers['cache-status']).toMatch(/edge-north; hit/);
  });

  it('a cacheable 400 about the request does not replace the stored copy either', async () => {
    const origin = await bigObjectOrigin();
    const edge = await tier('edge-north', origin.url);
    await get(edge, '/big.png');
    origin.setStatus(400);
    expect((await get(edge, '/big.png', { 'cache-control': 'no-cache' })).status).toBe(400);
    origin.setStatus(undefined);
    const after = await get(edge, '/big.png');
    expect([after.status, after.bytes]).toEqual([200, 2 * 1024 * 1024]);
    expect(after.headers['cache-status']).toMatch(/edge-north; hit/);
  });
});

describe('header limits grow inward: edge ≤ parent ≤ origin', () => {
  const contentRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'cdn-limits-'));
  let contentDir = '';
  beforeAll(() => {
    contentDir = ensureOriginContent(path.join(contentRoot, 'origin')).dir;
  });
  afterAll(() => fs.rmSync(contentRoot, { recursive: true, force: true }));

  it('around the edge limit, every request is answered by the origin or refused by the edge itself; no inner tier says 431', async () => {
    const origin = await startOrigin({ host: '127.0.0.1', port: 0, contentDir });
    cleanups.push(() => origin.close());
    const originStatuses: number[] = [];
    origin.events.on('request', (e: OriginRequestEvent) => originStatuses.push(e.status));
    const parent = await tier('parent', origin.url, { maxHeaderBytes: headerLimitBehind(MAX_HEADER_BYTES) });
    const parentStatuses: number[] = [];
    parent.events.on('request', (e: CacheLogEntry) => parentStatuses.push(e.status));
    const edge = await tier('edge-north', parent.url);

    const outcomes = new Map<string, number>();
    for (let total = MAX_HEADER_BYTES - 1200; total <= MAX_HEADER_BYTES + 200; total += 20) {
      const start = `GET /index.html HTTP/1.1\r\nHost: ${HOST}\r\nCache-Control: no-cache\r\nX-Filler: `;
      const request = start + 'a'.repeat(total - start.length - 4) + '\r\n\r\n';
      expect(request.length).toBe(total);
      const got = await exchange(edge.port, request, 1);
      const answer = got.responses[0]!;
      // A refusal is the edge's own (no Via: it did not come through the edge from upstream).
      if (answer.status === 431) expect(header(answer, 'via'), `${total} bytes: a 431 from upstream`).toBeUndefined();
      else expect(answer.status, `${total} bytes`).toBe(200);
      const kind = answer.status === 431 ? 'refused by the edge' : 'served';
      outcomes.set(kind, (outcomes.get(kind) ?? 0) + 1);
    }
    expect(outcomes.get('served')).toBeGreaterThan(0);
    expect(outcomes.get('refused by the edge')).toBeGreaterThan(0);
    expect(parentStatuses).not.toContain(431);
    expect(originStatuses).not.toContain(431);
  });
});
