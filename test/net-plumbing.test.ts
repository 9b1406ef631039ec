// The plumbing every role shares: the capped log and the connection limits, over real files and sockets.
import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { LogFile } from '../servers/net/log-file.ts';
import { withoutToken } from '../servers/net/redact.ts';
import { guardConnections, progressDeadline } from '../servers/net/limits.ts';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'plumbing-'));

describe('LogFile', () => {
  it('rotates at the cap, keeps N old files, and creates them 0600', async () => {
    const file = path.join(tmp(), 'walks.jsonl');
    const log = new LogFile({ file, maxBytes: 1000, keep: 2 });
    for (let i = 0; i < 100; i++) log.write(`line ${String(i).padStart(3, '0')} ${'x'.repeat(90)}`); // 100 B each
    await log.flush();
    const dir = path.dirname(file);
    const files = fs.readdirSync(dir).sort();
    expect(files).toEqual(['walks.jsonl', 'walks.jsonl.1', 'walks.jsonl.2']);
    let total = 0;
    for (const f of files) {
      const st = fs.statSync(path.join(dir, f));
      expect(st.size).toBeLessThanOrEqual(1000);
      expect(st.mode & 0o777).toBe(0o600);
      total += st.size;
    }
    expect(total).toBeLessThanOrEqual(3000);
    // The newest line is in the current file, whole.
    expect(fs.readFileSync(file, 'utf8').trimEnd().split('\n').at(-1)).toMatch(/^line 099 x+$/);
    expect(log.stats.rotations).toBeGreaterThan(0);
  });

  it('drops lines beyond the queue instead of holding them in memory', async () => {
    const file = path.join(tmp(), 'q.log');
    const log = new LogFile({ file, maxQueuedBytes: 500 });
    for (let i = 0; i < 50; i++) log.write('y'.repeat(99));
    expect(log.stats.dropped).toBeGreaterThan(0);
    await log.flush();
    expect(log.stats.written + log.stats.dropped).toBe(50);
  });

  it('never throws when the file cannot be written, says so once, and recovers', async () => {
    const dir = tmp();
    const file = path.join(dir, 'gone', 'keylog.txt'); // its folder does not exist
    const problems: string[] = [];
    const log = new LogFile({ file, onProblem: (m) => problems.push(m) });
    for (let i = 0; i < 5; i++) {
      log.write('CLIENT_RANDOM aa bb');
      await log.flush();
    }
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/cannot write .*keylog\.txt \(ENOENT\)/);
    expect(log.stats.failed).toBe(5);
    fs.mkdirSync(path.dirname(file));
    log.write('CLIENT_RANDOM cc dd');
    await log.flush();
    expect(problems[1]).toMatch(/works again/);
    expect(fs.readFileSync(file, 'utf8')).toBe('CLIENT_RANDOM cc dd\n');
  });
});

/** Poll until `ok()`, at most `ms`: no fixed sleep that a loaded machine could outrun. */
async function until(what: string, ok: () => boolean, ms = 5_000): Promise<void> {
  for (const end = Date.now() + ms; !ok(); await new Promise((r) => setTimeout(r, 5))) {
    if (Date.now() > end) throw new Error(`waited ${ms} ms for ${what}`);
  }
}

