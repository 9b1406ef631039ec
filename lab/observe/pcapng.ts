// Capture files, read and written by the lab itself: classic pcap (what tcpdump writes) and
// pcapng (what the lab leaves for Wireshark, with the run's TLS secrets inside).
//
// The formats, by their IETF drafts (section names are stable; numbers as in the drafts):
//   pcap    draft-gharris-opsawg-pcap, "PCAP Capture File Format": §4 File Header, §5 Packet Record
//   pcapng  draft-ietf-opsawg-pcapng, "PCAP Next Generation (pcapng) Capture File Format":
//           §3.1 General Block Structure, §3.5 Options, §4.1 Section Header Block (SHB),
//           §4.2 Interface Description Block (IDB), §4.3 Enhanced Packet Block (EPB),
//           §4.4 Simple Packet Block (SPB), and the Decryption Secrets Block (DSB)
//
// The reader returns frames numbered from 1, as Wireshark numbers them, so "frame 42" here is
// `frame.number == 42` there. Blocks the lab does not use are skipped by their length, as the
// format intends (§3.1: "a parser that does not understand them can simply ignore their content").

/** Link types (the tcpdump.org LINKTYPE_ registry): how a frame's first bytes are to be read. */
export const LINKTYPE_ETHERNET = 1;

/** Block types (pcapng §3.2 / the IANA-style table at the end of the draft). */
const BLOCK = {
  sectionHeader: 0x0a0d0d0a, // a palindrome: reads the same in either byte order
  interfaceDescription: 0x00000001,
  simplePacket: 0x00000003,
  enhancedPacket: 0x00000006,
  decryptionSecrets: 0x0000000a,
} as const;

/** SHB "Byte-Order Magic": written in the writer's byte order, so a reader learns it from here. */
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** DSB "Secrets Type" for an NSS key log ("TLSK" in ASCII): the lines SSLKEYLOGFILE holds. */
export const SECRETS_TLS_KEY_LOG = 0x544c534b;

/** pcap File Header "Magic Number": the timestamps' second fraction is µs or ns. */
const PCAP_MAGIC_MICRO = 0xa1b2c3d4;
const PCAP_MAGIC_NANO = 0xa1b23c4d;

export interface CaptureInterface {
  linkType: number;
  snapLength: number;
  /** Timestamp units per second: 10^6 unless the IDB's if_tsresol says otherwise. */
  unitsPerSecond: bigint;
  name?: string;
}

export interface Frame {
  /** 1, 2, 3 …: Wireshark's frame.number. */
  number: number;
  interfaceId: number;
  linkType: number;
  /** Nanoseconds since 1970 (exact: a JavaScript number cannot hold ns since 1970). */
  timestampNs: bigint;
  /** Seconds since 1970, as a number (µs-exact), for arithmetic and printing. */
  time: number;
  /** Bytes on the wire; more than data.length if the capture cut the frame short (snap length). */
  originalLength: number;
  data: Buffer;
}

export interface Secrets {
  type: number;
  data: Buffer;
}

export interface CaptureFile {
  format: 'pcap' | 'pcapng';
  interfaces: CaptureInterface[];
  frames: Frame[];
  /** Decryption Secrets Blocks, in file order (pcapng only). */
  secrets: Secrets[];
}

// ─────────────────────────────────────────── reading ────────────────────────────────────────────

/** Read a pcap or pcapng file's bytes; which one it is, the first four bytes say. */
export function readCapture(bytes: Buffer): CaptureFile {
  if (bytes.length < 4) throw new Error('not a capture file: shorter than 4 bytes');
  if (bytes.readUInt32LE(0) === BLOCK.sectionHeader) return readPcapng(bytes);
  const le = bytes.readUInt32LE(0);
  const be = bytes.readUInt32BE(0);
  if ([le, be].some((m) => m === PCAP_MAGIC_MICRO || m === PCAP_MAGIC_NANO)) return readPcap(bytes);
  throw new Error(`not a pcap or pcapng file (first bytes ${bytes.subarray(0, 4).toString('hex')})`);
}

