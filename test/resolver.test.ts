// The local DNS (recursive resolver) and the phone's stub resolver, against the lab's real DNS tree
// over real sockets: root, test., geektime.test, cdn.test and the GSLB each on its own loopback
// address (ephemeral ports, told to the resolver through portOf), plus a few misbehaving servers.
import dgram from 'node:dgram';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawnSync, execFile } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fuzz } from './dns-fuzz.ts';
import { startDnsServer, Packet, responseTo, findOpt, type DnsRecord, type RunningDnsServer } from '../servers/dns/dns-server.ts';
import { sendQuery } from '../servers/dns/query.ts';
import { startAuthoritative } from '../servers/dns/authoritative.ts';
import { labZones } from '../servers/dns/lab-zones.ts';
import { startGslb, type GslbDecision } from '../servers/dns/gslb.ts';
import { startResolver, type ResolverOptions, type RunningResolver } from '../servers/dns/resolver.ts';
import { stubLookup, stubResolve } from '../client/stub-resolver.ts';
import { words } from '../lab/story/words/index.ts';

const A = { root: '127.0.0.10', tld: '127.0.0.11', shop: '127.0.0.12', cdn: '127.0.0.13', gslb: '127.0.0.14', slb: '127.0.0.80' };
const EDGE = { north: '127.0.0.21', south: '127.0.0.22' };
const EVIL = '127.0.0.66'; // authoritative for evil.test, and up to no good
const BLACK_HOLE = '127.0.0.9'; // takes queries, never answers
const TRUNCATOR = '127.0.0.17'; // answers over UDP only with TC set
const NORTH = '127.10.1.7';
const SOUTH = '127.10.2.7';
const ROOT_HINTS = [{ name: 'a.root-servers.test', address: A.root }];

/** Which port the server on each address listens on: referrals only carry addresses. */
const ports = new Map<string, number>();
const portOf = (_ns: string, address: string) => ports.get(address) ?? 9;
const closers: Array<() => Promise<void> | void> = [];
const decisions: GslbDecision[] = [];
const evilSeen: string[] = [];
let blackHoleHits = 0;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-resolver-'));

const rr = (name: string, type: keyof typeof Packet.TYPE, data: Partial<DnsRecord>, ttl = 3600) =>
  ({ name, type: Packet.TYPE[type], class: Packet.CLASS.IN, ttl, ...data }) as DnsRecord;

function keep(server: RunningDnsServer): RunningDnsServer {
  ports.set(server.host, server.port);
  closers.push(() => server.close());
  return server;
}

function httpServer(host: string, handler: http.RequestListener): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer(handler);
  return new Promise((resolve) =>
    server.listen(0, host, () => {
      closers.push(() => new Promise<void>((done) => server.close(() => done())));
      resolve({ server, port: (server.address() as net.AddressInfo).port });
    }),
  );
}

