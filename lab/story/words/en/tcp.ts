// The words for the TCP story read from the capture (lab/observe/tcp-story.ts): the handshake
// with its numbers and options, which segments carry which TLS records, the close, and the state
// each end is in between two frames. Every line names its frame, so `frame.number == N` in
// Wireshark lands on it.
import { tcpOptionText } from '../../../observe/frame-fields.ts';
import type { SegmentFact, TcpStory } from '../../../observe/tcp-story.ts';

export interface Names {
  client: string;
  server: string;
}

const arrow = (s: SegmentFact, n: Names) => (s.direction === 'client→server' ? `${n.client} → ${n.server}` : `${n.server} → ${n.client}`);

/** "seq 3005227316 (relative 0), ack 0 (ACK flag off: not used)" */
export function numbers(s: SegmentFact): string {
  const ack = s.relativeAck === undefined ? `ack ${s.ack} (ACK flag off: not used)` : `ack ${s.ack} (relative ${s.relativeAck})`;
  return `seq ${s.seq} (relative ${s.relativeSeq}), ${ack}`;
}

/** The window field as sent; after the handshake it counts in units of 2^shift (RFC 7323 §2.2). */
function windowText(s: SegmentFact, shift: number | undefined): string {
  if (s.flags.includes('SYN') || shift === undefined || shift === 0) return `window ${s.window}`;
  return `window ${s.window} (× 2^${shift} = ${s.window * 2 ** shift} bytes)`;
}

function states(s: SegmentFact, n: Names): string {
  return `${n.client} ${s.after.client}, ${n.server} ${s.after.server}`;
}

/** The window scale each side announced in its SYN (applies to the windows it sends afterwards). */
function shifts(story: TcpStory): { 'client→server'?: number; 'server→client'?: number } {
  const shiftOf = (s: SegmentFact | undefined) => {
    const o = s?.options.find((x) => x.kind === 'window-scale');
    return o && o.kind === 'window-scale' ? o.shift : undefined;
  };
  return { 'client→server': shiftOf(story.handshake.syn), 'server→client': shiftOf(story.handshake.synAck) };
}

/** One segment on one line: frame, who to whom, flags, numbers, window, length. */
export function segmentLine(s: SegmentFact, n: Names, shift?: number): string {
  return `frame ${s.frame}  ${arrow(s, n)}  [${s.flags}]  ${numbers(s)}, ${windowText(s, shift)}, ${s.length} bytes of data`;
}

/** The handshake, the data, the close: the lines of step 2's TCP section. */
export function describeTcpStory(story: TcpStory, n: Names, file: string): string[] {
  const lines: string[] = [];
  const shift = shifts(story);
  const { syn, synAck, ack } = story.handshake;
  lines.push(`The three-way handshake (RFC 9293 §3.5), frame by frame; states after each frame in brackets:`);
  lines.push(`  before frame ${syn?.frame ?? '?'}: ${n.client} CLOSED (no socket yet), ${n.server} LISTEN (its listening socket)`);
  for (const s of [syn, synAck, ack]) {
    if (!s) continue;
    lines.push(`  ${segmentLine(s, n, shift[s.direction])}`);
    if (s.options.length) lines.push(`      options: ${s.options.filter((o) => o.kind !== 'nop').map(tcpOptionText).join(', ')}`);
    lines.push(`      [${states(s, n)}]`);
  }
  if (!syn || !synAck || !ack) lines.push(`  (the capture lacks part of the handshake: SYN ${syn?.frame ?? 'missing'}, SYN-ACK ${synAck?.frame ?? 'missing'}, ACK ${ack?.frame ?? 'missing'})`);
  if (syn && synAck) {
    lines.push(
      `  Each side picked a random initial sequence number (RFC 9293 §3.4.1): ${n.client} ${syn.seq}, ${n.server} ${synAck.seq}. ` +
        `The SYN-ACK acknowledges ${synAck.ack} = ${syn.seq} + 1 (a SYN takes one sequence number), the ACK ${ack?.ack ?? '?'} = ${synAck.seq} + 1. ` +
        `Wireshark shows them relative to those (0, 1, …); tcp.seq_raw is the number on the wire.`,
    );
  }
  lines.push(
    `  SYN-SENT and SYN-RECEIVED are inferred here from the segments with RFC 9293's state diagram (§3.3.2): a capture holds segments, not states. ` +
      `The kernel's own table (/proc/net/tcp, below) is read separately and catches only the states that last between two looks (without delay on the path the handshake is over in microseconds, and it shows ESTABLISHED and, after the close, TIME-WAIT).`,
  );

  // The data: which segment carries which TLS record. (By frame number, not by object: a story
  // read back from trace.json has copies, so the close's segments are not the same objects.)
  const closing = new Set(story.close.segments.map((s) => s.frame));
  lines.push('The data, segment by segment (TLS records placed by their offsets in each direction\'s byte stream = relative sequence number − 1):');
  for (const s of story.segments) {
    if (s.length === 0 || s.carries.length === 0 || closing.has(s.frame)) continue; // the close has its own lines
    lines.push(`  frame ${s.frame}  ${arrow(s, n)}  ${s.length} bytes (seq ${s.relativeSeq}–${s.relativeSeq + s.length - 1}): ${s.carries.map((c) => `${c.name}${c.whole ? '' : ' (part)'}`).join(' + ')}`);
  }
  const pureAcks = story.segments.filter((s) => s.flags === 'ACK' && s.length === 0 && s.frame !== ack?.frame && !closing.has(s.frame));
  if (pureAcks.length) lines.push(`  and ${pureAcks.length} segment(s) with no data, only an acknowledgment: frame(s) ${pureAcks.map((s) => s.frame).join(', ')}.`);

  // The close.
  lines.push(...describeClose(story, n, shift));
  lines.push(`Check any of these: tshark -r ${file} -Y 'frame.number == ${syn?.frame ?? 1}' -T fields -e tcp.seq_raw -e tcp.ack_raw -e tcp.flags.str -e tcp.window_size_value -e tcp.options`);
  return lines;
}

