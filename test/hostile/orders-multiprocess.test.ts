// Two app servers as separate processes over one order log, under concurrent load with retries
// that land on the other process: no order taken twice, none acknowledged and lost, no number reused.
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { OrderStore, StoreBusy } from '../../servers/order-store.ts';
import { CAN_UNSHARE_PID, SEED_ORDER, logRecords, postOrder, startAppProcess, tempDir, type AppProcess } from './orders-fixture.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
  vi.restoreAllMocks();
});

const ORDERS = 200;
const CONCURRENCY = 16;

interface Answer {
  key: string;
  via: string;
  id: string;
  location: string;
  replayed: boolean;
}

/** POST until it is not 503 (the store was busy: nothing stored, so a retry is the right move). */
async function place(app: AppProcess, name: string, key: string, order: object): Promise<Answer> {
  for (let attempt = 1; ; attempt++) {
    const res = await postOrder(app.url, order, { 'Idempotency-Key': key });
    if (res.status === 503 && attempt < 20) continue;
    const body = await res.json();
    if (res.status !== 201) throw new Error(`${key} via ${name}: ${res.status} ${JSON.stringify(body)}`);
    return { key, via: name, id: body.id, location: res.headers.get('location')!, replayed: res.headers.get('idempotent-replayed') === 'true' };
  }
}

