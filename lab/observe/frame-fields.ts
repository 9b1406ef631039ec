// One captured frame, header by header, field by field: where each field sits in the frame (byte
// offsets from the frame's first byte, as Wireshark's packet bytes pane counts), how many bytes it
// takes, and its value as on the wire. Facts only: the field names are keys, which the story's words
// (lab/story/words/*/layers.ts) turn into each language's labels.
//
//   Ethernet II  IEEE 802.3 clause 3      IPv4  RFC 791 §3.1
//   TCP          RFC 9293 §3.1, options §3.2 (MSS), RFC 7323 (timestamps, window scale), RFC 2018 (SACK)
//   TLS record   RFC 5246 §6.2.1 / RFC 8446 §5.1: type (1), legacy version (2), length (2), then the fragment
import type { DecodedFrame, TcpOption } from './packets.ts';

export type WireFieldName =
  | 'destination MAC' | 'source MAC' | 'EtherType'
  | 'version, IHL' | 'DSCP, ECN' | 'total length' | 'identification' | 'flags, fragment offset' | 'TTL' | 'protocol'
  | 'header checksum' | 'source address' | 'destination address'
  | 'source port' | 'destination port' | 'sequence number' | 'acknowledgment number' | 'data offset, flags' | 'window'
  | 'checksum' | 'urgent pointer' | 'options'
  | 'content type' | 'legacy version' | 'length' | 'encrypted fragment';

/**
 * What the words add to a value: a length in 4-byte words and the bytes it makes ("5 (× 4 = 20 bytes)",
 * then the rest of the value), or a count of bytes. The value itself holds only what the wire holds.
 */
export type WireUnit = { kind: 'times-4'; bytes: number; then?: string } | { kind: 'bytes' };

export interface WireField {
  name: WireFieldName;
  /** Offset of the field's first byte in the frame, and its size in bytes (0.5: a nibble, shown with its byte). */
  offset: number;
  bytes: number;
  value: string;
  unit?: WireUnit;
}

export interface WireLayer {
  name: 'Ethernet' | 'IPv4' | 'TCP' | 'TLS record';
  offset: number;
  length: number;
  fields: WireField[];
}

const hex = (n: number, digits: number) => `0x${n.toString(16).padStart(digits, '0')}`;

function optionText(o: TcpOption): string {
  switch (o.kind) {
    case 'mss': return `MSS ${o.value}`;
    case 'sack-permitted': return 'SACK-permitted';
    case 'timestamps': return `timestamps TSval ${o.value} TSecr ${o.echoReply}`;
    case 'window-scale': return `window scale ${o.shift} (× ${2 ** o.shift})`;
    case 'sack': return `SACK ${o.blocks.map(([a, b]) => `${a}-${b}`).join(' ')}`;
    case 'nop': return 'NOP';
    case 'eol': return 'EOL';
    default: return `option ${o.code} (${o.bytes})`;
  }
}

export function tcpOptionText(o: TcpOption): string {
  return optionText(o);
}

