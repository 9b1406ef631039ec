// The DNS messages in a capture, read just far enough to find a narrated query or answer: the
// 12-byte header and the first question. Written for reading (RFC 1035 §4.1), no library:
//
//   header    §4.1.1  ID (16 bits) · QR Opcode AA TC RD RA Z RCODE (16 bits) ·
//                     QDCOUNT · ANCOUNT · NSCOUNT · ARCOUNT (16 bits each)
//   question  §4.1.2  QNAME (labels) · QTYPE (16 bits) · QCLASS (16 bits)
//   names     §4.1.4  a label is a length byte then that many bytes; 0 ends the name; a byte
//                     with the two top bits set starts a 2-byte pointer to a name earlier in
//                     the message (compression)
//   over TCP  §4.2.2  each message is preceded by its length (16 bits), in one byte stream
//
// A message is found in the capture by its transport 4-tuple, its ID and its question name: the
// ID alone repeats (16 bits, one per query), the 4-tuple alone too (a resolver reuses a socket).
import type { CaptureFile } from './pcapng.ts';
import { decodeFrame, tcpConnections, tcpSegments, type Endpoint } from './packets.ts';

export interface DnsHeader {
  id: number;
  /** QR: false in a query, true in a response. */
  response: boolean;
  opcode: number;
  /** AA: the answer comes from a server authoritative for the name. */
  authoritative: boolean;
  /** TC: cut short to fit a UDP datagram; ask again over TCP. */
  truncated: boolean;
  /** RD: the asker wants the server to walk the tree for it. */
  recursionDesired: boolean;
  recursionAvailable: boolean;
  /** 0 NOERROR, 1 FORMERR, 2 SERVFAIL, 3 NXDOMAIN, 4 NOTIMP, 5 REFUSED (low 4 bits; EDNS extends it). */
  rcode: number;
  questions: number;
  answers: number;
  authorities: number;
  additionals: number;
}

export interface DnsQuestion {
  /** Without the trailing dot, as written (DNS names compare case-insensitively). */
  name: string;
  /** 1 = A, 28 = AAAA, 5 = CNAME, 2 = NS, … */
  type: number;
  class: number;
}

export interface DnsFacts {
  header: DnsHeader;
  question?: DnsQuestion;
}

const TYPE_NAMES: Record<number, string> = { 1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 15: 'MX', 16: 'TXT', 28: 'AAAA', 33: 'SRV', 41: 'OPT', 255: 'ANY' };

/** "A", "AAAA", … or "TYPE65" (RFC 3597 §5) for a type this reader has no name for. */
export function dnsTypeName(type: number): string {
  return TYPE_NAMES[type] ?? `TYPE${type}`;
}

/** Read the name at `offset`, following compression pointers (a bounded number: a loop is malformed). */
export function readName(msg: Buffer, offset: number): string | undefined {
  const labels: string[] = [];
  let at = offset;
  for (let hops = 0; hops < 64; hops++) {
    const length = msg[at];
    if (length === undefined) return undefined;
    if (length === 0) return labels.join('.');
    if ((length & 0xc0) === 0xc0) {
      if (at + 1 >= msg.length) return undefined;
      at = ((length & 0x3f) << 8) | msg[at + 1]!; // a pointer: the rest of the name is there
      continue;
    }
    if ((length & 0xc0) !== 0 || at + 1 + length > msg.length) return undefined; // 01/10 prefixes are not in use
    labels.push(msg.toString('latin1', at + 1, at + 1 + length));
    at += 1 + length;
  }
  return undefined;
}

/** The end of the name at `offset` in the message (where QTYPE starts), without following pointers. */
export function nameEnd(msg: Buffer, offset: number): number | undefined {
  let at = offset;
  while (at < msg.length) {
    const length = msg[at]!;
    if (length === 0) return at + 1;
    if ((length & 0xc0) === 0xc0) return at + 2;
    at += 1 + length;
  }
  return undefined;
}

/** The header and first question of one DNS message; undefined if it is too short to be one. */
export function readDnsMessage(msg: Buffer): DnsFacts | undefined {
  if (msg.length < 12) return undefined;
  const flags = msg.readUInt16BE(2);
  const header: DnsHeader = {
    id: msg.readUInt16BE(0),
    response: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0x0f,
    authoritative: (flags & 0x0400) !== 0,
    truncated: (flags & 0x0200) !== 0,
    recursionDesired: (flags & 0x0100) !== 0,
    recursionAvailable: (flags & 0x0080) !== 0,
    rcode: flags & 0x000f,
    questions: msg.readUInt16BE(4),
    answers: msg.readUInt16BE(6),
    authorities: msg.readUInt16BE(8),
    additionals: msg.readUInt16BE(10),
  };
  if (header.questions === 0) return { header };
  const name = readName(msg, 12);
  const end = nameEnd(msg, 12);
  if (name === undefined || end === undefined || end + 4 > msg.length) return { header };
  return { header, question: { name, type: msg.readUInt16BE(end), class: msg.readUInt16BE(end + 2) } };
}

