// Every frame of a capture, byte by byte: which field each byte belongs to, layer by layer, as
// Wireshark's packet-bytes pane shows it. Facts only (offsets, sizes, values); the words that
// explain a field are in lab/story/words/fields.ts, keyed by the field's Wireshark name, so
// "check it yourself" is always `tshark -e <that name>` on the same frame.
//
//   Ethernet II  IEEE 802.3 clause 3       ARP   RFC 826           IPv4  RFC 791 §3.1
//   TCP          RFC 9293 §3.1             UDP   RFC 768           DNS   RFC 1035 §4.1, EDNS RFC 6891
//   TLS record   RFC 5246 §6.2.1, RFC 8446 §5.1; handshake messages RFC 5246 §7.4, RFC 8446 §4
//   HTTP/1.1     RFC 9112 §2-§6
//
// TCP carries a byte stream, not messages: a TLS record or an HTTP header may start in one
// segment and end in the next. So each direction of a connection is put back together first
// (by sequence number, RFC 9293 §3.4), its messages are read from the stream, and each field is
// then placed back into the frame(s) that carried its bytes: a field cut by a frame's edge is
// shown in each frame with the part it holds (`partial`).
import { nameEnd, readName, dnsTypeName } from './dns-wire.ts';
import { decodeFrame, type DecodedFrame } from './packets.ts';
import { SECRETS_TLS_KEY_LOG, type CaptureFile } from './pcapng.ts';
import { decryptRecords } from './tls-decrypt.ts';
import { cipherSuiteName, contentTypeName, extensionName, handshakeTypeName, keyExchangeOf, versionName } from '../tls-decoder.ts';
import { tcpOptionText } from './frame-fields.ts';

/** The Wireshark field names this dissector gives: each has its explanation in lab/story/words/fields.ts. */
export const WIRESHARK_FIELDS = [
  'arp.dst.hw_mac',
  'arp.dst.proto_ipv4',
  'arp.hw.size',
  'arp.hw.type',
  'arp.opcode',
  'arp.proto.size',
  'arp.proto.type',
  'arp.src.hw_mac',
  'arp.src.proto_ipv4',
  'dns.a',
  'dns.cname',
  'dns.ns',
  'dns.count.add_rr',
  'dns.count.answers',
  'dns.count.auth_rr',
  'dns.count.queries',
  'dns.flags',
  'dns.id',
  'dns.length',
  'dns.opt.client.addr4',
  'dns.opt.client.family',
  'dns.opt.client.netmask',
  'dns.opt.client.scope',
  'dns.opt.code',
  'dns.opt.data',
  'dns.opt.len',
  'dns.qry.class',
  'dns.qry.name',
  'dns.qry.type',
  'dns.resp.class',
  'dns.resp.edns0_version',
  'dns.resp.ext_rcode',
  'dns.resp.len',
  'dns.resp.name',
  'dns.resp.ttl',
  'dns.resp.type',
  'dns.resp.z',
  'dns.rr.udp_payload_size',
  'eth.dst',
  'eth.src',
  'eth.type',
  'http.file_data',
  'http.request.line',
  'http.response.line',
  'http.request.method',
  'http.request.uri',
  'http.request.version',
  'http.response.code',
  'http.response.phrase',
  'http.response.version',
  'ip.checksum',
  'ip.dsfield',
  'ip.dst',
  'ip.flags',
  'ip.frag_offset',
  'ip.hdr_len',
  'ip.id',
  'ip.len',
  'ip.proto',
  'ip.src',
  'ip.ttl',
  'ip.version',
  'tcp.ack_raw',
  'tcp.checksum',
  'tcp.dstport',
  'tcp.flags',
  'tcp.hdr_len',
  'tcp.options',
  'tcp.seq_raw',
  'tcp.srcport',
  'tcp.urgent_pointer',
  'tcp.window_size_value',
  'tls.app_data',
  'tls.alert_message.level',
  'tls.alert_message.desc',
  'tls.change_cipher_spec',
  'tls.handshake.certificate',
  'tls.handshake.certificate_length',
  'tls.handshake.certificates_length',
  'tls.handshake.cipher_suites_length',
  'tls.handshake.ciphersuite',
  'tls.handshake.client_point',
  'tls.handshake.client_point_len',
  'tls.handshake.comp_method',
  'tls.handshake.comp_methods_length',
  'tls.handshake.epms',
  'tls.handshake.epms_len',
  'tls.handshake.extension.len',
  'tls.handshake.extension.type',
  'tls.handshake.extensions_length',
  'tls.handshake.length',
  'tls.handshake.random',
  'tls.handshake.session_id',
  'tls.handshake.session_id_length',
  'tls.handshake.type',
  'tls.handshake.version',
  'tls.record.content_type',
  'tls.record.length',
  'tls.record.opaque_type',
  'tls.record.version',
  'udp.checksum',
  'udp.dstport',
  'udp.length',
  'udp.srcport',
] as const;
export type WiresharkField = (typeof WIRESHARK_FIELDS)[number];

/** Parts of a message that Wireshark has no one field name for. */
export type OtherPart = 'tls.plaintext' | 'http.start_line' | 'http.end_of_headers' | 'tls.extension_data' | 'tls.encrypted_fragment' | 'tls.handshake_body' | 'tls.fragment' | 'dns.rdata';

export interface Field {
  /** The field's Wireshark name (a display-filter field): `tshark -T fields -e <ws>` prints the same value. */
  ws?: WiresharkField;
  /** For a part Wireshark has no one name for: what it is. */
  part?: OtherPart;
  /** Its name in the standard that defines it. */
  name: string;
  /** Where its first byte is in the frame (or in the decrypted bytes, for a layer with `decrypted`), and its size. */
  offset: number;
  bytes: number;
  value: string;
  /** The frame holds only part of the field: TCP carried the rest in another segment. */
  partial?: boolean;
}

export type LayerName = 'Ethernet' | 'ARP' | 'IPv4' | 'TCP' | 'UDP' | 'DNS' | 'TLS record' | 'TLS handshake' | 'HTTP';

