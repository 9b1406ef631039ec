// The local resolver against hostile servers and clients, over real sockets: a walk log that could
// fill the disk (and then turn every answer into SERVFAIL), TTLs meant to stay for 68 years, fifty
// clients asking the same thing at once, and a referral to thirty name servers without glue (the
// NXNSAttack). One fake server plays the whole tree, and counts what it is asked.
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer, responseTo, Packet, type DnsRecord, type RunningDnsServer } from '../../servers/dns/dns-server.ts';
import { sendQuery } from '../../servers/dns/query.ts';
import { startResolver, type ResolverOptions, type RunningResolver } from '../../servers/dns/resolver.ts';
import { startAuthoritative } from '../../servers/dns/authoritative.ts';
import { labZones } from '../../servers/dns/lab-zones.ts';
import { words } from '../../lab/story/words/index.ts';

const FAKE = '127.0.6.10';
const RESOLVER = '127.0.6.53';
const CLIENT = '127.0.6.7';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-dns-hostile-'));

const rr = (name: string, type: keyof typeof Packet.TYPE, data: Partial<DnsRecord>, ttl: number) => ({ name, type: Packet.TYPE[type], class: Packet.CLASS.IN, ttl, ...data }) as DnsRecord;
const soa = (zone: string, ttl: number, minimum: number) =>
  rr(zone, 'SOA', { primary: 'a.root', admin: 'hostmaster.test', serial: 1, refresh: 3600, retry: 600, expiration: 86400, minimum }, ttl);

/** Questions the fake server got, by name; and the names as they arrived, case and all. */
const asked = new Map<string, number>();
const arrived: string[] = [];
const hits = (name: string) => asked.get(name) ?? 0;
const hitsUnder = (zone: string) => [...asked].filter(([n]) => n.endsWith(zone)).reduce((sum, [, c]) => sum + c, 0);
/** While set, answers for popular.test wait for it. */
let holdPopular: (() => Promise<void>) | undefined;
/** While set, answers for slow-*.test wait for it: an upstream that takes its time. */
let slowGate: Promise<void> | undefined;

let fake: RunningDnsServer;
beforeAll(async () => {
  fake = await startDnsServer({
    name: 'fake-tree',
    host: FAKE,
    port: 0,
    handle: async (request) => {
      arrived.push(request.questions[0]!.name);
      const qname = request.questions[0]!.name.toLowerCase();
      asked.set(qname, hits(qname) + 1);
      const response = responseTo(request);
      response.header.aa = 1;
      if (qname === 'forever.test') response.answers.push(rr(qname, 'A', { address: '127.0.6.1' }, 0x7fffffff)); // 68 years
      else if (qname === 'topbit.test') response.answers.push(rr(qname, 'A', { address: '127.0.6.2' }, 0xffffffff)); // RFC 2181 §8: means 0
      else if (qname === 'gone.test') {
        response.header.rcode = Packet.RCODE.NXDOMAIN;
        response.authorities.push(soa('test', 0x7fffffff, 0x7fffffff));
      } else if (qname === 'popular.test') {
        await holdPopular?.();
        response.answers.push(rr(qname, 'A', { address: '127.0.6.3' }, 60));
      } else if (qname.startsWith('slow-')) {
        await slowGate;
        response.answers.push(rr(qname, 'A', { address: '127.0.6.4' }, 60));
      } else if (qname.endsWith('.attacker.test')) {
        // NXNS: a referral to thirty name servers, none with glue, all in the victim's zone.
        response.header.aa = 0;
        for (let i = 0; i < 30; i++) response.authorities.push(rr('attacker.test', 'NS', { ns: `ns${i}.victim.test` }, 3600));
      } else {
        response.header.rcode = Packet.RCODE.NXDOMAIN;
        response.authorities.push(soa('test', 300, 300));
      }
      return response;
    },
  });
});

