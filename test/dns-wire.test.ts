// The lab writes DNS messages itself for the record types it serves, and leaves the rest to dns2's
// encoders in its own octet writer (servers/dns/wire.ts): every message must come out byte for
// byte as dns2's own toBuffer() writes it, and decode back.
import { describe, expect, it } from 'vitest';
import { answerFromZones } from '../servers/dns/authoritative.ts';
import { Packet, responseTo, type DnsPacket } from '../servers/dns/dns-server.ts';
import { labZones } from '../servers/dns/lab-zones.ts';
import { decodeMessage, decodeQuery, encodeDirect, encodeMessage } from '../servers/dns/wire.ts';
import type { Zone } from '../servers/dns/zone.ts';

const zones = labZones({ root: '127.0.0.10', tld: '127.0.0.11', shop: '127.0.0.12', cdn: '127.0.0.13', gslb: '127.0.0.14', slb: '127.0.0.80' });
const extra: Zone = {
  origin: 'kinds.test',
  records: [
    { name: 'kinds.test', type: 'SOA', ttl: 3600, data: { primary: 'ns.kinds.test', admin: 'hostmaster.kinds.test', serial: 2026120201, refresh: 7200, retry: 900, expiration: 1209600, minimum: 300 } },
    { name: 'kinds.test', type: 'MX', ttl: 300, data: '10 mail.kinds.test' },
    { name: 'mail.kinds.test', type: 'A', ttl: 300, data: '192.0.2.25' },
    { name: 'mail.kinds.test', type: 'AAAA', ttl: 300, data: '2001:db8::25' },
    { name: 'long.kinds.test', type: 'TXT', ttl: 60, data: `${'a'.repeat(300)} 中文 ${'b'.repeat(200)}` },
    { name: 'ttl.kinds.test', type: 'A', ttl: 0xffffffff, data: '192.0.2.1' },
  ],
};

/** A query as a client would send it: an id, RD, one question, EDNS with or without a client subnet. */
function query(name: string, type: string, opts: { ecs?: string; ede?: boolean; id?: number } = {}): DnsPacket {
  const packet = new Packet();
  packet.header.id = opts.id ?? 0xbeef;
  packet.header.rd = 1;
  packet.questions.push({ name, type: Packet.TYPE[type as 'A'], class: Packet.CLASS.IN } as DnsPacket['questions'][number]);
  const options = [...(opts.ecs ? [Packet.Resource.EDNS.ECS(opts.ecs)] : []), ...(opts.ede ? [Packet.Resource.EDNS.EDE(22, 'No Reachable Authority')] : [])];
  packet.additionals.push(Packet.Resource.EDNS(options, { udpPayloadSize: 1232 }) as DnsPacket['additionals'][number]);
  return packet;
}

/** Every question the lab's zones can be asked, answered as the authoritative servers answer them. */
function corpus(): DnsPacket[] {
  const all = [...Object.values(zones), extra];
  const names = [...new Set(all.flatMap((z) => z.records.map((r) => r.name))), 'nowhere.geektime.test', 'geektime.test', ''];
  const types = ['A', 'AAAA', 'NS', 'CNAME', 'SOA', 'TXT', 'MX', 'ANY'];
  const packets: DnsPacket[] = [];
  for (const name of names) {
    for (const type of types) {
      for (const zone of all) packets.push(answerFromZones([zone], query(name, type)).response);
    }
  }
  packets.push(query('static.geektime.test', 'A', { ecs: '127.10.1.0/24' }), query('x.test', 'A', { ecs: '2001:db8::/56' }));
  packets.push(query('static.geektime.test', 'A', { ede: true }));
  const servfail = responseTo(query('www.geektime.test', 'A'), Packet.RCODE.SERVFAIL);
  servfail.header.tc = 1;
  servfail.header.ra = 1;
  (servfail.header as { cd?: number }).cd = 1; // dns2 writes it; its types leave it out
  packets.push(servfail);
  const badVers = responseTo(query('www.geektime.test', 'A'), 16); // BADVERS: its high bits ride in the OPT record (RFC 6891 §6.1.3)
  badVers.additionals.push(Packet.Resource.EDNS([], { udpPayloadSize: 1232 }) as DnsPacket['additionals'][number]);
  packets.push(badVers);
  return packets;
}

