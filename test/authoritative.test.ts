// The authoritative servers: each zone's answers, flags and sections, over UDP and TCP, checked
// with the lab's own query code and with dig; and a fuzzer that must not take any server down.
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAuthoritative } from '../servers/dns/authoritative.ts';
import { Packet, encodeAnswer, findOpt, responseTo, startDnsServer, type DnsPacket, type RunningDnsServer } from '../servers/dns/dns-server.ts';
import { labZones, NAME_SERVERS } from '../servers/dns/lab-zones.ts';
import { sendQuery } from '../servers/dns/query.ts';
import { lookup, type Zone } from '../servers/dns/zone.ts';
import { fuzz, rawTcp } from './dns-fuzz.ts';

const ADDRESSES = { root: '127.0.0.10', tld: '127.0.0.11', shop: '127.0.0.12', cdn: '127.0.0.13', gslb: '127.0.0.14', slb: '127.0.0.80' };
const zones = labZones(ADDRESSES);
const servers: Record<'root' | 'tld' | 'shop' | 'cdn' | 'big', RunningDnsServer> = {} as never;

// A zone whose answer cannot fit in 512 bytes, for truncation.
const bigZone: Zone = {
  origin: 'big.test',
  records: [
    { name: 'big.test', type: 'SOA', ttl: 60, data: { primary: 'ns.big.test', admin: 'h.big.test', serial: 1, refresh: 1, retry: 1, expiration: 1, minimum: 60 } },
    ...Array.from({ length: 30 }, (_, i) => ({ name: 'many.big.test', type: 'TXT' as const, ttl: 60, data: `record ${i} ${'x'.repeat(60)}` })),
  ],
};

const run = promisify(execFile);
const haveDig = await run('which', ['dig']).then(
  () => true,
  () => false,
);

function ask(server: RunningDnsServer, name: string, type: string, extra: { edns?: boolean; tcp?: boolean } = {}) {
  return sendQuery({ server, name, type, ...extra });
}
const names = (records: DnsPacket['answers']) => records.map((r) => `${r.name} ${Packet.typeName(r.type)} ${r.address ?? r.ns ?? r.domain ?? r.primary ?? ''}`);

beforeAll(async () => {
  servers.root = await startAuthoritative({ name: 'root', host: ADDRESSES.root, port: 0, zones: [zones.root] });
  servers.tld = await startAuthoritative({ name: 'tld', host: ADDRESSES.tld, port: 0, zones: [zones.tld] });
  servers.shop = await startAuthoritative({ name: 'shop-dns', host: ADDRESSES.shop, port: 0, zones: [zones.shop] });
  servers.cdn = await startAuthoritative({ name: 'cdn-dns', host: ADDRESSES.cdn, port: 0, zones: [zones.cdn] });
  servers.big = await startAuthoritative({ name: 'big', host: '127.0.0.1', port: 0, zones: [bigZone] });
});
afterAll(async () => {
  await Promise.all(Object.values(servers).map((s) => s.close()));
});

