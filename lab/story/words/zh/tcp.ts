// The TCP story in Chinese (see en/tcp.ts): the three-way handshake with its numbers and options,
// which segments carry which TLS records, the close, and the state each end is in between two
// frames. Every line names its frame (帧 N), so `frame.number == N` in Wireshark lands on it.
// Flags, state names, option names and tshark fields stay as the protocol and the tools spell them.
import { tcpOptionText } from '../../../observe/frame-fields.ts';
import type { SegmentFact, TcpStory } from '../../../observe/tcp-story.ts';
import type { Names } from '../en/tcp.ts';
import { roleName, tidy } from './role-names.ts';
import { tlsEventName } from './tls.ts';

/** The two ends by their Chinese names (手机, SLB), whatever the caller called them. */
const zhNames = (n: Names): Names => ({ client: roleName(n.client), server: roleName(n.server) });

const arrow = (s: SegmentFact, n: Names) => (s.direction === 'client→server' ? `${n.client} → ${n.server}` : `${n.server} → ${n.client}`);

/** The TLS records a segment carries, by the decoder's names in Chinese. */
const carried = (s: SegmentFact, sep = ' + ') => s.carries.map((c) => tlsEventName(c.name)).join(sep);

/** "seq 3005227316（相对值 0），ack 0（ACK 标志没有置位：不使用）" */
export function numbers(s: SegmentFact): string {
  const ack = s.relativeAck === undefined ? `ack ${s.ack}（ACK 标志没有置位：不使用）` : `ack ${s.ack}（相对值 ${s.relativeAck}）`;
  return `seq ${s.seq}（相对值 ${s.relativeSeq}），${ack}`;
}

/** The window field as sent; after the handshake it counts in units of 2^shift (RFC 7323 §2.2). */
function windowText(s: SegmentFact, shift: number | undefined): string {
  if (s.flags.includes('SYN') || shift === undefined || shift === 0) return `window ${s.window}`;
  return `window ${s.window}（× 2^${shift} = ${s.window * 2 ** shift} 字节）`;
}

function states(s: SegmentFact, n: Names): string {
  return `${n.client} ${s.after.client}，${n.server} ${s.after.server}`;
}

/** The window scale each side announced in its SYN (applies to the windows it sends afterwards). */
function shifts(story: TcpStory): { 'client→server'?: number; 'server→client'?: number } {
  const shiftOf = (s: SegmentFact | undefined) => {
    const o = s?.options.find((x) => x.kind === 'window-scale');
    return o && o.kind === 'window-scale' ? o.shift : undefined;
  };
  return { 'client→server': shiftOf(story.handshake.syn), 'server→client': shiftOf(story.handshake.synAck) };
}

/** 一个报文段一行：帧号、谁发给谁、标志位、序号、窗口、数据长度。 */
export function segmentLine(s: SegmentFact, names: Names, shift?: number): string {
  const n = zhNames(names);
  return tidy(`帧 ${s.frame}  ${arrow(s, n)}  [${s.flags}]  ${numbers(s)}，${windowText(s, shift)}，${s.length} 字节数据`);
}

