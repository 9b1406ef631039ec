// The headers inside a captured frame, decoded for reading: Ethernet → IPv4 → TCP or UDP, each
// field named as its RFC names it, with the byte offset where the header starts in the frame.
// Then the TCP segments of one connection, with absolute and relative sequence numbers as
// Wireshark shows them (relative = counted from that side's initial sequence number, its SYN's).
//
//   Ethernet II   IEEE 802.3 clause 3 (DIX): destination MAC, source MAC, EtherType
//   IPv4          RFC 791 §3.1
//   TCP           RFC 9293 §3.1 (header), §3.2 (options); MSS RFC 9293 §3.7.1, window scale and
//                 timestamps RFC 7323, SACK-permitted and SACK RFC 2018
//   UDP           RFC 768
//   ARP           RFC 826 (Ethernet and IPv4: hardware type 1, protocol type 0x0800)
import type { CaptureFile, Frame } from './pcapng.ts';
import { LINKTYPE_ETHERNET } from './pcapng.ts';

export interface Ethernet {
  offset: number;
  destination: string;
  source: string;
  /** 0x0800 = IPv4. On Linux `lo` both MACs are 00:00:00:00:00:00. */
  etherType: number;
}

export interface Ipv4 {
  offset: number;
  /** IHL × 4: 20 without options. */
  headerLength: number;
  dscp: number;
  ecn: number;
  totalLength: number;
  identification: number;
  dontFragment: boolean;
  moreFragments: boolean;
  fragmentOffset: number;
  ttl: number;
  /** 6 = TCP, 17 = UDP. */
  protocol: number;
  checksum: number;
  source: string;
  destination: string;
}

export type TcpOption =
  | { kind: 'mss'; value: number }
  | { kind: 'sack-permitted' }
  | { kind: 'timestamps'; value: number; echoReply: number }
  | { kind: 'window-scale'; shift: number }
  | { kind: 'sack'; blocks: Array<[number, number]> }
  | { kind: 'nop' }
  | { kind: 'eol' }
  | { kind: 'unknown'; code: number; bytes: string };

export interface TcpFlags {
  cwr: boolean;
  ece: boolean;
  urg: boolean;
  ack: boolean;
  psh: boolean;
  rst: boolean;
  syn: boolean;
  fin: boolean;
}

export interface Tcp {
  offset: number;
  sourcePort: number;
  destinationPort: number;
  seq: number;
  ack: number;
  /** Data Offset × 4: 20 without options. */
  headerLength: number;
  /** The 12 bits after Data Offset (reserved, then CWR ECE URG ACK PSH RST SYN FIN): tshark's tcp.flags. */
  flagBits: number;
  flags: TcpFlags;
  window: number;
  checksum: number;
  urgentPointer: number;
  options: TcpOption[];
  /** Where the segment's data starts in the frame, and how many bytes it has (by the IP lengths). */
  payloadOffset: number;
  payloadLength: number;
}

export interface Udp {
  offset: number;
  sourcePort: number;
  destinationPort: number;
  length: number;
  checksum: number;
  payloadOffset: number;
  payloadLength: number;
}

export interface DecodedFrame {
  frame: Frame;
  ethernet?: Ethernet;
  ipv4?: Ipv4;
  tcp?: Tcp;
  udp?: Udp;
  arp?: Arp;
}

/** An ARP request ("who has targetIp? tell senderIp") or reply ("senderIp is at senderMac"). */
export interface Arp {
  offset: number;
  /** 1 request, 2 reply. */
  operation: number;
  senderMac: string;
  senderIp: string;
  /** In a request, 00:00:00:00:00:00: the very thing being asked. */
  targetMac: string;
  targetIp: string;
}

const mac = (b: Buffer) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
const ipv4Address = (b: Buffer) => [...b].join('.');