describe('encodeMessage', () => {
  it('writes every answer of the lab\'s zones, and queries with ECS and EDE, byte for byte as dns2 does', () => {
    // Copies of the corpus: encoding fills in a message's header counts.
    const [packets, direct, copies] = [corpus(), corpus(), corpus()];
    expect(packets.length).toBeGreaterThan(500);
    let withAnswers = 0;
    const leftToDns2: string[] = [];
    packets.forEach((packet, i) => {
      const theirs = Buffer.from(copies[i]!.toBuffer()).toString('hex');
      expect(encodeMessage(packet).toString('hex')).toBe(theirs);
      const ours = encodeDirect(direct[i]!);
      if (ours) expect(ours.toString('hex')).toBe(theirs);
      else leftToDns2.push(`${packet.questions[0]?.name} ${packet.answers.map((r) => r.type).join(',')} rcode ${packet.header.rcode}`);
      if (packet.answers.length + packet.authorities.length > 0) withAnswers++;
    });
    expect(withAnswers).toBeGreaterThan(100); // the corpus is not all empty answers
    // Written here unless the message holds what the lab leaves to dns2: an AAAA record, an IPv6
    // client subnet, an RCODE above 15 (BADVERS).
    expect(leftToDns2.length).toBeLessThan(packets.length / 10);
    expect(leftToDns2.some((m) => m.includes(String(Packet.TYPE.AAAA)))).toBe(true);
    expect(leftToDns2.some((m) => m.endsWith('rcode 16'))).toBe(true);
  });

  it('decodes back to the same message, names compressed (RFC 1035 §4.1.4)', () => {
    const answer = answerFromZones([zones.shop], query('static.geektime.test', 'A')).response;
    const bytes = encodeMessage(answer);
    const again = decodeMessage(bytes).packet;
    expect(again.answers.map((r) => [r.name, r.type, r.domain ?? r.address])).toEqual(answer.answers.map((r) => [r.name, r.type, r.domain ?? r.address]));
    // "geektime.test" is written once; later names point at it (0xc0..).
    expect(bytes.indexOf(Buffer.from('\x08geektime\x04test\x00', 'latin1'))).toBe(bytes.lastIndexOf(Buffer.from('\x08geektime\x04test\x00', 'latin1')));
    expect([...bytes].some((b, i) => (b & 0xc0) === 0xc0 && i > 12)).toBe(true);
  });
});

describe('decodeQuery', () => {
  /** Queries as clients send them: dig, dnsperf, the lab's own resolver and stub (with and without EDNS, DO, RD, CD). */
  function queries(): Buffer[] {
    const out: Buffer[] = [];
    const names = ['www.geektime.test', 'STATIC.GeekTime.test', 'a', '', `${'x'.repeat(63)}.${'y'.repeat(63)}.test`, 'geektime.gslb.cdn.test'];
    for (const name of names) {
      for (const type of ['A', 'AAAA', 'CNAME', 'MX', 'TXT', 'ANY']) {
        for (const edns of [undefined, { udpPayloadSize: 1232 }, { udpPayloadSize: 4096, doFlag: true }, { udpPayloadSize: 512, version: 1 }]) {
          const packet = query(name, type, { id: out.length });
          packet.additionals = edns ? [Packet.Resource.EDNS([], edns) as DnsPacket['additionals'][number]] : [];
          packet.header.rd = (out.length % 2) as 0 | 1;
          (packet.header as { cd?: number }).cd = (out.length >> 1) % 2;
          out.push(Buffer.from(packet.toBuffer()));
        }
      }
    }
    return out;
  }

  it('reads a plain query into the very objects dns2 makes of it', () => {
    const all = queries();
    expect(all.length).toBeGreaterThan(100);
    for (const bytes of all) {
      const ours = decodeQuery(bytes);
      expect(ours, bytes.toString('hex')).toBeDefined();
      expect(ours).toStrictEqual(Packet.parse(bytes));
    }
    // And through decodeMessage, a client subnet taken out and put back as before.
    const withEcs = decodeMessage(Buffer.from(query('static.geektime.test', 'A', { ecs: '127.10.1.0/24' }).toBuffer()));
    expect(withEcs.ecs).toMatchObject({ kind: 'ok', option: { ip: '127.10.1.0', sourcePrefixLength: 24 } });
    expect(withEcs.packet.additionals[0]!.rdata).toEqual([withEcs.ecs.kind === 'ok' && withEcs.ecs.option]);
  });

  it('leaves anything else to dns2: options, compression, answers, responses, trailing bytes, broken bytes', () => {
    const base = queries()[7]!; // with EDNS
    const cookie = Buffer.from(query('www.geektime.test', 'A').toBuffer());
    const withOption = Buffer.concat([cookie.subarray(0, cookie.length - 2), Buffer.from('000c000a0008' + '0102030405060708', 'hex')]); // RDLENGTH 12: a COOKIE option
    const pointer = Buffer.from(base);
    pointer[12] = 0xc0; // a compression pointer in QNAME
    const response = Buffer.from(base);
    response[2]! |= 0x80;
    // Four labels of 63 octets: 257 octets of name, two past RFC 1035's 255.
    const label = Buffer.concat([Buffer.from([63]), Buffer.alloc(63, 0x61)]);
    const tooLong = Buffer.concat([base.subarray(0, 12), label, label, label, label, Buffer.from('0000010001', 'hex')]);
    tooLong.writeUInt16BE(0, 10); // no OPT record
    expect(Packet.parse(tooLong).errors).not.toEqual([]);
    for (const bytes of [withOption, pointer, response, tooLong, Buffer.concat([base, Buffer.from([0])]), base.subarray(0, base.length - 1)]) {
      expect(decodeQuery(bytes), bytes.toString('hex')).toBeUndefined();
    }
    // Mutated queries: whatever decodeQuery reads, dns2 reads the same, without complaint.
    let read = 0;
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
    for (const query of queries()) {
      for (let i = 0; i < 40; i++) {
        const bytes = Buffer.from(query);
        bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
        const ours = decodeQuery(bytes);
        if (!ours) continue;
        read++;
        const theirs = Packet.parse(bytes);
        expect(theirs.errors).toEqual([]);
        expect(ours).toStrictEqual(theirs);
      }
    }
    expect(read).toBeGreaterThan(1000);
  });
});