describe('the zones, answered', () => {
  it('root: a referral to test. with glue, not authoritative, no recursion', async () => {
    const { response } = await ask(servers.root, 'www.geektime.test', 'A');
    expect(response.header).toMatchObject({ aa: 0, ra: 0, rcode: 0 });
    expect(response.answers).toEqual([]);
    expect(names(response.authorities)).toEqual(['test NS ns.nic.test']);
    expect(names(response.additionals.filter((r) => r.type !== Packet.TYPE.EDNS))).toEqual(['ns.nic.test A 127.0.0.11']);
  });

  it('root: its own NS set with the address of its server (what priming asks)', async () => {
    const { response } = await ask(servers.root, '', 'NS');
    expect(response.header.aa).toBe(1);
    expect(names(response.answers)).toEqual([` NS ${NAME_SERVERS.root}`]);
    expect(names(response.additionals)).toContain('a.root-servers.test A 127.0.0.10');
  });

  it('test. TLD: referrals to the shop and the CDN with in-bailiwick glue', async () => {
    const shop = (await ask(servers.tld, 'www.geektime.test', 'A')).response;
    expect(names(shop.authorities)).toEqual(['geektime.test NS ns1.geektime.test']);
    expect(names(shop.additionals)).toContain('ns1.geektime.test A 127.0.0.12');
    const cdn = (await ask(servers.tld, 'geektime.cdn.test', 'A')).response;
    expect(names(cdn.authorities)).toEqual(['cdn.test NS ns1.cdn.test']);
  });

  it('geektime.test: www is the SLB (AA); static is a CNAME into the CDN, with no A from another zone', async () => {
    const www = (await ask(servers.shop, 'www.geektime.test', 'A')).response;
    expect(www.header.aa).toBe(1);
    expect(names(www.answers)).toEqual(['www.geektime.test A 127.0.0.80']);
    expect(www.answers[0]!.ttl).toBe(600);
    const stat = (await ask(servers.shop, 'static.geektime.test', 'A')).response;
    expect(stat.header.aa).toBe(1);
    expect(names(stat.answers)).toEqual(['static.geektime.test CNAME geektime.cdn.test']);
  });

  it('NXDOMAIN and NODATA carry the SOA, with the SOA minimum as TTL (RFC 2308)', async () => {
    const nx = (await ask(servers.shop, 'nope.geektime.test', 'A')).response;
    expect(nx.header).toMatchObject({ rcode: Packet.RCODE.NXDOMAIN, aa: 1 });
    expect(names(nx.authorities)).toEqual(['geektime.test SOA ns1.geektime.test']);
    expect(nx.authorities[0]!.ttl).toBe(300);
    const nodata = (await ask(servers.shop, 'www.geektime.test', 'AAAA')).response;
    expect(nodata.header).toMatchObject({ rcode: 0, aa: 1 });
    expect(nodata.answers).toEqual([]);
    expect(names(nodata.authorities)).toEqual(['geektime.test SOA ns1.geektime.test']);
  });

  it('cdn.test: the alias points at the GSLB name; below gslb.cdn.test is a referral with glue', async () => {
    const alias = (await ask(servers.cdn, 'geektime.cdn.test', 'A')).response;
    expect(names(alias.answers)).toEqual(['geektime.cdn.test CNAME geektime.gslb.cdn.test']);
    const gslb = (await ask(servers.cdn, 'geektime.gslb.cdn.test', 'A')).response;
    expect(gslb.header.aa).toBe(0);
    expect(names(gslb.authorities)).toEqual(['gslb.cdn.test NS ns1.gslb.cdn.test']);
    expect(names(gslb.additionals)).toContain('ns1.gslb.cdn.test A 127.0.0.14');
  });

  it('REFUSED for names outside its zones, without recursion', async () => {
    const { response } = await ask(servers.shop, 'www.example.com', 'A');
    expect(response.header).toMatchObject({ rcode: Packet.RCODE.REFUSED, ra: 0 });
    expect(response.answers).toEqual([]);
  });

  it('names are case-insensitive; an empty non-terminal is NODATA, not NXDOMAIN', () => {
    expect(lookup([zones.shop], 'WWW.GeekTime.TEST', 'A').kind).toBe('answer');
    const zone: Zone = { origin: 'x.test', records: [zones.shop.records[0]!, { name: 'a.b.x.test', type: 'A', ttl: 1, data: '1.2.3.4' }] };
    expect(lookup([zone], 'b.x.test', 'A').kind).toBe('nodata');
    expect(lookup([zone], 'c.x.test', 'A').kind).toBe('nxdomain');
  });
  it('two aliases pointing at each other are answered, not followed forever', () => {
    const loop: Zone = {
      origin: 'loop.test',
      records: [
        { name: 'a.loop.test', type: 'CNAME', ttl: 60, data: 'b.loop.test' },
        { name: 'b.loop.test', type: 'CNAME', ttl: 60, data: 'a.loop.test' },
      ],
    };
    const verdict = lookup([loop], 'a.loop.test', 'A');
    expect(verdict.kind).toBe('cname');
    expect(verdict.kind === 'cname' && verdict.answers.length).toBeLessThanOrEqual(10);
  });
});


