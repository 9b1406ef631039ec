// The workshop's checkers are honest: each fails on a fresh lab (and on a trivial answer), and
// passes after the test has done the exercise's steps the way a learner would, with dig, curl,
// openssl, tcpdump and tshark against the running lab. Exercises 10 and 11 need the lab in
// namespaces (root).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asked } from '../lab/exercises/exercise.ts';
import { EXERCISES } from '../lab/exercises/index.ts';
import type { LabState } from '../lab/state.ts';
import { spawn } from 'node:child_process';
import { cleanup, freshLabDir, labCli, onPath, run, SEED_BODY, SHOP_HOST, startUp, TSX, type Finished, type UpLab } from './lab-process.ts';

const tools = Object.fromEntries(await Promise.all(['dig', 'curl', 'openssl', 'tcpdump', 'tshark', 'traceroute', 'xxd'].map(async (t) => [t, await onPath(t)] as const)));
const linux = os.platform() === 'linux';
const root = linux && process.getuid?.() === 0;
const check = (dir: string, n: number, ...answers: string[]) => labCli(dir, ['check', String(n), ...answers]);
const passed = (r: Finished) => r.code === 0 && /\nDone\.\n?$/.test(r.stdout);

/** Sections of a dig answer: the records (owner, ttl, type, data) of ANSWER, AUTHORITY and ADDITIONAL. */
async function dig(args: string[]): Promise<Record<'ANSWER' | 'AUTHORITY' | 'ADDITIONAL', Array<{ name: string; ttl: number; type: string; data: string }>>> {
  const out = (await run('dig', args, { timeoutMs: 10_000 })).stdout;
  const sections = { ANSWER: [], AUTHORITY: [], ADDITIONAL: [] } as Record<'ANSWER' | 'AUTHORITY' | 'ADDITIONAL', Array<{ name: string; ttl: number; type: string; data: string }>>;
  let at: keyof typeof sections | undefined;
  for (const line of out.split('\n')) {
    const head = /^;; (ANSWER|AUTHORITY|ADDITIONAL) SECTION:/.exec(line);
    if (head) at = head[1] as keyof typeof sections;
    else if (!line.trim()) at = undefined;
    else if (at && !line.startsWith(';')) {
      const [name, ttl, , type, ...data] = line.split(/\s+/);
      sections[at].push({ name: name!, ttl: Number(ttl), type: type!, data: data.join(' ') });
    }
  }
  return sections;
}

describe('the exercises', () => {
  it('number at least twelve, each with its page, answers it asks for, and a seed section', () => {
    const dir = path.resolve('lab/exercises');
    expect(EXERCISES.length).toBeGreaterThanOrEqual(12);
    EXERCISES.forEach((e, i) => {
      expect(e.n).toBe(i + 1);
      const page = fs.readFileSync(path.join(dir, 'en', `${String(e.n).padStart(2, '0')}-${e.slug}.md`), 'utf8');
      expect(page, e.slug).toMatch(/\*\*Goal\.\*\*[\s\S]*\*\*Steps\.\*\*[\s\S]*\*\*Questions\.\*\*[\s\S]*\*\*Check\.\*\*/);
      expect(page).toContain(`check ${e.n}`);
      for (const name of asked(e)) expect(page, `${e.slug} names ${name}=`).toContain(`${name}=`);
      expect(e.seed).toMatch(/^§[456]$/);
    });
    expect(fs.readFileSync(path.join(dir, 'README.md'), 'utf8')).toMatch(/90-minute[\s\S]*half-day[\s\S]*check --all/);
  });
});