/** 握手、数据、关闭：第 2 步 TCP 部分的各行。 */
export function describeTcpStory(story: TcpStory, names: Names, file: string): string[] {
  const n = zhNames(names);
  const lines: string[] = [];
  const shift = shifts(story);
  const { syn, synAck, ack } = story.handshake;
  lines.push('三次握手（RFC 9293 §3.5），一帧一帧地看；方括号里是每一帧之后两端的状态：');
  lines.push(`  帧 ${syn?.frame ?? '?'} 之前：${n.client} CLOSED（还没有 socket），${n.server} LISTEN（它的监听 socket）`);
  for (const s of [syn, synAck, ack]) {
    if (!s) continue;
    lines.push(`  ${segmentLine(s, n, shift[s.direction])}`);
    if (s.options.length) lines.push(`      选项：${s.options.filter((o) => o.kind !== 'nop').map(tcpOptionText).join('，')}`);
    lines.push(`      [${states(s, n)}]`);
  }
  if (!syn || !synAck || !ack) lines.push(`  （抓包文件里缺了握手的一部分：SYN ${syn?.frame ?? '缺失'}，SYN-ACK ${synAck?.frame ?? '缺失'}，ACK ${ack?.frame ?? '缺失'}）`);
  if (syn && synAck) {
    lines.push(
      `  两端各自随机选了一个初始序列号（RFC 9293 §3.4.1）：${n.client} ${syn.seq}，${n.server} ${synAck.seq}。` +
        `SYN-ACK 确认的是 ${synAck.ack} = ${syn.seq} + 1（SYN 本身占一个序号），ACK 确认的是 ${ack?.ack ?? '?'} = ${synAck.seq} + 1。` +
        'Wireshark 显示的是相对于初始序列号的值（0、1、…）；tcp.seq_raw 才是线路上的数字。',
    );
  }
  lines.push(
    '  这里的 SYN-SENT 和 SYN-RECEIVED 是按 RFC 9293 的状态图（§3.3.2）从报文段推出来的：抓包文件里只有报文段，没有状态。' +
      '内核自己的表（/proc/net/tcp，见下文）是另外读的，只能抓到在两次查看之间持续存在的状态（路径上没有延迟时，握手几微秒就结束了；它能看到 ESTABLISHED，以及关闭之后的 TIME-WAIT）。',
  );

  // The data: which segment carries which TLS record (by frame number: see en/tcp.ts).
  const closing = new Set(story.close.segments.map((s) => s.frame));
  lines.push('数据，一个报文段一个报文段地看（TLS 记录按它在各自方向字节流里的偏移归位，偏移 = 相对序号 − 1）：');
  for (const s of story.segments) {
    if (s.length === 0 || s.carries.length === 0 || closing.has(s.frame)) continue; // the close has its own lines
    lines.push(`  帧 ${s.frame}  ${arrow(s, n)}  ${s.length} 字节（seq ${s.relativeSeq}–${s.relativeSeq + s.length - 1}）：${s.carries.map((c) => `${tlsEventName(c.name)}${c.whole ? '' : '（一部分）'}`).join(' + ')}`);
  }
  const pureAcks = story.segments.filter((s) => s.flags === 'ACK' && s.length === 0 && s.frame !== ack?.frame && !closing.has(s.frame));
  if (pureAcks.length) lines.push(`  另有 ${pureAcks.length} 个不带数据、只做确认的报文段：帧 ${pureAcks.map((s) => s.frame).join(', ')}。`);

  lines.push(...describeClose(story, n, shift));
  lines.push(`其中任何一帧都可以这样核对：tshark -r ${file} -Y 'frame.number == ${syn?.frame ?? 1}' -T fields -e tcp.seq_raw -e tcp.ack_raw -e tcp.flags.str -e tcp.window_size_value -e tcp.options`);
  return lines.map(tidy);
}

function describeClose(story: TcpStory, n: Names, shift: ReturnType<typeof shifts>): string[] {
  const lines: string[] = [];
  const c = story.close;
  const who = (d: SegmentFact['direction'] | undefined) => (d === 'client→server' ? n.client : n.server);
  const other = (d: SegmentFact['direction'] | undefined) => (d === 'client→server' ? n.server : n.client);
  if (c.kind === 'open') return ['关闭：抓包文件里还没有（这个连接还没有出现 FIN 或 RST）。'];
  lines.push(
    c.kind === 'fin-both-ways'
      ? `关闭（RFC 9293 §3.6）：${who(c.firstFin)} 先发 FIN（主动关闭），${other(c.firstFin)} 确认之后再发自己的 FIN；每个 FIN 占一个序号，也都要被确认：`
      : c.kind === 'reset'
        ? `关闭以复位（RST）告终，帧 ${c.rst!.frame}：`
        : `关闭：抓包文件里只有 ${who(c.firstFin)} 发了 FIN：`,
  );
  for (const s of c.segments) {
    const inside = s.carries.length ? `，里面是 ${carried(s)}` : '';
    lines.push(`  ${segmentLine(s, n, shift[s.direction])}${inside}`);
    lines.push(`      [${states(s, n)}]`);
  }
  if (c.kind === 'fin-both-ways') {
    lines.push(
      `  ${who(c.firstFin)} 最后处于 ${c.firstFin === 'client→server' ? story.final.client : story.final.server}（它先关闭，所以要把这个四元组保留 2·MSL），${other(c.firstFin)} 处于 ${c.firstFin === 'client→server' ? story.final.server : story.final.client}。` +
        '发 FIN 之前，两端都先发了 TLS 的 close_notify 告警（RFC 8446 §6.1，RFC 5246 §7.2.1）：先由 TLS 说“没有更多数据了”，再轮到 TCP。',
    );
  } else if (c.kind === 'reset' && c.rst) {
    const cause = c.rstAfterDataFrom;
    lines.push(
      cause
        ? `  原因：帧 ${cause.frame} 给 ${who(c.rst.direction)} 送来了 ${cause.length} 字节（${carried(cause) || '数据'}），而它已经把自己的 socket 彻底关闭了（不只是关闭了发送方向）：关闭了的 socket 收不了数据，所以它的内核回了 RST（RFC 9293 §3.10.7.1），两端都不经过 TIME-WAIT。`
        : `  原因：${who(c.rst.direction)} 中止了连接（RFC 9293 §3.10.5）：它的 socket 在还有数据没读的时候就关闭了，或者是带着 SO_LINGER 0 关闭的。`,
    );
  }
  return lines;
}

/** 一个报文段一行短摘要，用在 trace 的概览里（字段照 tshark 的写法）。 */
export function segmentSummary(s: SegmentFact): string {
  return `[${s.flags}] seq=${s.relativeSeq} ack=${s.relativeAck ?? '-'} win=${s.window} len=${s.length}${s.carries.length ? ` ${carried(s)}` : ''}`;
}