describe('transport', () => {
  it('answers over TCP the same as over UDP', async () => {
    const { response, transport } = await ask(servers.shop, 'www.geektime.test', 'A', { tcp: true });
    expect(transport).toBe('tcp');
    expect(names(response.answers)).toEqual(['www.geektime.test A 127.0.0.80']);
  });

  it('tells the handler the real client address and port over UDP and over TCP', async () => {
    const seen: string[] = [];
    const probe = await startDnsServer({
      name: 'probe',
      host: '127.0.0.1',
      port: 0,
      handle: (request, context) => {
        seen.push(`${context.transport} ${context.client.address}:${context.client.port}`);
        return responseTo(request);
      },
    });
    try {
      const udp = await sendQuery({ server: probe, name: 'x.test', type: 'A', localAddress: '127.10.1.10' });
      const tcp = await sendQuery({ server: probe, name: 'x.test', type: 'A', localAddress: '127.10.1.10', tcp: true });
      expect(seen).toEqual([`udp 127.10.1.10:${udp.sourcePort}`, `tcp 127.10.1.10:${tcp.sourcePort}`]);
    } finally {
      await probe.close();
    }
  });

  it('a handler that throws or rejects gets the client SERVFAIL and the log a line; an answer that cannot be encoded is logged; the server answers on', async () => {
    const lines: string[] = [];
    const probe = await startDnsServer({
      name: 'probe',
      host: '127.0.0.1',
      port: 0,
      log: (line) => lines.push(line),
      handle: (request) => {
        const name = request.questions[0]!.name;
        if (name === 'throws.test') throw new Error('thrown at once');
        if (name === 'rejects.test') return Promise.reject(new Error('rejected later'));
        if (name === 'unencodable.test') {
          const response = responseTo(request);
          response.answers.push({ name: `${'x'.repeat(64)}.test`, type: Packet.TYPE.A, class: Packet.CLASS.IN, ttl: 1, address: '192.0.2.1' } as DnsPacket['answers'][number]);
          return response;
        }
        return name === 'later.test' ? Promise.resolve(responseTo(request)) : responseTo(request);
      },
    });
    try {
      for (const tcp of [false, true]) {
        for (const name of ['throws.test', 'rejects.test']) {
          const { response } = await sendQuery({ server: probe, name, type: 'A', tcp });
          expect(response.header.rcode, `${name} over ${tcp ? 'TCP' : 'UDP'}`).toBe(Packet.RCODE.SERVFAIL);
        }
        await expect(sendQuery({ server: probe, name: 'unencodable.test', type: 'A', tcp, timeoutMs: 300 })).rejects.toThrow();
        for (const name of ['ok.test', 'later.test']) {
          const { response } = await sendQuery({ server: probe, name, type: 'A', tcp });
          expect(response.header.rcode, `${name} over ${tcp ? 'TCP' : 'UDP'}`).toBe(Packet.RCODE.NOERROR);
        }
      }
      expect(lines.filter((l) => l.includes('handler failed on throws.test: Error: thrown at once'))).toHaveLength(2);
      expect(lines.filter((l) => l.includes('handler failed on rejects.test: Error: rejected later'))).toHaveLength(2);
      expect(lines.filter((l) => /could not send an answer to 127\.0\.0\.1: .*label/i.test(l))).toHaveLength(2);
    } finally {
      await probe.close();
    }
  });

  it('a handler may answer with the bytes encodeAnswer made (as the resolver keeps them): sent as they are, cut to TC when too big for UDP', async () => {
    const probe = await startDnsServer({
      name: 'probe',
      host: '127.0.0.1',
      port: 0,
      handle: (request) => {
        const response = responseTo(request);
        const count = request.questions[0]!.name === 'many.test' ? 30 : 1;
        for (let i = 0; i < count; i++) response.answers.push({ name: request.questions[0]!.name, type: Packet.TYPE.TXT, class: Packet.CLASS.IN, ttl: 60, data: [`record ${i} ${'x'.repeat(40)}`] } as DnsPacket['answers'][number]);
        return encodeAnswer(request, response);
      },
    });
    try {
      for (const edns of [true, false]) {
        const one = await sendQuery({ server: probe, name: 'one.test', type: 'TXT', edns });
        expect(one.response.header.id).toBe(one.id);
        expect(one.response.answers).toHaveLength(1);
        expect(Boolean(findOpt(one.response)), `OPT when the query had one (${edns})`).toBe(edns);
      }
      const many = await sendQuery({ server: probe, name: 'many.test', type: 'TXT', edns: false });
      expect(many.truncatedOverUdp).toBe(true);
      expect(many.response.answers).toHaveLength(30);
    } finally {
      await probe.close();
    }
  });

  it('an answer too big for 512 bytes of UDP sets TC; the retry over TCP gets all of it', async () => {
    const exchange = await ask(servers.big, 'many.big.test', 'TXT', { edns: false });
    expect(exchange.truncatedOverUdp).toBe(true);
    expect(exchange.transport).toBe('tcp');
    expect(exchange.response.answers).toHaveLength(30);
  });

  it('answers EDNS(0) with an OPT record, and an unknown EDNS version with BADVERS', async () => {
    const { response } = await ask(servers.shop, 'www.geektime.test', 'A');
    const opt = response.additionals.find((r) => r.type === Packet.TYPE.EDNS);
    expect(opt).toMatchObject({ class: 1232, version: 0 });
    const query = new Packet();
    query.header.id = 4242;
    query.questions.push({ name: 'www.geektime.test', type: Packet.TYPE.A, class: Packet.CLASS.IN } as never);
    query.additionals.push(Packet.Resource.EDNS([], { version: 1 }) as never);
    const answer = await rawUdp(servers.shop, query.toBuffer());
    expect(answer && Packet.parse(answer).header.rcode).toBe(Packet.RCODE.BADVERS);
  });
});

