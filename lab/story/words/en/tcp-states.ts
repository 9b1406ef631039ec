// The kernel's own table in words: each look at /proc/net/tcp for the phone's connection, which
// states were caught and which came and went between two looks (RFC 9293 §3.3.2), and who closed
// first. The looks are facts (lab/tcp-states.ts); this says only what they show.
import { formatSs, readStates, type KernelStates } from '../../../tcp-states.ts';

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Why a handshake is over before anyone can look: what the packets cross. */
function pathWords(path: KernelStates['path']): string {
  if (path.kind === 'loopback') return 'on loopback within microseconds';
  // netem delays a frame on its way out, before the point where tcpdump sees it: in a capture on the
  // phone's own link, its frames appear that link's delay after the kernel sent them.
  return path.roundTripMs > 0
    ? `half a round trip (${path.roundTripMs / 2} ms) later (a capture on the phone's link shows the phone's own frames after that link's delay: netem holds them before tcpdump sees them)`
    : 'within microseconds on links with no delay';
}

/** Why the table cannot be read here, and where a learner can still look. */
function blockedLine(b: Extract<KernelStates['observable'], { ok: false }>['blocked']): string {
  return b.kind === 'not-linux'
    ? `TCP socket states cannot be observed here: this is ${b.platform}, and the lab reads them from Linux's /proc/net/tcp. The kernel still goes through them (netstat -an -p tcp or lsof -iTCP show a snapshot).`
    : `TCP socket states cannot be observed here: /proc/net/tcp is not readable (${b.code}), so the kernel's socket table is out of sight of this process.`;
}

/** The story of the states, told from the looks at the table (and only from them). */
export function kernelStateLines(k: KernelStates): string[] {
  const { server, snapshots, observable: can } = k;
  const cName = k.names.client;
  const sName = k.names.server;
  const lines: string[] = [];
  if (!can.ok) {
    lines.push(blockedLine(can.blocked));
    lines.push(`What the kernels did, per RFC 9293 (not observed here): ${sName} LISTEN; ${cName} CLOSED → SYN-SENT → ESTABLISHED; ${sName}'s new connection SYN-RECEIVED → ESTABLISHED; on close, the end that closes first FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT, the other CLOSE-WAIT → LAST-ACK → CLOSED.`);
    return lines;
  }

  // Each look, as it was.
  for (const s of snapshots) {
    const t = `+${s.atMs.toFixed(1)} ms`;
    lines.push(`${s.label} (${t}):`);
    lines.push(
      s.listener
        ? `  ${sName} listens: ${formatSs(s.listener)} (${s.listener.rxQueue} connection(s) waiting for accept())`
        : `  ${sName}: no listening socket on port ${server.port} in the table`,
    );
    if (!s.clientEnd) lines.push(`  ${cName}: not connected, no port yet, so no row in the table: CLOSED (RFC 9293: "no connection state at all")`);
    else {
      lines.push(s.client ? `  ${cName}'s end:  ${formatSs(s.client)}` : `  ${cName}'s end:  ${s.clientEnd.address}:${s.clientEnd.port} not in the table: CLOSED`);
      lines.push(s.serverEnd ? `  ${sName}'s end: ${formatSs(s.serverEnd)}` : `  ${sName}'s end: not in the table: CLOSED`);
    }
  }

  // The handshake: what was caught, and what happened too fast to see.
  const { handshake, close } = readStates(k);
  if (handshake) {
    const { first } = handshake;
    const caught = [handshake.caught.synSent && `${cName} in SYN_SENT`, handshake.caught.synRecv && `${sName} in SYN_RECV`].filter(Boolean);
    const missed = [!handshake.caught.synSent && 'SYN_SENT', !handshake.caught.synRecv && 'SYN_RECV'].filter(Boolean);
    if (caught.length) lines.push(`Caught mid-handshake: ${caught.join(', ')}.`);
    if (missed.length) {
      lines.push(
        `${missed.join(' and ')} ${missed.length > 1 ? 'were' : 'was'} not seen: the first look after connecting (${first.label}, +${first.atMs.toFixed(1)} ms) is taken once connect() has succeeded, ` +
          `that is once the SYN+ACK has come back, and found ${first.client.state}; ${sName}'s side finishes with the ACK right after, ${pathWords(k.path)}.`,
      );
    }
    lines.push(
      `Per RFC 9293 ${cName} went CLOSED → SYN-SENT (sent SYN) → ESTABLISHED (got SYN+ACK, sent ACK); ` +
        `${sName}'s listener stayed LISTEN and its new connection went SYN-RECEIVED (got SYN, sent SYN+ACK) → ESTABLISHED (got the ACK).`,
    );
  }

  // The close: who closed first, read from where each end ended up.
  if (close?.kind === 'active') {
    const [active, passive] = close.closer === 'client' ? [cName, sName] : [sName, cName];
    lines.push(
      `${cap(active)} closed first (active close): ESTABLISHED → FIN-WAIT-1 (sent FIN) → FIN-WAIT-2 (FIN acknowledged) → TIME-WAIT (got the peer's FIN) → CLOSED; ` +
        `seen at "${close.at}": ${close.activeState}.`,
    );
    if (close.activeState === 'TIME_WAIT') {
      lines.push(
        `  TIME_WAIT keeps the 4-tuple reserved for 2·MSL (60 s on Linux; the kernel's timer says ${close.activeEnd.timerSeconds.toFixed(1)} s left) ` +
          `so a late segment of this connection cannot be taken for part of a new one.`,
      );
    } else if (close.activeState === 'FIN_WAIT2') {
      lines.push(`  In FIN_WAIT2 ${active} has had its FIN acknowledged and waits for ${passive}'s FIN.`);
    }
    lines.push(
      `${cap(passive)} closed second (passive close): ESTABLISHED → CLOSE-WAIT (got FIN) → LAST-ACK (sent its own FIN) → CLOSED (FIN acknowledged); ` +
        `seen: ${close.passiveState === 'CLOSED' ? 'gone from the table, CLOSED' : close.passiveState}.`,
    );
    if (close.missed.length) lines.push(`  Not caught: ${close.missed.join(', ')}: each came and went between two looks (a round trip here takes ${k.path.kind === 'links' && k.path.roundTripMs > 0 ? `${k.path.roundTripMs} ms` : 'microseconds'}).`);
  } else if (close?.kind === 'half-closed') {
    lines.push(`At "${close.at}" one end got a FIN and waits for its application to close: ${cName} ${close.client}, ${sName} ${close.server}.`);
  } else if (close?.kind === 'both-gone') {
    lines.push(`At "${close.at}" both ends are gone from the table: the connection was reset (RST) or TIME_WAIT already ended.`);
  }
  return lines;
}