export interface Layer {
  name: LayerName;
  offset: number;
  length: number;
  /** One line saying what this layer is in this frame: "ClientHello", "A static.geektime.test?". */
  summary: string;
  fields: Field[];
  /** For bytes that are not in the frame as such: the plaintext of a TLS record, opened with the run's key log. */
  decrypted?: { hex: string; record: number; from: 'client' | 'server'; key: string };
}

export interface DissectedFrame {
  number: number;
  /** Seconds since 1970. */
  time: number;
  hex: string;
  layers: Layer[];
}

/** What a dissected TCP stream reports for each record it read, so a caller can decrypt it. */
export interface StreamRecord {
  connection: string;
  from: 'client' | 'server';
  /** The frames that carried it and where its fragment is in the reassembled stream. */
  frames: number[];
  header: Buffer;
  fragment: Buffer;
  /** Whether this record's fragment is encrypted (after ChangeCipherSpec, or TLS 1.3 after ServerHello). */
  encrypted: boolean;
}

export interface DissectOptions {
  /** UDP and TCP ports on which DNS is spoken (53 always). */
  dnsPorts?: readonly number[];
  /** The TLS key log that opens the encrypted records; by default the one inside the capture (pcapng Decryption Secrets Block). */
  keyLog?: string;
}

const hex = (n: number, digits: number) => `0x${n.toString(16).padStart(digits, '0')}`;

/** Every frame's fields, and the TLS records of every connection (for decryption). */
export function dissectCapture(capture: CaptureFile, options: DissectOptions = {}): { frames: DissectedFrame[]; records: StreamRecord[] } {
  const dnsPorts = new Set([53, ...(options.dnsPorts ?? [])]);
  const decoded = capture.frames.map(decodeFrame);
  const frames: DissectedFrame[] = decoded.map((d) => ({ number: d.frame.number, time: d.frame.time, hex: d.frame.data.toString('hex'), layers: linkAndNetwork(d, dnsPorts) }));
  const byNumber = new Map(frames.map((f) => [f.number, f]));
  const records: StreamRecord[] = [];
  const keyLog = options.keyLog ?? capture.secrets.filter((s) => s.type === SECRETS_TLS_KEY_LOG).map((s) => s.data.toString('latin1')).join('\n');
  for (const stream of tcpStreams(decoded)) {
    const fieldsFor = (layer: Omit<Layer, 'offset' | 'length'> & { at: number; end: number }) => placeInFrames(stream, layer, byNumber);
    const read = readStream(stream, dnsPorts, fieldsFor);
    records.push(...read);
    if (read.some((r) => r.encrypted) && keyLog) openRecords(read, keyLog, byNumber);
  }
  for (const f of frames) f.layers.sort((a, b) => (a.decrypted ? 1 : 0) - (b.decrypted ? 1 : 0) || a.offset - b.offset);
  return { frames, records };
}

// ───────────────────────────────────── headers, frame by frame ─────────────────────────────────────