describe.skipIf(!linux)('on a running lab (loopback), each checker fails first and passes after the steps', () => {
  let lab: UpLab;
  let walked: string; // a lab folder with a finished walkthrough (classic), for 7 and 8
  const role = (name: string) => lab.role(name);
  const state = () => JSON.parse(fs.readFileSync(path.join(lab.labDir, 'state.json'), 'utf8')) as LabState;

  beforeAll(async () => {
    lab = await startUp();
    walked = freshLabDir();
    const w = await run(TSX, ['lab/cli.ts', '--ephemeral'], { env: { ...process.env, LAB_DIR: walked, NO_COLOR: '1' }, timeoutMs: 60_000 });
    expect(w.code, w.stderr).toBe(0);
  }, 90_000);
  afterAll(cleanup);

  it('every checker with answers fails on a trivial answer (all "1"), and without the lab says to start it', async () => {
    for (const e of EXERCISES.filter((x) => asked(x).length && x.needs === 'lab')) {
      const r = await check(lab.labDir, e.n, ...asked(e).map((k) => `${k}=1`));
      expect(passed(r), `${e.n} ${r.stdout}`).toBe(false);
      expect(r.stdout).toMatch(/✗/);
    }
    const none = await check(freshLabDir(), 1, 'tld=1', 'shop=1', 'cname=1');
    expect(none.stdout).toMatch(/no lab is running.*npm run lab -- up/);
    const bad = await check(lab.labDir, 1, 'nope=1');
    expect(bad.stderr).toMatch(/asks for no "nope"; it asks for tld, shop, cname/);
  }, 60_000);

  it.skipIf(!tools.dig)('1: the DNS walk with dig +norec, from the root to the CNAME', async () => {
    expect(passed(await check(lab.labDir, 1))).toBe(false);
    const server = (address: string) => lab.state.roles.find((r) => r.host === address && r.protocol === 'dns')!;
    const rootRef = await dig(['+norec', `@${role('root').host}`, '-p', String(role('root').port), 'static.geektime.test']);
    const tld = rootRef.ADDITIONAL.find((r) => r.type === 'A')!.data;
    const tldRef = await dig(['+norec', `@${tld}`, '-p', String(server(tld).port), 'static.geektime.test']);
    const shop = tldRef.ADDITIONAL.find((r) => r.type === 'A')!.data;
    const answer = await dig(['+norec', `@${shop}`, '-p', String(server(shop).port), 'static.geektime.test']);
    const cname = answer.ANSWER.find((r) => r.type === 'CNAME')!.data;
    const wrongOne = await check(lab.labDir, 1, `tld=${tld}`, `shop=${tld}`, `cname=${cname}`);
    expect(wrongOne.stdout).toMatch(/✓ tld[\s\S]*✗ shop: [\d.]+ is not where the TLD refers you/);
    expect(wrongOne.stdout).not.toContain(shop); // it does not give the answer away
    expect(passed(await check(lab.labDir, 1, `shop=${shop}`))).toBe(true); // the other answers were kept
  }, 30_000);

  it.skipIf(!tools.dig)('2: the GSLB\'s choice from both regions (dig -b as each phone)', async () => {
    const edge = async (from: string) => (await dig([`@${role('local-dns').host}`, '-p', String(role('local-dns').port), '-b', from, 'static.geektime.test'])).ANSWER.filter((r) => r.type === 'A').at(-1)!.data;
    const north = await edge('127.10.1.10');
    const south = await edge('127.10.2.10');
    expect(north).not.toBe(south);
    expect(passed(await check(lab.labDir, 2, `north=${south}`, `south=${north}`))).toBe(false);
    expect(passed(await check(lab.labDir, 2, `north=${north}`, `south=${south}`))).toBe(true);
  }, 30_000);

  it.skipIf(!tools.dig)('3: failover: only while the north edge is down, with the GSLB\'s answer and TTL', async () => {
    const gslbName = (await dig([`@${role('local-dns').host}`, '-p', String(role('local-dns').port), '-b', '127.10.1.10', 'static.geektime.test'])).ANSWER.filter((r) => r.type === 'CNAME').at(-1)!.data;
    const askGslb = async () => (await dig(['+norec', `@${role('gslb').host}`, '-p', String(role('gslb').port), '+subnet=127.10.1.0/24', gslbName])).ANSWER.find((r) => r.type === 'A')!;
    const before = await askGslb();
    const upFirst = await check(lab.labDir, 3, `north=${before.data}`, `ttl=${before.ttl}`);
    expect(upFirst.stdout).toMatch(/✗ edge-north is still up/);
    const stop = await labCli(lab.labDir, ['role', 'edge-north', 'stop']);
    expect(stop.code, stop.stderr).toBe(0);
    try {
      let after = await askGslb();
      for (let i = 0; i < 100 && after.data === before.data; i++) {
        await new Promise((r) => setTimeout(r, 100));
        after = await askGslb();
      }
      expect(after.data).not.toBe(before.data);
      expect(passed(await check(lab.labDir, 3, `north=${before.data}`, `ttl=${after.ttl}`))).toBe(false);
      expect(passed(await check(lab.labDir, 3, `north=${after.data}`, `ttl=${after.ttl}`))).toBe(true);
    } finally {
      await labCli(lab.labDir, ['role', 'edge-north', 'restart']);
    }
  }, 40_000);

  it.skipIf(!tools.curl)('4: a HIT with its Age, a purge at the parent and the edge, then a miss', async () => {
    expect((await check(lab.labDir, 4)).stdout).toMatch(/✗ no .*04-hit\.txt/);
    const edge = role('edge-north');
    const parent = role('parent');
    const get = (r: typeof edge) => ['-sI', '--resolve', `static.geektime.test:${r.port}:${r.host}`, `http://static.geektime.test:${r.port}/images/phone.png`];
    const work = path.join(lab.labDir, 'work');
    fs.mkdirSync(work, { recursive: true });
    await run('curl', get(edge));
    fs.writeFileSync(path.join(work, '04-hit.txt'), (await run('curl', get(edge))).stdout);
    // Without the purge the "after" file is another HIT: not done.
    fs.writeFileSync(path.join(work, '04-after-purge.txt'), (await run('curl', get(edge))).stdout);
    expect((await check(lab.labDir, 4)).stdout).toMatch(/✗ the second file does not show edge-north missing/);
    const token = state().purge!.token;
    for (const r of [parent, edge]) {
      const purge = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'PURGE', '-H', `Authorization: Bearer ${token}`, ...get(r).slice(1)]);
      expect(purge.stdout).toMatch(/^2\d\d$/);
    }
    fs.writeFileSync(path.join(work, '04-after-purge.txt'), (await run('curl', get(edge))).stdout);
    const r = await check(lab.labDir, 4);
    expect(passed(r), r.stdout).toBe(true);
  }, 30_000);

  it.skipIf(!tools.openssl)('5: the chain with openssl: what the SLB sends, the issuer, the root\'s fingerprint', async () => {
    const slb = role('slb-classic');
    const shown = await run('sh', ['-c', `openssl s_client -connect ${slb.host}:${slb.port} -servername ${SHOP_HOST} -showcerts </dev/null`], { timeoutMs: 10_000 });
    const sent = (shown.stdout.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length;
    const issuer = /CN\s*=\s*([^,\n]+)/.exec((await run('openssl', ['x509', '-in', path.join(lab.labDir, 'certs', 'leaf.crt'), '-noout', '-issuer'])).stdout)![1]!.trim();
    const print = /=([0-9A-F:]+)/.exec((await run('openssl', ['x509', '-in', path.join(lab.labDir, 'certs', 'root.crt'), '-noout', '-fingerprint', '-sha256'])).stdout)![1]!.split(':').slice(0, 4).join(':');
    expect(passed(await check(lab.labDir, 5, `sent=${sent + 1}`, `issuer=${issuer}`, `root=${print}`))).toBe(false); // counting the root in
    expect(passed(await check(lab.labDir, 5, `sent=${sent}`, `issuer=${issuer}`, `root=${print}`))).toBe(true);
  }, 30_000);

  it.skipIf(!root || !tools.tcpdump)('6: a capture of both handshakes, classic and TLS 1.3', async () => {
    const file = path.join(lab.labDir, 'work', '06-tls.pcapng');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const ports = ['slb', 'slb-classic'].map((n) => role(n).port);
    const capture = async (modes: string[]) => {
      const dump = spawn('tcpdump', ['-i', 'lo', '--immediate-mode', '-U', '-w', file, `port ${ports[0]} or port ${ports[1]}`], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      dump.stderr.on('data', (c) => (err += c));
      for (let i = 0; i < 50 && !err.includes('listening'); i++) await new Promise((r) => setTimeout(r, 100));
      try {
        for (const mode of modes) expect((await labCli(lab.labDir, ['order', '--mode', mode])).code).toBe(0);
      } finally {
        dump.kill('SIGINT'); // --immediate-mode -U: every packet reaches the file as it comes, none waits in the kernel's ring at SIGINT
        await new Promise((r) => dump.once('exit', r));
      }
    };
    await capture(['modern']);
    expect((await check(lab.labDir, 6, 'visible=classic')).stdout).toMatch(/✗ the capture holds no classic handshake[\s\S]*✓ and a TLS 1.3 handshake/);
    await capture(['classic', 'modern']);
    expect(passed(await check(lab.labDir, 6, 'visible=modern'))).toBe(false);
    expect(passed(await check(lab.labDir, 6, 'visible=classic'))).toBe(true);
  }, 60_000);

  it.skipIf(!tools.tshark || !tools.openssl || !tools.xxd)('7: the pre-master opened with openssl, the master secret with openssl kdf', async () => {
    expect((await check(freshLabDir(), 7, 'premaster=00', 'master=00')).stdout).toMatch(/✗ no .*capture\.pcapng: run the walkthrough/);
    const capture = path.join(walked, 'capture.pcapng');
    const field = async (filter: string, f: string) => (await run('tshark', ['-r', capture, '-Y', filter, '-T', 'fields', '-e', f])).stdout.trim().split('\n')[0]!.replace(/:/g, '');
    const clientRandom = await field('tls.handshake.type == 1', 'tls.handshake.random');
    const serverRandom = await field('tls.handshake.type == 2', 'tls.handshake.random');
    const epms = await field('tls.handshake.type == 16', 'tls.handshake.epms');
    fs.writeFileSync(path.join(walked, 'epms.bin'), Buffer.from(epms, 'hex'));
    const pre = (await run('sh', ['-c', `openssl pkeyutl -decrypt -inkey ${path.join(walked, 'certs', 'leaf.key')} -in ${path.join(walked, 'epms.bin')} | xxd -p -c 48`])).stdout.trim();
    expect(pre).toMatch(/^0303[0-9a-f]{92}$/);
    const seed = Buffer.from('master secret').toString('hex') + clientRandom + serverRandom;
    const master = (await run('openssl', ['kdf', '-keylen', '48', '-kdfopt', 'digest:SHA256', '-kdfopt', `hexsecret:${pre}`, '-kdfopt', `hexseed:${seed}`, 'TLS1-PRF'])).stdout.trim().replace(/:/g, '').toLowerCase();
    // The master secret alone (copied from the key log) is not enough: the pre-master is asked for too.
    const keyLog = fs.readFileSync(path.join(walked, 'keylog.txt'), 'utf8');
    expect(keyLog).toContain(master);
    expect(keyLog).not.toContain(pre);
    expect((await check(walked, 7, `premaster=${'00'.repeat(48)}`, `master=${master}`)).stdout).toMatch(/✗ premaster: not what the ClientKeyExchange[\s\S]*✓ master/);
    expect(passed(await check(walked, 7, `premaster=${pre}`, `master=${master}`))).toBe(true);
  }, 30_000);

  it.skipIf(!tools.tshark)('8: the handshake\'s raw sequence numbers, read with tshark', async () => {
    const slbPorts = (JSON.parse(fs.readFileSync(path.join(walked, 'trace.json'), 'utf8')) as { roles: Array<{ name: string; port: number }> }).roles.filter((r) => r.name.startsWith('slb')).map((r) => r.port);
    const fields = async (filter: string) => (await run('tshark', ['-r', path.join(walked, 'capture.pcapng'), '-Y', `tcp.port in {${slbPorts.join(', ')}} && ${filter}`, '-T', 'fields', '-e', 'tcp.srcport', '-e', 'tcp.seq_raw', '-e', 'tcp.ack_raw'])).stdout.trim().split('\n')[0]!.split('\t');
    const syn = await fields('tcp.flags.syn == 1 && tcp.flags.ack == 0');
    const synAck = await fields('tcp.flags.syn == 1 && tcp.flags.ack == 1');
    const third = await fields(`tcp.flags.syn == 0 && tcp.srcport == ${syn[0]}`);
    expect(passed(await check(walked, 8, 'client-isn=0', 'server-isn=0', 'ack=1'))).toBe(false); // Wireshark's relative numbers
    expect((await check(walked, 8, 'client-isn=0', 'server-isn=0', 'ack=1')).stdout).toContain('that is the relative number');
    expect(passed(await check(walked, 8, `client-isn=${syn[1]}`, `server-isn=${synAck[1]}`, `ack=${third[2]}`))).toBe(true);
  }, 30_000);

  it.skipIf(!tools.curl)('9: two orders without a key, one with a key sent twice', async () => {
    const slb = role('slb');
    const post = async (key?: string) => {
      const r = await run('curl', ['-si', '--cacert', path.join(lab.labDir, 'certs', 'root.crt'), '--resolve', `${SHOP_HOST}:${slb.port}:${slb.host}`, '-H', 'Content-Type: application/json', ...(key ? ['-H', `Idempotency-Key: ${key}`] : []), '-d', SEED_BODY, `https://${SHOP_HOST}:${slb.port}/purchaseOrder`]);
      return { id: /"id":"(po-\d+)"/.exec(r.stdout)?.[1], replayed: /^idempotent-replayed: (\S+)/im.exec(r.stdout)?.[1] };
    };
    const key = `learner-${process.pid}`;
    expect(passed(await check(lab.labDir, 9, `key=${key}`, 'twice=po-000001,po-000002', 'replayed=true'))).toBe(false);
    const a = await post();
    const b = await post();
    await post(key);
    const retry = await post(key);
    expect(retry.replayed).toBe('true');
    expect(passed(await check(lab.labDir, 9, `key=${key}`, `twice=${a.id},${a.id}`, 'replayed=true'))).toBe(false);
    expect(passed(await check(lab.labDir, 9, `key=${key}`, `twice=${a.id},${b.id}`, `replayed=${retry.replayed}`))).toBe(true);
  }, 30_000);

  it.skipIf(!tools.openssl)('12: each broken chain found with openssl, only while it is broken', async () => {
    expect((await check(lab.labDir, 12, 'fault=expired-leaf', 'evidence=1')).stdout).toMatch(/✗ the SLB's chain is whole right now/);
    const slb = role('slb');
    for (const fault of ['expired-leaf', 'missing-intermediate', 'wrong-san']) {
      expect((await labCli(lab.labDir, ['fault', fault, 'on'])).code).toBe(0);
      try {
        // The learner's steps: what the SLB sends, and the first certificate read with openssl x509.
        const shown = (await run('sh', ['-c', `openssl s_client -connect ${slb.host}:${slb.port} -servername ${SHOP_HOST} -CAfile ${path.join(lab.labDir, 'certs', 'root.crt')} -verify_hostname ${SHOP_HOST} -showcerts </dev/null`], { timeoutMs: 10_000 })).stdout;
        const pems = shown.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
        const leafFile = path.join(lab.labDir, 'work', 'leaf.pem');
        fs.mkdirSync(path.dirname(leafFile), { recursive: true });
        fs.writeFileSync(leafFile, pems[0]! + '\n');
        const leaf = (await run('openssl', ['x509', '-in', leafFile, '-noout', '-enddate', '-ext', 'subjectAltName'])).stdout;
        const code = /Verify return code: (\d+)/.exec(shown)?.[1];
        const evidence =
          fault === 'expired-leaf' ? new Date(/notAfter=(.+)/.exec(leaf)![1]!).toISOString().slice(0, 10)
          : fault === 'missing-intermediate' ? String(pems.length)
          : /DNS:([^,\s]+)/.exec(leaf)![1]!;
        expect({ fault, code }).toEqual({ fault, code: { 'expired-leaf': '10', 'missing-intermediate': '21', 'wrong-san': '62' }[fault] });
        const other = fault === 'wrong-san' ? 'expired-leaf' : 'wrong-san';
        expect(passed(await check(lab.labDir, 12, `fault=${other}`, `evidence=${evidence}`)), fault).toBe(false);
        const r = await check(lab.labDir, 12, `fault=${fault}`, `evidence=${evidence}`);
        expect(passed(r), r.stdout).toBe(true);
      } finally {
        await labCli(lab.labDir, ['fault', fault, 'off']);
      }
    }
  }, 90_000);

  it.skipIf(!tools.curl)('13: a revalidation answered 304, then stale-if-error while the origin is down', async () => {
    expect((await check(lab.labDir, 13)).stdout).toMatch(/✗ no .*13-revalidated\.txt/);
    const edge = role('edge-north');
    const get = ['-sI', '--resolve', `static.geektime.test:${edge.port}:${edge.host}`, `http://static.geektime.test:${edge.port}/stock`];
    const work = path.join(lab.labDir, 'work');
    fs.mkdirSync(work, { recursive: true });
    const fetchUntil = async (file: string, want: RegExp) => {
      let text = '';
      for (let i = 0; i < 60 && !want.test(text); i++) {
        await new Promise((r) => setTimeout(r, 250));
        text = (await run('curl', get)).stdout;
      }
      fs.writeFileSync(path.join(work, file), text);
    };
    await run('curl', get);
    fs.writeFileSync(path.join(work, '13-revalidated.txt'), (await run('curl', get)).stdout); // still fresh: no revalidation
    expect((await check(lab.labDir, 13)).stdout).toMatch(/✗ the first file shows no revalidation/);
    await fetchUntil('13-revalidated.txt', /fwd-status=304/); // past its 2 s the caches ask with If-None-Match
    expect((await labCli(lab.labDir, ['fault', 'origin-down', 'on'])).code).toBe(0);
    try {
      await fetchUntil('13-stale.txt', /detail="?stale-if-error/);
      const r = await check(lab.labDir, 13);
      expect(passed(r), r.stdout).toBe(true);
    } finally {
      await labCli(lab.labDir, ['fault', 'origin-down', 'off']);
    }
  }, 60_000);

  it('check --all sums up what is done, for handing in', async () => {
    const r = await labCli(lab.labDir, ['check', '--all']);
    expect(r.stdout).toMatch(new RegExp(`Workshop: \\d+ of ${EXERCISES.length} exercises done`));
    expect(r.stdout).toMatch(/ 1 {2}The DNS walk by hand, from the root +✓ done/);
    expect(r.stdout).toMatch(/10 {2}Same subnet or not.*(· not done yet|✗)/);
  }, 60_000);
});

describe.skipIf(!root || !tools.tcpdump || !tools.curl || !tools.traceroute)('in ns mode, exercises 10 and 11 with ip, curl, tcpdump and traceroute', () => {
  let dir: string;
  let up: ReturnType<typeof spawn>;
  let state: LabState;
  const inNs = (ns: string, args: string[], timeoutMs = 15_000) => run('ip', ['netns', 'exec', ns, ...args], { timeoutMs });

  beforeAll(async () => {
    dir = freshLabDir();
    up = spawn(TSX, ['lab/cli.ts', 'up', '--net', 'ns', '--quiet'], { env: { ...process.env, LAB_DIR: dir }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    up.stdout!.on('data', (c) => (out += c));
    up.stderr!.on('data', (c) => (out += c));
    for (let i = 0; i < 1200 && !out.includes('Press Ctrl-C to stop.') && up.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100));
    expect(out, out).toContain('Press Ctrl-C to stop.');
    state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')) as LabState;
  }, 150_000);
  afterAll(async () => {
    if (up && up.exitCode === null) {
      up.kill('SIGINT'); // the lab removes its namespaces on the way out
      await new Promise((r) => up.once('exit', r));
    }
    await cleanup();
  }, 60_000);

  it('the loopback lab is refused with what to start', async () => {
    const loop = freshLabDir();
    fs.writeFileSync(path.join(loop, 'state.json'), JSON.stringify({ ...state, pid: process.pid, addressing: 'per-role', net: undefined }));
    expect((await check(loop, 10, 'mask=1', 'same-subnet=1', 'gateway=1', 'gateway-mac=1')).stdout).toMatch(/needs the lab in namespaces.*up --net ns/);
  });

  it('10: the mask, the gateway and its MAC, from the phone\'s own interfaces and ARP cache', async () => {
    const phone = state.net!.phones.north.namespace;
    // The check re-runs itself in the phone's namespace: the language goes with it (LAB_LANG).
    const zh = await labCli(dir, ['--lang', 'zh', 'check', '10', 'mask=255.255.255.0', 'same-subnet=yes', 'gateway=1.1.1.1', 'gateway-mac=00:00:00:00:00:00']);
    expect(zh.stdout, zh.stderr).toMatch(/^练习 10：[\s\S]*✗ gateway：1\.1\.1\.1 不是手机的默认网关[\s\S]*还没完成/);
    expect(passed(await check(dir, 10, 'mask=255.255.255.0', 'same-subnet=yes', 'gateway=1.1.1.1', 'gateway-mac=00:00:00:00:00:00'))).toBe(false);
    const addr = (await inNs(phone, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0'])).stdout;
    const prefix = Number(/inet [\d.]+\/(\d+)/.exec(addr)![1]);
    const mask = [24, 16, 8, 0].map((s) => ((0xffffffff << (32 - prefix)) >>> s) & 255).join('.');
    const gateway = /default via ([\d.]+)/.exec((await inNs(phone, ['ip', 'route'])).stdout)![1]!;
    await inNs(phone, ['ip', 'neigh', 'flush', 'all']);
    await inNs(phone, ['curl', '-s', '-o', '/dev/null', '--cacert', state.rootCa, `https://${SHOP_HOST}/`]);
    const mac = new RegExp(`^${gateway.replace(/\./g, '\\.')} .*lladdr ([0-9a-f:]{17})`, 'm').exec((await inNs(phone, ['ip', 'neigh'])).stdout)![1]!;
    const r = await check(dir, 10, `mask=${mask}`, 'same-subnet=no', `gateway=${gateway}`, `gateway-mac=${mac}`);
    expect(passed(r), r.stdout).toBe(true);
  }, 60_000);

  it('3 in ns mode, with the faults: edge-down through the control socket, dig from the phone\'s namespace; wrong-san refused by curl there', async () => {
    const phone = state.net!.phones.north.namespace;
    const gslb = state.net!.roles.gslb.address;
    const ask = async () => (await inNs(phone, ['dig', '+norec', '+noall', '+answer', `@${gslb}`, 'geektime.gslb.cdn.test'])).stdout.trim().split(/\s+/);
    const before = await ask();
    expect(before.at(-1)).toBe(state.net!.roles['edge-north'].address);
    expect((await labCli(dir, ['fault', 'edge-down', 'on'])).code).toBe(0);
    try {
      let after = before;
      for (let i = 0; i < 100 && after.at(-1) === before.at(-1); i++) {
        await new Promise((r) => setTimeout(r, 100));
        after = await ask();
      }
      expect(after.at(-1)).toBe(state.net!.roles['edge-south'].address);
      expect((await labCli(dir, ['status'])).stdout).toMatch(/edge-north +stopped .*stopped by the fault edge-down/);
      const r = await check(dir, 3, `north=${after.at(-1)}`, `ttl=${after[1]}`);
      expect(passed(r), r.stdout).toBe(true);
    } finally {
      expect((await labCli(dir, ['fault', 'edge-down', 'off'])).code).toBe(0);
    }
    expect((await labCli(dir, ['fault', 'wrong-san', 'on'])).code).toBe(0);
    try {
      const refused = await inNs(phone, ['curl', '-sS', '-o', '/dev/null', '--cacert', state.rootCa, `https://${SHOP_HOST}/`]);
      expect(refused.code).toBe(60);
      expect(refused.stderr).toMatch(/no alternative certificate subject name matches target host name 'www\.geektime\.test'/);
    } finally {
      expect((await labCli(dir, ['fault', 'wrong-san', 'off'])).code).toBe(0);
    }
    expect((await inNs(phone, ['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', '--cacert', state.rootCa, `https://${SHOP_HOST}/`])).stdout).toBe('200');
    expect((JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')) as LabState).faults).toEqual([]);
  }, 90_000);

  it('11: the routers from traceroute, the TTL of a SYN captured on the SLB\'s link', async () => {
    const phone = state.net!.phones.north.namespace;
    const slb = state.net!.roles.slb;
    const trace = await inNs(phone, ['traceroute', '-n', '-q', '1', '-w', '2', '-m', '8', slb.address], 30_000);
    const hops = trace.stdout.split('\n').slice(1).map((l) => l.trim().split(/\s+/)[1]).filter(Boolean);
    const routers = hops.slice(0, -1);
    expect(passed(await check(dir, 11, `routers=${[...routers].reverse().join(',')}`, 'ttl=61'))).toBe(false); // the right hops, in the wrong order
    const dump = spawn('ip', ['netns', 'exec', slb.namespace, 'tcpdump', '-n', '-v', '-c', '1', '-i', 'eth0', '--immediate-mode', `tcp[tcpflags] & tcp-syn != 0 and dst host ${slb.address}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let seen = '';
    let err = '';
    dump.stdout.on('data', (c) => (seen += c));
    dump.stderr.on('data', (c) => (err += c));
    for (let i = 0; i < 50 && !err.includes('listening'); i++) await new Promise((r) => setTimeout(r, 100));
    await inNs(phone, ['curl', '-s', '-o', '/dev/null', '--cacert', state.rootCa, `https://${SHOP_HOST}/`]);
    await new Promise((r) => (dump.exitCode !== null ? r(null) : dump.once('exit', r)));
    const ttl = /ttl (\d+)/.exec(seen)![1]!;
    const r = await check(dir, 11, `routers=${routers.join(',')}`, `ttl=${ttl}`);
    expect(passed(r), r.stdout + seen).toBe(true);
  }, 60_000);
});
