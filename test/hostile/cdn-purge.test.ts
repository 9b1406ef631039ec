// PURGE comes from the operator only: a token given at start, not "any loopback client" (every
// phone in the lab is on loopback too).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCache, type RunningCache } from '../../servers/cdn/cache.ts';
import { exchange, HOST, startRecordingUpstream, type RecordingUpstream } from './cdn-fixtures.ts';

let upstream: RecordingUpstream;
beforeAll(async () => {
  upstream = await startRecordingUpstream((m) => ({ status: 200, headers: { 'cache-control': 'public, max-age=600' }, body: `genuine ${m.path}` }));
});
afterAll(() => upstream.close());

async function edgeWith(purgeToken?: string | false): Promise<RunningCache> {
  const edge = await startCache({ name: 'edge-north', host: '127.0.0.1', port: 0, upstream: upstream.url, hostnames: [HOST], log: () => {}, purgeToken });
  await exchange(edge.port, `GET /p HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`, 1);
  expect(edge.storedKeys()).toHaveLength(1);
  return edge;
}

const purge = (edge: RunningCache, headers: string, localAddress?: string) =>
  exchange(edge.port, `PURGE /p HTTP/1.1\r\nHost: ${HOST}\r\n${headers}\r\n`, 1, { localAddress }).then((x) => x.responses[0]!.status);

describe('PURGE', () => {
  it("a shopper's phone (127.10.1.5, loopback) without the token gets 403 and purges nothing", async () => {
    const edge = await edgeWith();
    try {
      expect(await purge(edge, '', '127.10.1.5')).toBe(403);
      expect(await purge(edge, '')).toBe(403);
      expect(await purge(edge, 'Authorization: Bearer guess\r\n', '127.10.1.5')).toBe(403);
      expect(await purge(edge, 'Authorization: Basic b3BlcmF0b3I6eA==\r\n')).toBe(403);
      expect(edge.storedKeys()).toHaveLength(1);
    } finally {
      await edge.close();
    }
  });

  it('the operator, with the token the running cache exposes, purges', async () => {
    const edge = await edgeWith();
    try {
      expect(edge.purgeToken).toMatch(/^[\w-]{32,}$/);
      expect(await purge(edge, `Authorization: Bearer ${edge.purgeToken}\r\n`)).toBe(200);
      expect(edge.storedKeys()).toEqual([]);
    } finally {
      await edge.close();
    }
  });

  it('each cache makes its own token unless given one; a given one is used as is', async () => {
    const [a, b, c] = [await edgeWith(), await edgeWith(), await edgeWith('from-state-json')];
    try {
      expect(a.purgeToken).not.toBe(b.purgeToken);
      expect(c.purgeToken).toBe('from-state-json');
      expect(await purge(c, `Authorization: Bearer ${a.purgeToken}\r\n`)).toBe(403);
      expect(await purge(c, 'Authorization: bearer from-state-json\r\n')).toBe(200);
    } finally {
      for (const x of [a, b, c]) await x.close();
    }
  });

  it('purgeToken: false turns PURGE off: 405 with Allow, even for the right-looking header', async () => {
    const edge = await edgeWith(false);
    try {
      expect(edge.purgeToken).toBeUndefined();
      const got = await exchange(edge.port, `PURGE /p HTTP/1.1\r\nHost: ${HOST}\r\nAuthorization: Bearer x\r\n\r\n`, 1);
      expect(got.responses[0]!.status).toBe(405);
      expect(got.text).toMatch(/\r\nallow: GET, HEAD/i);
      expect(edge.storedKeys()).toHaveLength(1);
    } finally {
      await edge.close();
    }
  });
});