/** Little- or big-endian 32-bit reads on one buffer, chosen once per file (or per section). */
function reader(bytes: Buffer, littleEndian: boolean) {
  return {
    u16: (at: number) => (littleEndian ? bytes.readUInt16LE(at) : bytes.readUInt16BE(at)),
    u32: (at: number) => (littleEndian ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at)),
  };
}

function timeOf(timestampNs: bigint): number {
  return Number(timestampNs / 1000n) / 1e6;
}

/** Classic pcap: a 24-byte File Header, then records of a 16-byte header and the frame's bytes. */
function readPcap(bytes: Buffer): CaptureFile {
  const littleEndian = bytes.readUInt32LE(0) === PCAP_MAGIC_MICRO || bytes.readUInt32LE(0) === PCAP_MAGIC_NANO;
  const { u32 } = reader(bytes, littleEndian);
  const nano = u32(0) === PCAP_MAGIC_NANO;
  // File Header (§4): Magic Number, Major Version (2), Minor Version (4), Reserved1, Reserved2,
  // SnapLen, then LinkType (its low 16 bits; the high bits carry FCS information).
  if (bytes.length < 24) throw new Error('pcap: the file header is cut short');
  const snapLength = u32(16);
  const linkType = u32(20) & 0xffff;
  const frames: Frame[] = [];
  let at = 24;
  while (at + 16 <= bytes.length) {
    // Packet Record (§5): Timestamp (Seconds), Timestamp (Microseconds or Nanoseconds),
    // Captured Packet Length, Original Packet Length, then the Packet Data itself.
    const seconds = BigInt(u32(at));
    const fraction = BigInt(u32(at + 4));
    const captured = u32(at + 8);
    const original = u32(at + 12);
    if (at + 16 + captured > bytes.length) throw new Error(`pcap: record ${frames.length + 1} is cut short (the file ends inside it)`);
    const timestampNs = seconds * 1_000_000_000n + (nano ? fraction : fraction * 1000n);
    frames.push({ number: frames.length + 1, interfaceId: 0, linkType, timestampNs, time: timeOf(timestampNs), originalLength: original, data: bytes.subarray(at + 16, at + 16 + captured) });
    at += 16 + captured;
  }
  return { format: 'pcap', interfaces: [{ linkType, snapLength, unitsPerSecond: nano ? 1_000_000_000n : 1_000_000n }], frames, secrets: [] };
}

/** Options (§3.5): a list of (Option Code 16 bits, Option Length 16 bits, value padded to 32 bits), ended by code 0. */
function readOptions(bytes: Buffer, start: number, end: number, u16: (at: number) => number): Map<number, Buffer> {
  const options = new Map<number, Buffer>();
  let at = start;
  while (at + 4 <= end) {
    const code = u16(at);
    const length = u16(at + 2);
    if (code === 0) break; // opt_endofopt
    options.set(code, bytes.subarray(at + 4, at + 4 + length));
    at += 4 + pad4(length);
  }
  return options;
}

/** if_tsresol (IDB option 9): high bit 0 → units of 10^-n s, high bit 1 → units of 2^-n s. */
function unitsPerSecond(tsresol: Buffer | undefined): bigint {
  if (!tsresol || tsresol.length < 1) return 1_000_000n; // the default: microseconds
  const n = BigInt(tsresol[0]! & 0x7f);
  return tsresol[0]! & 0x80 ? 1n << n : 10n ** n;
}

