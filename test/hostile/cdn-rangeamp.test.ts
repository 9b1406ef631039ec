// RangeAmp (Li et al., DSN 2020): small byte ranges of a cold large object must not make the CDN
// pull the whole object from the origin. Measured on the origin side, over real sockets.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RANGE_FILL_BYTES, startCache, type RunningCache } from '../../servers/cdn/cache.ts';
import { ensureOriginContent, type OriginContent } from '../../servers/cdn/origin-content.ts';
import { startOrigin, type OriginRequestEvent, type RunningOrigin } from '../../servers/cdn/origin.ts';
import { HOST } from './cdn-fixtures.ts';

const contentRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'cdn-rangeamp-'));
let content: OriginContent;
beforeAll(() => {
  content = ensureOriginContent(path.join(contentRoot, 'origin'));
});
afterAll(() => fs.rmSync(contentRoot, { recursive: true, force: true }));

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of cleanups.splice(0).reverse()) await close();
});

interface Chain {
  origin: RunningOrigin;
  edge: RunningCache;
  parent: RunningCache;
  /** Body bytes the origin has sent, and its answers. */
  originBytes(): number;
  originAnswers: OriginRequestEvent[];
}

async function chain(): Promise<Chain> {
  const origin = await startOrigin({ host: '127.0.0.1', port: 0, contentDir: content.dir });
  cleanups.push(() => origin.close());
  const originAnswers: OriginRequestEvent[] = [];
  origin.events.on('request', (e: OriginRequestEvent) => originAnswers.push(e));
  const parent = await startCache({ name: 'parent', host: '127.0.0.1', port: 0, upstream: origin.url, hostnames: [HOST], log: () => {} });
  cleanups.push(() => parent.close());
  const edge = await startCache({ name: 'edge-north', host: '127.0.0.1', port: 0, upstream: parent.url, hostnames: [HOST], log: () => {} });
  cleanups.push(() => edge.close());
  return { origin, edge, parent, originAnswers, originBytes: () => originAnswers.reduce((n, e) => n + e.bytes, 0) };
}

function get(cache: RunningCache, urlPath: string, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: cache.host, port: cache.port, path: urlPath, headers: { host: HOST, ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const fileOf = (urlPath: string) => fs.readFileSync(path.join(content.dir, urlPath));

describe('RangeAmp: Range on a cold object through edge → parent → origin', () => {
  it('20 cache-busting `Range: bytes=0-0` requests for the 2 MB picture pull 20 bytes from the origin, not 40 MB', async () => {
    const { edge, parent, originBytes, originAnswers } = await chain();
    const large = fileOf('/images/phone-large.png');
    expect(large.length).toBeGreaterThan(RANGE_FILL_BYTES);
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => get(edge, `/images/phone-large.png?bust=${i}`, { range: 'bytes=0-0' })));
    for (const a of answers) {
      expect(a.status).toBe(206);
      expect(a.headers['content-range']).toBe(`bytes 0-0/${large.length}`);
      expect(a.body.equals(large.subarray(0, 1))).toBe(true);
    }
    expect(originAnswers).toHaveLength(20);
    expect(originAnswers.every((e) => e.status === 206 && e.range)).toBe(true);
    expect(originBytes()).toBe(20);
    expect(edge.storedKeys()).toEqual([]);
    expect(parent.storedKeys()).toEqual([]);
  });

  it('a small object is fetched whole once after its first range, then every range is a hit', async () => {
    const { edge, originBytes, originAnswers } = await chain();
    const thumb = fileOf('/images/phone-thumb.png');
    expect(thumb.length).toBeLessThanOrEqual(RANGE_FILL_BYTES);
    const first = await get(edge, '/images/phone-thumb.png', { range: 'bytes=0-9' });
    expect(first.status).toBe(206);
    expect(first.body.equals(thumb.subarray(0, 10))).toBe(true);
    // The next range waits for the whole-object fetch under way (collapsed) or hits what it stored.
    const second = await get(edge, '/images/phone-thumb.png', { range: 'bytes=10-19' });
    expect(second.status).toBe(206);
    expect(second.body.equals(thumb.subarray(10, 20))).toBe(true);
    const third = await get(edge, '/images/phone-thumb.png', { range: 'bytes=-5' });
    expect(third.headers['cache-status']).toMatch(/edge-north; hit/);
    expect(third.body.equals(thumb.subarray(-5))).toBe(true);
    // The origin sent the first range and the object once: no more than a plain GET plus the part.
    expect(originBytes()).toBeLessThanOrEqual(thumb.length + 10);
    expect(originAnswers.filter((e) => e.status === 200)).toHaveLength(1);
  });

  it('a whole-object GET fills the cache, and later ranges of the large picture are hits', async () => {
    const { edge, originBytes } = await chain();
    const large = fileOf('/images/phone-large.png');
    expect((await get(edge, '/images/phone-large.png', {})).body.length).toBe(large.length);
    const part = await get(edge, '/images/phone-large.png', { range: 'bytes=1000-1999' });
    expect(part.status).toBe(206);
    expect(part.body.equals(large.subarray(1000, 2000))).toBe(true);
    expect(part.headers['cache-status']).toMatch(/edge-north; hit/);
    expect(originBytes()).toBe(large.length);
  });
});
