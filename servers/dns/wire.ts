// Turning the bytes of a DNS message into a packet and back: dns2 decodes, after this file has
// read the raw bytes for two things dns2 gets wrong; this file encodes the lab's own answers, and
// dns2 the rest.
//
//   EDNS Client Subnet (RFC 7871 §6). dns2 reads an IPv6 address 16 bits at a time, so an address
//   of an odd number of octets (a /56 sends 7) runs past the end of the message and the whole
//   query fails: `dig +subnet=2001:db8::/56` got FORMERR from every server. Here the option is read
//   octet by octet, checked as RFC 7871 asks, and taken out of the bytes before dns2 sees them; a
//   valid one is put back into the OPT record afterwards, in dns2's own shape.
//
//   TTLs with the top bit set (RFC 2181 §8): they are "treated as if the entire value received was
//   zero". dns2 turns them into 2^31 − 1, and a resolver would keep the record for 68 years.
//
// The walk over the raw message only skips names and records (RFC 1035 §4.1); if the bytes are too
// broken for even that, they go to dns2 unchanged and its errors decide (FORMERR).
//
//   Encoding. The lab's answers use a handful of record types, and this file writes them itself,
//   in a few lines each, straight from RFC 1035 §4.1 (encodeDirect, below). dns2 did it one bit per
//   array element, eight numbers per octet: that was a quarter of a lab DNS server's time per
//   answer (npm run bench, profiled with --cpu-prof). Anything else (an AAAA record, an IPv6 client
//   subnet, an RCODE above 15, a value dns2 would refuse) goes through dns2's own encoders, into an
//   octet writer, and dns2's checks say what is wrong. Both paths give the bytes dns2's toBuffer()
//   gives: test/dns-wire.test.ts compares them over every answer of the lab's zones.
import dns2 from 'dns2';
import net from 'node:net';
import { formatIpv4 } from '../net/ipv4.ts';

const { Packet } = dns2;
type DnsPacket = dns2.Packet;

/** An ECS option as dns2 represents it, so that dns2 can encode it again (the GSLB echoes it). */
export interface EcsOption {
  ednsCode: number;
  /** 1 = IPv4, 2 = IPv6 (the IANA address family numbers). */
  family: 1 | 2;
  sourcePrefixLength: number;
  scopePrefixLength: number;
  /** The address, its bits beyond the source prefix zero: "127.10.1.0", "2001:db8::". */
  ip: string;
}

export type EcsVerdict = { kind: 'none' } | { kind: 'bad'; why: string } | { kind: 'ok'; option: EcsOption };

export interface Decoded {
  packet: DnsPacket;
  /** The client subnet the message carried, and whether it was well formed. */
  ecs: EcsVerdict;
}

const HEADER = 12;
const TYPE_OPT = 41;
const OPTION_ECS = 8;
const OPTION_EDE = 15;
const ADDRESS_OCTETS = { 1: 4, 2: 16 } as const;

/** Where the name at `offset` ends: after its zero label, or after a compression pointer. */
function skipName(bytes: Buffer, offset: number): number {
  for (let labels = 0; labels < 128; labels++) {
    const length = bytes[offset];
    if (length === undefined) throw new RangeError('name runs past the end');
    if ((length & 0xc0) === 0xc0) return offset + 2;
    if (length & 0xc0) throw new RangeError('reserved label type');
    if (length === 0) return offset + 1;
    offset += 1 + length;
  }
  throw new RangeError('too many labels');
}

interface RawRecord {
  type: number;
  /** Offset of the TTL field, and of RDLENGTH; RDATA follows RDLENGTH. */
  ttlAt: number;
  rdata: number;
  rdlength: number;
}

