// Turning the bytes of a DNS message into a packet and back: dns2 decodes, after this file has
// read the raw bytes for two things dns2 gets wrong; dns2 encodes, into octets this file keeps.
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
//   Encoding speed. dns2's writer keeps a message one bit per array element, eight numbers per
//   octet, and that was a quarter of a lab DNS server's time per answer (npm run bench, profiled
//   with --cpu-prof). dns2's toBuffer takes any writer with the same methods, so encodeMessage
//   hands it one that keeps octets. The bytes are the same (test/dns-wire.test.ts compares them).
import dns2 from 'dns2';
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
  let copy = Buffer.from(bytes);
  let ecs: EcsVerdict = { kind: 'none' };
  const inQuery = (bytes[2]! & 0x80) === 0;

  for (const r of records) {
    // RFC 2181 §8. (An OPT record's "TTL" is flags and version, not a time.)
    if (r.type !== TYPE_OPT && copy.readUInt32BE(r.ttlAt) >= 0x80000000) copy.writeUInt32BE(0, r.ttlAt);
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
  const packet = Packet.parse(copy);
  if (ecs.kind === 'ok') {
    const record = packet.additionals.find((r) => r.type === Packet.TYPE.EDNS);
    record?.rdata?.push(ecs.option);
  }
  return { packet, ecs };
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

/** Encode a DNS message: dns2's encoders, written into octets. (dns2's types leave out toBuffer's writer.) */
export function encodeMessage(packet: DnsPacket): Buffer {
  return (packet as unknown as { toBuffer(writer: OctetWriter): Buffer }).toBuffer(new OctetWriter());
}