function linkAndNetwork(d: DecodedFrame, dnsPorts: Set<number>): Layer[] {
  const layers: Layer[] = [];
  const data = d.frame.data;
  if (d.ethernet) {
    const e = d.ethernet;
    layers.push({
      name: 'Ethernet', offset: 0, length: 14, summary: `${e.source} → ${e.destination}`, fields: [
        { ws: 'eth.dst', name: 'destination MAC', offset: 0, bytes: 6, value: e.destination },
        { ws: 'eth.src', name: 'source MAC', offset: 6, bytes: 6, value: e.source },
        { ws: 'eth.type', name: 'EtherType', offset: 12, bytes: 2, value: `${hex(e.etherType, 4)}${({ 0x0800: ' (IPv4)', 0x0806: ' (ARP)' } as Record<number, string>)[e.etherType] ?? ''}` },
      ],
    });
  }
  if (d.arp) {
    const a = d.arp;
    const o = a.offset;
    layers.push({
      name: 'ARP', offset: o, length: 28, summary: a.operation === 1 ? `who has ${a.targetIp}? tell ${a.senderIp}` : `${a.senderIp} is at ${a.senderMac}`, fields: [
        { ws: 'arp.hw.type', name: 'hardware type', offset: o, bytes: 2, value: '1 (Ethernet)' },
        { ws: 'arp.proto.type', name: 'protocol type', offset: o + 2, bytes: 2, value: '0x0800 (IPv4)' },
        { ws: 'arp.hw.size', name: 'hardware size', offset: o + 4, bytes: 1, value: '6' },
        { ws: 'arp.proto.size', name: 'protocol size', offset: o + 5, bytes: 1, value: '4' },
        { ws: 'arp.opcode', name: 'operation', offset: o + 6, bytes: 2, value: `${a.operation} (${a.operation === 1 ? 'request' : 'reply'})` },
        { ws: 'arp.src.hw_mac', name: 'sender MAC', offset: o + 8, bytes: 6, value: a.senderMac },
        { ws: 'arp.src.proto_ipv4', name: 'sender IP', offset: o + 14, bytes: 4, value: a.senderIp },
        { ws: 'arp.dst.hw_mac', name: 'target MAC', offset: o + 18, bytes: 6, value: a.targetMac },
        { ws: 'arp.dst.proto_ipv4', name: 'target IP', offset: o + 24, bytes: 4, value: a.targetIp },
      ],
    });
  }
  if (d.ipv4) {
    const ip = d.ipv4;
    const o = ip.offset;
    layers.push({
      name: 'IPv4', offset: o, length: ip.headerLength, summary: `${ip.source} → ${ip.destination}, TTL ${ip.ttl}`, fields: [
        { ws: 'ip.version', name: 'version', offset: o, bytes: 1, value: '4' },
        { ws: 'ip.hdr_len', name: 'header length (IHL × 4)', offset: o, bytes: 1, value: `${ip.headerLength}` },
        { ws: 'ip.dsfield', name: 'DSCP, ECN', offset: o + 1, bytes: 1, value: hex((ip.dscp << 2) | ip.ecn, 2) },
        { ws: 'ip.len', name: 'total length', offset: o + 2, bytes: 2, value: `${ip.totalLength}` },
        { ws: 'ip.id', name: 'identification', offset: o + 4, bytes: 2, value: hex(ip.identification, 4) },
        { ws: 'ip.flags', name: 'flags', offset: o + 6, bytes: 1, value: `${hex(data[o + 6]! >> 5, 2)}${ip.dontFragment ? " (Don't Fragment)" : ''}${ip.moreFragments ? ' (More Fragments)' : ''}` },
        { ws: 'ip.frag_offset', name: 'fragment offset', offset: o + 6, bytes: 2, value: `${ip.fragmentOffset}` },
        { ws: 'ip.ttl', name: 'time to live', offset: o + 8, bytes: 1, value: `${ip.ttl}` },
        { ws: 'ip.proto', name: 'protocol', offset: o + 9, bytes: 1, value: `${ip.protocol}${({ 6: ' (TCP)', 17: ' (UDP)', 1: ' (ICMP)' } as Record<number, string>)[ip.protocol] ?? ''}` },
        { ws: 'ip.checksum', name: 'header checksum', offset: o + 10, bytes: 2, value: hex(ip.checksum, 4) },
        { ws: 'ip.src', name: 'source address', offset: o + 12, bytes: 4, value: ip.source },
        { ws: 'ip.dst', name: 'destination address', offset: o + 16, bytes: 4, value: ip.destination },
      ],
    });
  }
  if (d.tcp) {
    const t = d.tcp;
    const o = t.offset;
    const flags = Object.entries(t.flags).filter(([, on]) => on).map(([k]) => k.toUpperCase()).join(', ');
    const fields: Field[] = [
      { ws: 'tcp.srcport', name: 'source port', offset: o, bytes: 2, value: `${t.sourcePort}` },
      { ws: 'tcp.dstport', name: 'destination port', offset: o + 2, bytes: 2, value: `${t.destinationPort}` },
      { ws: 'tcp.seq_raw', name: 'sequence number', offset: o + 4, bytes: 4, value: `${t.seq}` },
      { ws: 'tcp.ack_raw', name: 'acknowledgment number', offset: o + 8, bytes: 4, value: `${t.ack}` },
      { ws: 'tcp.hdr_len', name: 'data offset (× 4)', offset: o + 12, bytes: 1, value: `${t.headerLength}` },
      { ws: 'tcp.flags', name: 'flags', offset: o + 12, bytes: 2, value: `${hex(t.flagBits, 4)} (${flags})` },
      { ws: 'tcp.window_size_value', name: 'window', offset: o + 14, bytes: 2, value: `${t.window}` },
      { ws: 'tcp.checksum', name: 'checksum', offset: o + 16, bytes: 2, value: hex(t.checksum, 4) },
      { ws: 'tcp.urgent_pointer', name: 'urgent pointer', offset: o + 18, bytes: 2, value: `${t.urgentPointer}` },
    ];
    if (t.headerLength > 20) fields.push({ ws: 'tcp.options', name: 'options', offset: o + 20, bytes: t.headerLength - 20, value: t.options.map(tcpOptionText).join(', ') });
    layers.push({ name: 'TCP', offset: o, length: t.headerLength, summary: `${t.sourcePort} → ${t.destinationPort} [${flags}] len ${t.payloadLength}`, fields });
  }
  if (d.udp) {
    const u = d.udp;
    const o = u.offset;
    layers.push({
      name: 'UDP', offset: o, length: 8, summary: `${u.sourcePort} → ${u.destinationPort} len ${u.payloadLength}`, fields: [
        { ws: 'udp.srcport', name: 'source port', offset: o, bytes: 2, value: `${u.sourcePort}` },
        { ws: 'udp.dstport', name: 'destination port', offset: o + 2, bytes: 2, value: `${u.destinationPort}` },
        { ws: 'udp.length', name: 'length', offset: o + 4, bytes: 2, value: `${u.length}` },
        { ws: 'udp.checksum', name: 'checksum', offset: o + 6, bytes: 2, value: hex(u.checksum, 4) },
      ],
    });
    if (dnsPorts.has(u.sourcePort) || dnsPorts.has(u.destinationPort)) {
      const dns = dnsLayer(data.subarray(u.payloadOffset, u.payloadOffset + u.payloadLength));
      if (dns) layers.push(shift(dns, u.payloadOffset));
    }
  }
  return layers;
}

function shift(layer: Omit<Layer, 'offset' | 'length'> & { at: number; end: number }, by: number): Layer {
  const { at, end, ...rest } = layer;
  return { ...rest, offset: at + by, length: end - at, fields: layer.fields.map((f) => ({ ...f, offset: f.offset + by })) };
}

// ─────────────────────────────────────────────── DNS ───────────────────────────────────────────────

const DNS_CLASS = (c: number) => (c === 1 ? '0x0001 (IN)' : hex(c, 4));

