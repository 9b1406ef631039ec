// Reading orders back is open to anyone with a URL, so a miss must be cheap: GETs for unknown or
// garbage ids must not take the order log's lock (its file operations block the event loop that
// every role shares, and a lock held by another process would block it for up to lockTimeoutMs).
// An order another process wrote must still be readable.
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { OrderStore } from '../../servers/order-store.ts';
import { startOrderServer } from '../../servers/order-service.ts';
import { SEED_ORDER, postOrder, tempDir } from './orders-fixture.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
  vi.restoreAllMocks();
});

async function appOn(file: string, lockTimeoutMs = 10_000) {
  const store = OrderStore.open(file, { lockTimeoutMs });
  cleanups.push(() => store.close());
  const app = await startOrderServer({ name: 'app-1', store, host: '127.0.0.1', port: 0 });
  cleanups.push(() => app.close());
  return { store, app };
}

const GARBAGE = ['zzz', 'x', 'po-', 'po-abc', '..%2F..%2Fetc%2Fpasswd', 'po-0000000000000001', 'PO-000001', `po-${'9'.repeat(40)}`];

describe('reading unknown orders', () => {
  it('400 GETs for unknown and garbage ids: all 404, and not one takes the lock', async () => {
    const file = path.join(tempDir(cleanups), 'orders.jsonl');
    const { store, app } = await appOn(file);
    const placed = await postOrder(app.url, SEED_ORDER);
    expect(placed.status).toBe(201);

    // The lock is taken by renaming a private directory onto <log>.lock.d: count those renames.
    const renames = vi.spyOn(fs, 'renameSync');
    const ids = Array.from({ length: 400 }, (_, i) => (i % 2 === 0 ? GARBAGE[i % GARBAGE.length]! : `po-${String(2 + i).padStart(6, '0')}`));
    const statuses: number[] = [];
    for (let i = 0; i < ids.length; i += 50) {
      const batch = ids.slice(i, i + 50).map((id) => fetch(`${app.url}/purchaseOrder/${id}?token=y`).then((r) => r.status));
      statuses.push(...(await Promise.all(batch)));
    }
    expect(new Set(statuses)).toEqual(new Set([404]));
    expect(renames).not.toHaveBeenCalled();

    // What one miss costs the event loop, measured on the store itself.
    const started = process.hrtime.bigint();
    for (let i = 0; i < 4000; i++) store.get(i % 2 === 0 ? 'zzz' : `po-${String(100 + i).padStart(6, '0')}`);
    const usPerGet = Number(process.hrtime.bigint() - started) / 1000 / 4000;
    console.log(`a miss costs ${usPerGet.toFixed(1)} µs of event loop (4000 store.get of unknown ids)`);
    expect(renames).not.toHaveBeenCalled();

    // The order that exists is still there, with its token.
    expect((await fetch(`${app.url}${placed.headers.get('location')}`)).status).toBe(200);
  });

  it('another process holding the lock: an order it wrote is read at once, and misses answer 404 at once (not after the lock timeout)', async () => {
    const file = path.join(tempDir(cleanups), 'orders.jsonl');
    const { app } = await appOn(file, 3_000); // opened before the other process writes anything
    // Another process: places an order (acknowledged: fsynced), tells us its id and token, then
    // hangs inside its next critical section (its fsync never returns), holding the lock.
    const storeModule = pathToFileURL(path.join(import.meta.dirname, '..', '..', 'servers', 'order-store.ts')).href;
    const script = `
      import fs from 'node:fs';
      const { OrderStore } = await import(${JSON.stringify(storeModule)});
      const store = OrderStore.open(${JSON.stringify(file)});
      const { stored } = store.create(${JSON.stringify(SEED_ORDER)}, { handledBy: 'app-2' });
      fs.fsyncSync = () => { console.log('holding ' + stored.id + ' ' + stored.token); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); };
      store.create(${JSON.stringify(SEED_ORDER)}, { handledBy: 'app-2' });`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanups.push(() => child.kill('SIGKILL'));
    const [, id, token] = await new Promise<string[]>((resolve) => {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => {
        out += c;
        const m = /holding (\S+) (\S+)/.exec(out);
        if (m) resolve([...m]);
      });
    });
    expect(fs.readdirSync(`${file}.lock.d`)).toEqual([expect.stringMatching(new RegExp(`^${child.pid}\\.`))]);

    const timed = async (url: string) => {
      const started = Date.now();
      const res = await fetch(url);
      return { status: res.status, ms: Date.now() - started, body: await res.json() };
    };
    const read = await timed(`${app.url}/purchaseOrder/${id}?token=${token}`);
    expect(read.status).toBe(200);
    expect(read.body.handledBy).toBe('app-2');
    for (const miss of ['zzz', 'po-000001', 'po-000999']) {
      const r = await timed(`${app.url}/purchaseOrder/${miss}?token=y`);
      expect(r.status).toBe(404);
      expect(r.ms).toBeLessThan(1_000); // the old code waited the whole 3 s lock timeout, then 503
    }
    expect(read.ms).toBeLessThan(1_000);
  });

  it('a damaged line appended after open: the lock-free read stops before it, the catch-up under the lock sets it aside, the order after it is found', () => {
    const file = path.join(tempDir(cleanups), 'orders.jsonl');
    const reports: string[] = [];
    const store = OrderStore.open(file, { log: (l) => reports.push(l) });
    cleanups.push(() => store.close());
    const record = (n: number) => JSON.stringify({ id: `po-00000${n}`, token: 't'.repeat(22), order: SEED_ORDER, createdAt: '2026-01-01T00:00:00.000Z', handledBy: 'app-2' });
    fs.appendFileSync(file, `${record(1).replace('"order":{', '"order":\u0000{')}\n${record(2)}\n`);
    expect(store.read('po-000002', 't'.repeat(22))?.handledBy).toBe('app-2');
    expect(reports).toEqual([expect.stringMatching(/orders\.jsonl:1: not a valid order record/)]);
    expect(store.create(SEED_ORDER, { handledBy: 'app-1' }).stored.id).toBe('po-000003');
  });
});
