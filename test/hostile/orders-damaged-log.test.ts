// A damaged order log must not stop the lab: unreadable lines are set aside with their line
// numbers and reported, and no order number they might hold is handed out again.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OrderStore } from '../../servers/order-store.ts';
import { SEED_ORDER, logRecords, postOrder, startAppProcess, tempDir } from './orders-fixture.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const record = (n: number) => JSON.stringify({ id: `po-${String(n).padStart(6, '0')}`, token: 'x'.repeat(22), order: SEED_ORDER, createdAt: '2026-01-01T00:00:00.000Z', handledBy: 'app-1' });

/** Lines 1-2 good, 3 damaged (a flipped byte in an order that was po-000007), 4 good, 5 binary junk, 6 good, then a torn tail. */
function damagedLog(dir: string): string {
  const file = path.join(dir, 'orders.jsonl');
  const damaged = record(7).replace('"order":{', '"order":\u0000{');
  fs.writeFileSync(file, [record(1), record(2), damaged, record(3), '\u0001\u0002garbage', record(4), ''].join('\n') + record(8).slice(0, 40));
  return file;
}

describe('a damaged order log', () => {
  it('the app server still starts, says which lines and where they went, and takes orders past their numbers', async () => {
    const file = damagedLog(tempDir(cleanups));
    const app = await startAppProcess(cleanups, { name: 'app-1', store: file });
    const res = await postOrder(app.url, SEED_ORDER);
    expect(res.status).toBe(201);
    expect((await res.json()).id).toBe('po-000009'); // past po-000007 and po-000008, which damaged lines named
    expect(await app.stop()).toBe(0);

    const out = app.output();
    expect(out).toMatch(/orders\.jsonl:3: not a valid order record/);
    expect(out).toMatch(/orders\.jsonl:5: not a valid order record/);
    expect(out).toMatch(/orders\.jsonl:7: a torn last line \(a crash mid-write, never acknowledged\)/);
    expect(out).toMatch(/3 unreadable line\(s\) in the order log \(line 3, 5, 7\), copied to .*orders\.jsonl\.damaged/);

    // The damaged lines stay where they were (other processes may be reading the log); the torn tail is cut off.
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    expect(lines).toHaveLength(8);
    expect(lines[6]).toMatch(/"po-000009"/);
    const setAside = logRecords(`${file}.damaged`);
    expect(setAside.map((e) => [e.line, e.kind])).toEqual([[3, 'damaged'], [5, 'damaged'], [7, 'torn']]);
    expect(setAside[0].text).toContain('"po-000007"');
  });

  it('opening again reports the damaged lines again, but copies them only once, and the torn one is gone', () => {
    const file = damagedLog(tempDir(cleanups));
    OrderStore.open(file, { log: () => {} }).close();
    const reports: string[] = [];
    const store = OrderStore.open(file, { log: (l) => reports.push(l) });
    cleanups.push(() => store.close());
    expect(store.problems.map((p) => [p.line, p.kind])).toEqual([[3, 'damaged'], [5, 'damaged']]);
    expect(reports).toHaveLength(2);
    expect(logRecords(`${file}.damaged`)).toHaveLength(3);
    expect(store.count).toBe(4);
    expect(store.create(SEED_ORDER, { handledBy: 'app-1' }).stored.id).toBe('po-000009');
  });

  it('a torn last line alone: cut off quietly (one report line, kept aside), the number it named skipped', () => {
    const file = path.join(tempDir(cleanups), 'orders.jsonl');
    fs.writeFileSync(file, `${record(1)}\n${record(2).slice(0, 25)}`);
    const reports: string[] = [];
    const store = OrderStore.open(file, { log: (l) => reports.push(l) });
    cleanups.push(() => store.close());
    expect(reports).toEqual([expect.stringMatching(/:2: a torn last line/)]);
    expect(store.problems).toEqual([expect.objectContaining({ line: 2, kind: 'torn' })]);
    expect(fs.readFileSync(file, 'utf8')).toBe(`${record(1)}\n`);
    expect(store.create(SEED_ORDER, { handledBy: 'app-1' }).stored.id).toBe('po-000003');
  });

  it('a whole last record that only lost its newline is kept, and the next order starts on its own line', () => {
    const file = path.join(tempDir(cleanups), 'orders.jsonl');
    fs.writeFileSync(file, `${record(1)}\n${record(2)}`);
    const reports: string[] = [];
    const store = OrderStore.open(file, { log: (l) => reports.push(l) });
    cleanups.push(() => store.close());
    expect(reports).toEqual([]);
    expect(store.create(SEED_ORDER, { handledBy: 'app-1' }).stored.id).toBe('po-000003');
    expect(logRecords(file).map((r) => r.id)).toEqual(['po-000001', 'po-000002', 'po-000003']);
  });

  it('a className that looks like the last order number, in a damaged line, does not use up the numbers; the next order stays readable after a restart', () => {
    const file = path.join(tempDir(cleanups), 'orders.jsonl');
    // Line 2 was po-000002, placed by a client whose className reads like an order number, then damaged.
    const sneaky = JSON.stringify({ id: 'po-000002', token: 'x'.repeat(22), order: { ...SEED_ORDER, className: 'po-999999999999999' }, createdAt: '2026-01-01T00:00:00.000Z', handledBy: 'app-1' });
    fs.writeFileSync(file, `${record(1)}\n${sneaky.replace('"order":{', '"order":\u0000{')}\n`);
    const store = OrderStore.open(file, { log: () => {} });
    const { stored } = store.create(SEED_ORDER, { handledBy: 'app-1' });
    store.close();
    expect(stored.id).toBe('po-000003'); // past the damaged line's own number, not past the client's text

    const reopened = OrderStore.open(file, { log: () => {} });
    cleanups.push(() => reopened.close());
    expect(reopened.read(stored.id, stored.token!)?.id).toBe(stored.id);
    expect(reopened.problems.map((p) => p.line)).toEqual([2]);
  });

  it('past the last number the reader accepts (15 digits): 503 and a log line saying why, nothing stored', async () => {
    const file = path.join(tempDir(cleanups), 'orders.jsonl');
    fs.writeFileSync(file, `${record(999_999_999_999_999)}\n`);
    const before = fs.readFileSync(file, 'utf8');
    const app = await startAppProcess(cleanups, { name: 'app-1', store: file });
    const res = await postOrder(app.url, SEED_ORDER);
    expect(res.status).toBe(503);
    expect(await app.stop()).toBe(0);
    expect(app.output()).toMatch(/order numbers are used up \(the next would be po-1000000000000000, over 999999999999999\); nothing was stored/);
    expect(fs.readFileSync(file, 'utf8')).toBe(before);
  });
});