/** One DNS message (RFC 1035 §4.1), every field; offsets from the message's first byte. */
function dnsLayer(msg: Buffer): (Omit<Layer, 'offset' | 'length'> & { at: number; end: number }) | undefined {
  if (msg.length < 12) return undefined;
  const flags = msg.readUInt16BE(2);
  const counts = [4, 6, 8, 10].map((o) => msg.readUInt16BE(o));
  const fields: Field[] = [
    { ws: 'dns.id', name: 'ID', offset: 0, bytes: 2, value: hex(msg.readUInt16BE(0), 4) },
    { ws: 'dns.flags', name: 'flags (QR Opcode AA TC RD RA Z RCODE)', offset: 2, bytes: 2, value: `${hex(flags, 4)} (${dnsFlagText(flags)})` },
    { ws: 'dns.count.queries', name: 'QDCOUNT', offset: 4, bytes: 2, value: `${counts[0]}` },
    { ws: 'dns.count.answers', name: 'ANCOUNT', offset: 6, bytes: 2, value: `${counts[1]}` },
    { ws: 'dns.count.auth_rr', name: 'NSCOUNT', offset: 8, bytes: 2, value: `${counts[2]}` },
    { ws: 'dns.count.add_rr', name: 'ARCOUNT', offset: 10, bytes: 2, value: `${counts[3]}` },
  ];
  let at = 12;
  let question = '';
  for (let i = 0; i < counts[0]! && at < msg.length; i++) {
    const end = nameEnd(msg, at);
    if (end === undefined || end + 4 > msg.length) return undefined;
    const name = readName(msg, at) ?? '?';
    const type = msg.readUInt16BE(end);
    question ||= `${dnsTypeName(type)} ${name}?`;
    fields.push(
      { ws: 'dns.qry.name', name: 'QNAME', offset: at, bytes: end - at, value: name || '<Root>' },
      { ws: 'dns.qry.type', name: 'QTYPE', offset: end, bytes: 2, value: `${type} (${dnsTypeName(type)})` },
      { ws: 'dns.qry.class', name: 'QCLASS', offset: end + 2, bytes: 2, value: DNS_CLASS(msg.readUInt16BE(end + 2)) },
    );
    at = end + 4;
  }
  const answers: string[] = [];
  const sections = ['answer', 'authority', 'additional'];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s + 1]! && at < msg.length; i++) {
      const end = nameEnd(msg, at);
      if (end === undefined || end + 10 > msg.length) return undefined;
      const name = readName(msg, at) ?? '?';
      const type = msg.readUInt16BE(end);
      const rdLength = msg.readUInt16BE(end + 8);
      const rdata = end + 10;
      if (rdata + rdLength > msg.length) return undefined;
      if (type === 41) {
        // EDNS(0) OPT pseudo-record (RFC 6891 §6.1.2): CLASS is the UDP payload size, TTL the extended flags.
        fields.push(
          { ws: 'dns.resp.name', name: `OPT (${sections[s]}) NAME`, offset: at, bytes: end - at, value: '<Root>' },
          { ws: 'dns.resp.type', name: 'TYPE', offset: end, bytes: 2, value: '41 (OPT)' },
          { ws: 'dns.rr.udp_payload_size', name: 'UDP payload size', offset: end + 2, bytes: 2, value: `${msg.readUInt16BE(end + 2)}` },
          { ws: 'dns.resp.ext_rcode', name: 'extended RCODE', offset: end + 4, bytes: 1, value: hex(msg[end + 4]!, 2) },
          { ws: 'dns.resp.edns0_version', name: 'EDNS version', offset: end + 5, bytes: 1, value: `${msg[end + 5]}` },
          { ws: 'dns.resp.z', name: 'Z (DO bit)', offset: end + 6, bytes: 2, value: hex(msg.readUInt16BE(end + 6), 4) },
          { ws: 'dns.resp.len', name: 'RDLENGTH', offset: end + 8, bytes: 2, value: `${rdLength}` },
        );
        for (let o = rdata; o + 4 <= rdata + rdLength; ) {
          const code = msg.readUInt16BE(o);
          const len = msg.readUInt16BE(o + 2);
          fields.push(
            { ws: 'dns.opt.code', name: 'option code', offset: o, bytes: 2, value: `${code}${code === 8 ? ' (Client Subnet, RFC 7871)' : ''}` },
            { ws: 'dns.opt.len', name: 'option length', offset: o + 2, bytes: 2, value: `${len}` },
          );
          if (code === 8 && len >= 4) {
            const prefix = msg[o + 6]!;
            const address = [...msg.subarray(o + 8, o + 4 + len)];
            while (address.length < 4) address.push(0);
            fields.push(
              { ws: 'dns.opt.client.family', name: 'family', offset: o + 4, bytes: 2, value: `${msg.readUInt16BE(o + 4)}` },
              { ws: 'dns.opt.client.netmask', name: 'source prefix length', offset: o + 6, bytes: 1, value: `${prefix}` },
              { ws: 'dns.opt.client.scope', name: 'scope prefix length', offset: o + 7, bytes: 1, value: `${msg[o + 7]}` },
              { ws: 'dns.opt.client.addr4', name: 'address', offset: o + 8, bytes: len - 4, value: address.join('.') },
            );
          } else if (len) fields.push({ ws: 'dns.opt.data', name: 'option data', offset: o + 4, bytes: len, value: msg.toString('hex', o + 4, o + 4 + len) });
          o += 4 + len;
        }
      } else {
        const value = rdataText(msg, type, rdata, rdLength);
        if (s === 0) answers.push(`${dnsTypeName(type)} ${value}`);
        fields.push(
          { ws: 'dns.resp.name', name: `${sections[s]} NAME`, offset: at, bytes: end - at, value: name || '<Root>' },
          { ws: 'dns.resp.type', name: 'TYPE', offset: end, bytes: 2, value: `${type} (${dnsTypeName(type)})` },
          { ws: 'dns.resp.class', name: 'CLASS', offset: end + 2, bytes: 2, value: DNS_CLASS(msg.readUInt16BE(end + 2)) },
          { ws: 'dns.resp.ttl', name: 'TTL', offset: end + 4, bytes: 4, value: `${msg.readUInt32BE(end + 4)}` },
          { ws: 'dns.resp.len', name: 'RDLENGTH', offset: end + 8, bytes: 2, value: `${rdLength}` },
        );
        const ws = ({ 1: 'dns.a', 5: 'dns.cname', 2: 'dns.ns' } as Record<number, WiresharkField>)[type];
        if (rdLength) fields.push({ ...(ws ? { ws } : { part: 'dns.rdata' as const }), name: `RDATA (${dnsTypeName(type)})`, offset: rdata, bytes: rdLength, value });
      }
      at = rdata + rdLength;
    }
  }
  const response = (flags & 0x8000) !== 0;
  return { name: 'DNS', at: 0, end: at, summary: response ? `answer ${hex(msg.readUInt16BE(0), 4)}: ${answers.join(', ') || question}` : `query ${hex(msg.readUInt16BE(0), 4)}: ${question}`, fields };
}

function dnsFlagText(flags: number): string {
  const bits = [[0x8000, 'QR'], [0x0400, 'AA'], [0x0200, 'TC'], [0x0100, 'RD'], [0x0080, 'RA']] as const;
  const on = bits.filter(([b]) => flags & b).map(([, n]) => n);
  return [on.length ? on.join(' ') : 'query', `RCODE ${flags & 0xf}`].join(', ');
}