describe.skipIf(!haveDig)('dig agrees (dig on PATH)', () => {
  const dig = async (server: RunningDnsServer, ...args: string[]) => (await run('dig', [`@${server.host}`, '-p', String(server.port), '+tries=1', '+time=2', ...args])).stdout;

  it('dig +norec at the root: a referral with glue', async () => {
    const out = await dig(servers.root, '+norec', 'www.geektime.test');
    expect(out).toMatch(/flags: qr;/); // no aa, no ra
    expect(out).toMatch(/;; AUTHORITY SECTION:\ntest\.\s+172800\s+IN\s+NS\s+ns\.nic\.test\./);
    expect(out).toMatch(/ns\.nic\.test\.\s+172800\s+IN\s+A\s+127\.0\.0\.11/);
  });

  it('dig at the shop: AA answer, NXDOMAIN with SOA, and the same over TCP', async () => {
    expect(await dig(servers.shop, 'www.geektime.test')).toMatch(/flags: qr aa rd;[\s\S]*www\.geektime\.test\.\s+600\s+IN\s+A\s+127\.0\.0\.80/);
    expect(await dig(servers.shop, 'nope.geektime.test')).toMatch(/status: NXDOMAIN[\s\S]*AUTHORITY SECTION:\ngeektime\.test\.\s+300\s+IN\s+SOA/);
    expect(await dig(servers.shop, '+tcp', 'static.geektime.test')).toMatch(/static\.geektime\.test\.\s+600\s+IN\s+CNAME\s+geektime\.cdn\.test\./);
  });

  it('dig sees EDNS and a truncation it retries over TCP by itself', async () => {
    expect(await dig(servers.shop, 'www.geektime.test')).toContain('; EDNS: version: 0, flags:; udp: 1232');
    const big = await dig(servers.big, '+noedns', 'many.big.test', 'TXT');
    expect(big).toContain('Truncated, retrying in TCP mode.');
    expect(big.match(/^many\.big\.test\.\s+60\s+IN\s+TXT/gm)).toHaveLength(30);
  });
});

// ── Bad input ──────────────────────────────────────────────────────────────────────────────────

function rawUdp(server: RunningDnsServer, bytes: Buffer, waitMs = 300): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      resolve(undefined); // silence is an allowed answer to garbage
    }, waitMs);
    socket.on('message', (msg) => {
      clearTimeout(timer);
      socket.close();
      resolve(msg);
    });
    socket.send(bytes, server.port, server.host);
  });
}

function header(id: number, flags: number, qd: number, an = 0, ns = 0, ar = 0): Buffer {
  const b = Buffer.alloc(12);
  [id, flags, qd, an, ns, ar].forEach((v, i) => b.writeUInt16BE(v, i * 2));
  return b;
}

