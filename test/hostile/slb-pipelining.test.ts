// Pipelined requests at the SLB: one at a time per connection, nothing processed after a
// `Connection: close` (RFC 9112 §9.6), and a connection that queues too many is closed.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeChainDir, startShop, type Shop } from '../shop-fixture.ts';
import { closedWithin, rawOverTls, SHOP, tlsConnect } from './slb-helpers.ts';

const chain = makeChainDir('lab-slb-pipelining-');
let shop: Shop;
/** Requests the SLB forwarded to the app servers, with the most they ever had in progress at once. */
const seen = { requests: [] as string[], inFlight: 0, maxInFlight: 0 };
beforeAll(async () => {
  shop = await startShop(chain);
  for (const app of shop.apps) {
    app.server.prependListener('request', (req, res) => {
      if (!req.headers['x-forwarded-for']) return; // the SLB's own health checks
      seen.requests.push(`${req.method} ${req.url}`);
      seen.maxInFlight = Math.max(seen.maxInFlight, ++seen.inFlight);
      res.once('close', () => seen.inFlight--);
    });
  }
});
afterAll(async () => {
  await shop.close();
  fs.rmSync(chain.dir, { recursive: true, force: true });
});

const ORDER = JSON.stringify({ order: { date: '2018-07-01', className: '趣谈网络协议', Author: '刘超', price: '68' } });
const post = (extra = '') =>
  `POST /purchaseOrder HTTP/1.1\r\nHost: ${SHOP}\r\n${extra}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(ORDER)}\r\n\r\n${ORDER}`;
const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: ${SHOP}\r\n${extra}\r\n`;
const statuses = (text: string) => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));

describe('pipelining at the SLB', () => {
  it('an order pipelined behind an answer that closes the connection is never taken', async () => {
    const before = shop.store.count;
    seen.requests.length = 0;
    const got = await rawOverTls(shop, `GET /healthz HTTP/1.1\r\nHost: ${SHOP}\r\nHost: x\r\n\r\n` + post());
    expect(statuses(got)).toEqual([400]);
    expect(got).toMatch(/more than one Host/);
    expect(seen.requests.filter((r) => r.startsWith('POST'))).toEqual([]);
    expect(shop.store.count).toBe(before);
  });

  it("nothing after the client's own Connection: close is processed", async () => {
    const before = shop.store.count;
    seen.requests.length = 0;
    const got = await rawOverTls(shop, get('/healthz', 'Connection: close\r\n') + post());
    expect(statuses(got), got).toEqual([200]);
    expect(seen.requests).toEqual(['GET /healthz']);
    expect(shop.store.count).toBe(before);
  });

  it('bytes that are not a request, behind one being forwarded: that one is answered, then a 400 for the bytes, then the connection closes', async () => {
    seen.requests.length = 0;
    const got = await rawOverTls(shop, get('/healthz') + 'NOT HTTP AT ALL\r\n\r\n');
    expect(statuses(got), got).toEqual([200, 400]);
    expect(seen.requests).toEqual(['GET /healthz']);
  });

  it('bad bytes in several chunks behind a request under way: still one answer for them, after that request\'s', async () => {
    const socket = await tlsConnect(shop);
    let got = '';
    socket.on('data', (c: Buffer) => (got += c.toString('latin1')));
    socket.on('error', () => {});
    // Node's parser reports its error again for every chunk that follows: each is a 'clientError'.
    socket.write(get('/healthz') + 'NOT HTTP\r\n\r\n');
    socket.write('STILL NOT\r\n\r\n');
    socket.write('NOR THIS\r\n\r\n');
    expect(await closedWithin(socket, 5_000)).toBe('closed');
    expect(statuses(got), got).toEqual([200, 400]);
  });

  it('a POST without Content-Length has no body (RFC 9112 §6.3): it is answered as such, its would-be body gets a 400, no order is taken', async () => {
    const before = shop.store.count;
    seen.requests.length = 0;
    const got = await rawOverTls(shop, `POST /purchaseOrder HTTP/1.1\r\nHost: ${SHOP}\r\nContent-Type: application/json\r\n\r\n${ORDER}`);
    const [first, second] = statuses(got);
    expect(first, got).toBeGreaterThanOrEqual(400); // the app's answer to an order with no body
    expect(second, got).toBe(400); // the JSON, read as the next request
    expect(statuses(got)).toHaveLength(2);
    expect(shop.store.count).toBe(before);
  });

  it('pipelined requests go upstream one at a time, in order, each answered', async () => {
    seen.requests.length = 0;
    seen.maxInFlight = 0;
    const paths = Array.from({ length: 10 }, (_, i) => `/healthz?n=${i}`);
    const got = await rawOverTls(shop, paths.map((p, i) => get(p, i === paths.length - 1 ? 'Connection: close\r\n' : '')).join(''));
    expect(statuses(got), got).toEqual(paths.map(() => 200));
    expect(seen.requests).toEqual(paths.map((p) => `GET ${p}`));
    expect(seen.maxInFlight).toBe(1);
  });

  it('a connection that queues hundreds of requests is closed; only a bounded number reach the apps', async () => {
    seen.requests.length = 0;
    const burst = Array.from({ length: 500 }, (_, i) => get(`/purchaseOrder/po-000001?token=guess${i}`)).join('');
    await rawOverTls(shop, burst, 10_000);
    expect(seen.requests.length).toBe(16); // the first 16 are answered, then the connection is closed
    await expect(rawOverTls(shop, get('/healthz', 'Connection: close\r\n'))).resolves.toMatch(/^HTTP\/1\.1 200/);
  });
});
