// The CDN's origin over real sockets: the generated pictures are real PNGs, and every kind of
// content carries the caching headers the caches in front of it rely on.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import zlib from 'node:zlib';
import { spawn, spawnSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { crc32, ensureOriginContent, type OriginContent } from '../servers/cdn/origin-content.ts';
import { CACHE_POLICY, CDN_CACHE_POLICY, OTHER_PATHS, startOrigin, type OriginRequestEvent, type RunningOrigin } from '../servers/cdn/origin.ts';

const HOST = 'static.geektime.test';

function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

// One content folder for the whole file (the 2 MB picture takes a moment to generate).
let content: OriginContent;
const contentRoot = tempDir('origin-content-');
beforeAll(() => {
  content = ensureOriginContent(path.join(contentRoot, 'origin'));
});
afterAll(() => fs.rmSync(contentRoot, { recursive: true, force: true }));

// Everything a test starts is stopped afterwards, in reverse order.
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function startTestOrigin(opts: { slowMs?: number; contentDir?: string; log?: (line: string) => void } = {}): Promise<RunningOrigin> {
  const origin = await startOrigin({ host: '127.0.0.1', port: 0, contentDir: content.dir, ...opts });
  cleanups.push(() => origin.close());
  return origin;
}

function fileBytes(urlPath: string): Buffer {
  return fs.readFileSync(path.join(content.dir, urlPath));
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One request on its own connection, with Host: static.geektime.test unless told otherwise. */
function request(origin: RunningOrigin, urlPath: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers = { host: HOST, ...opts.headers };
    const req = http.request(`${origin.url}${urlPath}`, { method: opts.method ?? 'GET', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Exact bytes on a socket: no client library gets a chance to clean up the path. */
function rawRequest(origin: RunningOrigin, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(origin.port, origin.host, () => socket.write(text));
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', reject);
  });
}

// ---------------------------------------------------------------------------------------------

/** Split a PNG into its chunks, checking each CRC on the way. */
function readPng(png: Buffer): { width: number; height: number; colorType: number; bitDepth: number; idat: Buffer; types: string[] } {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  const types: string[] = [];
  const idat: Buffer[] = [];
  let ihdr: Buffer | undefined;
  let at = 8;
  while (at < png.length) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + length);
    const crc = png.readUInt32BE(at + 8 + length);
    expect(crc, `CRC of the ${type} chunk`).toBe(crc32(png.subarray(at + 4, at + 8 + length)));
    types.push(type);
    if (type === 'IHDR') ihdr = data;
    if (type === 'IDAT') idat.push(data);
    at += 12 + length;
  }
  expect(at).toBe(png.length);
  return {
    width: ihdr!.readUInt32BE(0),
    height: ihdr!.readUInt32BE(4),
    bitDepth: ihdr![8]!,
    colorType: ihdr![9]!,
    idat: Buffer.concat(idat),
    types,
  };
}

describe('origin content', () => {
  it('computes CRC-32 as PNG defines it', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926); // the standard check value
    expect(crc32(Buffer.from('IEND'))).toBe(0xae426082); // every PNG ends with it
  });

  it.each([
    ['/images/phone-thumb.png', 120, 120],
    ['/images/phone.png', 640, 480],
    ['/images/phone-large.png', 1024, 768],
  ])('%s is a valid %i×%i RGB PNG', (urlPath, width, height) => {
    const png = readPng(fileBytes(urlPath));
    expect(png.types[0]).toBe('IHDR');
    expect(png.types.at(-1)).toBe('IEND');
    expect(png).toMatchObject({ width, height, bitDepth: 8, colorType: 2 });
    // One filter byte, then 3 bytes a pixel, for every row.
    expect(zlib.inflateSync(png.idat).length).toBe(height * (1 + width * 3));
  });

  it('lists what it generated, and the full-size picture is over 1 MB', () => {
    expect(content.files.map((f) => f.path)).toEqual(['/index.html', '/images/phone-thumb.png', '/images/phone.png', '/images/phone-large.png']);
    for (const f of content.files) expect(f.bytes).toBe(fs.statSync(f.file).size);
    expect(content.files.find((f) => f.path === '/images/phone-large.png')!.bytes).toBeGreaterThan(1024 * 1024);
    expect(content.files.find((f) => f.path === '/images/phone.png')!.contentType).toBe('image/png');
  });

  it('generates the same bytes every time, and reuses what is there', () => {
    const a = ensureOriginContent(path.join(contentRoot, 'again-a'));
    const b = ensureOriginContent(path.join(contentRoot, 'again-b'));
    for (const [i, f] of content.files.entries()) {
      expect(fs.readFileSync(a.files[i]!.file).equals(fs.readFileSync(f.file)), f.path).toBe(true);
      expect(fs.readFileSync(b.files[i]!.file).equals(fs.readFileSync(f.file)), f.path).toBe(true);
    }
    // A second call finds the files and leaves them alone.
    const before = a.files.map((f) => fs.statSync(f.file).mtimeMs);
    ensureOriginContent(a.dir);
    expect(a.files.map((f) => fs.statSync(f.file).mtimeMs)).toEqual(before);
    expect(fs.readdirSync(path.join(a.dir, 'images')).sort()).toEqual(['phone-large.png', 'phone-thumb.png', 'phone.png']);
  });

  it('writes a UTF-8 product page for the seed course that shows all three pictures', () => {
    const html = fileBytes('/index.html').toString('utf8');
    expect(html).toContain('<meta charset="utf-8">');
    expect(html).toContain('趣谈网络协议');
    expect(html).toContain('¥68');
    for (const name of ['phone-thumb.png', 'phone.png', 'phone-large.png']) expect(html).toContain(`<img src="/images/${name}"`);
  });
});

