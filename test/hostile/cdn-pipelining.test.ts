// Pipelined requests at a CDN cache: one at a time per connection, in order, and nothing behind an
// answer that closes the connection is fetched, stored or answered (RFC 9112 §9.6). Before, a
// refused request's connection was closed but the 50 picture requests pipelined behind it were
// each fetched from the origin and stored, unlogged and unanswered.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCache, type RunningCache } from '../../servers/cdn/cache.ts';
import { exchange, HOST, startRecordingUpstream, type RecordingUpstream } from './cdn-fixtures.ts';

let upstream: RecordingUpstream;
let edge: RunningCache;
beforeAll(async () => {
  upstream = await startRecordingUpstream((m) => ({ status: 200, headers: { 'cache-control': 'public, max-age=600', 'content-type': 'text/plain' }, body: `body of ${m.path}` }));
  edge = await startCache({ name: 'edge-test', host: '127.0.0.1', port: 0, upstream: upstream.url, hostnames: [HOST] });
});
afterAll(async () => {
  await edge.close();
  await upstream.close();
});

const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: ${HOST}\r\n${extra}\r\n`;
const fetched = () => upstream.seen.map((m) => m.path);

describe('pipelining at a cache', () => {
  it('requests behind a refused one (400, connection closed) are never fetched or stored', async () => {
    const refused = `GET /index.html HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`;
    const behind = Array.from({ length: 5 }, (_, i) => get(`/behind-${i}`)).join('');
    const got = await exchange(edge.port, refused + behind, 6, { timeoutMs: 5_000 });
    expect(got.responses.map((r) => r.status)).toEqual([400]);
    expect(got.closed).toBe(true);
    expect(fetched().filter((t) => t.startsWith('/behind'))).toEqual([]);
    expect(edge.storedKeys().filter((k) => k.includes('/behind'))).toEqual([]);
  });

  it("nothing after the client's own Connection: close", async () => {
    const got = await exchange(edge.port, get('/first', 'Connection: close\r\n') + get('/after-close'), 2, { timeoutMs: 5_000 });
    expect(got.responses.map((r) => r.status)).toEqual([200]);
    expect(fetched()).not.toContain('/after-close');
  });

  it('bytes that are not a request, behind requests under way (a MISS, then a HIT): both answered in order, then a 400, then the connection closes', async () => {
    // The same path twice: the first is fetched (MISS), the second waits its turn and is a HIT.
    const got = await exchange(edge.port, get('/before-junk') + get('/before-junk') + 'NOT HTTP AT ALL\r\n\r\n', 4, { timeoutMs: 5_000 }); // 4: read on until it closes
    expect(got.responses.map((r) => r.status)).toEqual([200, 200, 400]);
    expect(got.responses.slice(0, 2).map((r) => r.body.toString())).toEqual(['body of /before-junk', 'body of /before-junk']);
    expect(fetched().filter((t) => t === '/before-junk')).toHaveLength(1);
    expect(got.closed).toBe(true);
  });

  it('pipelined requests are answered in order, each once', async () => {
    const paths = Array.from({ length: 8 }, (_, i) => `/in-order-${i}`);
    const got = await exchange(edge.port, paths.map((p) => get(p)).join(''), paths.length, { timeoutMs: 5_000 });
    expect(got.responses.map((r) => r.body.toString())).toEqual(paths.map((p) => `body of ${p}`));
    expect(fetched().filter((t) => t.startsWith('/in-order-'))).toEqual(paths);
  });
});
