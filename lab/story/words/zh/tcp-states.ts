// The kernel's own table in Chinese (see en/tcp-states.ts): each look at /proc/net/tcp for the
// phone's connection, which states were caught and which came and went between two looks
// (RFC 9293 §3.3.2), and who closed first. State names stay as RFC 9293 and the kernel spell them.
import { formatSs, readStates, type KernelStates } from '../../../tcp-states.ts';
import { padEndWidth, displayWidth } from '../../../text-width.ts';
import { lookName, roleName, tidy } from './role-names.ts';

/** Why a handshake is over before anyone can look: what the packets cross. */
function pathWords(path: KernelStates['path']): string {
  if (path.kind === 'loopback') return '在环回接口上只要几微秒';
  // netem delays a frame on its way out, before the point where tcpdump sees it (see en/tcp-states.ts).
  return path.roundTripMs > 0
    ? `要再过半个往返时间（${path.roundTripMs / 2} ms）（在手机那条链路上抓的包里，手机自己发出的帧要晚那条链路的延迟才出现：netem 在 tcpdump 看到它们之前就把它们扣住了）`
    : '在没有延迟的链路上只要几微秒';
}

/** Why the table cannot be read here, and where a learner can still look. */
function blockedLine(b: Extract<KernelStates['observable'], { ok: false }>['blocked']): string {
  return b.kind === 'not-linux'
    ? `这里观察不到 TCP socket 的状态：这台机器是 ${b.platform}，而实验环境是从 Linux 的 /proc/net/tcp 读取这些状态的。内核照样会经历这些状态（netstat -an -p tcp 或 lsof -iTCP 能看到某一刻的快照）。`
    : `这里观察不到 TCP socket 的状态：/proc/net/tcp 不可读（${b.code}），这个进程看不到内核的 socket 表。`;
}

/** 状态的来龙去脉，只根据对内核表的几次查看来讲。 */
export function kernelStateLines(k: KernelStates): string[] {
  const { server, snapshots, observable: can } = k;
  const cName = roleName(k.names.client);
  const sName = roleName(k.names.server);
  const lines: string[] = [];
  if (!can.ok) {
    lines.push(blockedLine(can.blocked));
    lines.push(`按 RFC 9293，内核做了这些（这里没有观察到）：${sName} LISTEN；${cName} CLOSED → SYN-SENT → ESTABLISHED；${sName} 新建的连接 SYN-RECEIVED → ESTABLISHED；关闭时，先关闭的一端 FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT，另一端 CLOSE-WAIT → LAST-ACK → CLOSED。`);
    return lines.map(tidy);
  }

  // Each look, as it was; the two ends' labels padded to one display width so their rows line up.
  const cEnd = tidy(`${cName} 这一端：`);
  const sEnd = tidy(`${sName} 这一端：`);
  const endWidth = Math.max(displayWidth(cEnd), displayWidth(sEnd));
  for (const s of snapshots) {
    lines.push(`${lookName(s.label)}（+${s.atMs.toFixed(1)} ms）：`);
    lines.push(
      s.listener
        ? `  ${sName} 在监听：${formatSs(s.listener)}（${s.listener.rxQueue} 个连接在等 accept()）`
        : `  ${sName}：表里没有端口 ${server.port} 上的监听 socket`,
    );
    if (!s.clientEnd) lines.push(`  ${cName}：还没有连接，也还没有端口，所以表里没有它这一行：CLOSED（RFC 9293 的说法是“根本没有连接状态”）`);
    else {
      lines.push(s.client ? `  ${padEndWidth(cEnd, endWidth)}${formatSs(s.client)}` : `  ${cEnd}${s.clientEnd.address}:${s.clientEnd.port} 不在表里：CLOSED`);
      lines.push(s.serverEnd ? `  ${padEndWidth(sEnd, endWidth)}${formatSs(s.serverEnd)}` : `  ${sEnd}不在表里：CLOSED`);
    }
  }

  // The handshake: what was caught, and what happened too fast to see.
  const { handshake, close } = readStates(k);
  if (handshake) {
    const { first } = handshake;
    const caught = [handshake.caught.synSent && `${cName} 处于 SYN_SENT`, handshake.caught.synRecv && `${sName} 处于 SYN_RECV`].filter(Boolean);
    const missed = [!handshake.caught.synSent && 'SYN_SENT', !handshake.caught.synRecv && 'SYN_RECV'].filter(Boolean);
    if (caught.length) lines.push(`握手途中抓到了：${caught.join('，')}。`);
    if (missed.length) {
      lines.push(
        `没有看到 ${missed.join(' 和 ')}：连接之后的第一次查看（${lookName(first.label)}，+${first.atMs.toFixed(1)} ms）是在 connect() 成功之后做的，` +
          `也就是 SYN+ACK 已经回来之后，看到的是 ${first.client.state}；${sName} 那一端紧接着收到 ACK 也就完成了握手，${pathWords(k.path)}。`,
      );
    }
    lines.push(
      `按 RFC 9293，${cName} 经历了 CLOSED → SYN-SENT（发出 SYN）→ ESTABLISHED（收到 SYN+ACK，发出 ACK）；` +
        `${sName} 的监听 socket 一直处于 LISTEN，它新建的连接则经历了 SYN-RECEIVED（收到 SYN，发出 SYN+ACK）→ ESTABLISHED（收到 ACK）。`,
    );
  }

  // The close: who closed first, read from where each end ended up.
  if (close?.kind === 'active') {
    const [active, passive] = close.closer === 'client' ? [cName, sName] : [sName, cName];
    lines.push(
      `${active} 先关闭（主动关闭）：ESTABLISHED → FIN-WAIT-1（发出 FIN）→ FIN-WAIT-2（FIN 已被确认）→ TIME-WAIT（收到对端的 FIN）→ CLOSED；` +
        `在“${lookName(close.at)}”那次查看中看到的是 ${close.activeState}。`,
    );
    if (close.activeState === 'TIME_WAIT') {
      lines.push(
        `  TIME_WAIT 会把这个四元组保留 2·MSL（Linux 上是 60 s；内核的计时器显示还剩 ${close.activeEnd.timerSeconds.toFixed(1)} s），` +
          '免得这个连接迟到的报文段被当成新连接的一部分。',
      );
    } else if (close.activeState === 'FIN_WAIT2') {
      lines.push(`  在 FIN_WAIT2 状态，${active} 的 FIN 已经被确认，正在等 ${passive} 的 FIN。`);
    }
    lines.push(
      `${passive} 后关闭（被动关闭）：ESTABLISHED → CLOSE-WAIT（收到 FIN）→ LAST-ACK（发出自己的 FIN）→ CLOSED（FIN 已被确认）；` +
        `看到的是：${close.passiveState === 'CLOSED' ? '已经从表里消失，CLOSED' : close.passiveState}。`,
    );
    if (close.missed.length) lines.push(`  没抓到：${close.missed.join('、')}：它们都是在两次查看之间出现又消失的（这里一个往返只要 ${k.path.kind === 'links' && k.path.roundTripMs > 0 ? `${k.path.roundTripMs} ms` : '几微秒'}）。`);
  } else if (close?.kind === 'half-closed') {
    lines.push(`在“${lookName(close.at)}”那次查看中，有一端收到了 FIN，正在等它的应用程序关闭：${cName} ${close.client}，${sName} ${close.server}。`);
  } else if (close?.kind === 'both-gone') {
    lines.push(`在“${lookName(close.at)}”那次查看中，两端都已从表里消失：连接被复位（RST）了，或者 TIME_WAIT 已经结束。`);
  }
  return lines.map(tidy);
}
