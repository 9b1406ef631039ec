// The TCP story of one connection, read from the capture: the three-way handshake, the segments
// that carry each TLS record, the close, and the state each end is in between two frames.
// Facts only (frame numbers, numbers as on the wire); the words are in lab/tcp-words.ts.
//
// The states are inferred from the segments with RFC 9293 §3.3.2's state diagram (Figure 5): a
// capture shows segments, not states. On loopback each segment is sent and received in the same
// instant, so after each frame the sender has made its "send" transition and the receiver its
// "receive" one. (The kernel's own table, /proc/net/tcp, is read separately: lab/tcp-states.ts.)
import type { CaptureFile } from './pcapng.ts';
import { tcpSegments, type Endpoint, type TcpOption, type TcpSegment } from './packets.ts';
import type { Direction, TlsEvent } from '../tls-decoder.ts';

/** RFC 9293's state names (§3.3.2). */
export type RfcState =
  | 'CLOSED'
  | 'LISTEN'
  | 'SYN-SENT'
  | 'SYN-RECEIVED'
  | 'ESTABLISHED'
  | 'FIN-WAIT-1'
  | 'FIN-WAIT-2'
  | 'CLOSE-WAIT'
  | 'CLOSING'
  | 'LAST-ACK'
  | 'TIME-WAIT';

export interface SegmentFact {
  /** Wireshark's frame.number. */
  frame: number;
  /** Wire time: seconds since 1970, from the capture. */
  time: number;
  direction: Direction;
  seq: number;
  ack: number;
  relativeSeq: number;
  relativeAck: number | undefined;
  /** tshark's tcp.flags (the 12 bits after Data Offset), and the set flags by name: "SYN, ACK". */
  flagBits: number;
  flags: string;
  window: number;
  options: TcpOption[];
  /** Bytes of data (tcp.len). */
  length: number;
  /** IPv4 Total Length (ip.len): the whole packet without the link header. */
  ipLength: number;
  /** The states of both ends once this segment has been sent and received (inferred, RFC 9293 §3.3.2). */
  after: { client: RfcState; server: RfcState };
  /** The TLS records (or parts of them) this segment carries, by the decoder's names. */
  carries: Array<{ name: string; type: TlsEvent['type']; recordOffset: number; recordBytes: number; whole: boolean }>;
}

export type CloseKind = 'fin-both-ways' | 'reset' | 'fin-one-way' | 'open';

export interface TcpStory {
  client: Endpoint;
  server: Endpoint;
  segments: SegmentFact[];
  handshake: { syn?: SegmentFact; synAck?: SegmentFact; ack?: SegmentFact };
  /** How it ended. */
  close: {
    kind: CloseKind;
    /** The segments from the first FIN (or RST) on. */
    segments: SegmentFact[];
    /** Which side sent the first FIN, if any. */
    firstFin?: Direction;
    rst?: SegmentFact;
    /** An RST's cause, read from what came just before it: data arriving after the sender's FIN. */
    rstAfterDataFrom?: SegmentFact;
  };
  /** The final states, once the last segment has passed. */
  final: { client: RfcState; server: RfcState };
}

const FLAG_NAMES: Array<[keyof TcpSegment['flags'], string]> = [
  ['syn', 'SYN'],
  ['fin', 'FIN'],
  ['rst', 'RST'],
  ['psh', 'PSH'],
  ['ack', 'ACK'],
  ['urg', 'URG'],
  ['ece', 'ECE'],
  ['cwr', 'CWR'],
];

export function flagList(s: Pick<TcpSegment, 'flags'>): string {
  return FLAG_NAMES.filter(([k]) => s.flags[k]).map(([, n]) => n).join(', ');
}

/** One end's state machine, driven by the segments it sends and receives (RFC 9293 §3.3.2, §3.10.7). */
class End {
  /** The sequence number its FIN occupies, once it sent one. */
  finSeq?: number;
  constructor(public state: RfcState) {}

  send(s: TcpSegment): void {
    if (s.flags.rst) return void (this.state = 'CLOSED');
    if (s.flags.syn && !s.flags.ack) this.state = 'SYN-SENT';
    if (s.flags.fin) {
      this.finSeq = (s.seq + s.payloadLength + (s.flags.syn ? 1 : 0)) >>> 0;
      if (this.state === 'ESTABLISHED' || this.state === 'SYN-RECEIVED') this.state = 'FIN-WAIT-1';
      else if (this.state === 'CLOSE-WAIT') this.state = 'LAST-ACK';
    }
  }