/** Every resource record of the message (answer, authority, additional), or undefined if the bytes do not hold together. */
function rawRecords(bytes: Buffer): RawRecord[] | undefined {
  try {
    if (bytes.length < HEADER) return undefined;
    let offset = HEADER;
    for (let q = bytes.readUInt16BE(4); q > 0; q--) offset = skipName(bytes, offset) + 4;
    const records: RawRecord[] = [];
    const count = bytes.readUInt16BE(6) + bytes.readUInt16BE(8) + bytes.readUInt16BE(10);
    for (let i = 0; i < count; i++) {
      offset = skipName(bytes, offset);
      const rdlength = bytes.readUInt16BE(offset + 8);
      const record = { type: bytes.readUInt16BE(offset), ttlAt: offset + 4, rdata: offset + 10, rdlength };
      if (record.rdata + rdlength > bytes.length) return undefined;
      records.push(record);
      offset = record.rdata + rdlength;
    }
    return records;
  } catch {
    return undefined;
  }
}

/** Where the TTL of each record of the answer section is in the message's bytes (none if they do not hold together). */
export function answerTtlOffsets(bytes: Buffer): number[] {
  const records = rawRecords(bytes);
  return records ? records.slice(0, bytes.readUInt16BE(6)).map((r) => r.ttlAt) : [];
}

/** 16 address octets as IPv6 text in its shortest form ("2001:db8::"). */
function ipv6Text(octets: Buffer): string {
  const groups = [];
  for (let i = 0; i < 16; i += 2) groups.push(octets.readUInt16BE(i).toString(16));
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1); // the URL parser writes the canonical form (RFC 5952)
}

/**
 * One ECS option's body, as RFC 7871 §6 lays it out: FAMILY (2 octets), SOURCE PREFIX-LENGTH,
 * SCOPE PREFIX-LENGTH, then exactly the ceil(SOURCE / 8) leftmost octets of the address, with every
 * bit beyond SOURCE zero. §7.1: anything else is answered FORMERR.
 */
export function parseEcs(body: Buffer, inQuery: boolean): EcsVerdict {
  if (body.length < 4) return { kind: 'bad', why: `ECS option is ${body.length} octets, shorter than its 4-octet header` };
  const family = body.readUInt16BE(0);
  const source = body[2]!;
  const scope = body[3]!;
  const address = body.subarray(4);
  if (family !== 1 && family !== 2) return { kind: 'bad', why: `ECS FAMILY ${family} is neither IPv4 (1) nor IPv6 (2)` };
  const size = ADDRESS_OCTETS[family];
  if (source > size * 8) return { kind: 'bad', why: `ECS source prefix /${source} is longer than an IPv${family === 1 ? 4 : 6} address` };
  if (inQuery && scope !== 0) return { kind: 'bad', why: `ECS SCOPE PREFIX-LENGTH is ${scope} in a query, where it must be 0` };
  const needed = Math.ceil(source / 8);
  if (address.length !== needed) return { kind: 'bad', why: `ECS /${source} needs ${needed} address octets, the option has ${address.length}` };
  if (source % 8 !== 0 && (address[needed - 1]! & (0xff >> source % 8)) !== 0) {
    return { kind: 'bad', why: `ECS address has bits set beyond its /${source} prefix` };
  }
  const full = Buffer.alloc(size);
  address.copy(full);
  const ip = family === 1 ? formatIpv4(full.readUInt32BE(0)) : ipv6Text(full);
  return { kind: 'ok', option: { ednsCode: OPTION_ECS, family, sourcePrefixLength: source, scopePrefixLength: scope, ip } };
}

/**
 * Decode a DNS message. Throws (as dns2 does) only when there is not even a header; everything
 * else that is wrong is reported on `packet.errors` or, for the client subnet, on `ecs`.
 */