function readPcapng(bytes: Buffer): CaptureFile {
  const interfaces: CaptureInterface[] = [];
  const frames: Frame[] = [];
  const secrets: Secrets[] = [];
  let littleEndian = true;
  let sectionInterfaces: number[] = []; // interface ids are per section: index → interfaces[]
  let at = 0;
  while (at + 12 <= bytes.length) {
    // Every block (§3.1): Block Type, Block Total Length, the body, Block Total Length again.
    if (bytes.readUInt32LE(at) === BLOCK.sectionHeader) {
      // A new section may change the byte order: its Byte-Order Magic (right after the length) says which.
      littleEndian = bytes.readUInt32LE(at + 8) === BYTE_ORDER_MAGIC;
      if (!littleEndian && bytes.readUInt32BE(at + 8) !== BYTE_ORDER_MAGIC) throw new Error(`pcapng: bad byte-order magic at offset ${at}`);
      sectionInterfaces = [];
    }
    const { u16, u32 } = reader(bytes, littleEndian);
    const type = u32(at);
    const total = u32(at + 4);
    if (total < 12 || total % 4 !== 0 || at + total > bytes.length) throw new Error(`pcapng: block at offset ${at} has a bad total length ${total}`);
    if (u32(at + total - 4) !== total) throw new Error(`pcapng: block at offset ${at}: its two total lengths differ`);
    const body = at + 8;
    const end = at + total - 4;

    if (type === BLOCK.interfaceDescription) {
      // IDB (§4.2): LinkType (16), Reserved (16), SnapLen (32), options (if_name 2, if_tsresol 9, …).
      const options = readOptions(bytes, body + 8, end, u16);
      sectionInterfaces.push(interfaces.length);
      interfaces.push({ linkType: u16(body), snapLength: u32(body + 4), unitsPerSecond: unitsPerSecond(options.get(9)), name: options.get(2)?.toString('utf8') });
    } else if (type === BLOCK.enhancedPacket) {
      // EPB (§4.3): Interface ID, Timestamp (Upper 32), Timestamp (Lower 32), Captured Packet
      // Length, Original Packet Length, Packet Data (padded to 32 bits), options.
      const iface = interfaces[sectionInterfaces[u32(body)] ?? -1];
      if (!iface) throw new Error(`pcapng: packet at offset ${at} names interface ${u32(body)}, which no IDB described`);
      const units = (BigInt(u32(body + 4)) << 32n) | BigInt(u32(body + 8));
      const captured = u32(body + 12);
      const timestampNs = (units * 1_000_000_000n) / iface.unitsPerSecond;
      frames.push({ number: frames.length + 1, interfaceId: u32(body), linkType: iface.linkType, timestampNs, time: timeOf(timestampNs), originalLength: u32(body + 16), data: bytes.subarray(body + 20, body + 20 + captured) });
    } else if (type === BLOCK.simplePacket) {
      // SPB (§4.4): Original Packet Length, then the data; always interface 0, and no timestamp.
      const iface = interfaces[sectionInterfaces[0] ?? -1];
      if (!iface) throw new Error(`pcapng: packet at offset ${at} before any IDB`);
      const original = u32(body);
      const captured = Math.min(original, end - (body + 4), iface.snapLength || Infinity);
      frames.push({ number: frames.length + 1, interfaceId: 0, linkType: iface.linkType, timestampNs: 0n, time: 0, originalLength: original, data: bytes.subarray(body + 4, body + 4 + captured) });
    } else if (type === BLOCK.decryptionSecrets) {
      // DSB: Secrets Type, Secrets Length, Secrets Data (padded to 32 bits), options.
      const length = u32(body + 4);
      secrets.push({ type: u32(body), data: bytes.subarray(body + 8, body + 8 + length) });
    }
    at += total;
  }
  return { format: 'pcapng', interfaces, frames, secrets };
}

// ─────────────────────────────────────────── writing ────────────────────────────────────────────

function pad4(n: number): number {
  return (n + 3) & ~3;
}

/** One option (§3.5): code, length, value, zero padding to 32 bits. */
function option(code: number, value: Buffer): Buffer {
  const out = Buffer.alloc(4 + pad4(value.length));
  out.writeUInt16LE(code, 0);
  out.writeUInt16LE(value.length, 2);
  value.copy(out, 4);
  return out;
}