/** Decode what the lab needs; a header that is not there (or cut short) is left undefined. */
export function decodeFrame(frame: Frame): DecodedFrame {
  const out: DecodedFrame = { frame };
  const d = frame.data;
  if (frame.linkType !== LINKTYPE_ETHERNET || d.length < 14) return out;
  out.ethernet = { offset: 0, destination: mac(d.subarray(0, 6)), source: mac(d.subarray(6, 12)), etherType: d.readUInt16BE(12) };
  if (out.ethernet.etherType === 0x0806) {
    // RFC 826: htype 1 (Ethernet), ptype 0x0800 (IPv4), hlen 6, plen 4, then the operation and the four addresses.
    const a = 14;
    if (d.length >= a + 28 && d.readUInt16BE(a) === 1 && d.readUInt16BE(a + 2) === 0x0800 && d[a + 4] === 6 && d[a + 5] === 4) {
      out.arp = {
        offset: a,
        operation: d.readUInt16BE(a + 6),
        senderMac: mac(d.subarray(a + 8, a + 14)),
        senderIp: ipv4Address(d.subarray(a + 14, a + 18)),
        targetMac: mac(d.subarray(a + 18, a + 24)),
        targetIp: ipv4Address(d.subarray(a + 24, a + 28)),
      };
    }
    return out;
  }
  if (out.ethernet.etherType !== 0x0800) return out;

  const ip = 14;
  if (d.length < ip + 20 || d[ip]! >> 4 !== 4) return out;
  const ihl = (d[ip]! & 0x0f) * 4;
  const flagsAndFragment = d.readUInt16BE(ip + 6);
  out.ipv4 = {
    offset: ip,
    headerLength: ihl,
    dscp: d[ip + 1]! >> 2,
    ecn: d[ip + 1]! & 0x03,
    totalLength: d.readUInt16BE(ip + 2),
    identification: d.readUInt16BE(ip + 4),
    dontFragment: (flagsAndFragment & 0x4000) !== 0,
    moreFragments: (flagsAndFragment & 0x2000) !== 0,
    fragmentOffset: (flagsAndFragment & 0x1fff) * 8,
    ttl: d[ip + 8]!,
    protocol: d[ip + 9]!,
    checksum: d.readUInt16BE(ip + 10),
    source: ipv4Address(d.subarray(ip + 12, ip + 16)),
    destination: ipv4Address(d.subarray(ip + 16, ip + 20)),
  };
  // The IP packet ends where Total Length says (Ethernet may pad short frames after it).
  const ipEnd = ip + (out.ipv4.totalLength || d.length - ip);
  const l4 = ip + ihl;
  if (out.ipv4.fragmentOffset !== 0) return out; // a later fragment carries no transport header

  if (out.ipv4.protocol === 6 && d.length >= l4 + 20) {
    const headerLength = (d[l4 + 12]! >> 4) * 4;
    const flagBits = d.readUInt16BE(l4 + 12) & 0x0fff;
    out.tcp = {
      offset: l4,
      sourcePort: d.readUInt16BE(l4),
      destinationPort: d.readUInt16BE(l4 + 2),
      seq: d.readUInt32BE(l4 + 4),
      ack: d.readUInt32BE(l4 + 8),
      headerLength,
      flagBits,
      flags: {
        cwr: (flagBits & 0x80) !== 0,
        ece: (flagBits & 0x40) !== 0,
        urg: (flagBits & 0x20) !== 0,
        ack: (flagBits & 0x10) !== 0,
        psh: (flagBits & 0x08) !== 0,
        rst: (flagBits & 0x04) !== 0,
        syn: (flagBits & 0x02) !== 0,
        fin: (flagBits & 0x01) !== 0,
      },
      window: d.readUInt16BE(l4 + 14),
      checksum: d.readUInt16BE(l4 + 16),
      urgentPointer: d.readUInt16BE(l4 + 18),
      options: tcpOptions(d.subarray(l4 + 20, Math.min(l4 + headerLength, d.length))),
      payloadOffset: l4 + headerLength,
      payloadLength: Math.max(0, ipEnd - (l4 + headerLength)),
    };
  } else if (out.ipv4.protocol === 17 && d.length >= l4 + 8) {
    out.udp = {
      offset: l4,
      sourcePort: d.readUInt16BE(l4),
      destinationPort: d.readUInt16BE(l4 + 2),
      length: d.readUInt16BE(l4 + 4),
      checksum: d.readUInt16BE(l4 + 6),
      payloadOffset: l4 + 8,
      payloadLength: Math.max(0, d.readUInt16BE(l4 + 4) - 8),
    };
  }
  return out;
}