export function decodeMessage(bytes: Buffer): Decoded {
  const records = rawRecords(bytes);
  if (!records) return { packet: Packet.parse(bytes), ecs: { kind: 'none' } };
  let copy = bytes; // copied before the first change: the caller's bytes stay as they came
  let ecs: EcsVerdict = { kind: 'none' };
  const inQuery = (bytes[2]! & 0x80) === 0;

  for (const r of records) {
    // RFC 2181 §8. (An OPT record's "TTL" is flags and version, not a time.)
    if (r.type !== TYPE_OPT && copy.readUInt32BE(r.ttlAt) >= 0x80000000) {
      if (copy === bytes) copy = Buffer.from(bytes);
      copy.writeUInt32BE(0, r.ttlAt);
    }
  }
  const opt = records.find((r) => r.type === TYPE_OPT);
  if (opt) {
    for (let at = opt.rdata, end = opt.rdata + opt.rdlength; at + 4 <= end; ) {
      const code = copy.readUInt16BE(at);
      const length = copy.readUInt16BE(at + 2);
      if (at + 4 + length > end) break; // dns2 reports a broken option list itself
      if (code === OPTION_ECS && ecs.kind === 'none') {
        ecs = parseEcs(copy.subarray(at + 4, at + 4 + length), inQuery);
        // Cut the option out, and shorten the OPT record's RDLENGTH to match.
        copy = Buffer.concat([copy.subarray(0, at), copy.subarray(at + 4 + length)]);
        copy.writeUInt16BE(opt.rdlength - 4 - length, opt.rdata - 2);
        break;
      }
      at += 4 + length;
    }
  }
  const packet = decodeQuery(copy) ?? Packet.parse(copy);
  if (ecs.kind === 'ok') {
    const record = packet.additionals.find((r) => r.type === Packet.TYPE.EDNS);
    record?.rdata?.push(ecs.option);
  }
  return { packet, ecs };
}

/**
 * A plain query (RFC 1035 §4.1): the header, one question, and at most an OPT record without
 * options (a client subnet is taken out before this). Nearly every query is one, and reading it
 * here, into the very objects Packet.parse makes, costs a fifth of what dns2's reader does, one
 * bit at a time. Anything else, from a compression pointer to a trailing byte, is left to dns2
 * (undefined), so its checks and errors decide. test/dns-wire.test.ts compares the two.
 */
export function decodeQuery(bytes: Buffer): DnsPacket | undefined {
  if (bytes.length < HEADER + 5) return undefined;
  const flags = bytes.readUInt16BE(2);
  const arcount = bytes.readUInt16BE(10);
  if (flags & 0x8000 || bytes.readUInt16BE(4) !== 1 || bytes.readUInt16BE(6) !== 0 || bytes.readUInt16BE(8) !== 0 || arcount > 1) return undefined;
  // QNAME: labels of 1 to 63 octets up to the zero label, 255 octets at most (RFC 1035 §2.3.4).
  const labels: string[] = [];
  let at = HEADER;
  for (let octets = 1; bytes[at] !== 0; ) {
    const length = bytes[at];
    if (length === undefined || length > 63 || at + 1 + length > bytes.length || (octets += length + 1) > 255) return undefined;
    labels.push(bytes.toString('latin1', at + 1, at + 1 + length));
    at += 1 + length;
  }
  at += 1;
  if (at + 4 > bytes.length) return undefined;
  const question = new Packet.Question();
  question.name = labels.join('.');
  question.type = bytes.readUInt16BE(at);
  question.class = bytes.readUInt16BE(at + 2);
  at += 4;
  let opt: DnsPacket['additionals'][number] | undefined;
  if (arcount === 1) {
    // The root name, TYPE OPT, CLASS the UDP size, TTL extended RCODE, version and DO (RFC 6891 §6.1.3), no RDATA.
    if (at + 11 !== bytes.length || bytes[at] !== 0 || bytes.readUInt16BE(at + 1) !== TYPE_OPT || bytes.readUInt16BE(at + 9) !== 0) return undefined;
    const ttl = bytes.readUInt32BE(at + 5);
    if (ttl >>> 24 !== 0) return undefined; // an extended RCODE, in a query: dns2 folds it into the header's
    opt = Object.assign(new Packet.Resource(), { name: '', type: TYPE_OPT, class: bytes.readUInt16BE(at + 3), ttl, extendedRcode: 0, version: ttl >>> 16, doFlag: (ttl & 0x8000) !== 0, rdata: [] });
  } else if (at !== bytes.length) {
    return undefined;
  }
  const header = new Packet.Header();
  Object.assign(header, {
    id: bytes.readUInt16BE(0),
    qr: 0,
    opcode: (flags >>> 11) & 0xf,
    aa: (flags >>> 10) & 1,
    tc: (flags >>> 9) & 1,
    rd: (flags >>> 8) & 1,
    ra: (flags >>> 7) & 1,
    z: (flags >>> 6) & 1,
    ad: (flags >>> 5) & 1,
    cd: (flags >>> 4) & 1,
    rcode: flags & 0xf,
    qdcount: 1,
    ancount: 0,
    nscount: 0,
    arcount,
  });
  const packet = new Packet();
  packet.header = header;
  packet.questions.push(question);
  if (opt) packet.additionals.push(opt);
  return packet;
}