const query = (name: string) => Buffer.concat([header(7, 0x0100, 1), Packet.Name.encode(name), Buffer.from([0, 1, 0, 1])]);

describe('bad input never takes a server down', () => {
  const cases: Array<[string, Buffer]> = [
    ['empty datagram', Buffer.alloc(0)],
    ['shorter than a header', Buffer.from([1, 2, 3])],
    ['header only, qdcount 1', header(1, 0x0100, 1)],
    ['absurd counts', header(2, 0x0100, 65535, 65535, 65535, 65535)],
    ['a truncated question', query('www.geektime.test').subarray(0, 20)],
    ['a compression pointer to itself', Buffer.concat([header(3, 0x0100, 1), Buffer.from([0xc0, 12, 0, 1, 0, 1])])],
    ['two pointers in a loop', Buffer.concat([header(4, 0x0100, 1), Buffer.from([0xc0, 14, 0xc0, 12, 0, 1, 0, 1])])],
    ['a label longer than 63', Buffer.concat([header(5, 0x0100, 1), Buffer.from([64]), Buffer.alloc(64, 0x61), Buffer.from([0, 0, 1, 0, 1])])],
    ['a name over 255 bytes', Buffer.concat([header(6, 0x0100, 1), ...Array.from({ length: 10 }, () => Buffer.concat([Buffer.from([60]), Buffer.alloc(60, 0x62)])), Buffer.from([0, 0, 1, 0, 1])])],
    ['a response sent to a server', Buffer.concat([header(8, 0x8400, 1), Packet.Name.encode('www.geektime.test'), Buffer.from([0, 1, 0, 1])])],
    ['an unknown opcode (UPDATE)', Buffer.concat([header(9, 0x2800, 1), Packet.Name.encode('www.geektime.test'), Buffer.from([0, 1, 0, 1])])],
    ['two questions', Buffer.concat([header(10, 0x0100, 2), Packet.Name.encode('a.test'), Buffer.from([0, 1, 0, 1]), Packet.Name.encode('b.test'), Buffer.from([0, 1, 0, 1])])],
  ];

  for (const [what, bytes] of cases) {
    it(`${what}: FORMERR, NOTIMP or silence, and the server still answers`, async () => {
      const answer = await rawUdp(servers.shop, bytes);
      if (answer) {
        const parsed = Packet.parse(answer);
        expect([Packet.RCODE.FORMERR, Packet.RCODE.NOTIMP, Packet.RCODE.NXDOMAIN, Packet.RCODE.REFUSED]).toContain(parsed.header.rcode);
      }
      await rawTcp(servers.shop, Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes]));
      const still = await ask(servers.shop, 'www.geektime.test', 'A');
      expect(still.response.answers).toHaveLength(1);
    });
  }

  it('two OPT records: FORMERR (RFC 6891 §6.1.1), with one OPT in the answer', async () => {
    // OPT: root name, type 41, class = UDP payload size 1232, TTL 0 (version 0), no RDATA.
    const opt = Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
    const twoOpts = Buffer.concat([header(11, 0x0100, 1, 0, 0, 2), Packet.Name.encode('www.geektime.test'), Buffer.from([0, 1, 0, 1]), opt, opt]);
    const answer = await rawUdp(servers.shop, twoOpts);
    expect(answer).toBeDefined();
    const parsed = Packet.parse(answer!);
    expect(parsed.header.rcode).toBe(Packet.RCODE.FORMERR);
    expect(parsed.additionals.filter((r) => r.type === Packet.TYPE.EDNS)).toHaveLength(1);
    const oneOpt = Buffer.concat([header(12, 0x0100, 1, 0, 0, 1), Packet.Name.encode('www.geektime.test'), Buffer.from([0, 1, 0, 1]), opt]);
    expect(Packet.parse((await rawUdp(servers.shop, oneOpt))!).header.rcode).toBe(Packet.RCODE.NOERROR);
  });

  it('2,000 random and mutated packets over UDP and TCP: every server keeps answering', async () => {
    const all = [servers.root, servers.tld, servers.shop, servers.cdn];
    await fuzz(all, 2000);
    for (const server of all) {
      const { response } = await ask(server, 'www.geektime.test', 'A');
      expect(response.header.qr).toBe(1);
    }
  });
});