beforeAll(async () => {
  const zones = labZones(A);
  // One more child of test.: the attacker's own zone, properly delegated with in-bailiwick glue.
  zones.tld.records.push({ name: 'evil.test', type: 'NS', ttl: 3600, data: 'ns.evil.test' }, { name: 'ns.evil.test', type: 'A', ttl: 3600, data: EVIL });
  keep(await startAuthoritative({ name: 'root', host: A.root, port: 0, zones: [zones.root] }));
  keep(await startAuthoritative({ name: 'tld', host: A.tld, port: 0, zones: [zones.tld] }));
  keep(await startAuthoritative({ name: 'shop-dns', host: A.shop, port: 0, zones: [zones.shop] }));
  keep(await startAuthoritative({ name: 'cdn-dns', host: A.cdn, port: 0, zones: [zones.cdn] }));

  // The GSLB with two healthy edges (their health checks answer 200), north and south.
  const healthy: http.RequestListener = (_req, res) => res.end('ok');
  const north = await httpServer(EDGE.north, healthy);
  const south = await httpServer(EDGE.south, healthy);
  const gslb = await startGslb({
    host: A.gslb,
    port: 0,
    edges: [
      { name: 'edge-north', region: 'north', address: EDGE.north, healthUrl: `http://${EDGE.north}:${north.port}/healthz` },
      { name: 'edge-south', region: 'south', address: EDGE.south, healthUrl: `http://${EDGE.south}:${south.port}/healthz` },
    ],
    regions: [
      { name: 'north', subnets: ['127.10.1.0/24'], nearest: ['edge-north', 'edge-south'] },
      { name: 'south', subnets: ['127.10.2.0/24'], nearest: ['edge-south', 'edge-north'] },
    ],
    defaultRegion: 'north',
  });
  gslb.events.on('decision', (d: GslbDecision) => decisions.push(d));
  keep(gslb);

  // The attacker: authoritative for evil.test, and trying to get the resolver to believe more.
  keep(
    await startDnsServer({
      name: 'evil',
      host: EVIL,
      port: 0,
      handle: (request) => {
        const qname = request.questions[0]!.name.toLowerCase();
        evilSeen.push(qname);
        const response = responseTo(request);
        if (qname.endsWith('sub.evil.test')) {
          // A referral for its own subzone to the shop's name server, with a "glue" address for that
          // name server (out of bailiwick: not inside sub.evil.test), and an address for an unrelated name.
          response.authorities.push(rr('sub.evil.test', 'NS', { ns: 'ns1.geektime.test' }));
          response.additionals.push(rr('ns1.geektime.test', 'A', { address: EVIL }), rr('www.geektime.test', 'A', { address: EVIL }));
        } else if (qname === 'up.evil.test') {
          // A "referral" upward, to test.: it would send the resolver round in circles.
          response.authorities.push(rr('test', 'NS', { ns: 'ns.evil.test' }));
          response.additionals.push(rr('ns.evil.test', 'A', { address: EVIL }));
        } else if (qname === 'loop1.evil.test' || qname === 'loop2.evil.test') {
          // Two aliases pointing at each other, one per answer.
          response.header.aa = 1;
          response.answers.push(rr(qname, 'CNAME', { domain: qname === 'loop1.evil.test' ? 'loop2.evil.test' : 'loop1.evil.test' }));
        } else if (qname === 'www.evil.test') {
          // A genuine answer for its own name, plus a poisoned extra for the shop's name.
          response.header.aa = 1;
          response.answers.push(rr('www.evil.test', 'A', { address: EVIL }));
          response.additionals.push(rr('www.geektime.test', 'A', { address: EVIL }, 86400));
        } else {
          response.header.aa = 1;
          response.header.rcode = Packet.RCODE.NXDOMAIN;
        }
        return response;
      },
    }),
  );

  // A server that answers every UDP query truncated, and the full answer over TCP.
  keep(
    await startDnsServer({
      name: 'truncator',
      host: TRUNCATOR,
      port: 0,
      handle: (request, context) => {
        const response = responseTo(request);
        response.header.aa = 1;
        if (context.transport === 'udp') response.header.tc = 1;
        else response.answers.push(rr(request.questions[0]!.name, 'A', { address: '127.0.0.99' }, 60));
        return response;
      },
    }),
  );

  // A black hole: a UDP socket that swallows queries.
  const hole = dgram.createSocket('udp4');
  hole.on('message', () => blackHoleHits++);
  await new Promise<void>((resolve) => hole.bind(0, BLACK_HOLE, () => resolve()));
  ports.set(BLACK_HOLE, hole.address().port);
  closers.push(() => new Promise<void>((resolve) => hole.close(() => resolve())));
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

let resolvers: RunningResolver[] = [];
afterEach(async () => {
  for (const r of resolvers) await r.close();
  resolvers = [];
});

async function resolver(extra: Partial<ResolverOptions> = {}): Promise<RunningResolver> {
  const r = await startResolver({ host: '127.0.0.1', port: 0, rootHints: ROOT_HINTS, portOf, timeoutMs: 1000, ...extra });
  resolvers.push(r);
  return r;
}

/** A clock the test moves by hand: TTLs run out without waiting. */
function manualClock() {
  let t = 1_750_000_000_000;
  return { now: () => t, advance: (seconds: number) => (t += seconds * 1000) };
}

const hops = (walk: { server: { address: string }; outcome: { kind: string } }[]) => walk.map((s) => [s.server.address, s.outcome.kind]);

describe('walking the tree', () => {
  it('www.geektime.test: root → test. → geektime.test, referral, referral, answer; the stub gets RA', async () => {
    const r = await resolver();
    const answer = await stubResolve('www.geektime.test', { resolver: r, localAddress: NORTH });
    expect(answer.addresses).toEqual([A.slb]);
    expect(answer.rcode).toBe('NOERROR');

    const res = r.resolutionFor({ address: NORTH, port: answer.sourcePort }, answer.id)!;
    expect(res.fromCache).toBe(false);
    expect(hops(res.walk)).toEqual([
      [A.root, 'referral'],
      [A.tld, 'referral'],
      [A.shop, 'answer'],
    ]);
    // Each step's facts, and the line the lab words them into (dig +trace's summing up).
    expect(res.walk.map((s) => s.outcome)).toEqual([
      { kind: 'referral', zone: 'test', servers: [{ name: 'ns.nic.test', address: A.tld }], ttl: 172800 },
      { kind: 'referral', zone: 'geektime.test', servers: [{ name: 'ns1.geektime.test', address: A.shop }], ttl: 172800 },
      { kind: 'answer', name: 'www.geektime.test', type: 'A', values: [A.slb], ttl: 600 },
    ]);
    expect(words().dns.walkAnswerText(res.walk[0]!)).toBe('referral to test. (ns.nic.test 127.0.0.11), TTL 172800');
    expect(words().dns.walkAnswerText(res.walk[1]!)).toBe('referral to geektime.test. (ns1.geektime.test 127.0.0.12), TTL 172800');
    expect(words().dns.walkAnswerText(res.walk[2]!)).toBe('www.geektime.test A 127.0.0.80, TTL 600');
    expect(words('zh').dns.walkAnswerText(res.walk[0]!)).toBe('转介到 test.（ns.nic.test 127.0.0.11），TTL 172800');
    expect(words('zh').dns.walkAnswerText(res.walk[2]!)).toBe('www.geektime.test A 127.0.0.80，TTL 600');
    for (const step of res.walk) {
      expect(step.server.port).toBe(ports.get(step.server.address));
      expect(step.question).toEqual({ name: 'www.geektime.test', type: 'A' });
      expect(step.transport).toBe('udp');
      expect(step.sourcePort).toBeGreaterThan(0);
      expect(step.ecs).toBeUndefined();
    }
    expect(res.walk.map((s) => s.aa)).toEqual([false, false, true]);
    expect(res.walk[0]!.records).toContainEqual({ section: 'additional', name: 'ns.nic.test', type: 'A', ttl: 172800, data: A.tld });

    // The resolver's own answer: RA (recursion available), not AA (it is nobody's authority).
    const raw = await sendQuery({ server: r, name: 'www.geektime.test', type: 'A', rd: true });
    expect(raw.response.header.ra).toBe(1);
    expect(raw.response.header.aa).toBe(0);
    expect(raw.response.header.rd).toBe(1);
  });

  it('static.geektime.test: the CNAME chain across the shop, the CDN and the GSLB; ECS only to the GSLB', async () => {
    const r = await resolver();
    const before = decisions.length;
    const res = await r.resolve('static.geektime.test', 'A', NORTH);
    expect(res.rcode).toBe('NOERROR');
    expect(res.answers.map((a) => [a.name, a.type, a.data])).toEqual([
      ['static.geektime.test', 'CNAME', 'geektime.cdn.test'],
      ['geektime.cdn.test', 'CNAME', 'geektime.gslb.cdn.test'],
      ['geektime.gslb.cdn.test', 'A', EDGE.north],
    ]);
    expect(res.answers[2]!.ttl).toBe(30);
    expect(hops(res.walk)).toEqual([
      [A.root, 'referral'],
      [A.tld, 'referral'],
      [A.shop, 'cname'], // static → geektime.cdn.test: another zone, start again from what we know (test.)
      [A.tld, 'referral'],
      [A.cdn, 'cname'], // geektime.cdn.test → geektime.gslb.cdn.test
      [A.cdn, 'referral'], // gslb.cdn.test is delegated
      [A.gslb, 'answer'],
    ]);
    // The client's /24 went to the GSLB and to nobody else.
    expect(res.walk.map((s) => s.ecs)).toEqual([undefined, undefined, undefined, undefined, undefined, undefined, '127.10.1.0/24']);
    expect(res.clientSubnet).toBe('127.10.1.0/24');
    const seen = decisions.slice(before);
    expect(seen.map((d) => [d.source, d.client, d.chosen.address])).toEqual([['ecs', '127.10.1.0/24', EDGE.north]]);
    expect(res.walk[6]).toMatchObject({ ecs: '127.10.1.0/24', ecsScope: 24 });
    expect(res.walk.slice(0, 6).map((s) => s.ecsScope)).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
    expect(res.walk[2]!.outcome).toEqual({ kind: 'cname', chain: [{ name: 'static.geektime.test', target: 'geektime.cdn.test', ttl: 600 }] });
    expect(words().dns.walkAnswerText(res.walk[2]!)).toBe('static.geektime.test CNAME geektime.cdn.test, TTL 600');
    expect(words().dns.walkAnswerText(res.walk[6]!)).toBe(`geektime.gslb.cdn.test A ${EDGE.north}, TTL 30; ECS 127.10.1.0/24, scope /24`);

    // A south client: the CNAMEs come from the cache, but the north edge is not for it: ask the GSLB again.
    const south = await r.resolve('static.geektime.test', 'A', SOUTH);
    expect(south.answers.at(-1)!.data).toBe(EDGE.south);
    expect(hops(south.walk)).toEqual([[A.gslb, 'answer']]);
    expect(south.walk[0]!.ecs).toBe('127.10.2.0/24');

    // Each gets its own edge from the cache from now on.
    const northAgain = await r.resolve('static.geektime.test', 'A', '127.10.1.200');
    expect(northAgain.fromCache).toBe(true);
    expect(northAgain.answers.at(-1)!.data).toBe(EDGE.north);
    expect(northAgain.clientSubnet).toBe('127.10.1.0/24');
    const southAgain = await r.resolve('static.geektime.test', 'A', SOUTH);
    expect(southAgain.fromCache).toBe(true);
    expect(southAgain.answers.at(-1)!.data).toBe(EDGE.south);
  });

  it('a referral for a name server outside the zone: glue ignored, the name looked up separately', async () => {
    const r = await resolver();
    const res = await r.resolve('x.sub.evil.test', 'A', NORTH);
    // The real ns1.geektime.test is not authoritative for sub.evil.test and refuses: SERVFAIL, as it should be.
    expect(res.rcode).toBe('SERVFAIL');
    const referral = res.walk.find((s) => s.server.address === EVIL && s.outcome.kind === 'referral')!;
    expect(referral.outcome).toEqual({ kind: 'referral', zone: 'sub.evil.test', servers: [{ name: 'ns1.geektime.test' }], ttl: 3600 });
    expect(words().dns.walkAnswerText(referral)).toBe('referral to sub.evil.test. (ns1.geektime.test no glue), TTL 3600');
    expect(referral.note).toContainEqual({ kind: 'out-of-bailiwick', name: 'ns1.geektime.test', address: '127.0.0.66', zone: 'sub.evil.test' });
    expect(referral.note).toContainEqual({ kind: 'not-a-server', name: 'www.geektime.test', address: '127.0.0.66', zone: 'sub.evil.test' });
    expect(words().dns.walkReplyLines(referral)[1]).toContain('glue for ns1.geektime.test (127.0.0.66) ignored: out of bailiwick');
    expect(words().dns.walkReplyLines(referral)[1]).toContain('record www.geektime.test A 127.0.0.66 ignored');
    // It found ns1.geektime.test's address itself, from the shop's zone, and asked there.
    const nested = res.walk.filter((s) => s.note?.[0]?.kind === 'looking-up-server' && s.note[0].server === 'ns1.geektime.test');
    expect(words('zh').dns.walkReplyLines(referral)[1]).toContain('忽略 ns1.geektime.test 的胶水记录（127.0.0.66）：超出辖区（bailiwick）');
    expect(words().dns.walkReplyLines(nested[0]!)[1]).toMatch(/^ {4}note: looking up ns1\.geektime\.test, a server of sub\.evil\.test\. given without usable glue$/);
    expect(hops(nested)).toEqual([
      [A.tld, 'referral'],
      [A.shop, 'answer'],
    ]);
    expect(res.walk.at(-1)).toMatchObject({ server: { name: 'ns1.geektime.test', address: A.shop }, rcode: 'REFUSED', outcome: { kind: 'error', because: 'rcode', rcode: 'REFUSED' } });
    expect(words().dns.walkAnswerText(res.walk.at(-1)!)).toBe('answered REFUSED');
    // The attacker was never asked about the shop's names, and the shop's name still resolves to the shop.
    expect(evilSeen.every((n) => n.endsWith('evil.test'))).toBe(true);
    const shop = await r.resolve('www.geektime.test', 'A', NORTH);
    expect(shop.answers).toEqual([{ name: 'www.geektime.test', type: 'A', ttl: 600, data: A.slb }]);
  });

  it('an extra record slipped into an answer is not cached', async () => {
    const r = await resolver();
    const evil = await r.resolve('www.evil.test', 'A', NORTH);
    expect(evil.answers.map((a) => a.data)).toEqual([EVIL]);
    const shop = await r.resolve('www.geektime.test', 'A', NORTH);
    expect(shop.fromCache).toBe(false);
    expect(shop.answers.map((a) => a.data)).toEqual([A.slb]);
  });

  it('a referral that does not lead closer to the name is lame', async () => {
    const r = await resolver();
    const res = await r.resolve('up.evil.test', 'A', NORTH);
    expect(res.rcode).toBe('SERVFAIL');
    expect(res.walk.at(-1)).toMatchObject({ server: { address: EVIL }, outcome: { kind: 'lame', because: 'referral-not-closer', zone: 'evil.test', referredTo: 'test' } });
    expect(words().dns.walkAnswerText(res.walk.at(-1)!)).toBe('lame: referral to test., which is not a zone between evil.test. and up.evil.test');
  });

  it('a CNAME loop ends in SERVFAIL, not in an endless walk', async () => {
    const r = await resolver();
    const res = await r.resolve('loop1.evil.test', 'A', NORTH);
    expect(res.rcode).toBe('SERVFAIL');
    expect(hops(res.walk).slice(-2)).toEqual([
      [EVIL, 'cname'],
      [EVIL, 'cname'],
    ]);
    const raw = await sendQuery({ server: r, name: 'loop1.evil.test', type: 'A', rd: true });
    const ede = findOpt(raw.response)?.rdata?.find((o) => o.ednsCode === Packet.EDNS_OPTION_CODE.EDE) as unknown as { extraText: string };
    expect(ede.extraText).toBe('CNAME loop: loop1.evil.test again');
  });

  it('a server that does not answer: timeout, then the next server', async () => {
    const r = await resolver({
      timeoutMs: 500,
      rootHints: [
        { name: 'a.root-servers.test', address: BLACK_HOLE },
        { name: 'b.root-servers.test', address: A.root },
      ],
    });
    const hitsBefore = blackHoleHits;
    const res = await r.resolve('www.geektime.test', 'A', NORTH);
    expect(res.rcode).toBe('NOERROR');
    expect(res.answers.map((a) => a.data)).toEqual([A.slb]);
    expect(hops(res.walk)).toEqual([
      [BLACK_HOLE, 'timeout'],
      [A.root, 'referral'],
      [A.tld, 'referral'],
      [A.shop, 'answer'],
    ]);
    expect(res.walk[0]).toMatchObject({ outcome: { kind: 'timeout', afterMs: 500 }, rcode: 'TIMEOUT' });
    expect(words().dns.walkAnswerText(res.walk[0]!)).toBe('no answer within 500 ms');
    expect(blackHoleHits).toBeGreaterThan(hitsBefore);

    // Next time the root is needed, the server that timed out is tried last.
    const again = await r.resolve('shop.invalid', 'A', NORTH);
    expect(again.rcode).toBe('NXDOMAIN');
    expect(hops(again.walk)).toEqual([[A.root, 'nxdomain']]);
  });

  it('no server answers at all: SERVFAIL with an Extended DNS Error; the stub says which name and which resolver', async () => {
    const r = await resolver({ timeoutMs: 200, rootHints: [{ name: 'a.root-servers.test', address: BLACK_HOLE }] });
    const raw = await sendQuery({ server: r, name: 'www.geektime.test', type: 'A', rd: true });
    expect(raw.response.header.rcode).toBe(Packet.RCODE.SERVFAIL);
    expect(raw.response.header.ra).toBe(1);
    const ede = findOpt(raw.response)?.rdata?.find((o) => o.ednsCode === Packet.EDNS_OPTION_CODE.EDE) as unknown as { infoCode: number; extraText: string };
    expect(ede.infoCode).toBe(Packet.EDE.NO_REACHABLE_AUTHORITY);
    expect(ede.extraText).toBe(`no server of . gave a usable answer: a.root-servers.test (${BLACK_HOLE}) no answer within 200 ms`);
    await expect(stubResolve('www.geektime.test', { resolver: r })).rejects.toThrow(
      `cannot resolve www.geektime.test: the local DNS 127.0.0.1:${r.port} says it could not find the answer (SERVFAIL)`,
    );
  });

  it('a truncated UDP answer is asked again over TCP, and the step says so', async () => {
    const r = await resolver({ rootHints: [{ name: 'tc.root-servers.test', address: TRUNCATOR }] });
    const res = await r.resolve('big.test', 'A', NORTH);
    expect(res.answers.map((a) => a.data)).toEqual(['127.0.0.99']);
    expect(res.walk).toHaveLength(1);
    expect(res.walk[0]).toMatchObject({ transport: 'tcp', truncatedOverUdp: true, outcome: { kind: 'answer' }, aa: true });
  });
});

describe('the cache', () => {
  it('answers again within the TTL with the TTL counted down, walks again after it, and remembers delegations', async () => {
    const clock = manualClock();
    const r = await resolver({ now: clock.now });
    const first = await r.resolve('www.geektime.test', 'A', NORTH);
    expect(first.walk).toHaveLength(3);
    expect(first.answers[0]!.ttl).toBe(600);

    clock.advance(5);
    const second = await stubResolve('www.geektime.test', { resolver: r, localAddress: NORTH });
    expect(second.chain).toEqual([{ name: 'www.geektime.test', type: 'A', ttl: 595, data: A.slb }]);
    const res = r.resolutionFor({ address: NORTH, port: second.sourcePort }, second.id)!;
    expect(res.fromCache).toBe(true);
    expect(res.walk).toEqual([]);

    // The A record's 600 s are over; the delegation to geektime.test (2 days) is not: start there.
    clock.advance(600);
    const third = await r.resolve('www.geektime.test', 'A', NORTH);
    expect(third.fromCache).toBe(false);
    expect(hops(third.walk)).toEqual([[A.shop, 'answer']]);
    expect(third.answers[0]!.ttl).toBe(600);

    // Another name in geektime.test starts at geektime.test's server too.
    const apex = await r.resolve('geektime.test', 'A', NORTH);
    expect(hops(apex.walk)).toEqual([[A.shop, 'answer']]);

    expect(r.cacheSize()).toBeGreaterThan(0);
    r.flushCache();
    expect(r.cacheSize()).toBe(0);
    const afterFlush = await r.resolve('www.geektime.test', 'A', NORTH);
    expect(afterFlush.walk).toHaveLength(3);
  });

  it('a question asked again gets the answer kept as bytes: its own ID, the TTLs the RRset cache gives, the question as asked, EDNS as asked, the subnet it was made for', async () => {
    const clock = manualClock();
    const r = await resolver({ now: clock.now });
    const ask = (opts: { localAddress?: string; edns?: boolean; randomizeCase?: boolean } = {}) =>
      sendQuery({ server: r, name: 'static.geektime.test', type: 'A', rd: true, localAddress: NORTH, ...opts });
    const records = (p: { answers: DnsRecord[] }) => p.answers.map((a) => [a.name.toLowerCase(), Packet.typeName(a.type), a.ttl, a.address ?? a.domain]);
    const first = await ask();
    expect(r.resolutionFor({ address: NORTH, port: first.sourcePort }, first.id)!.fromCache).toBe(false);
    const ttls = first.response.answers.map((a) => a.ttl);

    clock.advance(2.5);
    const again = await ask();
    expect(again.response.header.id).toBe(again.id);
    // Counted down as the RRset cache counts (resolve() in-process answers from it, never from kept bytes).
    const fromRRsets = await r.resolve('static.geektime.test', 'A', NORTH);
    expect(fromRRsets.fromCache).toBe(true);
    expect(records(again.response)).toEqual(fromRRsets.answers.map((a) => [a.name, a.type, a.ttl, a.data]));
    expect(again.response.answers.map((a) => a.ttl)).toEqual(ttls.map((t) => t - 2));
    expect(r.resolutionFor({ address: NORTH, port: again.sourcePort }, again.id)).toMatchObject({ fromCache: true, walk: [], answers: fromRRsets.answers });

    // The question in the answer is the one asked, in its case: a 0x20 client takes no other answer
    // (sendQuery would time out), and a lower-case one is kept by now.
    for (let i = 0; i < 2; i++) expect((await ask({ randomizeCase: true })).response.questions[0]!.name.toLowerCase()).toBe('static.geektime.test');
    // An OPT record only for a client that sent one, whichever was kept first.
    expect(findOpt((await ask({ edns: false })).response)).toBeUndefined();
    expect(findOpt((await ask()).response)).toBeDefined();
    // The GSLB's answer was made for the north /24: a client in the south gets its own.
    const south = await ask({ localAddress: SOUTH });
    expect(south.response.answers.at(-1)!.address).toBe(EDGE.south);
    expect((await ask()).response.answers.at(-1)!.address).toBe(EDGE.north);

    // The GSLB's A record runs out: asked again, not kept past it.
    const gslbTtl = ttls.at(-1)!;
    clock.advance(gslbTtl);
    const expired = await ask();
    expect(r.resolutionFor({ address: NORTH, port: expired.sourcePort }, expired.id)!.fromCache).toBe(false);
    expect(expired.response.answers.at(-1)!.ttl).toBe(gslbTtl);

    // A flush of the cache ends the kept answers too.
    r.flushCache();
    const afterFlush = await ask();
    expect(r.resolutionFor({ address: NORTH, port: afterFlush.sourcePort }, afterFlush.id)!.walk.length).toBeGreaterThan(0);
  });

  it('NXDOMAIN is remembered for the SOA minimum (RFC 2308), for every type of that name', async () => {
    const clock = manualClock();
    const r = await resolver({ now: clock.now });
    const first = await r.resolve('nope.geektime.test', 'A', NORTH);
    expect(first.rcode).toBe('NXDOMAIN');
    expect(first.walk.at(-1)).toMatchObject({ server: { address: A.shop }, rcode: 'NXDOMAIN', aa: true });
    expect(first.walk.at(-1)!.outcome).toEqual({ kind: 'nxdomain', chain: [], name: 'nope.geektime.test', type: 'A', soa: { zone: 'geektime.test', negativeTtl: 300 } });
    expect(words().dns.walkAnswerText(first.walk.at(-1)!)).toBe('nope.geektime.test does not exist (NXDOMAIN); the SOA of geektime.test. says remember this for 300 s');

    clock.advance(299);
    const cached = await r.resolve('nope.geektime.test', 'AAAA', NORTH);
    expect(cached).toMatchObject({ rcode: 'NXDOMAIN', fromCache: true, walk: [] });
    // Over DNS the stub gets the SOA too, with what is left of the negative TTL.
    const raw = await sendQuery({ server: r, name: 'nope.geektime.test', type: 'A', rd: true, localAddress: NORTH });
    expect(raw.response.header.rcode).toBe(Packet.RCODE.NXDOMAIN);
    expect(raw.response.authorities.map((s) => [s.name, Packet.typeName(s.type), s.ttl])).toEqual([['geektime.test', 'SOA', 1]]);
    await expect(stubResolve('nope.geektime.test', { resolver: r, localAddress: NORTH })).rejects.toThrow('nope.geektime.test');

    clock.advance(2);
    const expired = await r.resolve('nope.geektime.test', 'A', NORTH);
    expect(expired.fromCache).toBe(false);
    expect(hops(expired.walk)).toEqual([[A.shop, 'nxdomain']]);
  });

  it('keeps no more than maxCacheEntries entries', async () => {
    const r = await resolver({ maxCacheEntries: 3 });
    await r.resolve('static.geektime.test', 'A', NORTH);
    expect(r.cacheSize()).toBeLessThanOrEqual(3);
    expect((await r.resolve('static.geektime.test', 'A', NORTH)).answers.at(-1)!.data).toBe(EDGE.north);
  });

  it('NODATA (the name exists, not that type) is remembered too', async () => {
    const clock = manualClock();
    const r = await resolver({ now: clock.now });
    const first = await r.resolve('www.geektime.test', 'AAAA', NORTH);
    expect(first).toMatchObject({ rcode: 'NOERROR', answers: [] });
    expect(first.walk.at(-1)!.outcome).toMatchObject({ kind: 'nodata', name: 'www.geektime.test', type: 'AAAA' });
    expect(words().dns.walkAnswerText(first.walk.at(-1)!)).toMatch(/^www\.geektime\.test has no AAAA records \(NODATA\); the SOA of geektime\.test\. says remember this for \d+ s$/);
    clock.advance(100);
    expect(await r.resolve('www.geektime.test', 'AAAA', NORTH)).toMatchObject({ rcode: 'NOERROR', answers: [], fromCache: true });
    // ...but not for other types: the A record is still asked for.
    expect((await r.resolve('www.geektime.test', 'A', NORTH)).fromCache).toBe(false);
  });
});

describe('the DNS face', () => {
  it('refuses clients it does not serve', async () => {
    const r = await resolver({ allowClients: (address) => address !== '127.0.0.1' });
    const refused = await sendQuery({ server: r, name: 'www.geektime.test', type: 'A', rd: true, localAddress: '127.0.0.1' });
    expect(refused.response.header.rcode).toBe(Packet.RCODE.REFUSED);
    expect(refused.response.answers).toEqual([]);
    await expect(stubResolve('www.geektime.test', { resolver: r, localAddress: '127.0.0.1' })).rejects.toThrow('REFUSED');
    // Its own clients are served.
    expect((await stubResolve('www.geektime.test', { resolver: r, localAddress: NORTH })).addresses).toEqual([A.slb]);
  });

  it('keeps serving its clients after 1,000 random and mutated packets', async () => {
    const r = await resolver();
    await fuzz([r], 1000);
    expect((await stubResolve('www.geektime.test', { resolver: r, localAddress: NORTH })).addresses).toEqual([A.slb]);
  });

  const hasDig = spawnSync('dig', ['-v']).status === 0;
  it.skipIf(!hasDig)('dig shows the CNAME chain and the south edge, with ra; the walk log has the walk of that very query', async () => {
    const walkLog = path.join(tmp, 'walk.jsonl');
    const r = await resolver({ walkLog });
    const out = await new Promise<string>((resolve, reject) =>
      execFile('dig', [`@${r.host}`, '-p', String(r.port), '-b', SOUTH, '+tries=1', '+time=5', 'static.geektime.test'], (err, stdout) => (err ? reject(err) : resolve(stdout))),
    );
    expect(out).toMatch(/flags: qr rd ra;/);
    expect(out).toMatch(/status: NOERROR/);
    expect(out).toMatch(/^static\.geektime\.test\.\s+600\s+IN\s+CNAME\s+geektime\.cdn\.test\.$/m);
    expect(out).toMatch(/^geektime\.cdn\.test\.\s+600\s+IN\s+CNAME\s+geektime\.gslb\.cdn\.test\.$/m);
    expect(out).toMatch(/^geektime\.gslb\.cdn\.test\.\s+30\s+IN\s+A\s+127\.0\.0\.22$/m);

    await r.flushWalkLog(); // written off the request path: wait for it, as a reader in-process would
    const entries = fs.readFileSync(walkLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ clientAddress: SOUTH, name: 'static.geektime.test', clientSubnet: '127.10.2.0/24', rcode: 'NOERROR' });
    expect(entries[0].clientPort).toBeGreaterThan(0);
    expect(typeof entries[0].queryId).toBe('number');
    expect(entries[0].walk.at(-1)).toMatchObject({ server: { address: A.gslb }, ecs: '127.10.2.0/24', ecsScope: 24, outcome: { kind: 'answer' } });
  });

  it('emits resolved and logs one line per resolution', async () => {
    const lines: string[] = [];
    const r = await resolver({ log: (l) => lines.push(l) });
    const seen = new Promise((resolve) => r.events.once('resolved', resolve));
    await stubResolve('www.geektime.test', { resolver: r, localAddress: NORTH });
    expect(await seen).toMatchObject({ name: 'www.geektime.test', client: NORTH });
    expect(lines.filter((l) => l.includes('www.geektime.test'))).toEqual([expect.stringMatching(/^local-dns: 127\.10\.1\.7:\d+ A www\.geektime\.test\? → NOERROR 127\.0\.0\.80 \(3 queries, \d+ ms\)$/)]);
  });
});

describe('stubLookup', () => {
  it('answers lookup() with one address, or an array when all is set', async () => {
    const r = await resolver();
    const lookup = stubLookup({ resolver: r, localAddress: NORTH });
    const one = await new Promise<unknown[]>((resolve) => lookup('www.geektime.test', {}, (...args) => resolve(args)));
    expect(one).toEqual([null, A.slb, 4]);
    const all = await new Promise<unknown[]>((resolve) => lookup('www.geektime.test', { all: true }, (...args) => resolve(args)));
    expect(all).toEqual([null, [{ address: A.slb, family: 4 }]]);
    const missing = await new Promise<unknown[]>((resolve) => lookup('nope.geektime.test', { all: true }, (...args) => resolve(args)));
    expect((missing[0] as NodeJS.ErrnoException).code).toBe('ENOTFOUND');
  });

  it('works as the lookup of net.connect (with and without autoSelectFamily) and http.request', async () => {
    const r = await resolver();
    const lookup = stubLookup({ resolver: r, localAddress: NORTH });
    const { port } = await httpServer(A.slb, (req, res) => res.end(`you asked for ${req.headers.host}`));

    for (const autoSelectFamily of [true, false]) {
      const socket = net.connect({ host: 'www.geektime.test', port, lookup, autoSelectFamily });
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      expect(socket.remoteAddress).toBe(A.slb);
      socket.destroy();
    }

    const body = await new Promise<string>((resolve, reject) => {
      const req = http.request({ host: 'www.geektime.test', port, path: '/', lookup, agent: false }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.end();
    });
    expect(body).toBe(`you asked for www.geektime.test:${port}`);

    const err = await new Promise<NodeJS.ErrnoException>((resolve) => {
      const req = http.request({ host: 'nope.geektime.test', port, lookup, agent: false });
      req.on('error', resolve);
      req.end();
    });
    expect(err.code).toBe('ENOTFOUND');
    expect(err.message).toBe(`cannot resolve nope.geektime.test: the local DNS 127.0.0.1:${r.port} says no such name (NXDOMAIN)`);
  });
});