async function loadTwoProcesses(ownPidNamespaces: boolean) {
  const dir = tempDir(cleanups);
  const file = path.join(dir, 'orders.jsonl');
  const apps = [
    await startAppProcess(cleanups, { name: 'app-1', store: file, ownPidNamespace: ownPidNamespaces }),
    await startAppProcess(cleanups, { name: 'app-2', store: file, ownPidNamespace: ownPidNamespaces }),
  ];
  const names = ['app-1', 'app-2'];

  // Each order has its own key. One in four is sent to both processes at the same instant (a
  // client that gave up waiting and retried elsewhere), one in four is retried on the other
  // process after its answer, the rest go once.
  const answers: Answer[] = [];
  let next = 0;
  const worker = async () => {
    while (next < ORDERS) {
      const i = next++;
      const key = `load-${i}-${Math.random().toString(36).slice(2)}`;
      const order = { ...SEED_ORDER, price: String(i + 1) };
      const [a, b] = i % 2 === 0 ? [0, 1] : [1, 0];
      if (i % 4 === 0) {
        answers.push(...(await Promise.all([place(apps[a]!, names[a]!, key, order), place(apps[b]!, names[b]!, key, order)])));
      } else if (i % 4 === 1) {
        answers.push(await place(apps[a]!, names[a]!, key, order));
        answers.push(await place(apps[b]!, names[b]!, key, order));
      } else {
        answers.push(await place(apps[a]!, names[a]!, key, order));
      }
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const ms = Date.now() - started;

  expect(await apps[0]!.stop()).toBe(0);
  expect(await apps[1]!.stop()).toBe(0);
  return { file, answers, ms };
}

function check({ file, answers, ms }: { file: string; answers: Answer[]; ms: number }) {
  // What is on disk: one record per key, every number once, every acknowledged order there.
  const records = logRecords(file);
  const keysOnDisk = records.map((r) => r.idempotencyKey);
  const idsOnDisk = records.map((r) => r.id);
  const duplicates = keysOnDisk.length - new Set(keysOnDisk).size;
  const reusedIds = idsOnDisk.length - new Set(idsOnDisk).size;
  const onDisk = new Set(records.map((r) => `${r.idempotencyKey} ${r.id}`));
  const byKey = new Map<string, Answer[]>();
  for (const a of answers) byKey.set(a.key, [...(byKey.get(a.key) ?? []), a]);
  const lost = answers.filter((a) => !onDisk.has(`${a.key} ${a.id}`)).length; // acknowledged, yet not on disk as told
  console.log(`${ORDERS} orders (${answers.length} requests) over 2 processes in ${ms} ms: ${duplicates} duplicates, ${reusedIds} reused ids, ${lost} lost`);

  // What the clients were told: per key one id and one Location, and only one answer that was not a replay.
  expect(byKey.size).toBe(ORDERS);
  const keysWithTwoOrders = [...byKey.values()].filter((as) => new Set(as.map((a) => a.id)).size > 1 || as.filter((a) => !a.replayed).length !== 1);
  expect(keysWithTwoOrders).toEqual([]);
  const ackedIds = [...byKey.values()].map((as) => as[0]!.id);
  expect(new Set(ackedIds).size).toBe(ORDERS);

  expect({ records: records.length, duplicates, reusedIds, lost }).toEqual({ records: ORDERS, duplicates: 0, reusedIds: 0, lost: 0 });

  // After a restart every acknowledged order is readable with its Location's token.
  const store = OrderStore.open(file);
  cleanups.push(() => store.close());
  expect(store.count).toBe(ORDERS);
  for (const as of byKey.values()) {
    const url = new URL(as[0]!.location, 'http://x');
    expect(store.read(url.pathname.split('/').pop()!, url.searchParams.get('token')!)?.id).toBe(as[0]!.id);
  }
}

describe('two app server processes, one order log', () => {
  it(`${ORDERS} orders with retries to the other process: no duplicate, none lost, no number reused`, { timeout: 90_000 }, async () => {
    check(await loadTwoProcesses(false));
  });

  // Two containers sharing a volume: both apps are pid 1, and neither can see the other's pid.
  it.skipIf(!CAN_UNSHARE_PID)('the same with each process in its own pid namespace (both are pid 1)', { timeout: 90_000 }, async () => {
    check(await loadTwoProcesses(true));
  });

  it('an order placed on one process is readable on the other, with the token only', async () => {
    const file = path.join(tempDir(cleanups), 'orders.jsonl');
    const one = await startAppProcess(cleanups, { name: 'app-1', store: file });
    const two = await startAppProcess(cleanups, { name: 'app-2', store: file });
    const res = await postOrder(one.url, SEED_ORDER);
    expect(res.status).toBe(201);
    const location = res.headers.get('location')!;
    const read = await fetch(`${two.url}${location}`);
    expect(read.status).toBe(200);
    expect((await read.json()).handledBy).toBe('app-1');
    expect((await fetch(`${two.url}${location.split('?')[0]}`)).status).toBe(404);
  });
});

describe('the lock of a process killed while writing', () => {
  it('is taken over, the torn line set aside, and its number not handed out again', async () => {
    const dir = tempDir(cleanups);
    const file = path.join(dir, 'orders.jsonl');
    // A process that writes half of its second order and is killed right there, holding the lock.
    const storeModule = pathToFileURL(path.join(import.meta.dirname, '..', '..', 'servers', 'order-store.ts')).href;
    const script = `
      import fs from 'node:fs';
      const { OrderStore } = await import(${JSON.stringify(storeModule)});
      const store = OrderStore.open(${JSON.stringify(file)});
      store.create(${JSON.stringify(SEED_ORDER)}, { handledBy: 'doomed' });
      const write = fs.writeSync;
      fs.writeSync = (fd, buf, off) => { write(fd, buf, off, 60); process.kill(process.pid, 'SIGKILL'); };
      store.create(${JSON.stringify(SEED_ORDER)}, { handledBy: 'doomed' });`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: 'inherit' });
    cleanups.push(() => child.kill('SIGKILL'));
    const signal = await new Promise((resolve) => child.once('exit', (_code, sig) => resolve(sig)));
    expect(signal).toBe('SIGKILL');
    expect(fs.readdirSync(`${file}.lock.d`)).toEqual([expect.stringMatching(new RegExp(`^${child.pid}\\.`))]);

    const app = await startAppProcess(cleanups, { name: 'app-1', store: file });
    expect(app.output()).toMatch(new RegExp(`removing ${child.pid}\\.\\S+, left by process ${child.pid} which is gone`));
    expect(app.output()).toMatch(/orders\.jsonl:2: a torn last line/);
    const res = await postOrder(app.url, SEED_ORDER);
    expect(res.status).toBe(201);
    expect((await res.json()).id).toBe('po-000003'); // the torn line named po-000002
    expect(logRecords(file).map((r) => r.id)).toEqual(['po-000001', 'po-000003']);
    expect(logRecords(`${file}.damaged`)).toEqual([expect.objectContaining({ line: 2, kind: 'torn', text: expect.stringContaining('"po-000002"') })]);
  });

  it('is not taken from a live process: the order waits, gets StoreBusy, nothing of it is stored', async () => {
    const file = path.join(tempDir(cleanups), 'orders.jsonl');
    const lines: string[] = [];
    const store = OrderStore.open(file, { lockTimeoutMs: 300, log: (l) => lines.push(l) });
    cleanups.push(() => store.close());
    // A process stuck inside its critical section (its fsync never returns), alive and holding the lock.
    const storeModule = pathToFileURL(path.join(import.meta.dirname, '..', '..', 'servers', 'order-store.ts')).href;
    const script = `
      import fs from 'node:fs';
      const { OrderStore } = await import(${JSON.stringify(storeModule)});
      const store = OrderStore.open(${JSON.stringify(file)});
      fs.fsyncSync = () => { console.log('holding'); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); };
      store.create(${JSON.stringify(SEED_ORDER)}, { handledBy: 'stuck' });`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanups.push(() => child.kill('SIGKILL'));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await new Promise<void>((resolve) => child.stdout.setEncoding('utf8').on('data', (c: string) => c.includes('holding') && resolve()));

    expect(() => store.create(SEED_ORDER, { handledBy: 'app-1' })).toThrow(StoreBusy);
    expect(logRecords(file).map((r) => r.handledBy)).toEqual(['stuck']); // its line, unacknowledged; none of ours

    child.kill('SIGKILL');
    await exited;
    expect(store.create(SEED_ORDER, { handledBy: 'app-1' }).stored.id).toBe('po-000002');
    expect(lines).toEqual([expect.stringMatching(new RegExp(`left by process ${child.pid} which is gone`))]);
    expect(logRecords(file).map((r) => r.handledBy)).toEqual(['stuck', 'app-1']);
  });
});