function rdataText(msg: Buffer, type: number, at: number, length: number): string {
  if (type === 1 && length === 4) return [...msg.subarray(at, at + 4)].join('.');
  if (type === 2 || type === 5 || type === 12) return readName(msg, at) ?? '?';
  if (type === 6) {
    const mnameEnd = nameEnd(msg, at);
    const rnameEnd = mnameEnd === undefined ? undefined : nameEnd(msg, mnameEnd);
    if (rnameEnd === undefined || rnameEnd + 20 > at + length) return `${length} bytes`;
    return `${readName(msg, at)} ${readName(msg, mnameEnd!)} serial ${msg.readUInt32BE(rnameEnd)} minimum ${msg.readUInt32BE(rnameEnd + 16)}`;
  }
  return `${length} bytes`;
}

// ───────────────────────────────────────── TCP streams ─────────────────────────────────────────

interface Piece {
  frame: number;
  /** Where the segment's data is in the frame, and where it is in the direction's byte stream. */
  frameOffset: number;
  streamOffset: number;
  length: number;
}

interface Direction {
  from: 'client' | 'server';
  pieces: Piece[];
  bytes: Buffer;
}

interface Stream {
  id: string;
  clientPort: number;
  serverPort: number;
  directions: [Direction, Direction];
}

/** Each TCP connection that began with a SYN in the capture, its two byte streams put back together. */
function tcpStreams(decoded: DecodedFrame[]): Stream[] {
  const streams = new Map<string, { clientKey: string; isn: Record<string, number>; segments: Record<string, DecodedFrame[]>; stream: Stream }>();
  const key = (d: DecodedFrame) => `${d.ipv4!.source}:${d.tcp!.sourcePort}>${d.ipv4!.destination}:${d.tcp!.destinationPort}`;
  const reverse = (d: DecodedFrame) => `${d.ipv4!.destination}:${d.tcp!.destinationPort}>${d.ipv4!.source}:${d.tcp!.sourcePort}`;
  const found = new Map<string, string>();
  for (const d of decoded) {
    if (!d.tcp || !d.ipv4) continue;
    const k = key(d);
    if (d.tcp.flags.syn && !d.tcp.flags.ack && !found.has(k)) {
      const stream: Stream = { id: k, clientPort: d.tcp.sourcePort, serverPort: d.tcp.destinationPort, directions: [{ from: 'client', pieces: [], bytes: Buffer.alloc(0) }, { from: 'server', pieces: [], bytes: Buffer.alloc(0) }] };
      streams.set(k, { clientKey: k, isn: { [k]: d.tcp.seq + 1 }, segments: { [k]: [], [reverse(d)]: [] }, stream });
      found.set(k, k);
      found.set(reverse(d), k);
    }
    const s = streams.get(found.get(k) ?? '');
    if (!s) continue; // a connection whose SYN the capture missed: its stream offsets are unknown
    if (d.tcp.flags.syn) s.isn[k] = d.tcp.seq + 1;
    if (d.tcp.payloadLength > 0) s.segments[k]!.push(d);
  }
  return [...streams.values()].map(({ clientKey, isn, segments, stream }) => {
    for (const [k, list] of Object.entries(segments)) {
      const direction = stream.directions[k === clientKey ? 0 : 1];
      const base = isn[k];
      if (base === undefined) continue;
      const chunks: Buffer[] = [];
      let next = 0;
      for (const d of list) {
        const t = d.tcp!;
        const streamOffset = (t.seq - base) >>> 0;
        const data = d.frame.data.subarray(t.payloadOffset, t.payloadOffset + t.payloadLength);
        direction.pieces.push({ frame: d.frame.number, frameOffset: t.payloadOffset, streamOffset, length: data.length });
        // In order, each new byte once (a retransmission repeats bytes the stream already has).
        if (streamOffset <= next && streamOffset + data.length > next) {
          chunks.push(data.subarray(next - streamOffset));
          next = streamOffset + data.length;
        }
      }
      direction.bytes = Buffer.concat(chunks);
    }
    return stream;
  });
}

/** Put a layer read from a stream (offsets in the stream) into the frames that carried its bytes. */
function placeInFrames(stream: Stream, layer: Omit<Layer, 'offset' | 'length'> & { at: number; end: number; from?: 'client' | 'server' }, frames: Map<number, DissectedFrame>): number[] {
  const direction = stream.directions[layer.from === 'server' ? 1 : 0];
  const carried: number[] = [];
  for (const p of direction.pieces) {
    const lo = Math.max(layer.at, p.streamOffset);
    const hi = Math.min(layer.end, p.streamOffset + p.length);
    if (lo >= hi) continue;
    const frame = frames.get(p.frame);
    if (!frame) continue;
    carried.push(p.frame);
    const toFrame = (s: number) => p.frameOffset + (s - p.streamOffset);
    const fields: Field[] = [];
    for (const f of layer.fields) {
      const a = Math.max(f.offset, lo);
      const b = Math.min(f.offset + f.bytes, hi);
      if (a >= b && !(f.bytes === 0 && f.offset >= lo && f.offset < hi)) continue;
      fields.push({ ...f, offset: toFrame(a), bytes: b - a, ...(b - a < f.bytes ? { partial: true } : {}) });
    }
    frame.layers.push({ name: layer.name, offset: toFrame(lo), length: hi - lo, summary: layer.summary + (hi - lo < layer.end - layer.at ? ' (part)' : ''), fields });
  }
  return carried;
}

type StreamLayer = Omit<Layer, 'offset' | 'length'> & { at: number; end: number; from?: 'client' | 'server' };