afterAll(async () => {
  await fake.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

let resolvers: RunningResolver[] = [];
afterEach(async () => {
  for (const r of resolvers) await r.close();
  resolvers = [];
  asked.clear();
  arrived.length = 0;
  holdPopular = undefined;
  slowGate = undefined;
});

async function resolver(extra: Partial<ResolverOptions> = {}): Promise<RunningResolver> {
  const r = await startResolver({ host: RESOLVER, port: 0, rootHints: [{ name: 'a.root', address: FAKE }], portOf: () => fake.port, timeoutMs: 5000, ...extra });
  resolvers.push(r);
  return r;
}

const ask = (r: RunningResolver, name: string) => sendQuery({ server: r, name, type: 'A', rd: true, localAddress: CLIENT, timeoutMs: 8000 });

function manualClock() {
  let t = 1_750_000_000_000;
  return { now: () => t, advance: (seconds: number) => (t += seconds * 1000) };
}

describe('the walk log', () => {
  it('an unwritable walk log changes no answer: all NOERROR, the problem said once in the log', async () => {
    const notADirectory = path.join(tmp, 'a-file');
    fs.writeFileSync(notADirectory, '');
    const lines: string[] = [];
    const r = await resolver({ walkLog: path.join(notADirectory, 'walks.jsonl'), log: (l) => lines.push(l) });
    for (let i = 0; i < 20; i++) {
      const { response } = await ask(r, i % 2 ? 'forever.test' : `missing${i}.test`);
      expect(response.header.rcode).toBe(i % 2 ? Packet.RCODE.NOERROR : Packet.RCODE.NXDOMAIN);
    }
    await r.flushWalkLog?.(); // (the old resolver wrote synchronously and had none)
    expect(lines.filter((l) => l.includes('walk log') && l.includes('cannot write'))).toHaveLength(1);
  });

  it('is capped and rotated (8 KiB × 3 files here), 0600 even if an older run left it world-readable, and the newest walk is in it', async () => {
    const file = path.join(tmp, 'walks.jsonl');
    fs.writeFileSync(file, '', { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    const r = await resolver({ walkLog: file, walkLogMaxBytes: 8 * 1024, walkLogKeep: 2 });
    let last = await ask(r, 'n0.test');
    for (let i = 1; i < 200; i++) last = await ask(r, `n${i}.test`); // ~100 KB of walks
    await r.flushWalkLog?.(); // (the old resolver wrote synchronously and had none)
    const files = [file, `${file}.1`, `${file}.2`];
    for (const f of files) {
      expect(fs.statSync(f).size).toBeLessThanOrEqual(8 * 1024);
      expect(fs.statSync(f).mode & 0o777).toBe(0o600);
    }
    expect(fs.existsSync(`${file}.3`)).toBe(false);
    const newest = JSON.parse(fs.readFileSync(file, 'utf8').trim().split('\n').at(-1)!);
    expect(newest).toMatchObject({ name: 'n199.test', clientPort: last.sourcePort, queryId: last.id, rcode: 'NXDOMAIN' });
  });
});

describe('TTLs, as Unbound would keep them', () => {
  it('a TTL of 2^31−1 is kept a day (maxCacheTtl), and passed on as a day', async () => {
    const clock = manualClock();
    const r = await resolver({ now: clock.now });
    expect((await ask(r, 'forever.test')).response.answers[0]?.ttl).toBe(86_400);
    clock.advance(86_399);
    expect((await ask(r, 'forever.test')).response.answers[0]?.ttl).toBeLessThanOrEqual(1);
    expect(hits('forever.test')).toBe(1);
    clock.advance(2);
    await ask(r, 'forever.test');
    expect(hits('forever.test')).toBe(2);
  });

  it('a TTL with the top bit set counts as 0 (RFC 2181 §8): passed on as 0, not cached', async () => {
    // dns2 will not encode such a TTL, so this server writes its answer's TTL field by hand.
    const raw = dgram.createSocket('udp4');
    let rawHits = 0;
    raw.on('message', (bytes, from) => {
      rawHits++;
      const request = Packet.parse(bytes);
      const response = responseTo(request);
      response.header.aa = 1;
      response.answers.push(rr('topbit.test', 'A', { address: '127.0.6.2' }, 0x7fffffff));
      const out = response.toBuffer();
      out.writeUInt32BE(0xffffffff, out.indexOf(Buffer.from([0x7f, 0xff, 0xff, 0xff])));
      raw.send(out, from.port, from.address);
    });
    await new Promise<void>((ok) => raw.bind(0, '127.0.6.11', ok));
    try {
      const r = await resolver({ rootHints: [{ name: 'a.root', address: '127.0.6.11' }], portOf: () => raw.address().port });
      const first = await ask(r, 'topbit.test');
      expect(first.response.answers[0]).toMatchObject({ address: '127.0.6.2', ttl: 0 });
      await ask(r, 'topbit.test');
      expect(rawHits).toBe(2);
    } finally {
      raw.close();
    }
  });

  it('"no such name" is kept at most an hour (maxNegativeTtl), whatever the SOA says', async () => {
    const clock = manualClock();
    const r = await resolver({ now: clock.now });
    const first = await ask(r, 'gone.test');
    expect(first.response.header.rcode).toBe(Packet.RCODE.NXDOMAIN);
    expect(first.response.authorities[0]?.ttl).toBeLessThanOrEqual(3600);
    clock.advance(3599);
    await ask(r, 'gone.test');
    expect(hits('gone.test')).toBe(1);
    clock.advance(2);
    await ask(r, 'gone.test');
    expect(hits('gone.test')).toBe(2);
  });
});

describe('fifty clients, one question', () => {
  it('50 identical questions at once make one upstream query; every client gets the answer', async () => {
    const r = await resolver();
    // The fake answers once all 50 questions are at the resolver (or, on a resolver that does not
    // merge, once all 50 have reached the fake), so nothing depends on timing.
    holdPopular = async () => {
      for (let waited = 0; waited < 5000 && hits('popular.test') < 50 && (r.stats?.().clientQueries ?? 0) < 50; waited += 10) await new Promise((ok) => setTimeout(ok, 10));
    };
    const answers = await Promise.all(Array.from({ length: 50 }, () => ask(r, 'popular.test')));
    expect(answers.map((a) => a.response.answers[0]?.address)).toEqual(new Array(50).fill('127.0.6.3'));
    expect(hits('popular.test')).toBe(1);
    expect(r.stats()).toMatchObject({ clientQueries: 50, joined: 49, upstreamQueries: 1 });
    const joined = answers.map((a) => r.resolutionFor({ address: CLIENT, port: a.sourcePort }, a.id));
    expect(joined.filter((res) => res?.joined)).toHaveLength(49);
  });
});

describe('a flood of unique names at a slow upstream', () => {
  it('at most maxResolutions (5 here) walks at once: the rest get SERVFAIL at once, counted; the cache still answers; places come back', async () => {
    const r = await resolver({ maxResolutions: 5 });
    expect((await ask(r, 'forever.test')).response.answers[0]?.address).toBe('127.0.6.1'); // cached for later
    let release!: () => void;
    slowGate = new Promise((ok) => (release = ok));

    const slowAsked = () => [...asked.keys()].filter((n) => n.startsWith('slow-')).length;
    const flood = Array.from({ length: 12 }, (_, i) => ask(r, `slow-${i}.test`));
    // The 7 over the cap are answered while the 5 walks still wait on the upstream.
    for (let waited = 0; waited < 5_000 && (slowAsked() < 5 || (r.stats().overloaded ?? 0) < 7); waited += 10) await new Promise((ok) => setTimeout(ok, 10));
    expect(r.stats().overloaded).toBe(7);
    const whileFull = await ask(r, 'forever.test');
    expect(whileFull.response.header.rcode).toBe(Packet.RCODE.NOERROR); // from the cache: takes no place
    expect(r.stats().overloaded).toBe(7);

    release();
    const rcodes = (await Promise.all(flood)).map((a) => a.response.header.rcode);
    expect(rcodes.filter((c) => c === Packet.RCODE.NOERROR)).toHaveLength(5);
    expect(rcodes.filter((c) => c === Packet.RCODE.SERVFAIL)).toHaveLength(7);
    expect(slowAsked()).toBe(5); // only 5 walks reached the upstream
    expect(r.stats()).toMatchObject({ clientQueries: 14, overloaded: 7, limited: 7 });
    const refused = (await Promise.all(flood)).find((a) => a.response.header.rcode === Packet.RCODE.SERVFAIL)!;
    expect(r.resolutionFor({ address: CLIENT, port: refused.sourcePort }, refused.id)?.limits).toEqual([{ kind: 'max-resolutions', max: 5 }]);

    // Every place was given back: a new unique name walks again.
    expect((await ask(r, 'slow-again.test')).response.header.rcode).toBe(Packet.RCODE.NOERROR);
  });
});

describe('NXNS: a referral to thirty name servers without glue', () => {
  it('one question makes at most 1 + 3 upstream queries, not 31; the walk log says which limit cut it short', async () => {
    const file = path.join(tmp, 'nxns.jsonl');
    const r = await resolver({ walkLog: file });
    const { response } = await ask(r, 'www.attacker.test');
    expect(response.header.rcode).toBe(Packet.RCODE.SERVFAIL);
    expect(hits('www.attacker.test')).toBe(1);
    expect(hitsUnder('.victim.test')).toBe(3);
    expect(r.stats().upstreamQueries).toBe(4);
    await r.flushWalkLog?.(); // (the old resolver wrote synchronously and had none)
    const entry = JSON.parse(fs.readFileSync(file, 'utf8').trim());
    expect(entry.limits).toEqual([{ kind: 'nxns', lookedUp: 3, total: 30, zone: 'attacker.test', max: 3, per: 'referral' }]);
    expect(words().dns.walkLimitText(entry.limits[0])).toBe('looked up 3 of the 30 servers of attacker.test. named without glue, and no more (NXNS limit: 3 per referral)');
  });
});

describe('DNS 0x20: names in random case (randomizeCase)', () => {
  it('upstream names go out in mixed case; the lab\'s servers repeat it, so answers still come', async () => {
    const r = await resolver({ randomizeCase: true });
    for (let i = 0; i < 5; i++) expect((await ask(r, `caseless${i}.test`)).response.header.rcode).toBe(Packet.RCODE.NXDOMAIN);
    expect(arrived).toHaveLength(5);
    expect(arrived.some((name) => /[A-Z]/.test(name))).toBe(true); // 5 names of 12 letters, all sent in lower case: 1 in 2^60

    // The lab's own authoritative server (dns2 copies the question as it came) works with it too.
    const zones = labZones({ root: '127.0.6.20', tld: '127.0.6.21', shop: '127.0.6.22', cdn: '127.0.6.23', gslb: '127.0.6.24', slb: '127.0.6.80' });
    const shop = await startAuthoritative({ name: 'shop', host: '127.0.6.22', port: 0, zones: [zones.shop] });
    try {
      const viaShop = await resolver({ randomizeCase: true, rootHints: [{ name: 'ns1.geektime.test', address: shop.host }], portOf: () => shop.port });
      expect((await ask(viaShop, 'www.geektime.test')).response.answers[0]?.address).toBe('127.0.6.80');
    } finally {
      await shop.close();
    }
  });

  it('an answer that does not repeat the case is not taken (a forger who guessed id and port)', async () => {
    const forger = dgram.createSocket('udp4');
    forger.on('message', (bytes, from) => {
      const request = Packet.parse(bytes);
      const response = responseTo(request);
      response.questions[0]!.name = response.questions[0]!.name.toLowerCase();
      response.header.aa = 1;
      response.answers.push(rr(response.questions[0]!.name, 'A', { address: '127.0.6.66' }, 60));
      forger.send(response.toBuffer(), from.port, from.address);
    });
    await new Promise<void>((ok) => forger.bind(0, '127.0.6.12', ok));
    // 28 letters: the chance that 0x20 sent them all in lower case (so the forgery matched) is 1 in 2^28.
    const name = 'a-forged-answer-to-a-long-name.test';
    try {
      const hints = { rootHints: [{ name: 'a.root', address: '127.0.6.12' }], portOf: () => forger.address().port, timeoutMs: 300 };
      const careful = await resolver({ ...hints, randomizeCase: true });
      expect((await ask(careful, name)).response.header.rcode).toBe(Packet.RCODE.SERVFAIL);
      const trusting = await resolver(hints); // without 0x20 the same answer is taken
      expect((await ask(trusting, name)).response.answers[0]?.address).toBe('127.0.6.66');
    } finally {
      forger.close();
    }
  });
});
