// 1xx interim answers (103 Early Hints) through both tiers: forwarded to the client that asked,
// never stored (RFC 9110 §15.2, RFC 8297). Read off a raw socket, since Node's client hides them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCache, type RunningCache } from '../../servers/cdn/cache.ts';
import { exchange, header, HOST, startRecordingUpstream, type RecordingUpstream } from './cdn-fixtures.ts';

const EARLY_HINTS = 'HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\nX-Hint-Only: yes\r\n\r\n';

let upstream: RecordingUpstream;
let parent: RunningCache;
let edge: RunningCache;
beforeAll(async () => {
  upstream = await startRecordingUpstream((m) => ({
    status: 200,
    headers: { 'content-type': 'text/html', 'cache-control': 'public, max-age=600' },
    body: `<p>page ${m.path}</p>`,
    interim: [EARLY_HINTS],
  }));
  parent = await startCache({ name: 'parent', host: '127.0.0.1', port: 0, upstream: upstream.url, hostnames: [HOST], log: () => {} });
  edge = await startCache({ name: 'edge-north', host: '127.0.0.1', port: 0, upstream: parent.url, hostnames: [HOST], log: () => {} });
});
afterAll(async () => {
  await edge.close();
  await parent.close();
  await upstream.close();
});

describe('103 Early Hints from the origin', () => {
  it('a miss through edge → parent: the client reads the 103, then the 200', async () => {
    const got = await exchange(edge.port, `GET /page HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`, 1);
    expect(got.responses.map((r) => r.status)).toEqual([103, 200]);
    const [hints, page] = got.responses;
    expect(header(hints!, 'link')).toBe('</style.css>; rel=preload; as=style');
    expect(header(hints!, 'via')).toBe('1.1 parent, 1.1 edge-north');
    expect(page!.body.toString()).toBe('<p>page /page</p>');
    expect(header(page!, 'x-hint-only')).toBeUndefined(); // the 103's fields are not the response's
  });

  it('a hit has no 103: the interim answer was never stored, at either tier', async () => {
    const got = await exchange(edge.port, `GET /page HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`, 1);
    expect(got.responses.map((r) => r.status)).toEqual([200]);
    expect(header(got.responses[0]!, 'cache-status')).toMatch(/edge-north; hit/);
    const fromParent = await exchange(parent.port, `GET /page HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`, 1);
    expect(fromParent.responses.map((r) => r.status)).toEqual([200]);
    expect(upstream.seen.filter((m) => m.path === '/page')).toHaveLength(1);
  });

  it('a passed-through POST gets its 103 too', async () => {
    const got = await exchange(edge.port, `POST /form HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 3\r\n\r\na=1`, 1);
    expect(got.responses.map((r) => r.status)).toEqual([103, 200]);
  });
});