  receive(s: TcpSegment): void {
    if (s.flags.rst) return void (this.state = this.state === 'LISTEN' ? 'LISTEN' : 'CLOSED');
    if (s.flags.syn && !s.flags.ack && this.state === 'LISTEN') return void (this.state = 'SYN-RECEIVED'); // and it answers SYN-ACK
    if (s.flags.syn && s.flags.ack && this.state === 'SYN-SENT') return void (this.state = 'ESTABLISHED'); // and it answers ACK
    const acksOurFin = s.flags.ack && this.finSeq !== undefined && ((s.ack - this.finSeq - 1) | 0) >= 0;
    if (s.flags.ack && this.state === 'SYN-RECEIVED') this.state = 'ESTABLISHED';
    if (acksOurFin) {
      if (this.state === 'FIN-WAIT-1') this.state = 'FIN-WAIT-2';
      else if (this.state === 'CLOSING') this.state = 'TIME-WAIT';
      else if (this.state === 'LAST-ACK') this.state = 'CLOSED';
    }
    if (s.flags.fin) {
      if (this.state === 'ESTABLISHED') this.state = 'CLOSE-WAIT';
      else if (this.state === 'FIN-WAIT-1') this.state = 'CLOSING'; // both FINs crossed
      else if (this.state === 'FIN-WAIT-2') this.state = 'TIME-WAIT';
    }
  }
}

/**
 * The story of the connection client → server in `capture`. `tls` are the TLS events decoded
 * from the same connection's bytes (their offsets count from 0 in each direction's stream, as
 * relative sequence numbers count from 1 after the SYN), so each record is placed in the segments
 * that carried it.
 */
export function tcpStory(capture: CaptureFile, client: Endpoint, server: Endpoint, tls: readonly TlsEvent[] = []): TcpStory {
  const raw = tcpSegments(capture, client, server);
  const ends = { client: new End('CLOSED'), server: new End('LISTEN') };
  // One entry per record (several handshake messages can share a record: the first names it).
  const records = new Map<string, { direction: Direction; start: number; end: number; name: string; type: TlsEvent['type'] }>();
  for (const e of tls) {
    const key = `${e.direction} ${e.record.offset}`;
    const start = e.record.offset;
    const prior = records.get(key);
    if (prior) prior.name = `${prior.name}, ${e.name}`;
    else records.set(key, { direction: e.direction, start, end: start + 5 + e.record.length, name: e.name, type: e.type });
  }

  const segments: SegmentFact[] = raw.map((s) => {
    const [sender, receiver] = s.direction === 'client→server' ? [ends.client, ends.server] : [ends.server, ends.client];
    sender.send(s);
    receiver.receive(s);
    // Stream bytes [from, to): relative sequence 1 is the stream's byte 0 (the SYN took number 0).
    const from = s.relativeSeq - 1;
    const to = from + s.payloadLength;
    const carries = s.payloadLength === 0 ? [] : [...records.values()]
      .filter((r) => r.direction === s.direction && r.start < to && r.end > from)
      .map((r) => ({ name: r.name, type: r.type, recordOffset: r.start, recordBytes: r.end - r.start, whole: r.start >= from && r.end <= to }));
    return {
      frame: s.frame,
      time: s.time,
      direction: s.direction,
      seq: s.seq,
      ack: s.ack,
      relativeSeq: s.relativeSeq,
      relativeAck: s.relativeAck,
      flagBits: s.flagBits,
      flags: flagList(s),
      window: s.window,
      options: s.options,
      length: s.payloadLength,
      ipLength: s.decoded.ipv4!.totalLength,
      after: { client: ends.client.state, server: ends.server.state },
      carries,
    };
  });

  const syn = segments.find((s) => s.flags === 'SYN' && s.direction === 'client→server');
  const synAck = segments.find((s) => s.flags === 'SYN, ACK' && s.direction === 'server→client');
  const ack = synAck && segments.find((s) => s.frame > synAck.frame && s.direction === 'client→server' && s.flags === 'ACK' && s.length === 0);

  const firstEnd = segments.findIndex((s) => /FIN|RST/.test(s.flags));
  const closing = firstEnd < 0 ? [] : segments.slice(firstEnd);
  const fins = closing.filter((s) => s.flags.includes('FIN'));
  const rst = closing.find((s) => s.flags.includes('RST'));
  const kind: CloseKind = rst ? 'reset' : new Set(fins.map((f) => f.direction)).size === 2 ? 'fin-both-ways' : fins.length ? 'fin-one-way' : 'open';
  // The textbook cause of an RST at the end: the sender had closed (sent its FIN) and data came anyway.
  const rstAfterDataFrom = rst && [...closing].reverse().find((s) => s.frame < rst.frame && s.direction !== rst.direction && s.length > 0);
  return {
    client,
    server,
    segments,
    handshake: { syn, synAck, ack },
    close: { kind, segments: closing, firstFin: fins[0]?.direction, ...(rst && { rst }), ...(rstAfterDataFrom && { rstAfterDataFrom }) },
    final: { client: ends.client.state, server: ends.server.state },
  };
}

/** The segments that carry (part of) a TLS record of this type and direction, e.g. the POST's application_data. */
export function segmentsCarrying(story: TcpStory, direction: Direction, recordOffset: number): SegmentFact[] {
  return story.segments.filter((s) => s.direction === direction && s.carries.some((c) => c.recordOffset === recordOffset));
}
