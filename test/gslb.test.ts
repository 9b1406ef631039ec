// The GSLB: client location (ECS, source address), region by longest prefix, health-checked edge
// choice with failover, the zone's own answers, and what dig shows; over real sockets.
import http from 'node:http';
import dgram from 'node:dgram';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { fuzz } from './dns-fuzz.ts';
import { startGslb, type GslbDecision, type GslbOptions, type RunningGslb } from '../servers/dns/gslb.ts';
import { sendQuery } from '../servers/dns/query.ts';
import { Packet, findOpt, type DnsPacket } from '../servers/dns/dns-server.ts';
import { words } from '../lab/story/words/index.ts';

const SERVICE = 'geektime.gslb.cdn.test';
const NORTH_IP = '127.0.0.21';
const SOUTH_IP = '127.0.0.22';
const FAST = { intervalMs: 50, rise: 2, fall: 2 };
const onLinux = process.platform === 'linux';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

type Mode = 'ok' | 'fail' | 'hang';

/** A stand-in edge cache: only /healthz, answering 200, 503, or never. */
async function startEdge(initial: Mode = 'ok') {
  let mode = initial;
  let failuresServed = 0;
  let passesServed = 0;
  let closed = false;
  const server = http.createServer((_req, res) => {
    if (mode === 'hang') return; // accept, read, never answer
    if (mode === 'ok') passesServed++;
    else failuresServed++;
    res.writeHead(mode === 'ok' ? 200 : 503, { 'content-type': 'text/plain' }).end(mode);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = () =>
    new Promise<void>((resolve) => {
      if (closed) return resolve();
      closed = true;
      server.closeAllConnections();
      server.close(() => resolve());
    });
  cleanups.push(close);
  return {
    healthUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`,
    set(next: Mode) {
      mode = next;
      failuresServed = 0;
      passesServed = 0;
    },
    served: () => ({ failures: failuresServed, passes: passesServed }),
    close,
  };
}

async function startLab(opts: { north?: Mode; south?: Mode; healthCheck?: GslbOptions['healthCheck'] } = {}) {
  const north = await startEdge(opts.north);
  const south = await startEdge(opts.south);
  const lines: string[] = [];
  const gslb = await startGslb({
    host: '127.0.0.1',
    port: 0,
    edges: [
      { name: 'edge-north', region: 'north', address: NORTH_IP, healthUrl: north.healthUrl },
      { name: 'edge-south', region: 'south', address: SOUTH_IP, healthUrl: south.healthUrl },
    ],
    regions: [
      { name: 'north', subnets: ['127.10.1.0/24'], nearest: ['edge-north', 'edge-south'] },
      { name: 'south', subnets: ['127.10.2.0/24'], nearest: ['edge-south', 'edge-north'] },
    ],
    defaultRegion: 'north',
    healthCheck: opts.healthCheck ?? FAST,
    log: (line) => lines.push(line),
  });
  cleanups.push(() => gslb.close());
  return { gslb, north, south, lines };
}

/** Resolves once `edge` is in the given state: at once if it already is, else on the event. */
function waitForHealth(gslb: RunningGslb, edge: string, healthy: boolean): Promise<void> {
  if (gslb.edges().find((e) => e.name === edge)?.healthy === healthy) return Promise.resolve();
  const event = healthy ? 'up' : 'down';
  return new Promise((resolve) => {
    const on = (name: string) => {
      if (name !== edge) return;
      gslb.events.off(event, on);
      resolve();
    };
    gslb.events.on(event, on);
  });
}

const bothUp = (gslb: RunningGslb) => Promise.all([waitForHealth(gslb, 'edge-north', true), waitForHealth(gslb, 'edge-south', true)]);

function ask(gslb: RunningGslb, type: string, extra: { name?: string; clientSubnet?: string; localAddress?: string; tcp?: boolean } = {}) {
  return sendQuery({ server: { host: gslb.host, port: gslb.port }, name: extra.name ?? SERVICE, type, ...extra }).then((x) => x.response);
}

type Ecs = { family: number; sourcePrefixLength: number; scopePrefixLength: number; ip?: string };
function ecsOf(response: DnsPacket): Ecs | undefined {
  return findOpt(response)?.rdata?.find((o) => o.ednsCode === Packet.EDNS_OPTION_CODE.ECS) as Ecs | undefined;
}
const txtOf = (response: DnsPacket) => ([] as string[]).concat(response.answers[0]?.data as string[]).join('');

/** A query built by hand, for ECS options sendQuery would never send. */
function rawQuery(gslb: RunningGslb, ecs: Ecs, localAddress?: string, type: 'A' | 'TXT' = 'A'): Promise<DnsPacket> {
  const packet = new Packet();
  packet.header.id = 4242;
  packet.questions.push({ name: SERVICE, type: Packet.TYPE[type], class: Packet.CLASS.IN } as DnsPacket['questions'][number]);
  packet.additionals.push(Packet.Resource.EDNS([{ ednsCode: Packet.EDNS_OPTION_CODE.ECS, ...ecs }], { udpPayloadSize: 1232 }));
  const socket = dgram.createSocket('udp4');
  return new Promise<DnsPacket>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no answer')), 2000);
    socket.on('message', (bytes) => {
      clearTimeout(timer);
      socket.close();
      resolve(Packet.parse(bytes));
    });
    socket.bind({ port: 0, address: localAddress }, () => socket.send(packet.toBuffer(), gslb.port, gslb.host));
  });
}

describe('where the client is', () => {
  it('ECS 127.10.1.0/24 gets the north edge, 127.10.2.0/24 the south edge: AA, no RA, TTL 30, ECS scope 24', async () => {
    const { gslb } = await startLab();
    await bothUp(gslb);
    const decisions: GslbDecision[] = [];
    gslb.events.on('decision', (d: GslbDecision) => decisions.push(d));

    const north = await ask(gslb, 'A', { clientSubnet: '127.10.1.0/24' });
    expect(north.header.rcode).toBe(Packet.RCODE.NOERROR);
    expect(north.header.aa).toBe(1);
    expect(north.header.ra).toBe(0);
    expect(north.answers).toHaveLength(1);
    expect(north.answers[0]).toMatchObject({ type: Packet.TYPE.A, address: NORTH_IP, ttl: 30 });
    expect(ecsOf(north)).toMatchObject({ family: 1, sourcePrefixLength: 24, scopePrefixLength: 24, ip: '127.10.1.0' });
    expect(findOpt(north)!.class).toBe(1232);

    const south = await ask(gslb, 'A', { clientSubnet: '127.10.2.0/24' });
    expect(south.answers[0]).toMatchObject({ address: SOUTH_IP, ttl: 30 });
    expect(ecsOf(south)?.scopePrefixLength).toBe(24);

    expect(decisions[0]).toMatchObject({
      client: '127.10.1.0/24',
      source: 'ecs',
      region: 'north',
      regionBy: { kind: 'subnet', subnet: '127.10.1.0/24' },
      chosen: { name: 'edge-north', address: NORTH_IP },
      choice: { kind: 'nearest-healthy' },
      scopePrefixLength: 24,
    });
    expect(decisions[0]!.ecsUnused).toBeUndefined();
    // The lab words those facts as the GSLB's TXT does (always English: a protocol string), and in Chinese for the narration.
    expect(words('en').dns.gslbRegionText(decisions[0]!)).toBe("127.10.1.0/24 is inside north's 127.10.1.0/24");
    expect(words('en').dns.gslbChoiceText(decisions[0]!)).toBe('edge-north is the nearest healthy edge for north');
    expect(words('zh').dns.gslbRegionText(decisions[0]!)).toBe('127.10.1.0/24 属于北区（north）的子网 127.10.1.0/24');
    expect(words('zh').dns.gslbChoiceText(decisions[0]!)).toBe('edge-north 是北区（north）最近的健康边缘节点');
    expect(decisions[0]!.candidates.map((c) => [c.name, c.healthy])).toEqual([['edge-north', true], ['edge-south', true]]);
  });

  it.skipIf(!onLinux)('without ECS the source address decides: from 127.10.2.10 the south edge', async () => {
    const { gslb, lines } = await startLab();
    await bothUp(gslb);
    const r = await ask(gslb, 'A', { localAddress: '127.10.2.10' });
    expect(r.answers[0]?.address).toBe(SOUTH_IP);
    expect(ecsOf(r)).toBeUndefined(); // no ECS asked, none given
    expect(lines).toContain('gslb: 127.10.2.10 (source-address) → south → edge-south 127.0.0.22 (edge-south is the nearest healthy edge for south)');
  });

  it('over TCP: ECS decides the same way, and without ECS there is still an answer', async () => {
    const { gslb } = await startLab();
    await bothUp(gslb);
    const r = await ask(gslb, 'A', { clientSubnet: '127.10.2.0/24', tcp: true });
    expect(r.answers[0]?.address).toBe(SOUTH_IP);
    expect(ecsOf(r)?.scopePrefixLength).toBe(24);
    const plain = await ask(gslb, 'A', { localAddress: '127.0.0.1', tcp: true });
    expect(plain.header.rcode).toBe(Packet.RCODE.NOERROR);
    expect(plain.answers[0]?.type).toBe(Packet.TYPE.A);
  });

  it('a client in no known subnet gets the default region, and the scope keeps that answer away from the regions', async () => {
    const { gslb } = await startLab();
    await bothUp(gslb);
    const fromLoopback = await ask(gslb, 'A', { localAddress: '127.0.0.1' });
    expect(fromLoopback.answers[0]?.address).toBe(NORTH_IP);
    const loopback = gslb.decide('127.0.0.1');
    expect(loopback).toMatchObject({ region: 'north', regionBy: { kind: 'default', because: 'no-subnet-matches' } });
    expect(words('en').dns.gslbRegionText(loopback)).toBe("127.0.0.1 is in no region's subnet, so the default region north");

    // Scope 0 would tell the resolver "this answer suits every client", south's too. 127.0.0.0/24
    // and the regions' 127.10.x.0/24 part after 12 bits, so the answer holds for 127.0.0.0/13.
    const unknown = await ask(gslb, 'A', { clientSubnet: '127.0.0.0/24' });
    expect(unknown.answers[0]?.address).toBe(NORTH_IP);
    expect(ecsOf(unknown)).toMatchObject({ sourcePrefixLength: 24, scopePrefixLength: 13 });
    // 192.x and 127.x differ in the very first bit.
    expect(ecsOf(await ask(gslb, 'A', { clientSubnet: '192.0.2.0/24' }))?.scopePrefixLength).toBe(1);
  });

  it.skipIf(!onLinux)('ECS with source prefix 0 means "do not use my subnet": the source address decides, scope 0', async () => {
    const { gslb } = await startLab();
    await bothUp(gslb);
    const r = await rawQuery(gslb, { family: 1, sourcePrefixLength: 0, scopePrefixLength: 0, ip: '0.0.0.0' }, '127.10.2.10');
    expect(r.answers[0]?.address).toBe(SOUTH_IP);
    expect(ecsOf(r)).toMatchObject({ family: 1, sourcePrefixLength: 0, scopePrefixLength: 0 });
    const d = gslb.decide('127.10.2.10', { ip: '0.0.0.0', sourcePrefixLength: 0 });
    expect(d).toMatchObject({ source: 'source-address', ecsUnused: { ip: '0.0.0.0', sourcePrefixLength: 0 }, region: 'south' });
    expect(words('en').dns.gslbRegionText(d)).toBe("ECS 0.0.0.0/0 gives no subnet to use, so the source address decides: 127.10.2.10 is inside south's 127.10.2.0/24");
    expect(txtOf(await rawQuery(gslb, { family: 1, sourcePrefixLength: 0, scopePrefixLength: 0, ip: '0.0.0.0' }, '127.10.2.10', 'TXT'))).toContain(`(${words('en').dns.gslbRegionText(d)})`);
  });

  it('a malformed ECS (127.10.1.0/20: address bits beyond its prefix) gets FORMERR, and the server keeps serving', async () => {
    const { gslb } = await startLab();
    const r = await rawQuery(gslb, { family: 1, sourcePrefixLength: 20, scopePrefixLength: 0, ip: '127.10.1.0' }); // /20 leaves only 127.10.0.0 valid
    expect(r.header.rcode).toBe(Packet.RCODE.FORMERR);
    expect((await ask(gslb, 'A', { clientSubnet: '127.10.1.0/24' })).answers[0]?.address).toBe(NORTH_IP);
  });

  it('the most specific subnet wins, and a too-short ECS prefix gets a longer scope', async () => {
    const edge = await startEdge();
    const gslb = await startGslb({
      host: '127.0.0.1',
      port: 0,
      edges: [
        { name: 'edge-north', region: 'north', address: NORTH_IP, healthUrl: edge.healthUrl },
        { name: 'edge-south', region: 'south', address: SOUTH_IP, healthUrl: edge.healthUrl },
      ],
      regions: [
        { name: 'north', subnets: ['127.10.0.0/16'], nearest: ['edge-north'] },
        { name: 'south', subnets: ['127.10.2.0/24'], nearest: ['edge-south'] },
      ],
      defaultRegion: 'north',
      healthCheck: FAST,
    });
    cleanups.push(() => gslb.close());
    const south = gslb.decide('127.10.2.7');
    expect(south).toMatchObject({ region: 'south', regionBy: { kind: 'subnet', subnet: '127.10.2.0/24' } });
    expect(words('en').dns.gslbRegionText(south)).toBe("127.10.2.7 is inside south's 127.10.2.0/24");
    expect(gslb.decide('127.10.3.7').region).toBe('north');
    expect(gslb.decide('x', { ip: '127.10.3.0', sourcePrefixLength: 24 }).scopePrefixLength).toBe(24);
    // 127.10.0.0/16 is north's, but south's /24 sits inside it: the answer holds only for 127.10.0.0/23.
    expect(gslb.decide('x', { ip: '127.10.0.0', sourcePrefixLength: 16 })).toMatchObject({ region: 'north', scopePrefixLength: 23 });
  });
});

describe('health checks and failover', () => {
  it('north fails its checks → north clients get the south edge; it passes again → north again', async () => {
    const { gslb, north, lines } = await startLab();
    await bothUp(gslb);

    north.set('fail');
    await waitForHealth(gslb, 'edge-north', false);
    expect(north.served().failures).toBeGreaterThanOrEqual(2); // fall 2: one failed check is not enough
    expect(lines.some((l) => /^gslb: edge-north \(127\.0\.0\.21\) is down: GET \/healthz → 503, 2 failures in a row$/.test(l))).toBe(true);

    const a = await ask(gslb, 'A', { clientSubnet: '127.10.1.0/24' });
    expect(a.answers[0]?.address).toBe(SOUTH_IP);
    const txt = txtOf(await ask(gslb, 'TXT', { clientSubnet: '127.10.1.0/24' }));
    expect(txt).toContain('candidates edge-north down, edge-south healthy');
    expect(txt).toContain('edge-south 127.0.0.22 (edge-north is down, so edge-south is the nearest healthy edge for north)');
    const failover = gslb.decide('x', { ip: '127.10.1.0', sourcePrefixLength: 24 });
    expect(failover).toMatchObject({ chosen: { name: 'edge-south' }, choice: { kind: 'failover', down: ['edge-north'] } });
    expect(txt).toContain(`(${words('en').dns.gslbChoiceText(failover)})`);

    north.set('ok');
    await waitForHealth(gslb, 'edge-north', true);
    expect(north.served().passes).toBeGreaterThanOrEqual(2); // rise 2
    expect((await ask(gslb, 'A', { clientSubnet: '127.10.1.0/24' })).answers[0]?.address).toBe(NORTH_IP);
  });

  it('all edges down: still an A record, the region\'s nearest, and the TXT says why', async () => {
    const { gslb, north, south } = await startLab();
    north.set('fail');
    await south.close(); // connection refused
    await Promise.all([waitForHealth(gslb, 'edge-north', false), waitForHealth(gslb, 'edge-south', false)]);
    expect(gslb.edges().find((e) => e.name === 'edge-south')?.reason).toMatch(/ECONNREFUSED/);

    const r = await ask(gslb, 'A', { clientSubnet: '127.10.2.0/24' });
    expect(r.header.rcode).toBe(Packet.RCODE.NOERROR);
    expect(r.answers[0]?.address).toBe(SOUTH_IP);
    const txt = txtOf(await ask(gslb, 'TXT', { clientSubnet: '127.10.2.0/24' }));
    expect(txt).toContain('all edges for south are down, so edge-south, the nearest, in case it still serves');
    const allDown = gslb.decide('x', { ip: '127.10.2.0', sourcePrefixLength: 24 });
    expect(allDown).toMatchObject({ chosen: { name: 'edge-south' }, choice: { kind: 'all-down' } });
    expect(txt).toContain(`(${words('en').dns.gslbChoiceText(allDown)})`);
  });

  it('before the first check has an answer, the nearest edge is given (health unknown)', async () => {
    const { gslb } = await startLab({ north: 'hang', south: 'hang', healthCheck: { intervalMs: 1e9, timeoutMs: 1e9 } });
    expect(gslb.edges().map((e) => e.healthy)).toEqual(['unknown', 'unknown']);
    const r = await ask(gslb, 'A', { clientSubnet: '127.10.1.0/24' });
    expect(r.answers[0]?.address).toBe(NORTH_IP);
    const d = gslb.decide('127.10.1.9');
    expect(d.candidates[0]).toMatchObject({ name: 'edge-north', healthy: 'unknown', reason: 'not checked yet' });
    expect(d.choice).toEqual({ kind: 'nearest-not-checked-yet' });
    expect(words('en').dns.gslbChoiceText(d)).toBe('edge-north is the nearest edge for north (not checked yet, assumed healthy)');
  });
});

describe('the zone', () => {
  it('apex SOA and NS, the name server\'s A, NXDOMAIN and NODATA with the SOA, REFUSED outside the zone', async () => {
    const { gslb } = await startLab();
    const soa = await ask(gslb, 'SOA', { name: 'gslb.cdn.test' });
    expect(soa.header.aa).toBe(1);
    expect(soa.answers[0]).toMatchObject({
      type: Packet.TYPE.SOA,
      primary: 'ns1.gslb.cdn.test',
      admin: 'hostmaster.gslb.cdn.test',
      serial: 2026112501,
      refresh: 3600,
      retry: 600,
      expiration: 86400,
      minimum: 30,
    });

    const ns = await ask(gslb, 'NS', { name: 'gslb.cdn.test' });
    expect(ns.answers[0]).toMatchObject({ type: Packet.TYPE.NS, ns: 'ns1.gslb.cdn.test' });
    expect(ns.additionals.find((r) => r.type === Packet.TYPE.A)?.address).toBe('127.0.0.1');
    expect((await ask(gslb, 'A', { name: 'ns1.gslb.cdn.test' })).answers[0]?.address).toBe('127.0.0.1');

    const nx = await ask(gslb, 'A', { name: 'nope.gslb.cdn.test' });
    expect(nx.header.rcode).toBe(Packet.RCODE.NXDOMAIN);
    expect(nx.header.aa).toBe(1);
    expect(nx.answers).toHaveLength(0);
    expect(nx.authorities[0]).toMatchObject({ type: Packet.TYPE.SOA, ttl: 30, minimum: 30 });

    const nodata = await ask(gslb, 'AAAA');
    expect(nodata.header.rcode).toBe(Packet.RCODE.NOERROR);
    expect(nodata.header.aa).toBe(1);
    expect(nodata.answers).toHaveLength(0);
    expect(nodata.authorities[0]?.type).toBe(Packet.TYPE.SOA);

    const refused = await ask(gslb, 'A', { name: 'www.geektime.test' });
    expect(refused.header.rcode).toBe(Packet.RCODE.REFUSED);
    expect(refused.header.aa).toBe(0);
    expect(refused.header.ra).toBe(0);
    expect(refused.answers).toHaveLength(0);
  });

  it('names are case-insensitive, and the answer keeps the case asked (0x20)', async () => {
    const { gslb } = await startLab();
    const r = await ask(gslb, 'A', { name: 'GeekTime.GSLB.cdn.test', clientSubnet: '127.10.2.0/24' });
    expect(r.answers[0]).toMatchObject({ name: 'GeekTime.GSLB.cdn.test', address: SOUTH_IP });
  });

  it('the TXT record explains the decision, TTL 0', async () => {
    const { gslb } = await startLab();
    await bothUp(gslb);
    const r = await ask(gslb, 'TXT', { clientSubnet: '127.10.1.0/24' });
    expect(r.answers[0]).toMatchObject({ type: Packet.TYPE.TXT, ttl: 0 });
    expect(txtOf(r)).toBe(
      "client 127.10.1.0/24 (ECS) -> region north (127.10.1.0/24 is inside north's 127.10.1.0/24) -> " +
        'candidates edge-north healthy, edge-south healthy -> edge-north 127.0.0.21 (edge-north is the nearest healthy edge for north)',
    );
    expect((r.answers[0]!.data as string[]).every((s) => Buffer.byteLength(s) <= 255)).toBe(true);
  });

  it('refuses a bad configuration with a clear message', async () => {
    const base = { host: '127.0.0.1', port: 0, edges: [], regions: [], defaultRegion: 'north' };
    await expect(startGslb(base)).rejects.toThrow(/default region north is not one of the regions/);
    await expect(
      startGslb({ ...base, regions: [{ name: 'north', subnets: ['127.10.1.0/24'], nearest: ['edge-x'] }] }),
    ).rejects.toThrow(/lists edge edge-x, which is not configured/);
  });
});

const hasDig = spawnSync('dig', ['-v']).error === undefined;
const run = promisify(execFile);

describe('bad input', () => {
  it('keeps answering after 1,000 random and mutated packets', async () => {
    const { gslb } = await startLab();
    await fuzz([gslb], 1000, 'geektime.gslb.cdn.test');
    const { response } = await sendQuery({ server: gslb, name: 'geektime.gslb.cdn.test', type: 'A', clientSubnet: '127.10.1.0/24' });
    expect(response.answers).toHaveLength(1);
  });
});

describe('what dig shows', () => {
  it('dig +subnet: flags qr aa (no ra), the south edge, CLIENT-SUBNET with scope 24; dig TXT +short explains', async (ctx) => {
    if (!hasDig) return ctx.skip('dig is not on PATH (Debian/Ubuntu: apt-get install bind9-dnsutils)');
    const { gslb } = await startLab();
    await bothUp(gslb);
    const common = [`@${gslb.host}`, '-p', String(gslb.port), SERVICE, '+subnet=127.10.2.0/24', '+norec', '+time=2', '+tries=1'];
    const { stdout } = await run('dig', [...common, 'A']);
    expect(stdout).toMatch(/;; flags: qr aa;/);
    expect(stdout).toMatch(new RegExp(`${SERVICE.replace(/\./g, '\\.')}\\.\\s+30\\s+IN\\s+A\\s+127\\.0\\.0\\.22`));
    expect(stdout).toContain('CLIENT-SUBNET: 127.10.2.0/24/24');

    const txt = await run('dig', [...common, 'TXT', '+short']);
    expect(txt.stdout).toContain('client 127.10.2.0/24 (ECS) -> region south');
    expect(txt.stdout).toContain('edge-south 127.0.0.22 (edge-south is the nearest healthy edge for south)');
  });
});