/** Read a connection's two byte streams as TLS, HTTP or DNS over TCP, whichever they are. */
function readStream(stream: Stream, dnsPorts: Set<number>, place: (l: StreamLayer) => number[]): StreamRecord[] {
  const [client, server] = stream.directions;
  const first = client.bytes.length ? client.bytes : server.bytes;
  if (first.length >= 3 && first[0] === 0x16 && first[1] === 0x03) return readTls(stream, place);
  for (const d of stream.directions) {
    if (dnsPorts.has(stream.serverPort)) readDnsOverTcp(d, place);
    else if (/^(?:[A-Z]+ \S+ HTTP\/1\.[01]\r\n|HTTP\/1\.[01] \d{3})/.test(d.bytes.toString('latin1', 0, 64))) readHttp(d.bytes, 0, d.bytes.length).forEach((l) => place({ ...l, from: d.from }));
  }
  return [];
}

function readDnsOverTcp(d: Direction, place: (l: StreamLayer) => number[]): void {
  // RFC 1035 §4.2.2: each message is preceded by its length in two bytes.
  for (let at = 0; at + 2 <= d.bytes.length; ) {
    const length = d.bytes.readUInt16BE(at);
    const dns = dnsLayer(d.bytes.subarray(at + 2, at + 2 + length));
    if (!dns) return;
    const moved = shift(dns, at + 2);
    place({ ...moved, at: at, end: at + 2 + length, fields: [{ ws: 'dns.length', name: 'length (DNS over TCP)', offset: at, bytes: 2, value: `${length}` }, ...moved.fields], from: d.from });
    at += 2 + length;
  }
}

// ─────────────────────────────────────────────── HTTP ───────────────────────────────────────────────

/** HTTP/1.1 messages in bytes[from, to) (RFC 9112): start line, header lines, then a body as long as Content-Length says. */
export function readHttp(bytes: Buffer, from: number, to: number): StreamLayer[] {
  const layers: StreamLayer[] = [];
  let at = from;
  while (at < to) {
    const headEnd = bytes.indexOf('\r\n\r\n', at, 'latin1');
    if (headEnd < 0 || headEnd >= to) break;
    const lines = bytes.toString('latin1', at, headEnd).split('\r\n');
    const start = lines[0]!;
    const request = !start.startsWith('HTTP/');
    const fields: Field[] = [];
    const parts = start.split(' ');
    fields.push({ part: 'http.start_line', name: request ? 'request line' : 'status line', offset: at, bytes: start.length + 2, value: start });
    if (request) {
      fields.push(
        { ws: 'http.request.method', name: 'method', offset: at, bytes: parts[0]!.length, value: parts[0]! },
        { ws: 'http.request.uri', name: 'request target', offset: at + parts[0]!.length + 1, bytes: parts[1]?.length ?? 0, value: parts[1] ?? '' },
        { ws: 'http.request.version', name: 'version', offset: at + start.length - (parts[2]?.length ?? 0), bytes: parts[2]?.length ?? 0, value: parts[2] ?? '' },
      );
    } else {
      fields.push(
        { ws: 'http.response.version', name: 'version', offset: at, bytes: parts[0]!.length, value: parts[0]! },
        { ws: 'http.response.code', name: 'status code', offset: at + parts[0]!.length + 1, bytes: 3, value: parts[1] ?? '' },
        { ws: 'http.response.phrase', name: 'reason phrase', offset: at + parts[0]!.length + 5, bytes: Math.max(0, start.length - parts[0]!.length - 5), value: parts.slice(2).join(' ') },
      );
    }
    let lineAt = at + start.length + 2;
    let contentLength = 0;
    for (const line of lines.slice(1)) {
      fields.push({ ws: request ? 'http.request.line' : 'http.response.line', name: line.slice(0, line.indexOf(':')) || 'header', offset: lineAt, bytes: line.length + 2, value: line });
      const m = /^content-length:\s*(\d+)/i.exec(line);
      if (m) contentLength = Number(m[1]);
      lineAt += line.length + 2;
    }
    fields.push({ part: 'http.end_of_headers', name: 'end of header section (empty line)', offset: headEnd + 2, bytes: 2, value: '\\r\\n' });
    const bodyAt = headEnd + 4;
    const bodyEnd = Math.min(to, bodyAt + contentLength);
    if (bodyEnd > bodyAt) fields.push({ ws: 'http.file_data', name: 'body', offset: bodyAt, bytes: bodyEnd - bodyAt, value: bytes.toString('utf8', bodyAt, Math.min(bodyEnd, bodyAt + 200)) + (bodyEnd - bodyAt > 200 ? '…' : '') });
    layers.push({ name: 'HTTP', at, end: bodyEnd, summary: start, fields });
    at = bodyEnd;
  }
  return layers;
}

// ─────────────────────────────────────────────── TLS ───────────────────────────────────────────────

interface TlsState {
  version?: number;
  suite?: number;
  /** Whether this direction has turned encryption on. */
  encrypting: Record<'client' | 'server', boolean>;
}

