// A stranger reading orders: guessing order numbers, wrong or borrowed tokens, the health check.
// Directly against an app server, and through the SLB as the internet sees it.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OrderStore } from '../../servers/order-store.ts';
import { startOrderServer, type RunningOrderServer } from '../../servers/order-service.ts';
import { makeChainDir, rawRequest, startShop, type Shop } from '../shop-fixture.ts';
import { SEED_ORDER, postOrder, tempDir } from './orders-fixture.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function startApp(log?: (line: string) => void): Promise<RunningOrderServer> {
  const store = OrderStore.open(path.join(tempDir(cleanups), 'orders.jsonl'));
  cleanups.push(() => store.close());
  const app = await startOrderServer({ name: 'app-1', store, host: '127.0.0.1', port: 0, log });
  cleanups.push(() => app.close());
  return app;
}

describe('reading an order needs the capability from its Location', () => {
  it('the Location reads it; no token, a wrong one, another order\'s, or a guessed number all get the same 404', async () => {
    const lines: string[] = [];
    const app = await startApp((l) => lines.push(l));
    const first = await postOrder(app.url, SEED_ORDER);
    const second = await postOrder(app.url, { ...SEED_ORDER, price: '99' });
    const [l1, l2] = [first.headers.get('location')!, second.headers.get('location')!];
    const token = (l: string) => new URL(l, app.url).searchParams.get('token')!;
    expect(token(l1)).toMatch(/^[A-Za-z0-9_-]{22}$/); // 128 random bits, base64url
    expect(token(l1)).not.toBe(token(l2));

    const mine = await fetch(`${app.url}${l1}`);
    expect(mine.status).toBe(200);
    expect(await mine.json()).toMatchObject({ id: 'po-000001', order: SEED_ORDER });

    const flipped = token(l1).slice(0, -1) + (token(l1).endsWith('A') ? 'B' : 'A');
    const attempts = [
      '/purchaseOrder/po-000001',
      '/purchaseOrder/po-000001?token=',
      `/purchaseOrder/po-000001?token=${flipped}`,
      `/purchaseOrder/po-000001?token=${token(l2)}`, // a real token, of another order
      `/purchaseOrder/po-000001?token=${token(l1)}&token=${token(l1)}`,
      `/purchaseOrder/po-000003?token=${token(l1)}`, // an order that does not exist
      ...Array.from({ length: 5 }, (_, i) => `/purchaseOrder/po-00000${i + 1}`), // walking the numbers
    ];
    const answers = await Promise.all(attempts.map(async (p) => {
      const res = await fetch(`${app.url}${p}`);
      return { path: p, status: res.status, body: await res.text() };
    }));
    const notFound = answers[0]!.body;
    expect(answers.filter((a) => a.status !== 404 || a.body !== notFound)).toEqual([]);
    expect(notFound).not.toMatch(/po-0000/); // the answer does not even echo the number

    // The request log does not hand the capability to whoever reads the log.
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.join('\n')).not.toContain(token(l1));
    expect(lines.some((l) => l.includes('GET /purchaseOrder/po-000001?token=… → 200'))).toBe(true);
  });

  it('a retry with the Idempotency-Key gets the same Location (the key is the client\'s own secret)', async () => {
    const app = await startApp();
    const a = await postOrder(app.url, SEED_ORDER, { 'Idempotency-Key': 'cap-1' });
    const b = await postOrder(app.url, SEED_ORDER, { 'Idempotency-Key': 'cap-1' });
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    expect(b.headers.get('location')).toBe(a.headers.get('location'));
    expect((await fetch(`${app.url}${b.headers.get('location')}`)).status).toBe(200);
  });

  it('/healthz says ok and the name, and nothing about the orders', async () => {
    const app = await startApp();
    for (let i = 0; i < 3; i++) await postOrder(app.url, SEED_ORDER);
    const res = await fetch(`${app.url}/healthz`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ status: 'ok', name: 'app-1' });
    expect(text).not.toMatch(/3/);
  });
});

describe('through the SLB', () => {
  const chain = makeChainDir('orders-capability-');
  let shop: Shop;
  beforeAll(async () => {
    shop = await startShop(chain);
  });
  afterAll(async () => {
    await shop.close();
    fs.rmSync(chain.dir, { recursive: true, force: true });
  });

  const get = (path: string, method = 'GET', body?: string) => rawRequest(shop, { path, method, body });

  it('an order placed through the SLB reads back only with its Location; /healthz has no order count', async () => {
    const placed = await get('/purchaseOrder', 'POST', JSON.stringify({ order: SEED_ORDER }));
    expect(placed.status).toBe(201);
    const location = String(placed.headers['location']);
    expect((await get(location)).status).toBe(200);
    expect((await get(location.split('?')[0]!)).status).toBe(404);

    const health = await get('/healthz');
    expect(health.status).toBe(200);
    expect(Object.keys(JSON.parse(health.body)).sort()).toEqual(['name', 'status']);
  });
});
