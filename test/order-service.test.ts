// The order service over real HTTP: what a client (or the SLB) sees, and what is left on disk.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { OrderStore } from '../servers/order-store.ts';
import { startOrderServer, type RunningOrderServer } from '../servers/order-service.ts';

const SEED = { order: { date: '2018-07-01', className: '趣谈网络协议', Author: '刘超', price: '68' } };

// Everything a test starts is stopped afterwards, in reverse order (servers before their store).
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
  vi.restoreAllMocks();
});

function tempLog(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'order-service-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'orders.jsonl');
}

function openStore(file: string): OrderStore {
  const store = OrderStore.open(file);
  cleanups.push(() => store.close());
  return store;
}

async function startApp(store: OrderStore, name = 'app-1', extra: { trustedProxies?: string[]; log?: (line: string) => void } = {}): Promise<RunningOrderServer> {
  const app = await startOrderServer({ name, store, host: '127.0.0.1', port: 0, ...extra });
  cleanups.push(() => app.close());
  return app;
}

function postOrder(app: RunningOrderServer, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${app.url}/purchaseOrder`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json; charset=utf-8', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** For requests fetch will not send as-is (no Content-Type at all). */
function rawRequest(
  app: RunningOrderServer,
  method: string,
  urlPath: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; json: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${app.url}${urlPath}`, { method, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, json: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function logLines(file: string): any[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}

describe('order service', () => {
  it('takes the seed order: 201, Location with its token, the order on disk and readable back', async () => {
    const file = tempLog();
    const app = await startApp(openStore(file), 'app-1', { trustedProxies: ['127.0.0.1'] }); // as if we were the SLB

    const res = await postOrder(app, SEED, {
      'X-Forwarded-For': '127.10.1.5',
      'X-Forwarded-Proto': 'https',
      'X-Forwarded-Host': 'www.geektime.test',
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toMatch(/^\/purchaseOrder\/po-000001\?token=[A-Za-z0-9_-]{22}$/);
    expect(res.headers.get('x-served-by')).toBe('app-1');
    expect(res.headers.get('x-powered-by')).toBeNull();
    const body = await res.json();
    expect(body).toMatchObject({ id: 'po-000001', order: SEED.order, handledBy: 'app-1' });
    expect(body.forwarded).toEqual({ for: '127.10.1.5', proto: 'https', host: 'www.geektime.test' });
    expect(Number.isNaN(Date.parse(body.createdAt))).toBe(false);

    const again = await fetch(`${app.url}${res.headers.get('location')}`);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ id: 'po-000001', order: SEED.order, createdAt: body.createdAt, handledBy: 'app-1' });

    const lines = logLines(file);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ id: 'po-000001', order: SEED.order });
  });

  it('says forwarded: null for each header when the request did not come through the SLB', async () => {
    const app = await startApp(openStore(tempLog()));
    const body = await (await postOrder(app, SEED)).json();
    expect(body.forwarded).toEqual({ for: null, proto: null, host: null });
  });

  it('believes X-Forwarded-* only from a trusted proxy: from anyone else they are ignored and the real peer is logged', async () => {
    const lines: string[] = [];
    const app = await startApp(openStore(tempLog()), 'app-1', { trustedProxies: ['127.0.0.80'], log: (l) => lines.push(l) });
    const res = await postOrder(app, SEED, { 'X-Forwarded-For': '8.8.8.8', 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'www.geektime.test' });
    expect(res.status).toBe(201);
    expect((await res.json()).forwarded).toEqual({ for: null, proto: null, host: null });
    expect(lines.join('\n')).toMatch(/POST \/purchaseOrder → 201 \(from 127\.0\.0\.1, not through the SLB\)/);
    expect(lines.join('\n')).not.toContain('8.8.8.8');
  });

  it('refuses bad requests with the right status and the field at fault, then still takes orders', async () => {
    const store = openStore(tempLog());
    const app = await startApp(store);

    const malformed = await postOrder(app, '{"order": {"date": ');
    expect(malformed.status).toBe(400);
    const m = await malformed.json();
    expect(m.error).toBe('malformed JSON');
    expect(m.reason).toMatch(/JSON/);

    const { price: _price, ...noPrice } = SEED.order;
    const missing = await postOrder(app, { order: noPrice });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ error: 'invalid order', field: 'order.price' });

    const numberPrice = await postOrder(app, { order: { ...SEED.order, price: 68 } });
    expect(numberPrice.status).toBe(400);
    expect(await numberPrice.json()).toEqual({
      error: 'invalid order',
      field: 'order.price',
      reason: 'must be a decimal string such as "68" or "68.00"',
    });

    const feb30 = await postOrder(app, { order: { ...SEED.order, date: '2018-02-30' } });
    expect(feb30.status).toBe(400);
    const f = await feb30.json();
    expect(f.field).toBe('order.date');
    expect(f.reason).toMatch(/not a real calendar date/);

    const leapDay = await postOrder(app, { order: { ...SEED.order, date: '2019-02-29' } });
    expect(leapDay.status).toBe(400);

    const unknown = await postOrder(app, { order: { ...SEED.order, colour: 'red' } });
    expect(unknown.status).toBe(400);
    const u = await unknown.json();
    expect(u.field).toBe('order.colour');
    expect(u.reason).toMatch(/"colour"/);

    const blankAuthor = await postOrder(app, { order: { ...SEED.order, Author: '   ' } });
    expect((await blankAuthor.json()).field).toBe('order.Author');

    const notAnObject = await postOrder(app, '[1, 2]');
    expect(notAnObject.status).toBe(400);
    expect((await notAnObject.json()).field).toBe('body');

    const text = await fetch(`${app.url}/purchaseOrder`, { method: 'POST', body: JSON.stringify(SEED) });
    expect(text.status).toBe(415); // fetch labels a string body text/plain
    expect((await text.json()).reason).toMatch(/application\/json/);

    const form = await fetch(`${app.url}/purchaseOrder`, { method: 'POST', body: new URLSearchParams({ order: 'x' }) });
    expect(form.status).toBe(415);

    const noType = await rawRequest(app, 'POST', '/purchaseOrder', {}, JSON.stringify(SEED));
    expect(noType.status).toBe(415);
    expect(noType.json.reason).toMatch(/no Content-Type/);

    const gbk = await postOrder(app, SEED, { 'Content-Type': 'application/json; charset=gbk' });
    expect(gbk.status).toBe(415);

    const huge = await postOrder(app, { order: { ...SEED.order, className: 'x'.repeat(20_000) } });
    expect(huge.status).toBe(413);
    expect((await huge.json()).error).toBe('body too large');

    const badKey = await postOrder(app, SEED, { 'Idempotency-Key': 'has a space' });
    expect(badKey.status).toBe(400);
    expect((await badKey.json()).field).toBe('Idempotency-Key');

    const nowhere = await fetch(`${app.url}/nowhere`);
    expect(nowhere.status).toBe(404);
    expect(nowhere.headers.get('content-type')).toMatch(/application\/json/);
    expect(nowhere.headers.get('x-served-by')).toBe('app-1');

    const unknownOrder = await fetch(`${app.url}/purchaseOrder/po-999999`);
    expect(unknownOrder.status).toBe(404);
    expect((await unknownOrder.json()).error).toBe('not found');

    const del = await fetch(`${app.url}/purchaseOrder`, { method: 'DELETE' });
    expect(del.status).toBe(405);
    expect(del.headers.get('allow')).toBe('POST');

    const put = await fetch(`${app.url}/purchaseOrder/po-000001`, { method: 'PUT' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, HEAD');

    // None of that was stored, and the server is still taking orders.
    expect(store.count).toBe(0);
    const ok = await postOrder(app, SEED);
    expect(ok.status).toBe(201);
    expect((await ok.json()).id).toBe('po-000001');
  });

  it('answers the health check with its name only: not how many orders there are', async () => {
    const store = openStore(tempLog());
    const app = await startApp(store, 'app-2');
    await postOrder(app, SEED);
    const res = await fetch(`${app.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', name: 'app-2' });
    // Longer than the SLB's 4 s idle timeout, so the app never closes a pooled connection first.
    expect(app.server.keepAliveTimeout).toBe(10_000);
    expect(app.server.headersTimeout).toBe(12_000);
  });

  it('keeps an order across a restart, and the ids continue', async () => {
    const file = tempLog();
    const store1 = OrderStore.open(file);
    const app1 = await startOrderServer({ name: 'app-1', store: store1, host: '127.0.0.1', port: 0 });
    const placed = await postOrder(app1, SEED);
    const location = placed.headers.get('location');
    await app1.close();
    store1.close();

    const app2 = await startApp(openStore(file));
    const back = await fetch(`${app2.url}${location}`);
    expect(back.status).toBe(200);
    expect((await back.json()).order).toEqual(SEED.order);

    const next = await (await postOrder(app2, SEED)).json();
    expect(next.id).toBe('po-000002');
  });

  it('takes a retried order once: same key, same id, Idempotent-Replayed', async () => {
    const file = tempLog();
    const store = openStore(file);
    const app = await startApp(store);

    const first = await postOrder(app, SEED, { 'Idempotency-Key': 'order-7f3a' });
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const a = await first.json();

    // The same order written differently (key order, spacing) is still the same order.
    const sameOrderOtherBytes = `{ "order": { "price": "68", "Author": "刘超", "className": "趣谈网络协议", "date": "2018-07-01" } }`;
    const retry = await postOrder(app, sameOrderOtherBytes, { 'Idempotency-Key': 'order-7f3a' });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.headers.get('location')).toBe(first.headers.get('location')); // the same capability
    const b = await retry.json();
    expect(b.id).toBe(a.id);
    expect(b.createdAt).toBe(a.createdAt);
    expect(store.count).toBe(1);
    expect(logLines(file)).toHaveLength(1);

    const conflict = await postOrder(app, { order: { ...SEED.order, price: '99' } }, { 'Idempotency-Key': 'order-7f3a' });
    expect(conflict.status).toBe(422);
    const c = await conflict.json();
    expect(c.error).toBeTruthy();
    expect(c.reason).toMatch(/order-7f3a/);
    expect(store.count).toBe(1);
  });

  it('does not duplicate when the retry lands on the other app server sharing the store', async () => {
    const store = openStore(tempLog());
    const app1 = await startApp(store, 'app-1');
    const app2 = await startApp(store, 'app-2');

    const first = await (await postOrder(app1, SEED, { 'Idempotency-Key': 'retry-elsewhere' })).json();
    const retry = await postOrder(app2, SEED, { 'Idempotency-Key': 'retry-elsewhere' });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('x-served-by')).toBe('app-2');
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    const again = await retry.json();
    expect(again.id).toBe(first.id);
    expect(again.handledBy).toBe('app-1'); // app-1 took it; app-2 only answered the retry
    expect(store.count).toBe(1);

    // Many orders at once across both apps: every one gets its own id, none twice.
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => postOrder(i % 2 ? app1 : app2, { order: { ...SEED.order, price: String(i + 1) } })),
    );
    const ids = await Promise.all(responses.map(async (r) => (await r.json()).id));
    expect(new Set(ids).size).toBe(20);
    expect(store.count).toBe(21);
  });

  it('skips a torn last line on open and keeps appending whole lines after it', async () => {
    const file = tempLog();
    const store1 = OrderStore.open(file);
    const app1 = await startOrderServer({ name: 'app-1', store: store1, host: '127.0.0.1', port: 0 });
    await postOrder(app1, SEED);
    await postOrder(app1, SEED);
    await app1.close();
    store1.close();
    // A crash in the middle of writing the third line.
    fs.appendFileSync(file, '{"id":"po-000003","order":{"date":"2018-07-01","classNa');

    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const store2 = openStore(file);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/torn last line/));
    expect(store2.count).toBe(2);

    const app2 = await startApp(store2);
    const res = await postOrder(app2, SEED);
    expect(res.status).toBe(201);
    expect((await res.json()).id).toBe('po-000004'); // the torn line named po-000003: that number is never handed out
    expect(logLines(file).map((r) => r.id)).toEqual(['po-000001', 'po-000002', 'po-000004']);

    store2.close();
    warn.mockClear();
    const store3 = openStore(file);
    expect(store3.count).toBe(3);
    expect(warn).not.toHaveBeenCalled();
  });

  it('sets a damaged line in the middle of the log aside, says where, and keeps going', () => {
    const file = tempLog();
    fs.writeFileSync(file, 'not json po-000005\n{"id":"po-000002","order":{}}\n');
    const lines: string[] = [];
    const store = OrderStore.open(file, { log: (l) => lines.push(l) });
    cleanups.push(() => store.close());
    expect(lines).toEqual([expect.stringMatching(/orders\.jsonl:1: not a valid order record; skipped, and kept in .*orders\.jsonl\.damaged/)]);
    expect(store.problems).toEqual([expect.objectContaining({ line: 1, kind: 'damaged' })]);
    expect(store.count).toBe(1);
    expect(store.create(SEED.order, { handledBy: 'app-1' }).stored.id).toBe('po-000006'); // past anything the damaged line named
  });

  it('logs a failing health check, and stays quiet about passing ones', async () => {
    const store = openStore(tempLog());
    const lines: string[] = [];
    const app = await startOrderServer({ name: 'app-1', store, host: '127.0.0.1', port: 0, log: (l) => lines.push(l) });
    cleanups.push(() => app.close());
    const logged = () => new Promise((resolve) => setImmediate(resolve)); // 'finish' may come just after the client has the answer

    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
    await logged();
    expect(lines).toEqual([]);

    store.close(); // the order log is gone, as far as the app can tell: send orders elsewhere
    expect((await fetch(`${app.url}/healthz`)).status).toBe(503);
    await logged();
    expect(lines).toEqual([expect.stringMatching(/^app-1: GET \/healthz → 503 /)]);
  });

  it('answers 500 without a stack trace when the store fails, and keeps serving', async () => {
    const store = openStore(tempLog());
    const app = await startApp(store);
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    store.close(); // the disk is gone, as far as the app can tell

    const res = await postOrder(app, SEED);
    expect(res.status).toBe(500);
    const body = await res.json();
    expect(body.error).toBe('internal error');
    expect(JSON.stringify(body)).not.toMatch(/at .*\.ts/);
    expect(error).toHaveBeenCalled();
    expect((await fetch(`${app.url}/healthz`)).status).toBe(503); // tells the SLB to send orders elsewhere
    expect((await fetch(`${app.url}/nowhere`)).status).toBe(404); // and still answers
  });

  it('two stores on one log see each other\'s orders and keys (as two processes would)', () => {
    const file = tempLog();
    const one = openStore(file);
    const two = openStore(file);
    const a = one.create(SEED.order, { handledBy: 'app-1', idempotencyKey: 'k-1', requestHash: 'h' }).stored;
    const b = two.create(SEED.order, { handledBy: 'app-2', idempotencyKey: 'k-1', requestHash: 'h' });
    expect(b).toMatchObject({ replayed: true, stored: { id: a.id, token: a.token } });
    expect(two.create(SEED.order, { handledBy: 'app-2' }).stored.id).toBe('po-000002');
    expect(one.read('po-000002', two.get('po-000002')!.token!)?.handledBy).toBe('app-2');
    expect(fs.readdirSync(path.dirname(file)).sort()).toEqual(['orders.jsonl', 'orders.jsonl.lock.d']); // nothing left behind
    expect(fs.readdirSync(`${file}.lock.d`)).toEqual([]); // empty: free
  });

  it('runs alone from the command line and stops cleanly on SIGTERM', async () => {
    const file = tempLog();
    const cli = path.join(import.meta.dirname, '..', 'servers', 'order-service-cli.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', cli, '--name', 'app-9', '--listen', '127.0.0.1:0', '--store', file], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    cleanups.push(() => child.kill('SIGKILL'));
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        out += chunk;
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`exited ${code} before listening:\n${out}`)));
    });

    const res = await fetch(`${url}/purchaseOrder`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(SEED),
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-served-by')).toBe('app-9');

    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(logLines(file)).toHaveLength(1);
  });
});