/** TCP options: kind 0 ends the list, kind 1 is one byte of padding, every other is kind, length, value. */
function tcpOptions(b: Buffer): TcpOption[] {
  const list: TcpOption[] = [];
  let i = 0;
  while (i < b.length) {
    const kind = b[i]!;
    if (kind === 0) {
      list.push({ kind: 'eol' });
      break;
    }
    if (kind === 1) {
      list.push({ kind: 'nop' });
      i++;
      continue;
    }
    const length = b[i + 1];
    if (length === undefined || length < 2 || i + length > b.length) break; // malformed: stop reading
    const value = b.subarray(i + 2, i + length);
    if (kind === 2 && length === 4) list.push({ kind: 'mss', value: value.readUInt16BE(0) });
    else if (kind === 3 && length === 3) list.push({ kind: 'window-scale', shift: value[0]! });
    else if (kind === 4 && length === 2) list.push({ kind: 'sack-permitted' });
    else if (kind === 5 && (length - 2) % 8 === 0) {
      const blocks: Array<[number, number]> = [];
      for (let j = 0; j < value.length; j += 8) blocks.push([value.readUInt32BE(j), value.readUInt32BE(j + 4)]);
      list.push({ kind: 'sack', blocks });
    } else if (kind === 8 && length === 10) list.push({ kind: 'timestamps', value: value.readUInt32BE(0), echoReply: value.readUInt32BE(4) });
    else list.push({ kind: 'unknown', code: kind, bytes: value.toString('hex') });
    i += length;
  }
  return list;
}

// ─────────────────────────────────────── one TCP connection ──────────────────────────────────────

export interface Endpoint {
  address: string;
  port: number;
}

export interface TcpSegment {
  /** Wireshark's frame.number. */
  frame: number;
  time: number;
  direction: 'client→server' | 'server→client';
  /** As on the wire (tshark: tcp.seq_raw, tcp.ack_raw). */
  seq: number;
  ack: number;
  /** Counted from the sender's (seq) and the receiver's (ack) initial sequence number, as tshark's tcp.seq and tcp.ack. */
  relativeSeq: number;
  /** Undefined when the ACK flag is off (the number in the field means nothing then). */
  relativeAck: number | undefined;
  flagBits: number;
  flags: TcpFlags;
  window: number;
  options: TcpOption[];
  payloadOffset: number;
  payloadLength: number;
  decoded: DecodedFrame;
}

const same = (a: Endpoint, address: string, port: number) => a.address === address && a.port === port;

/** Every TCP connection in the capture: who sent the SYN (client), to whom, and in which frame. */
export function tcpConnections(capture: CaptureFile): Array<{ client: Endpoint; server: Endpoint; synFrame: number }> {
  const found: Array<{ client: Endpoint; server: Endpoint; synFrame: number }> = [];
  for (const d of capture.frames.map(decodeFrame)) {
    if (!d.ipv4 || !d.tcp || !d.tcp.flags.syn || d.tcp.flags.ack) continue;
    found.push({ client: { address: d.ipv4.source, port: d.tcp.sourcePort }, server: { address: d.ipv4.destination, port: d.tcp.destinationPort }, synFrame: d.frame.number });
  }
  return found;
}

/**
 * The segments of one connection (its 4-tuple), in capture order. Relative numbers start at each
 * side's SYN; if the capture began after the SYN, at the first segment seen from that side
 * (Wireshark does the same).
 */
export function tcpSegments(capture: CaptureFile, client: Endpoint, server: Endpoint): TcpSegment[] {
  const initial: Partial<Record<TcpSegment['direction'], number>> = {};
  const segments: TcpSegment[] = [];
  for (const frame of capture.frames) {
    const d = decodeFrame(frame);
    if (!d.ipv4 || !d.tcp) continue;
    const { ipv4: ip, tcp } = d;
    const up = same(client, ip.source, tcp.sourcePort) && same(server, ip.destination, tcp.destinationPort);
    const down = same(server, ip.source, tcp.sourcePort) && same(client, ip.destination, tcp.destinationPort);
    if (!up && !down) continue;
    const direction = up ? 'client→server' : 'server→client';
    const other = up ? 'server→client' : 'client→server';
    if (tcp.flags.syn || initial[direction] === undefined) initial[direction] = tcp.seq;
    const base = initial[direction]!;
    const peerBase = initial[other];
    segments.push({
      frame: frame.number,
      time: frame.time,
      direction,
      seq: tcp.seq,
      ack: tcp.ack,
      relativeSeq: (tcp.seq - base) >>> 0, // modulo 2^32: sequence numbers wrap
      relativeAck: tcp.flags.ack && peerBase !== undefined ? (tcp.ack - peerBase) >>> 0 : undefined,
      flagBits: tcp.flagBits,
      flags: tcp.flags,
      window: tcp.window,
      options: tcp.options,
      payloadOffset: tcp.payloadOffset,
      payloadLength: tcp.payloadLength,
      decoded: d,
    });
  }
  return segments;
}