describe('origin over HTTP', () => {
  it('serves the product page with the page caching policy and strong validators', async () => {
    const origin = await startTestOrigin();
    const root = await request(origin, '/');
    const index = await request(origin, '/index.html');
    for (const page of [root, index]) {
      expect(page.status).toBe(200);
      expect(page.headers['cache-control']).toBe('public, max-age=60');
      expect(page.headers['cdn-cache-control']).toBe('max-age=300, stale-while-revalidate=30, stale-if-error=600');
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.headers.etag).toMatch(/^"[A-Za-z0-9_-]+"$/); // strong: no W/
      expect(page.headers['last-modified']).toBe(fs.statSync(path.join(content.dir, 'index.html')).mtime.toUTCString());
      expect(page.body.equals(fileBytes('/index.html'))).toBe(true);
    }
    expect(root.headers.etag).toBe(index.headers.etag);
  });

  it('serves the pictures with the image caching policy, whole and byte-exact', async () => {
    const origin = await startTestOrigin();
    for (const urlPath of ['/images/phone-thumb.png', '/images/phone.png', '/images/phone-large.png']) {
      const res = await request(origin, urlPath);
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('public, max-age=3600');
      expect(res.headers['cdn-cache-control']).toBe('max-age=86400, stale-if-error=86400');
      expect(res.headers['content-type']).toBe('image/png');
      expect(res.headers['accept-ranges']).toBe('bytes');
      expect(res.headers.etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
      expect(res.headers['last-modified']).toBeDefined();
      expect(Number(res.headers['content-length'])).toBe(fileBytes(urlPath).length);
      expect(res.body.equals(fileBytes(urlPath))).toBe(true);
    }
    const head = await request(origin, '/images/phone-large.png', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers['content-length'])).toBeGreaterThan(1024 * 1024);
    expect(head.body.length).toBe(0);
  });

  it('gives the same bytes the same ETag, on another origin with files written at another time', async () => {
    const other = ensureOriginContent(path.join(contentRoot, 'other-origin'));
    const past = new Date('2018-07-01T00:00:00Z');
    for (const f of other.files) fs.utimesSync(f.file, past, past);
    const a = await startTestOrigin();
    const b = await startTestOrigin({ contentDir: other.dir });
    const fromA = await request(a, '/images/phone-large.png', { method: 'HEAD' });
    const fromB = await request(b, '/images/phone-large.png', { method: 'HEAD' });
    expect(fromB.headers['last-modified']).toBe(past.toUTCString());
    expect(fromA.headers['last-modified']).not.toBe(fromB.headers['last-modified']);
    expect(fromA.headers.etag).toBe(fromB.headers.etag);
  });

  it('answers a conditional GET with 304 and no body', async () => {
    const origin = await startTestOrigin();
    const first = await request(origin, '/images/phone.png');
    const byEtag = await request(origin, '/images/phone.png', { headers: { 'If-None-Match': first.headers.etag! } });
    expect(byEtag.status).toBe(304);
    expect(byEtag.body.length).toBe(0);
    // A 304 carries what the cache must update: validators and Cache-Control.
    expect(byEtag.headers.etag).toBe(first.headers.etag);
    expect(byEtag.headers['cache-control']).toBe(CACHE_POLICY.image);
    expect(byEtag.headers['cdn-cache-control']).toBe(CDN_CACHE_POLICY.image);

    const byDate = await request(origin, '/images/phone.png', { headers: { 'If-Modified-Since': first.headers['last-modified']! } });
    expect(byDate.status).toBe(304);

    const changed = await request(origin, '/images/phone.png', { headers: { 'If-None-Match': '"something-else"' } });
    expect(changed.status).toBe(200);
    expect(changed.body.equals(fileBytes('/images/phone.png'))).toBe(true);

    const page = await request(origin, '/', { headers: { 'If-None-Match': (await request(origin, '/')).headers.etag! } });
    expect(page.status).toBe(304);
  });

  it('answers a byte range with 206, and a range past the end with 416', async () => {
    const origin = await startTestOrigin();
    const large = fileBytes('/images/phone-large.png');
    const part = await request(origin, '/images/phone-large.png', { headers: { Range: 'bytes=0-99' } });
    expect(part.status).toBe(206);
    expect(part.body.length).toBe(100);
    expect(part.body.equals(large.subarray(0, 100))).toBe(true);
    expect(part.headers['content-range']).toBe(`bytes 0-99/${large.length}`);
    expect(part.headers['content-length']).toBe('100');

    // If-Range with the current (strong) ETag still gets the slice.
    const resumed = await request(origin, '/images/phone-large.png', { headers: { Range: 'bytes=100-', 'If-Range': part.headers.etag! } });
    expect(resumed.status).toBe(206);
    expect(resumed.body.equals(large.subarray(100))).toBe(true);

    const past = await request(origin, '/images/phone-large.png', { headers: { Range: `bytes=${large.length}-` } });
    expect(past.status).toBe(416);
    expect(past.headers['content-range']).toBe(`bytes */${large.length}`);
    expect(past.headers['cache-control']).toBe('no-store');
    expect(past.body.toString()).toContain('range not satisfiable');
  });

  it('marks /account private, /cart no-store, and /login public but setting a cookie', async () => {
    const origin = await startTestOrigin();
    const account = await request(origin, '/account', { headers: { Accept: 'application/json' } });
    expect(account.status).toBe(200);
    expect(account.headers['cache-control']).toBe('private, max-age=60');
    expect(account.headers.vary).toContain('Accept');
    expect(JSON.parse(account.body.toString()).user).toBe('learner');
    const accountPage = await request(origin, '/account', { headers: { Accept: 'text/html' } });
    expect(accountPage.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(accountPage.headers['cache-control']).toBe('private, max-age=60');

    const cart = await request(origin, '/cart');
    expect(cart.status).toBe(200);
    expect(cart.headers['cache-control']).toBe('no-store');
    expect(JSON.parse(cart.body.toString()).total).toBe('68');

    const login = await request(origin, '/login');
    expect(login.status).toBe(200);
    expect(login.headers['cache-control']).toBe('public, max-age=60');
    const cookie = login.headers['set-cookie']![0]!;
    expect(cookie).toMatch(/^session=[0-9a-f]{32};/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Lax');
    expect(cookie).toContain('Path=/');
    // Each login is a new session.
    expect((await request(origin, '/login')).headers['set-cookie']![0]).not.toBe(cookie);

    const session = cookie.split(';')[0]!;
    const loggedIn = await request(origin, '/account', { headers: { Accept: 'application/json', Cookie: session } });
    expect(JSON.parse(loggedIn.body.toString()).loggedIn).toBe(true);
  });

  it('varies /greeting by Accept-Language', async () => {
    const origin = await startTestOrigin();
    const zh = await request(origin, '/greeting', { headers: { 'Accept-Language': 'zh-CN,zh;q=0.9,en;q=0.8' } });
    const en = await request(origin, '/greeting', { headers: { 'Accept-Language': 'en-US,en;q=0.9' } });
    const none = await request(origin, '/greeting');
    for (const res of [zh, en, none]) {
      expect(res.status).toBe(200);
      expect(res.headers.vary).toBe('Accept-Language');
      expect(res.headers['cache-control']).toBe('public, max-age=300');
      expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    }
    expect(zh.body.toString('utf8')).toBe('你好');
    expect(zh.headers['content-language']).toBe('zh');
    expect(en.body.toString('utf8')).toBe('Hello');
    expect(none.body.toString('utf8')).toBe('Hello');
    expect(zh.headers.etag).not.toBe(en.headers.etag);
  });

  it('tells the time, fresh for 2 seconds', async () => {
    const origin = await startTestOrigin();
    const res = await request(origin, '/time');
    expect(res.headers['cache-control']).toBe('public, max-age=2');
    expect(Math.abs(Date.parse(res.body.toString()) - Date.now())).toBeLessThan(5_000);
  });

  it('answers the health check for any Host, and refuses content for a host it does not serve', async () => {
    const origin = await startTestOrigin();
    const health = await request(origin, '/healthz', { headers: { host: `127.0.0.1:${origin.port}` } });
    expect(health.status).toBe(200);
    expect(health.headers['cache-control']).toBe('no-store');

    const wrong = await request(origin, '/images/phone.png', { headers: { host: 'www.example.test' } });
    expect(wrong.status).toBe(421);
    expect(wrong.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(wrong.body.toString()).toContain('static.geektime.test');
    expect((await request(origin, '/', { headers: { host: `127.0.0.1:${origin.port}` } })).status).toBe(421);

    // The port, upper case and a trailing dot do not change the name.
    for (const host of [`${HOST}:${origin.port}`, 'STATIC.GeekTime.test', `${HOST}.`]) {
      expect((await request(origin, '/images/phone-thumb.png', { headers: { host } })).status, host).toBe(200);
    }
  });

  it('allows only GET and HEAD, and answers 404 for anything it does not have', async () => {
    const origin = await startTestOrigin();
    const post = await request(origin, '/', { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    expect((await request(origin, '/images/phone.png', { method: 'DELETE' })).status).toBe(405);
    const options = await request(origin, '/', { method: 'OPTIONS' });
    expect(options.status).toBe(204);
    expect(options.headers.allow).toBe('GET, HEAD');

    for (const urlPath of ['/nothing-here', '/images/nope.png', '/images/', '/images', '/images/phone.jpg']) {
      const res = await request(origin, urlPath);
      expect(res.status, urlPath).toBe(404);
      expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(res.headers['cache-control']).toBe('public, max-age=10');
      expect(res.body.toString()).toContain('not found');
    }
  });

  it('never serves a file from outside its folder', async () => {
    const origin = await startTestOrigin();
    fs.writeFileSync(path.join(contentRoot, 'secret.txt'), 'the-secret');
    for (const target of [
      '/images/../../etc/passwd',
      '/../secret.txt',
      '/images/../../secret.txt',
      '/images/%2e%2e/%2e%2e/secret.txt',
      '/images/..%2f..%2fsecret.txt',
      '/images/..%5c..%5csecret.txt',
      '/%2e%2e/secret.txt',
      '/images/%zz.png',
    ]) {
      const answer = await rawRequest(origin, `GET ${target} HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`);
      expect(answer, target).toMatch(/^HTTP\/1\.1 (400|404) /);
      expect(answer).not.toContain('root:');
      expect(answer).not.toContain('the-secret');
    }
  });

  it('labels every answer: Server and X-Served-By, no X-Powered-By, no Via', async () => {
    const origin = await startTestOrigin();
    const answers = await Promise.all([
      request(origin, '/'),
      request(origin, '/images/phone.png', { headers: { Range: 'bytes=0-9' } }),
      request(origin, '/greeting'),
      request(origin, '/nothing-here'),
      request(origin, '/', { method: 'POST' }),
      request(origin, '/', { headers: { host: 'elsewhere.test' } }),
      request(origin, '/healthz'),
    ]);
    for (const res of answers) {
      expect(res.headers.server).toBe('lab-origin');
      expect(res.headers['x-served-by']).toBe('origin');
      expect(res.headers['x-powered-by']).toBeUndefined();
      expect(res.headers.via).toBeUndefined();
    }
  });

  it('counts requests by path, reports each one, and logs a line for it', async () => {
    const lines: string[] = [];
    const origin = await startTestOrigin({ log: (line) => lines.push(line) });
    const seen: OriginRequestEvent[] = [];
    origin.events.on('request', (e: OriginRequestEvent) => seen.push(e));

    const full = await request(origin, '/images/phone.png');
    await request(origin, '/images/phone.png', { headers: { 'If-None-Match': full.headers.etag! } });
    await request(origin, '/images/phone-large.png', { headers: { Range: 'bytes=0-99' } });
    await request(origin, '/time?x=1');
    await request(origin, '/healthz');

    expect(origin.requestCount('/images/phone.png')).toBe(2);
    expect(origin.requestCount('/images/phone-large.png')).toBe(1);
    expect(origin.requestCount('/time')).toBe(1);
    expect(origin.requestCount('/images/phone-thumb.png')).toBe(0);
    expect(origin.requestCount('/healthz')).toBe(1);
    expect(origin.requestCount()).toBe(4); // health checks are not content requests

    // The server may report a request a moment after the client has the answer.
    await expect.poll(() => seen.length).toBe(5);
    const size = fileBytes('/images/phone.png').length;
    expect(seen[0]).toMatchObject({ method: 'GET', path: '/images/phone.png', status: 200, bytes: size, conditional: false, range: false, from: '127.0.0.1' });
    expect(seen[1]).toMatchObject({ path: '/images/phone.png', status: 304, bytes: 0, conditional: true, range: false });
    expect(seen[2]).toMatchObject({ path: '/images/phone-large.png', status: 206, bytes: 100, conditional: false, range: true });
    expect(seen[3]).toMatchObject({ path: '/time', status: 200 });

    expect(lines[0]).toBe(`origin: GET /images/phone.png → 200 (${size} bytes), asked by 127.0.0.1`);
    expect(lines[1]).toMatch(/^origin: GET \/images\/phone\.png → 304 not modified \(conditional: If-None-Match matched, 0 bytes\)/);
    expect(lines[2]).toMatch(/^origin: GET \/images\/phone-large\.png → 206 partial \(100 bytes, Content-Range: bytes 0-99\/\d+\)/);
    expect(lines[3]).toMatch(/^origin: GET \/time\?x=1 → 200 /);
    expect(lines).toHaveLength(4); // a healthy health check is not logged
  });

  it('counts only its own paths by name; every made-up path shares one counter, so they cost no memory each', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const origin = await startTestOrigin();
    await request(origin, '/');
    await request(origin, '/greeting');
    gc();
    const before = process.memoryUsage().heapUsed;
    // 300 unknown 30 KB paths (404s), as anyone who can reach the origin may send.
    const long = (i: number) => `/nothing-${i}-`.padEnd(30_000, 'x');
    for (let i = 0; i < 300; i++) expect((await request(origin, long(i))).status).toBe(404);
    gc();
    const grown = process.memoryUsage().heapUsed - before;

    expect(grown).toBeLessThan(3 * 1024 * 1024); // one counter per path would keep 300 × 30 KB = 9 MB
    expect(origin.requestCount(long(0))).toBe(0);
    expect(origin.requestCount(OTHER_PATHS)).toBe(300);
    expect(origin.requestCount('/')).toBe(1);
    expect(origin.requestCount('/greeting')).toBe(1);
    expect(origin.requestCount()).toBe(302);
  });

  it('answers 503 while failing (health check excepted), then recovers', async () => {
    const origin = await startTestOrigin();
    expect((await request(origin, '/images/phone.png')).status).toBe(200);
    origin.setFailing(true);
    const failed = await request(origin, '/images/phone.png');
    expect(failed.status).toBe(503);
    expect(failed.headers['cache-control']).toBe('no-store');
    expect(failed.headers.etag).toBeUndefined();
    expect((await request(origin, '/')).status).toBe(503);
    const health = await request(origin, '/healthz');
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body.toString()).failing).toBe(true);
    origin.setFailing(false);
    expect((await request(origin, '/images/phone.png')).status).toBe(200);
  });

  it('delays content (not the health check) when slowMs is set', async () => {
    const origin = await startTestOrigin({ slowMs: 300 });
    let t = Date.now();
    expect((await request(origin, '/images/phone-thumb.png')).status).toBe(200);
    expect(Date.now() - t).toBeGreaterThanOrEqual(280);
    t = Date.now();
    await request(origin, '/healthz');
    expect(Date.now() - t).toBeLessThan(280);
  });

  const hasCurl = spawnSync('curl', ['--version']).status === 0;
  it.skipIf(!hasCurl)('shows its headers to curl -sI', async () => {
    const origin = await startTestOrigin();
    const out = await new Promise<string>((resolve, reject) => {
      const curl = spawn('curl', ['-sI', '-H', `Host: ${HOST}`, `${origin.url}/images/phone-large.png`]);
      let text = '';
      curl.stdout.on('data', (c) => (text += c));
      curl.on('error', reject);
      curl.on('close', () => resolve(text));
    });
    expect(out).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(out).toMatch(/^Cache-Control: public, max-age=3600\r$/im);
    expect(out).toMatch(/^CDN-Cache-Control: max-age=86400, stale-if-error=86400\r$/im);
    expect(out).toMatch(/^ETag: "[A-Za-z0-9_-]+"\r$/im);
    expect(out).toMatch(/^Last-Modified: \w{3}, \d{2} \w{3} \d{4} [\d:]{8} GMT\r$/im);
    expect(out).toMatch(/^Accept-Ranges: bytes\r$/im);
    expect(out).toMatch(/^Content-Type: image\/png\r$/im);
    expect(out).toMatch(/^Server: lab-origin\r$/im);
    expect(out).toMatch(/^X-Served-By: origin\r$/im);
  });
});

describe('origin command line', () => {
  it('starts, says where it listens and what it serves, and stops on SIGTERM', async () => {
    const dir = path.join(contentRoot, 'cli');
    fs.cpSync(content.dir, dir, { recursive: true }); // saves generating the pictures again
    const child = spawn(process.execPath, ['--import', 'tsx', 'servers/cdn/origin.ts', '--listen', '127.0.0.1:0', '--dir', dir], {
      cwd: path.resolve(import.meta.dirname, '..'),
    });
    cleanups.push(() => child.exitCode === null && child.kill('SIGKILL'));
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    await expect.poll(() => out, { timeout: 20_000 }).toContain('Ctrl-C to stop.');
    expect(out).toMatch(/origin listening on http:\/\/127\.0\.0\.1:\d+ for Host static\.geektime\.test/);
    expect(out).toContain('/images/phone-large.png');

    const url = /listening on (\S+)/.exec(out)![1]!;
    const res = await new Promise<number>((resolve, reject) => {
      http.get(`${url}/images/phone.png`, { headers: { host: HOST }, agent: false }, (r) => resolve(r.resume().statusCode!)).on('error', reject);
    });
    expect(res).toBe(200);

    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out).toContain('origin: stopped');
  });

  it('rejects a bad --listen with exit code 2', async () => {
    const child = spawnSync(process.execPath, ['--import', 'tsx', 'servers/cdn/origin.ts', '--listen', 'nowhere'], {
      cwd: path.resolve(import.meta.dirname, '..'),
      encoding: 'utf8',
    });
    expect(child.status).toBe(2);
    expect(child.stderr).toContain('--listen wants host:port');
  });
});