/**
 * dns2's writer interface (write, patch, bitLength, byteLength, writeBuffer, toBuffer, and the
 * `names` table for compression, RFC 1035 §4.1.4), over octets. dns2 writes header flags a few bits
 * at a time and everything else in whole octets, so whole octets take the short path.
 */
class OctetWriter {
  names?: Map<string, number>;
  private bytes = Buffer.alloc(512);
  private bits = 0;

  write(value: number, size: number): void {
    if ((this.bits & 7) === 0 && (size & 7) === 0 && size <= 32) {
      this.room(size >>> 3);
      const v = value >>> 0; // as dns2 reads it: (value >>> i) & 1
      for (let shift = size - 8; shift >= 0; shift -= 8) {
        this.bytes[this.bits >>> 3] = (v >>> shift) & 0xff;
        this.bits += 8;
      }
      return;
    }
    for (let i = size - 1; i >= 0; i--) this.setBit(this.bits++, (value >>> i) & 1);
  }

  /** Fill in a field written earlier (RDLENGTH, once the RDATA is known). */
  patch(bitOffset: number, value: number, size: number): void {
    for (let i = 0; i < size; i++) this.setBit(bitOffset + i, (value >>> (size - i - 1)) & 1);
  }

  /** dns2 encodes an EDNS option into a writer of its own, one bit per element, then appends it. */
  writeBuffer(other: dns2.Packet.Writer): void {
    for (const bit of other.buffer) this.setBit(this.bits++, bit);
  }

  bitLength(): number {
    return this.bits;
  }

  byteLength(): number {
    return this.bits / 8;
  }

  toBuffer(): Buffer {
    return this.bytes.subarray(0, Math.ceil(this.bits / 8));
  }

  private setBit(at: number, bit: number): void {
    this.room(1);
    const mask = 0x80 >>> (at & 7);
    if (bit) this.bytes[at >>> 3]! |= mask;
    else this.bytes[at >>> 3]! &= ~mask;
  }

  /** Make sure `octets` more fit after the current position. */
  private room(octets: number): void {
    const needed = Math.ceil(this.bits / 8) + octets;
    if (needed <= this.bytes.length) return;
    const bigger = Buffer.alloc(Math.max(needed, this.bytes.length * 2));
    this.bytes.copy(bigger);
    this.bytes = bigger;
  }
}

/** Encode a DNS message: written here for the lab's record types, else by dns2's encoders. */
export function encodeMessage(packet: DnsPacket): Buffer {
  return encodeDirect(packet) ?? (packet as unknown as { toBuffer(writer: OctetWriter): Buffer }).toBuffer(new OctetWriter()); // (dns2's types leave out toBuffer's writer)
}

// ───────────────────────────── Writing a message (RFC 1035 §4.1) ─────────────────────────────

/** Thrown inside encodeDirect for anything it leaves to dns2. */
class LeftToDns2 extends Error {}

/** The octets of a message being written, and every name written so far, for compression. */
class MessageWriter {
  bytes = Buffer.allocUnsafe(512);
  length = 0;
  /** A name or the tail of one, lower case → the offset it was written at (RFC 1035 §4.1.4). */
  private names = new Map<string, number>();

  u8(value: number): void {
    this.room(1);
    this.bytes[this.length++] = value & 0xff;
  }