function describeClose(story: TcpStory, n: Names, shift: ReturnType<typeof shifts>): string[] {
  const lines: string[] = [];
  const c = story.close;
  const who = (d: SegmentFact['direction'] | undefined) => (d === 'client→server' ? n.client : n.server);
  const other = (d: SegmentFact['direction'] | undefined) => (d === 'client→server' ? n.server : n.client);
  if (c.kind === 'open') return [`The close: not in the capture (no FIN or RST of this connection yet).`];
  lines.push(
    c.kind === 'fin-both-ways'
      ? `The close (RFC 9293 §3.6): ${who(c.firstFin)} sends its FIN first (active close), ${other(c.firstFin)} acknowledges it and sends its own; each FIN takes one sequence number and is acknowledged:`
      : c.kind === 'reset'
        ? `The close ends in a reset (RST), frame ${c.rst!.frame}:`
        : `The close: only ${who(c.firstFin)} sent a FIN in the capture:`,
  );
  for (const s of c.segments) {
    const inside = s.carries.length ? ` carrying ${s.carries.map((x) => x.name).join(' + ')}` : '';
    lines.push(`  ${segmentLine(s, n, shift[s.direction])}${inside}`);
    lines.push(`      [${states(s, n)}]`);
  }
  if (c.kind === 'fin-both-ways') {
    lines.push(
      `  ${who(c.firstFin)} ends in ${c.firstFin === 'client→server' ? story.final.client : story.final.server} (it closed first: it keeps the 4-tuple for 2·MSL), ${other(c.firstFin)} in ${c.firstFin === 'client→server' ? story.final.server : story.final.client}. ` +
        `Before its FIN each side sent a TLS close_notify alert (RFC 8446 §6.1, RFC 5246 §7.2.1): TLS says "no more data" first, then TCP.`,
    );
  } else if (c.kind === 'reset' && c.rst) {
    const cause = c.rstAfterDataFrom;
    lines.push(
      cause
        ? `  Why: frame ${cause.frame} brought ${cause.length} bytes (${cause.carries.map((x) => x.name).join(' + ') || 'data'}) to ${who(c.rst.direction)} after it had closed its socket completely (not just its sending side): a closed socket cannot take data, so its kernel answers with RST (RFC 9293 §3.10.7.1) and neither end goes through TIME-WAIT.`
        : `  Why: ${who(c.rst.direction)} aborted the connection (RFC 9293 §3.10.5): its socket was closed with data unread, or closed with SO_LINGER 0.`,
    );
  }
  return lines;
}

/** One short line per segment, for the trace's summary. */
export function segmentSummary(s: SegmentFact): string {
  return `[${s.flags}] seq=${s.relativeSeq} ack=${s.relativeAck ?? '-'} win=${s.window} len=${s.length}${s.carries.length ? ` ${s.carries.map((c) => c.name).join(' + ')}` : ''}`;
}