function readTls(stream: Stream, place: (l: StreamLayer) => number[]): StreamRecord[] {
  const state: TlsState = { encrypting: { client: false, server: false } };
  const out: StreamRecord[] = [];
  // The two directions are read record by record in wire order (by the frame where each record
  // starts), so the client's records after the ServerHello know which version and suite were chosen.
  const cursor = { client: 0, server: 0 };
  const startFrame = (d: Direction, at: number) => d.pieces.find((p) => at >= p.streamOffset && at < p.streamOffset + p.length)?.frame ?? Infinity;
  for (;;) {
    const next = (['client', 'server'] as const)
      .map((from) => ({ from, d: stream.directions[from === 'client' ? 0 : 1], at: cursor[from] }))
      .filter((c) => c.at + 5 <= c.d.bytes.length)
      .sort((a, b) => startFrame(a.d, a.at) - startFrame(b.d, b.at))[0];
    if (!next) break;
    const { from, d, at } = next;
    {
      const type = d.bytes[at]!;
      const version = d.bytes.readUInt16BE(at + 1);
      const length = d.bytes.readUInt16BE(at + 3);
      const end = Math.min(d.bytes.length, at + 5 + length);
      const tls13 = state.version === 0x0304;
      const encrypted = state.encrypting[from] || (tls13 && type === 23);
      const fields: Field[] = [
        tls13 && type === 23
          ? { ws: 'tls.record.opaque_type', name: 'opaque type (always application_data in TLS 1.3)', offset: at, bytes: 1, value: `${type}` }
          : { ws: 'tls.record.content_type', name: 'content type', offset: at, bytes: 1, value: `${type} (${contentTypeName(type)})` },
        { ws: 'tls.record.version', name: 'legacy record version', offset: at + 1, bytes: 2, value: `${hex(version, 4)} (${versionName(version)})` },
        { ws: 'tls.record.length', name: 'length', offset: at + 3, bytes: 2, value: `${length}` },
      ];
      let summary = contentTypeName(type);
      const handshake: StreamLayer[] = [];
      if (encrypted) {
        fields.push({ ...(type === 23 ? { ws: 'tls.app_data' as const } : { part: 'tls.encrypted_fragment' as const }), name: 'encrypted fragment (AEAD: ciphertext then tag)', offset: at + 5, bytes: end - at - 5, value: `${length} bytes` });
        summary = type === 23 ? 'application data (encrypted)' : `${contentTypeName(type)} (encrypted)`;
      } else if (type === 22) {
        summary = readHandshake(d.bytes, at + 5, end, from, state, handshake);
      } else if (type === 20) {
        fields.push({ ws: 'tls.change_cipher_spec', name: 'change cipher spec message', offset: at + 5, bytes: end - at - 5, value: '1' });
        if (!tls13) state.encrypting[from] = true;
      } else {
        fields.push({ part: 'tls.fragment', name: 'fragment', offset: at + 5, bytes: end - at - 5, value: `${length} bytes` });
      }
      const frames = place({ name: 'TLS record', at, end, summary, fields, from });
      for (const h of handshake) place({ ...h, from });
      out.push({ connection: stream.id, from, frames, header: d.bytes.subarray(at, at + 5), fragment: d.bytes.subarray(at + 5, end), encrypted });
      cursor[from] = at + 5 + length;
    }
  }
  return out;
}

/** The handshake messages in one record's fragment (RFC 8446 §4: type, 24-bit length, body). */
function readHandshake(b: Buffer, from: number, to: number, who: 'client' | 'server', state: TlsState, out: StreamLayer[]): string {
  const names: string[] = [];
  for (let at = from; at + 4 <= to; ) {
    const type = b[at]!;
    const length = b.readUIntBE(at + 1, 3);
    const end = Math.min(to, at + 4 + length);
    const name = handshakeTypeName(type);
    names.push(name);
    const fields: Field[] = [
      { ws: 'tls.handshake.type', name: 'handshake type', offset: at, bytes: 1, value: `${type} (${name})` },
      { ws: 'tls.handshake.length', name: 'length', offset: at + 1, bytes: 3, value: `${length}` },
    ];
    const body = at + 4;
    let malformed = false;
    if (type === 1 || type === 2 || (type === 11 && state.version !== 0x0304)) {
      // Read inside the message's own bytes: a length field that lies (a damaged or hostile
      // capture) then fails here instead of reading the next message, and what came before it stays.
      const message = b.subarray(0, end);
      try {
        if (type === 11) certificates(message, body, end, fields);
        else hello(message, body, end, type === 1, state, fields);
      } catch {
        malformed = true;
      }
      for (let i = fields.length - 1; i >= 0; i--) {
        if (fields[i]!.offset + fields[i]!.bytes <= end) continue;
        fields.splice(i, 1);
        malformed = true;
      }
      const read = Math.max(body, ...fields.map((f) => f.offset + f.bytes));
      if (malformed && read < end) fields.push({ part: 'tls.handshake_body', name: 'the rest (malformed: a length in it runs past the message)', offset: read, bytes: end - read, value: `${end - read} bytes` });
    } else if (type === 16) {
      const rsa = state.suite !== undefined && keyExchangeOf(cipherSuiteName(state.suite)) === 'RSA';
      if (rsa && body + 2 <= end) {
        fields.push(
          { ws: 'tls.handshake.epms_len', name: 'encrypted pre-master secret length', offset: body, bytes: 2, value: `${b.readUInt16BE(body)}` },
          { ws: 'tls.handshake.epms', name: 'encrypted pre-master secret (RSA, with the server\'s public key)', offset: body + 2, bytes: end - body - 2, value: b.toString('hex', body + 2, end) },
        );
      } else if (body + 1 <= end) {
        fields.push(
          { ws: 'tls.handshake.client_point_len', name: 'public key length', offset: body, bytes: 1, value: `${b[body]}` },
          { ws: 'tls.handshake.client_point', name: 'client\'s ECDH public key', offset: body + 1, bytes: end - body - 1, value: b.toString('hex', body + 1, end) },
        );
      }
    } else if (end > body) fields.push({ part: 'tls.handshake_body', name: 'body', offset: body, bytes: end - body, value: `${end - body} bytes` });
    out.push({ name: 'TLS handshake', at, end, summary: malformed ? `${name} (malformed: a length in it runs past the message)` : name, fields, from: who });
    at = body + length;
  }
  return names.join(' + ');
}