  u16(value: number): void {
    this.room(2);
    this.bytes[this.length++] = (value >>> 8) & 0xff;
    this.bytes[this.length++] = value & 0xff;
  }

  u32(value: number): void {
    this.room(4);
    for (let shift = 24; shift >= 0; shift -= 8) this.bytes[this.length++] = (value >>> shift) & 0xff;
  }

  octets(data: Uint8Array): void {
    this.room(data.length);
    this.bytes.set(data, this.length);
    this.length += data.length;
  }

  /** A 16-bit type or class; anything else dns2 refuses, with its own message. */
  code(value: unknown): number {
    if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 0xffff) throw new LeftToDns2();
    return value as number;
  }

  /**
   * A name as labels, each its length and its octets, ending in the empty root label: "www",
   * "geektime", "test", "". Once a tail has been written ("geektime.test"), a later name ending
   * in it writes a pointer to it instead: two octets, the top two bits set, then the offset.
   */
  name(domain: unknown): void {
    const given = domain || '';
    if (typeof given !== 'string') throw new LeftToDns2();
    let text = given;
    // Empty labels are dropped, as dns2 does: "www.geektime.test." and "www..geektime.test" are
    // www.geektime.test. (The common case needs no splitting.)
    if (text.endsWith('.')) text = text.slice(0, -1);
    if (text.startsWith('.') || text.includes('..')) text = text.split('.').filter((label) => label !== '').join('.');
    if (text.length + 2 > 255) throw new LeftToDns2(); // the labels' octets, their lengths and the root's
    const lower = text.toLowerCase();
    for (let start = 0; start < text.length; ) {
      const tail = start === 0 ? lower : lower.slice(start); // "www.geektime.test", "geektime.test", "test"
      const at = this.names.get(tail);
      if (at !== undefined) return this.u16(0xc000 | at);
      if (this.length < 0x4000) this.names.set(tail, this.length); // a pointer has 14 bits of offset
      const end = text.indexOf('.', start) < 0 ? text.length : text.indexOf('.', start);
      if (end - start > 63) throw new LeftToDns2();
      this.u8(end - start);
      this.room(end - start);
      for (let i = start; i < end; i++) {
        const c = text.charCodeAt(i);
        if (c > 0x7f) throw new LeftToDns2(); // dns2 decides what to do with other characters
        this.bytes[this.length++] = c;
      }
      start = end + 1;
    }
    this.u8(0);
  }

  toBuffer(): Buffer {
    return this.bytes.subarray(0, this.length);
  }

  private room(octets: number): void {
    if (this.length + octets <= this.bytes.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.length + octets, this.bytes.length * 2));
    this.bytes.copy(bigger, 0, 0, this.length);
    this.bytes = bigger;
  }
}

type Fields = Record<string, unknown>;