/** The options of a block, ended by opt_endofopt (code 0, length 0); none at all if there are none. */
function options(list: Buffer[]): Buffer {
  return list.length ? Buffer.concat([...list, Buffer.alloc(4)]) : Buffer.alloc(0);
}

/** A block (§3.1): type, total length, body (already padded), total length again. Little-endian throughout. */
function block(type: number, body: Buffer): Buffer {
  const total = 12 + body.length;
  const out = Buffer.alloc(total);
  out.writeUInt32LE(type, 0);
  out.writeUInt32LE(total, 4);
  body.copy(out, 8);
  out.writeUInt32LE(total, total - 4);
  return out;
}

function padded(data: Buffer): Buffer {
  return Buffer.concat([data, Buffer.alloc(pad4(data.length) - data.length)]);
}

export interface PcapngContents {
  /** The one capture interface: its link type, snap length and name (e.g. 'lo'). */
  interface: { linkType: number; snapLength: number; name?: string };
  frames: Array<Pick<Frame, 'timestampNs' | 'originalLength' | 'data'>>;
  /** NSS key log text to embed as a DSB; none if empty. */
  tlsKeyLog?: string;
  /** shb_userappl: the program that wrote the file. */
  application?: string;
}

/**
 * Write one section: SHB, then the DSB (before any packet it decrypts: Wireshark reads a file
 * once, front to back, and only knows secrets it has already passed), then the IDB, then one EPB
 * per frame, with nanosecond timestamps.
 */
export function writePcapng(contents: PcapngContents): Buffer {
  const blocks: Buffer[] = [];

  // SHB (§4.1): Byte-Order Magic, Major Version 1, Minor Version 0, Section Length -1 (not
  // given: the reader walks the blocks), options (shb_userappl = 4).
  const shb = Buffer.alloc(16);
  shb.writeUInt32LE(BYTE_ORDER_MAGIC, 0);
  shb.writeUInt16LE(1, 4);
  shb.writeUInt16LE(0, 6);
  shb.writeBigInt64LE(-1n, 8);
  blocks.push(block(BLOCK.sectionHeader, Buffer.concat([shb, options(contents.application ? [option(4, Buffer.from(contents.application))] : [])])));

  // DSB: Secrets Type "TLSK", Secrets Length (the text's bytes, before padding), the text padded.
  if (contents.tlsKeyLog) {
    const text = Buffer.from(contents.tlsKeyLog, 'utf8');
    const head = Buffer.alloc(8);
    head.writeUInt32LE(SECRETS_TLS_KEY_LOG, 0);
    head.writeUInt32LE(text.length, 4);
    blocks.push(block(BLOCK.decryptionSecrets, Buffer.concat([head, padded(text)])));
  }

  // IDB (§4.2): LinkType, Reserved 0, SnapLen, options: if_name (2), if_tsresol (9) = 9 → 10^-9 s.
  const idb = Buffer.alloc(8);
  idb.writeUInt16LE(contents.interface.linkType, 0);
  idb.writeUInt32LE(contents.interface.snapLength, 4);
  const idbOptions = [option(9, Buffer.from([9]))];
  if (contents.interface.name) idbOptions.unshift(option(2, Buffer.from(contents.interface.name)));
  blocks.push(block(BLOCK.interfaceDescription, Buffer.concat([idb, options(idbOptions)])));

  // EPB (§4.3) per frame: Interface ID 0, the 64-bit timestamp in ns split in two, Captured and
  // Original Packet Length, the data padded to 32 bits, no options.
  for (const frame of contents.frames) {
    const head = Buffer.alloc(20);
    head.writeUInt32LE(0, 0);
    head.writeUInt32LE(Number(frame.timestampNs >> 32n), 4);
    head.writeUInt32LE(Number(frame.timestampNs & 0xffffffffn), 8);
    head.writeUInt32LE(frame.data.length, 12);
    head.writeUInt32LE(frame.originalLength, 16);
    blocks.push(block(BLOCK.enhancedPacket, Buffer.concat([head, padded(frame.data)])));
  }
  return Buffer.concat(blocks);
}