function hello(b: Buffer, at: number, end: number, client: boolean, state: TlsState, fields: Field[]): void {
  if (at + 35 > end) return;
  fields.push(
    { ws: 'tls.handshake.version', name: 'legacy version', offset: at, bytes: 2, value: `${hex(b.readUInt16BE(at), 4)} (${versionName(b.readUInt16BE(at))})` },
    { ws: 'tls.handshake.random', name: client ? 'client random' : 'server random', offset: at + 2, bytes: 32, value: b.toString('hex', at + 2, at + 34) },
  );
  let o = at + 34;
  const sid = b[o]!;
  fields.push({ ws: 'tls.handshake.session_id_length', name: 'session id length', offset: o, bytes: 1, value: `${sid}` });
  if (sid) fields.push({ ws: 'tls.handshake.session_id', name: 'session id', offset: o + 1, bytes: sid, value: b.toString('hex', o + 1, o + 1 + sid) });
  o += 1 + sid;
  if (client) {
    const n = b.readUInt16BE(o);
    fields.push({ ws: 'tls.handshake.cipher_suites_length', name: 'cipher suites length', offset: o, bytes: 2, value: `${n}` });
    for (let i = o + 2; i < o + 2 + n; i += 2) fields.push({ ws: 'tls.handshake.ciphersuite', name: 'cipher suite', offset: i, bytes: 2, value: `${hex(b.readUInt16BE(i), 4)} ${cipherSuiteName(b.readUInt16BE(i))}` });
    o += 2 + n;
    const c = b[o]!;
    fields.push({ ws: 'tls.handshake.comp_methods_length', name: 'compression methods length', offset: o, bytes: 1, value: `${c}` });
    for (let i = o + 1; i < o + 1 + c; i++) fields.push({ ws: 'tls.handshake.comp_method', name: 'compression method', offset: i, bytes: 1, value: `${b[i]}${b[i] === 0 ? ' (null)' : ''}` });
    o += 1 + c;
  } else {
    state.suite = b.readUInt16BE(o);
    state.version ??= 0x0303;
    fields.push(
      { ws: 'tls.handshake.ciphersuite', name: 'cipher suite (the server\'s choice)', offset: o, bytes: 2, value: `${hex(state.suite, 4)} ${cipherSuiteName(state.suite)}` },
      { ws: 'tls.handshake.comp_method', name: 'compression method', offset: o + 2, bytes: 1, value: `${b[o + 2]}` },
    );
    o += 3;
  }
  if (o + 2 > end) return;
  fields.push({ ws: 'tls.handshake.extensions_length', name: 'extensions length', offset: o, bytes: 2, value: `${b.readUInt16BE(o)}` });
  for (o += 2; o + 4 <= end; ) {
    const type = b.readUInt16BE(o);
    const len = b.readUInt16BE(o + 2);
    fields.push(
      { ws: 'tls.handshake.extension.type', name: 'extension type', offset: o, bytes: 2, value: `${type} (${extensionName(type)})` },
      { ws: 'tls.handshake.extension.len', name: 'extension length', offset: o + 2, bytes: 2, value: `${len}` },
    );
    if (len) fields.push({ part: 'tls.extension_data', name: `${extensionName(type)} data`, offset: o + 4, bytes: len, value: extensionText(b, type, o + 4, len) });
    // supported_versions in a ServerHello names the real version (RFC 8446 §4.2.1).
    if (!client && type === 43 && len === 2) state.version = b.readUInt16BE(o + 4);
    o += 4 + len;
  }
}

function extensionText(b: Buffer, type: number, at: number, len: number): string {
  if (type === 0 && len > 5) return b.toString('latin1', at + 5, at + len); // server_name: list length, type, name length, name
  if (type === 43 && len === 2) return versionName(b.readUInt16BE(at));
  return b.toString('hex', at, at + Math.min(len, 48)) + (len > 48 ? '…' : '');
}

function certificates(b: Buffer, at: number, end: number, fields: Field[]): void {
  if (at + 3 > end) return;
  fields.push({ ws: 'tls.handshake.certificates_length', name: 'certificates length', offset: at, bytes: 3, value: `${b.readUIntBE(at, 3)}` });
  for (let o = at + 3; o + 3 <= end; ) {
    const len = b.readUIntBE(o, 3);
    fields.push(
      { ws: 'tls.handshake.certificate_length', name: 'certificate length', offset: o, bytes: 3, value: `${len}` },
      { ws: 'tls.handshake.certificate', name: 'certificate (DER, X.509)', offset: o + 3, bytes: Math.min(len, end - o - 3), value: `${len} bytes` },
    );
    o += 3 + len;
  }
}

// ─────────────────────────────────────── opened with the key log ───────────────────────────────────────

/**
 * Each encrypted record of one connection, opened with the key log (lab/observe/tls-decrypt.ts),
 * read like the clear ones: handshake messages, an alert, or the HTTP inside. The layers go into
 * the frame where the record starts, with the plaintext as their own bytes.
 */
function openRecords(records: StreamRecord[], keyLog: string, frames: Map<number, DissectedFrame>): void {
  const opened = decryptRecords(records, keyLog);
  const state: TlsState = { encrypting: { client: true, server: true } };
  records.forEach((r, k) => {
    const o = opened[k]!;
    if (!('plaintext' in o)) {
      // The hellos say which version this is: TLS 1.3 names its certificate differently (RFC 8446 §4.4.2).
      if (r.header[0] === 22 && r.from === 'server' && !r.encrypted) {
        try {
          hello(r.fragment, 4, r.fragment.length, false, state, []);
        } catch {
          /* a damaged ServerHello: its version stays unknown, as for a capture without it */
        }
      }
      return;
    }
    const frame = frames.get(r.frames[0] ?? -1);
    if (!frame) return;
    const b = o.plaintext;
    const layers: StreamLayer[] = [];
    if (o.contentType === 22) readHandshake(b, 0, b.length, r.from, state, layers);
    else if (o.contentType === 21 && b.length === 2) {
      layers.push({ name: 'TLS record', at: 0, end: 2, summary: `alert ${b[1] === 0 ? 'close_notify' : b[1]}`, fields: [
        { ws: 'tls.alert_message.level', name: 'alert level', offset: 0, bytes: 1, value: `${b[0]} (${b[0] === 1 ? 'warning' : 'fatal'})` },
        { ws: 'tls.alert_message.desc', name: 'alert description', offset: 1, bytes: 1, value: `${b[1]}${b[1] === 0 ? ' (close_notify)' : ''}` },
      ] });
    } else if (o.contentType === 23) layers.push(...readHttp(b, 0, b.length));
    if (layers.length === 0 || layers.at(-1)!.end < b.length) {
      const at = layers.at(-1)?.end ?? 0;
      layers.push({ name: 'TLS record', at, end: b.length, summary: `${b.length - at} bytes of ${contentTypeName(o.contentType)}`, fields: [{ part: 'tls.plaintext', name: 'plaintext', offset: at, bytes: b.length - at, value: b.toString('latin1', at, Math.min(b.length, at + 120)).replace(/[^\x20-\x7e]/g, '.') }] });
    }
    const decrypted = { hex: b.toString('hex'), record: k + 1, from: r.from, key: o.key };
    for (const l of layers) frame.layers.push({ ...shift(l, 0), decrypted });
  });
}