describe('connection limits', () => {
  async function server(limits: { maxConnections: number; maxPerClient: number; silentMs?: number }) {
    const held: net.Socket[] = [];
    const srv = net.createServer((s) => held.push(s));
    const reports: string[] = [];
    const guard = guardConnections(srv, limits, (l) => reports.push(l));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    return { srv, guard, reports, port, held };
  }
  const connect = (port: number, localAddress = '127.0.0.1') =>
    new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ port, host: '127.0.0.1', localAddress }, () => resolve(s));
      s.on('error', reject);
    });

  it('closes connections over the per-client cap at once, and counts them', async () => {
    const { srv, guard, reports, port } = await server({ maxConnections: 100, maxPerClient: 3 });
    const mine = await Promise.all([1, 2, 3, 4, 5].map(() => connect(port)));
    mine.forEach((s) => s.on('error', () => {}));
    // Two of five are closed by the server, whichever arrived last; the other three stay open.
    await until('the server to see all five', () => guard.active() + guard.refused() === 5);
    await until('two of them to be closed', () => mine.filter((s) => s.destroyed).length >= 2);
    expect(guard.refused()).toBe(2);
    expect(guard.active()).toBe(3);
    expect(mine.filter((s) => s.destroyed)).toHaveLength(2);
    // Another client address still gets in.
    const other = await connect(port, '127.0.0.2');
    await until('the other client to be counted', () => guard.active() === 4);
    expect(other.destroyed).toBe(false);
    expect(guard.refused()).toBe(2);
    expect(reports[0]).toMatch(/refused 1 connection\(s\): 127\.0\.0\.1 holds 3, the per-client cap is 3/);
    for (const s of [...mine, other]) s.destroy();
    srv.close();
  });

  it('at the cap, a connection that never sent a byte gives its place to a newcomer; one that talks keeps it', async () => {
    const { srv, guard, port } = await server({ maxConnections: 3, maxPerClient: 3, silentMs: 200 });
    const talker = await connect(port);
    talker.write('hello'); // it has said something: never evicted
    const silent = [await connect(port, '127.0.0.2'), await connect(port, '127.0.0.3')];
    for (const s of [talker, ...silent]) s.on('error', () => {});
    await until('three held', () => guard.active() === 3);
    // Younger than silentMs: the newcomer is refused, nobody is evicted.
    const early = await connect(port, '127.0.0.4');
    early.on('error', () => {});
    await until('the early newcomer refused', () => guard.refused() === 1);
    await new Promise((r) => setTimeout(r, 300));
    const late = await connect(port, '127.0.0.5');
    late.on('error', () => {});
    await until('one silent connection evicted', () => guard.evicted() === 1);
    await until('the oldest silent one closed', () => silent[0]!.destroyed); // it made room
    expect(silent[1]!.destroyed).toBe(false);
    expect(talker.destroyed).toBe(false);
    expect(late.destroyed).toBe(false);
    expect(guard.active()).toBe(3);
    for (const s of [talker, ...silent, early, late]) s.destroy();
    srv.close();
  });

  it('frees a slot when a connection closes', async () => {
    const { srv, guard, port } = await server({ maxConnections: 1, maxPerClient: 1 });
    const a = await connect(port);
    await until('a to be counted', () => guard.active() === 1);
    a.destroy();
    await until('a to be let go', () => guard.active() === 0);
    const b = await connect(port);
    await until('b to be counted', () => guard.active() === 1);
    expect(b.destroyed).toBe(false);
    expect(guard.refused()).toBe(0);
    b.destroy();
    srv.close();
  });

  it('release(socket) frees the slot at once, and its close later does not free it twice', async () => {
    const { srv, guard, port, held } = await server({ maxConnections: 1, maxPerClient: 1 });
    const a = await connect(port);
    a.on('error', () => {});
    await until('a to be counted', () => held.length === 1);
    held[0]!.destroy();
    guard.release(held[0]!);
    guard.release(held[0]!);
    expect(guard.active()).toBe(0); // at once, before the 'close' event
    const b = await connect(port);
    await until('b to be counted', () => guard.active() === 1);
    await until('a to see its close', () => a.destroyed);
    await new Promise((r) => setImmediate(r));
    expect(guard.active()).toBe(1); // a's close did not take b's slot
    expect(guard.refused()).toBe(0);
    b.destroy();
    srv.close();
  });

  it('a trickle of bytes does not hold off the deadline; whole messages do', async () => {
    // A 1 s deadline: a loaded CI machine may stall the event loop for a few hundred ms.
    const expired: string[] = [];
    const srv = net.createServer((s) => {
      const d = progressDeadline(s, 1_000, () => expired.push('expired'));
      s.on('data', (chunk) => {
        if (chunk.includes('\n')) d.progress(); // a "message" ends with a newline
      });
      s.on('error', () => {});
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    const trickler = await connect(port);
    trickler.on('error', () => {});
    const drip = setInterval(() => trickler.write('x'), 100);
    await until('the trickler to be closed', () => trickler.destroyed, 10_000);
    clearInterval(drip);
    expect(expired).toEqual(['expired']);

    const talker = await connect(port);
    talker.on('error', () => {});
    const talk = setInterval(() => talker.write('hello\n'), 250);
    await new Promise((r) => setTimeout(r, 2_500)); // 2.5 deadlines, with progress every quarter of one
    expect(talker.destroyed).toBe(false);
    expect(expired).toEqual(['expired']);
    clearInterval(talk);
    talker.destroy();
    srv.close();
  });
});

describe('withoutToken', () => {
  it('hides the token however its name is spelled, and nothing else', () => {
    expect(withoutToken('/purchaseOrder/po-000007?token=abc')).toBe('/purchaseOrder/po-000007?token=…');
    expect(withoutToken('/purchaseOrder/po-000007?%74oken=abc')).toBe('/purchaseOrder/po-000007?%74oken=…');
    expect(withoutToken('/purchaseOrder/po-000007?tok%65n=abc&x=1')).toBe('/purchaseOrder/po-000007?tok%65n=…&x=1');
    expect(withoutToken('/p?TOKEN=abc#frag')).toBe('/p?TOKEN=…#frag');
    expect(withoutToken('/p?tokens=abc&%zz=1')).toBe('/p?tokens=abc&%zz=1');
    expect(withoutToken('/p')).toBe('/p');
  });
});

describe('LogFile and links', () => {
  it('refuses to write through a link put in its place, and keeps its file 0600', async () => {
    const dir = tmp();
    const file = path.join(dir, 'keylog.txt');
    const problems: string[] = [];
    const log = new LogFile({ file, onProblem: (m) => problems.push(m) });
    fs.writeFileSync(file, '', { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    log.write('CLIENT_RANDOM aa bb');
    await log.flush();
    expect(fs.statSync(file).mode & 0o777).toBe(0o600); // tightened
    const elsewhere = path.join(dir, 'world-readable.txt');
    fs.writeFileSync(elsewhere, '');
    fs.rmSync(file);
    fs.symlinkSync(elsewhere, file);
    log.write('CLIENT_RANDOM cc dd');
    await log.flush();
    expect(fs.readFileSync(elsewhere, 'utf8')).toBe('');
    expect(problems.join('\n')).toMatch(/cannot write .*keylog\.txt \(ELOOP\)/);
  });
});