/** One DNS message as it crossed the wire: the frame(s) that carried it, when, between whom. */
export interface DnsOnWire extends DnsFacts {
  transport: 'udp' | 'tcp';
  /** Wireshark's frame.number of each frame carrying it (one for UDP; over TCP a message can span segments). */
  frames: number[];
  /** Wire time of the first of them: seconds since 1970. */
  time: number;
  source: Endpoint;
  destination: Endpoint;
}

const at = (e: Endpoint) => `${e.address}:${e.port}`;

/**
 * Every DNS message in the capture to or from one of `servers` (the lab's DNS roles), in frame
 * order: each UDP datagram, and each length-prefixed message of each TCP connection's streams.
 */
export function dnsMessages(capture: CaptureFile, servers: readonly Endpoint[]): DnsOnWire[] {
  const isServer = new Set(servers.map(at));
  const out: DnsOnWire[] = [];
  for (const frame of capture.frames) {
    const d = decodeFrame(frame);
    if (!d.ipv4 || !d.udp) continue;
    const source = { address: d.ipv4.source, port: d.udp.sourcePort };
    const destination = { address: d.ipv4.destination, port: d.udp.destinationPort };
    if (!isServer.has(at(source)) && !isServer.has(at(destination))) continue;
    const facts = readDnsMessage(frame.data.subarray(d.udp.payloadOffset, d.udp.payloadOffset + d.udp.payloadLength));
    if (facts) out.push({ ...facts, transport: 'udp', frames: [frame.number], time: frame.time, source, destination });
  }
  // DNS over TCP: one byte stream per direction; a 2-byte length, then the message (RFC 1035 §4.2.2).
  for (const conn of tcpConnections(capture).filter((c) => isServer.has(at(c.server)))) {
    const segments = tcpSegments(capture, conn.client, conn.server);
    for (const direction of ['client→server', 'server→client'] as const) {
      // Stream offset → the segment's bytes; a retransmission repeats an offset and is skipped.
      const pieces = new Map<number, { frame: number; time: number; bytes: Buffer }>();
      for (const s of segments) {
        if (s.direction !== direction || s.payloadLength === 0 || pieces.has(s.relativeSeq - 1)) continue;
        const data = s.decoded.frame.data;
        pieces.set(s.relativeSeq - 1, { frame: s.frame, time: s.time, bytes: data.subarray(s.payloadOffset, s.payloadOffset + s.payloadLength) });
      }
      const ordered = [...pieces.entries()].sort(([a], [b]) => a - b);
      const stream = Buffer.concat(ordered.map(([, p]) => p.bytes)); // on loopback nothing is lost, so no gaps
      const carriedBy = (from: number, to: number) => ordered.filter(([offset, p]) => offset < to && offset + p.bytes.length > from).map(([, p]) => p);
      const [source, destination] = direction === 'client→server' ? [conn.client, conn.server] : [conn.server, conn.client];
      for (let i = 0; i + 2 <= stream.length; ) {
        const length = stream.readUInt16BE(i);
        if (i + 2 + length > stream.length) break; // the rest was not captured
        const facts = readDnsMessage(stream.subarray(i + 2, i + 2 + length));
        const carriers = carriedBy(i, i + 2 + length);
        if (facts && carriers.length) out.push({ ...facts, transport: 'tcp', frames: carriers.map((p) => p.frame), time: carriers[0]!.time, source, destination });
        i += 2 + length;
      }
    }
  }
  return out.sort((a, b) => a.frames[0]! - b.frames[0]!);
}

/** What a narrated DNS message is known by: who sent it to whom, its ID, its question, query or response. */
export interface DnsMessageKey {
  transport?: 'udp' | 'tcp';
  /** The asker's end (address and source port) and the server's. */
  client: Endpoint;
  server: Endpoint;
  id: number;
  name: string;
  response: boolean;
}

const sameName = (a: string, b: string) => a.replace(/\.$/, '').toLowerCase() === b.replace(/\.$/, '').toLowerCase();
const same = (a: Endpoint, b: Endpoint) => a.address === b.address && a.port === b.port;

/** The message with that 4-tuple, ID, question name and direction (the first, if the capture holds it more than once). */
export function findDnsMessage(messages: readonly DnsOnWire[], key: DnsMessageKey): DnsOnWire | undefined {
  const [from, to] = key.response ? [key.server, key.client] : [key.client, key.server];
  return messages.find((m) =>
    (key.transport === undefined || m.transport === key.transport) &&
    same(m.source, from) && same(m.destination, to) &&
    m.header.id === key.id && m.header.response === key.response &&
    m.question !== undefined && sameName(m.question.name, key.name));
}