/** RDATA of the types the lab serves (RFC 1035 §3.3, §3.4.1; OPT: RFC 6891 §6.1.2). */
function writeRdata(w: MessageWriter, r: Fields): void {
  switch (r.type) {
    case Packet.TYPE.A: {
      if (typeof r.address !== 'string' || !net.isIPv4(r.address)) throw new LeftToDns2();
      for (const part of r.address.split('.')) w.u8(Number(part));
      return;
    }
    case Packet.TYPE.NS:
      return w.name(r.ns);
    case Packet.TYPE.CNAME:
      return w.name(r.domain);
    case Packet.TYPE.MX:
      w.u16(r.priority as number);
      return w.name(r.exchange);
    case Packet.TYPE.SOA:
      w.name(r.primary);
      w.name(r.admin);
      for (const field of [r.serial, r.refresh, r.retry, r.expiration]) w.u32(field as number);
      return w.u32(Math.min((r.minimum as number) >>> 0, 0x7fffffff)); // a TTL too (RFC 2308 §4)
    case Packet.TYPE.TXT: {
      // One or more <character-string>s, each its length in one octet, then its octets.
      for (const item of Array.isArray(r.data) ? r.data : [r.data]) {
        const text = Buffer.isBuffer(item) ? item : typeof item === 'string' ? Buffer.from(item, 'utf8') : undefined;
        if (!text) continue;
        if (text.length > 255) throw new LeftToDns2();
        w.u8(text.length);
        w.octets(text);
      }
      return;
    }
    case Packet.TYPE.EDNS: {
      // Options, each a code, a length and its data: the client subnet (RFC 7871 §6) and
      // Extended DNS Errors (RFC 8914 §2) are the lab's.
      if (!Array.isArray(r.rdata)) throw new LeftToDns2();
      for (const option of r.rdata as Fields[]) {
        if (option.ednsCode === OPTION_ECS && option.family === 1 && typeof option.ip === 'string') {
          const octets = Math.ceil((option.sourcePrefixLength as number) / 8);
          const address = option.ip.split('.').map((part) => parseInt(part, 10) || 0);
          w.u16(OPTION_ECS);
          w.u16(4 + octets);
          w.u16(1);
          w.u8(option.sourcePrefixLength as number);
          w.u8(option.scopePrefixLength as number);
          for (let i = 0; i < octets; i++) w.u8(address[i] ?? 0);
        } else if (option.ednsCode === OPTION_EDE) {
          const text = Buffer.from((option.extraText as string) || '', 'utf8');
          w.u16(OPTION_EDE);
          w.u16(2 + text.length);
          w.u16(w.code(option.infoCode));
          w.octets(text);
        } else {
          throw new LeftToDns2();
        }
      }
      return;
    }
    default:
      throw new LeftToDns2();
  }
}

/** A one-bit header flag at its place. */
function bit(flag: unknown, at: number): number {
  return ((flag as number) & 1) << at;
}

/**
 * The whole message: the header (RFC 1035 §4.1.1), then the questions (§4.1.2), then the answer,
 * authority and additional records (§4.1.3), each NAME, TYPE, CLASS, TTL, RDLENGTH, RDATA.
 * Undefined when something in it is left to dns2. As dns2 does, it sets the header's counts.
 */
export function encodeDirect(packet: DnsPacket): Buffer | undefined {
  const h = packet.header as unknown as Fields | undefined;
  if (!h || (h.rcode as number) > 0xf) return undefined; // an extended RCODE is carried in the OPT record: dns2's
  const sections = [packet.questions ?? [], packet.answers ?? [], packet.authorities ?? [], packet.additionals ?? []] as unknown as Fields[][];
  const w = new MessageWriter();
  try {
    w.u16(h.id as number);
    w.u16(bit(h.qr, 15) | (((h.opcode as number) & 0xf) << 11) | bit(h.aa, 10) | bit(h.tc, 9) | bit(h.rd, 8) | bit(h.ra, 7) | bit(h.ad, 5) | bit(h.cd, 4) | ((h.rcode as number) & 0xf)); // Z (bit 6) stays 0
    for (const section of sections) w.u16(section.length);
    for (const q of sections[0]!) {
      const [type, cls] = [w.code(q.type), w.code(q.class)];
      w.name(q.name);
      w.u16(type);
      w.u16(cls);
    }
    for (const section of sections.slice(1)) {
      for (const r of section) {
        const [type, cls] = [w.code(r.type), w.code(r.class)];
        w.name(r.name);
        w.u16(type);
        w.u16(cls);
        w.u32(Math.min((r.ttl as number) >>> 0, 0x7fffffff)); // RFC 2181 §8: at most 2^31 − 1
        const lengthAt = w.length;
        w.u16(0); // RDLENGTH, known once RDATA is written
        writeRdata(w, r);
        w.bytes.writeUInt16BE(w.length - lengthAt - 2, lengthAt);
      }
    }
  } catch (err) {
    if (err instanceof LeftToDns2) return undefined;
    throw err;
  }
  Object.assign(h, { qdcount: sections[0]!.length, ancount: sections[1]!.length, nscount: sections[2]!.length, arcount: sections[3]!.length });
  return w.toBuffer();
}
