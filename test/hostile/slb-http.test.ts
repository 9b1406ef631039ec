// The SLB's HTTP front door, inside TLS: what it answers to requests no good client sends.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { placeOrder } from '../../client/order-client.ts';
import { makeChainDir, startShop, type Shop } from '../shop-fixture.ts';
import { rawOverTls, SHOP } from './slb-helpers.ts';

const chain = makeChainDir('lab-slb-http-');
let shop: Shop;
beforeAll(async () => {
  shop = await startShop(chain);
});
afterAll(async () => {
  await shop.close();
  fs.rmSync(chain.dir, { recursive: true, force: true });
});

const ORDER = JSON.stringify({ order: { date: '2018-07-01', className: '趣谈网络协议', Author: '刘超', price: '68' } });
const post = (target: string, host: string, extra = '') =>
  `POST ${target} HTTP/1.1\r\nHost: ${host}\r\n${extra}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(ORDER)}\r\nConnection: close\r\n\r\n${ORDER}`;
const statusOf = (answer: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]);

async function stillServes(s: Shop) {
  const r = await placeOrder({ hostname: SHOP, address: s.slb.host, port: s.slb.port, rootCaPem: s.rootPem, mode: 'modern' });
  expect(r.status).toBe(201);
}

describe('header block limits', () => {
  it('an oversized header block gets 431 Request Header Fields Too Large (RFC 6585 §5), not a silent close', async () => {
    const answer = await rawOverTls(shop, `GET / HTTP/1.1\r\nHost: ${SHOP}\r\nX-Padding: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(statusOf(answer), answer).toBe(431);
    expect(answer).toMatch(/Connection: close/i);
    expect(answer).toMatch(/header/i);
    await stillServes(shop);
  });

  it('a malformed request line gets 400 with a reason', async () => {
    const answer = await rawOverTls(shop, 'GARBAGE\r\n\r\n');
    expect(statusOf(answer), answer).toBe(400);
    await stillServes(shop);
  });
});

describe('Host', () => {
  it('two Host header lines get 400 (RFC 9112 §3.2), whichever comes first', async () => {
    const before = shop.store.count;
    for (const [first, second] of [[SHOP, 'evil.test'], ['evil.test', SHOP], [SHOP, SHOP]]) {
      const answer = await rawOverTls(shop, post('/purchaseOrder', first!, `Host: ${second}\r\n`));
      expect(statusOf(answer), answer).toBe(400);
      expect(answer).toMatch(/more than one Host/);
    }
    expect(shop.store.count).toBe(before);
  });
});

describe('absolute-form request targets (RFC 9112 §3.2.2)', () => {
  it('one naming another site gets 421, even with the shop in Host: the target wins over Host', async () => {
    const before = shop.store.count;
    const answer = await rawOverTls(shop, post('https://evil.test/purchaseOrder', SHOP));
    expect(statusOf(answer), answer).toBe(421);
    expect(answer).toContain('evil.test');
    expect(shop.store.count).toBe(before);
  });

  it('one naming a scheme other than https gets 400', async () => {
    const answer = await rawOverTls(shop, post('ftp://www.geektime.test/purchaseOrder', SHOP));
    expect(statusOf(answer), answer).toBe(400);
  });

  it('one naming the shop is served, and the app sees an ordinary origin-form path and the target’s Host', async () => {
    const before = shop.store.count;
    const answer = await rawOverTls(shop, post(`https://${SHOP}:${shop.slb.port}/purchaseOrder`, 'evil.test'));
    expect(statusOf(answer), answer).toBe(201);
    expect(shop.store.count).toBe(before + 1);
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { forwarded?: { host?: string } };
    expect(JSON.stringify(body)).not.toContain('evil.test');
  });
});