/** Ethernet, IPv4 and TCP headers of a decoded frame, then each TLS record header in its payload. */
export function frameFields(d: DecodedFrame, tlsRecords: Array<{ streamOffset: number; name: string }> = [], payloadStreamOffset = 0): WireLayer[] {
  const layers: WireLayer[] = [];
  const data = d.frame.data;
  if (d.ethernet) {
    const e = d.ethernet;
    layers.push({
      name: 'Ethernet', offset: 0, length: 14, fields: [
        { name: 'destination MAC', offset: 0, bytes: 6, value: e.destination },
        { name: 'source MAC', offset: 6, bytes: 6, value: e.source },
        { name: 'EtherType', offset: 12, bytes: 2, value: `${hex(e.etherType, 4)}${e.etherType === 0x0800 ? ' (IPv4)' : ''}` },
      ],
    });
  }
  if (d.ipv4) {
    const ip = d.ipv4;
    const o = ip.offset;
    layers.push({
      name: 'IPv4', offset: o, length: ip.headerLength, fields: [
        { name: 'version, IHL', offset: o, bytes: 1, value: `4, ${ip.headerLength / 4}`, unit: { kind: 'times-4', bytes: ip.headerLength } },
        { name: 'DSCP, ECN', offset: o + 1, bytes: 1, value: `${ip.dscp}, ${ip.ecn}` },
        { name: 'total length', offset: o + 2, bytes: 2, value: `${ip.totalLength}` },
        { name: 'identification', offset: o + 4, bytes: 2, value: `${hex(ip.identification, 4)} (${ip.identification})` },
        { name: 'flags, fragment offset', offset: o + 6, bytes: 2, value: `${ip.dontFragment ? 'DF' : '-'}${ip.moreFragments ? ' MF' : ''}, ${ip.fragmentOffset}` },
        { name: 'TTL', offset: o + 8, bytes: 1, value: `${ip.ttl}` },
        { name: 'protocol', offset: o + 9, bytes: 1, value: `${ip.protocol}${ip.protocol === 6 ? ' (TCP)' : ''}` },
        { name: 'header checksum', offset: o + 10, bytes: 2, value: hex(ip.checksum, 4) },
        { name: 'source address', offset: o + 12, bytes: 4, value: ip.source },
        { name: 'destination address', offset: o + 16, bytes: 4, value: ip.destination },
      ],
    });
  }
  if (d.tcp) {
    const t = d.tcp;
    const o = t.offset;
    const flags = Object.entries(t.flags).filter(([, on]) => on).map(([k]) => k.toUpperCase()).join(', ');
    const fields: WireField[] = [
      { name: 'source port', offset: o, bytes: 2, value: `${t.sourcePort}` },
      { name: 'destination port', offset: o + 2, bytes: 2, value: `${t.destinationPort}` },
      { name: 'sequence number', offset: o + 4, bytes: 4, value: `${t.seq}` },
      { name: 'acknowledgment number', offset: o + 8, bytes: 4, value: `${t.ack}` },
      { name: 'data offset, flags', offset: o + 12, bytes: 2, value: `${t.headerLength / 4}`, unit: { kind: 'times-4', bytes: t.headerLength, then: `${hex(t.flagBits, 3)} ${flags}` } },
      { name: 'window', offset: o + 14, bytes: 2, value: `${t.window}` },
      { name: 'checksum', offset: o + 16, bytes: 2, value: hex(t.checksum, 4) },
      { name: 'urgent pointer', offset: o + 18, bytes: 2, value: `${t.urgentPointer}` },
    ];
    if (t.headerLength > 20) fields.push({ name: 'options', offset: o + 20, bytes: t.headerLength - 20, value: t.options.map(optionText).join(', ') });
    layers.push({ name: 'TCP', offset: o, length: t.headerLength, fields });
    // TLS record headers inside this segment's payload (those that start in it).
    for (const r of tlsRecords) {
      const at = t.payloadOffset + (r.streamOffset - payloadStreamOffset);
      if (at < t.payloadOffset || at + 5 > t.payloadOffset + t.payloadLength || at + 5 > data.length) continue;
      const type = data[at]!;
      const version = data.readUInt16BE(at + 1);
      const length = data.readUInt16BE(at + 3);
      layers.push({
        name: 'TLS record', offset: at, length: 5 + length, fields: [
          { name: 'content type', offset: at, bytes: 1, value: `${type}${CONTENT_TYPES[type] ? ` (${CONTENT_TYPES[type]})` : ''}: ${r.name}` },
          { name: 'legacy version', offset: at + 1, bytes: 2, value: hex(version, 4) },
          { name: 'length', offset: at + 3, bytes: 2, value: `${length}` },
          { name: 'encrypted fragment', offset: at + 5, bytes: length, value: `${length}`, unit: { kind: 'bytes' } },
        ],
      });
    }
  }
  return layers;
}

/** TLS ContentType (RFC 8446 §5.1). */
const CONTENT_TYPES: Record<number, string> = { 20: 'change_cipher_spec', 21: 'alert', 22: 'handshake', 23: 'application_data' };
