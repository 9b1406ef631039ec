// The narration's own sentences, event by event: the step headings, the lab coming up, the SLB's
// one connection, the TLS recording, the kernel's socket states, step 3's frame and the path
// through the routers. From the events' facts alone (a trace.json read back says it again); the
// other modules of this folder word DNS, TLS, TCP, the cache and the order, and are called from here.
import { whatIs } from './roles.ts';
import type { CachePath, IpPath, LabUp, LayersComputed, LayersObserved, PacketOnLink, SlbAccept, SlbForward, SocketChanges, SocketStates, StepStart, TcpOnWire, TlsRecording } from '../../events.ts';
import { columns, padEndWidth } from '../../../text-width.ts';
import { cachePathLines } from './cache.ts';
import { fieldSourceLines, recordText, systemLayerLines, walkLines, wireLayerLines } from './layers.ts';
import { describeTcpStory } from './tcp.ts';
import { kernelStateLines } from './tcp-states.ts';
import { tlsMessageLine } from './tls.ts';
import type { TlsEventFacts } from '../../../tls-decoder.ts';

/** ", frame 12" (or ", frames 12, 13") for a message the capture holds; nothing when it does not. */
export function frameNote(frames: readonly number[] | undefined, lead = ', '): string {
  if (!frames || frames.length === 0) return '';
  return `${lead}frame${frames.length > 1 ? 's' : ''} ${frames.join(', ')}`;
}

/** A step's heading, from its facts. */
export function stepTitle(step: 0 | 1 | 2 | 3, d: StepStart['data']): string {
  switch (step) {
    case 0:
      return `The lab is up (${d.addressing === 'namespaces' ? 'every host its own network namespace: a small routed internet' : d.addressing === 'per-role' ? 'one loopback address per role' : 'one address, one port per role'})`;
    case 1:
      return `Step 1 — pictures via the CDN (seed §4), the phone in the ${d.region}`;
    case 2:
      return `Step 2 — the connection (seed §5), ${d.mode === 'classic' ? "the seed's TLS 1.2 with RSA key exchange" : 'TLS 1.3 with ECDHE'}`;
    case 3:
      return 'Step 3 — the order (seed §6)';
  }
}

export const stepTime = (ms: number) => `(${ms} ms)`;

export const againLines = ['', 'The same picture again, a moment later:'];

export function labUpLines(d: LabUp['data']): string[] {
  // Columns by display width (a role's description may be Chinese), at least as wide as before.
  const table = columns(d.roles.map((r) => [padEndWidth(r.name, 10), padEndWidth(`${r.protocol}://${r.host}:${r.port}`, 26), whatIs(r.name, r.what)]), 1);
  return [
    ...table,
    ...d.notes.map((note) => `note: ${note}`),
    `certificates ${d.certs.made.length ? `made now: ${d.certs.made.join(', ')}` : 'reused'} (${d.certs.dir}/)`,
    ...(d.net
      ? [
          `the network: ${d.net.namespaces} network namespaces (${d.net.routers} of them routers), ${d.net.links} links${d.net.buildMs !== undefined ? `, built in ${d.net.buildMs} ms` : ''}`,
          ...(d.net.delays && !d.net.delays.applied ? [`note: the links have no delay: ${d.net.delays.reason}`] : []),
          `the phone is ${d.phone}, in the ${d.region} region, alone in namespace ${d.net.phoneNamespace} behind its gateway ${d.net.gateway}`,
        ]
      : [`the phone is ${d.phone}, in the ${d.region} region`]),
    ...(d.addressing === 'single' ? [`note: with every role on one address the phone has no address of its own in the ${d.region}: the GSLB sees 127.0.0.1 and answers for its default region.`] : []),
  ];
}

export function slbAcceptLines(d: SlbAccept['data']): string[] {
  return [
    d.routers?.length
      ? `The phone opens one TCP connection to the SLB ${d.server.address}:${d.server.port}, through ${d.routers.length} routers (${d.routers.join(', ')}): they forward its IP packets and take no part in the connection, which no proxy ends between the phone and the SLB. The TLS messages below are read from the bytes of that connection, recorded around the phone's own socket as they passed.`
      : `The phone opens one TCP connection, straight to the SLB ${d.server.address}:${d.server.port}. The TLS messages below are read from the bytes of that connection, recorded around the phone's own socket as they passed (nothing stands between the phone and the SLB).`,
    `The SLB accepted exactly one connection from the phone during the order: ${d.accepted[0]?.client}, the phone's own address and port; its request record says client ${d.requestClient}.`,
  ];
}

export function tlsRecordingLines(d: TlsRecording['data']): string[] {
  return [
    `TLS, from the bytes of this connection as the phone's socket sent and received them (${d.bytesUp} bytes up, ${d.bytesDown} down):`,
    ...(d.withFrames ? ['    (each line starts with the frame(s) whose TCP data carry its record: frame.number == N, then tls in Wireshark\'s details)'] : []),
  ];
}

/** One TLS message: its frames, who sent it, the message's own line. */
export function tlsLine(frames: readonly number[] | undefined, d: TlsEventFacts): string {
  const lead = frames?.length ? `frame${frames.length > 1 ? 's' : ''} ${frames.join(', ')}  ` : '';
  return `    ${lead}${d.direction === 'client→server' ? 'phone → SLB' : 'SLB → phone'}  ${tlsMessageLine(d)}`;
}

export function phoneQueryLine(d: { client: { address: string }; sourcePort: number; server: { address: string; port: number }; type: string; name: string; id: number }, frames: readonly number[] | undefined): string {
  return `The phone (${d.client.address}:${d.sourcePort}) asks its local DNS ${d.server.address}:${d.server.port}: ${d.type} ${d.name}? (id ${d.id}, recursion desired${frameNote(frames)})`;
}

export function resolutionLine(d: { fromCache: boolean; ms: number; clientSubnet?: string }): string {
  if (d.fromCache) return `The local DNS answers from its cache: it asks no other server (${d.ms} ms).`;
  return `The local DNS walks the tree${d.clientSubnet ? `, sending the GSLB the phone's subnet ${d.clientSubnet}` : ''} (${d.ms} ms):`;
}

export function phoneAnswerHeading(frames: readonly number[] | undefined): string {
  return `The answer the phone gets${frameNote(frames, ' (')}${frames?.length ? ')' : ''}:`;
}

export function cachePathLinesOf(d: CachePath['data']): string[] {
  const lines = [
    `GET ${d.url} from ${d.client.address}:${d.client.port} → ${d.edge} ${d.server.address}:${d.server.port}: ${d.status}, ${d.bytes} bytes in ${d.ms} ms`,
    ...cachePathLines(d.cacheStatus).map((l) => `    ${l}`),
    `  Cache-Control: ${d.cacheControl ?? '-'}   (for every cache, the phone's too)`,
    // RFC 9213: the CDN's own policy, which its caches obey instead of Cache-Control; the phone ignores it.
    ...(d.cdnCacheControl ? [`  CDN-Cache-Control: ${d.cdnCacheControl}   (for the CDN's caches only)`] : []),
    `  Cache-Status: ${d.cacheStatusHeader ?? '-'}`,
    `  Age: ${d.age ?? '-'}   Via: ${d.via ?? '-'}   the origin served ${d.originServed} request(s) for it this time`,
  ];
  if (d.captured) {
    // Each hop's request and the first segment of its answer, in the order they were on the wire.
    const hops = [...d.hops].sort((a, b) => (a.frame ?? Infinity) - (b.frame ?? Infinity));
    lines.push(`  On the wire (frame.number == N; each answer's frame is the segment its status line starts in):`);
    lines.push(...hops.map((h) => (h.frame !== undefined ? `    frame ${h.frame}  ${h.from} → ${h.to}  ${h.line}` : `    ${h.from} → ${h.to}  ${h.what} (not in the capture)`)));
  }
  return lines;
}

/** TCP on the wire, from the capture; or what cannot be shown without one. */
export function tcpStoryLines(d: TcpOnWire['data']): string[] {
  const ends = `phone ${d.client.address}:${d.client.port} → SLB ${d.server.address}:${d.server.port}`;
  if (!d.observed) {
    return [`TCP segments: not observed (${d.why}). Without a capture the SYN, SYN-ACK and ACK, their sequence numbers, flags and options cannot be shown; the handshake and the close below are what RFC 9293 says happens, and the states are read from the kernel's table. Every TCP value in this step and the next is computed or read from the socket, not from the wire.`];
  }
  return [
    `TCP on the wire, ${ends}, from this run's capture ${d.captureFile} (frame numbers as Wireshark numbers them: frame.number == N lands on the segment):`,
    ...describeTcpStory(d.story, { client: 'phone', server: 'SLB' }, d.captureFile).map((l) => `    ${l}`),
  ];
}

/** The kernel's table for both ends; without a capture, how the phone's socket saw the end. */
export function socketStateLines(d: SocketStates['data']): string[] {
  const k = d.kernel;
  const lines = [
    `TCP, phone ${k.client?.address}:${k.client?.port} → SLB ${k.server.address}:${k.server.port} (states of both ends, read from the kernel, /proc/net/tcp):`,
    ...kernelStateLines(k).map((l) => `    ${l}`),
  ];
  if (!d.closedInTime) lines.push(`    (The connection was not closed ${d.closeWaitMs / 1000} s after the answer: the recording below may lack its last records.)`);
  const end = d.socketEnd;
  const since = (ms: number | undefined) => (ms === undefined ? '' : ` (+${ms.toFixed(1)} ms after the phone's first byte)`);
  if (end?.finAfterMs !== undefined) lines.push(`    The phone's socket got the SLB's FIN${since(end.finAfterMs)}: the SLB ended its side first, as "Connection: close" says it will.`);
  if (end?.error) {
    const e = end.error;
    lines.push(`    Then the phone's socket got ${e.code ?? e.message}${since(e.afterMs)}${e.code === 'ECONNRESET' ? ': the SLB\'s kernel answered with a reset (RST), so neither end goes through TIME-WAIT' : ''}.`);
  }
  return lines;
}

/** RFC 9293's name for a state as the kernel's tracepoint names it (TCP_SYN_RECV → SYN-RECEIVED). */
export function rfcState(s: string): string {
  return s.replace(/^TCP_/, '').replace('SYN_RECV', 'SYN-RECEIVED').replace('CLOSE_WAIT', 'CLOSE-WAIT').replace('LAST_ACK', 'LAST-ACK').replace(/^CLOSE$/, 'CLOSED').replace(/_/g, '-').replace(/WAIT(\d)/, 'WAIT-$1');
}

/** The kernel's own record of each state change of the connection (RFC 9293's names). */
export function socketChangeLines(d: SocketChanges['data']): string[] {
  if (!d.observed) return [`The kernel's record of each state change: not read (${d.why}).`];
  return [
    `Every state change of both ends, as the kernel itself recorded it (tracepoint ${d.source}, read through tracefs: it fires on each change, however short, so it catches what a look at the table cannot):`,
    ...d.changes.map((c) => `    +${String(c.afterUs).padStart(6)} µs  ${c.side.padEnd(5)} ${rfcState(c.from)} → ${rfcState(c.to)}${c.port === 0 ? '   (port 0: connect() has not picked the phone\'s port yet when the SYN is being built)' : ''}`),
    // Linux keeps a half-open connection as a small request socket the tracepoint does not report:
    // the full socket appears, already SYN-RECEIVED, when the final ACK arrives.
    ...(d.changes.some((c) => c.from === 'TCP_LISTEN' && c.to === 'TCP_SYN_RECV')
      ? ['    LISTEN → SYN-RECEIVED shows late: while the handshake is half done Linux keeps only a small request socket (TCP_NEW_SYN_RECV), which this tracepoint does not report; the full socket is made, in SYN-RECEIVED, when the final ACK arrives, and becomes ESTABLISHED at once.']
      : []),
    // The active closer's socket is freed after FIN-WAIT-2; TIME-WAIT lives on in a small structure of its own.
    ...(d.changes.some((c) => c.from === 'TCP_FIN_WAIT2' && c.to === 'TCP_CLOSE')
      ? ['    FIN-WAIT-2 → CLOSED is the full socket being freed: the kernel keeps TIME-WAIT in a small structure of its own (inet_timewait_sock), which is what /proc/net/tcp shows above.']
      : []),
  ];
}

/** Step 3's layers from the frame that carried the POST: each header field as on the wire, then what this machine adds. */
export function observedLayerLines(d: LayersObserved['data']): string[] {
  const seg = d.segment;
  const system = systemLayerLines(d.system); // the TCP ports' meaning, then Routing and ARP
  const lines = [
    `How the request is wrapped on its way down the layers: the segment that carried it, frame ${seg.frame} (${seg.length} bytes of TCP data, IP total length ${seg.ipLength}), outermost first:`,
    ...wireLayerLines(d.layers, d.frame, d.captureFile).map((l) => `    ${l}`),
    ...system.ports.map((l) => `    ${l}`), // the ports' meaning (the ephemeral range is this machine's)
    `    HTTP, decrypted: the ${d.plaintext.bytes} bytes above ("> POST /purchaseOrder …") are the phone's own plaintext, as its HTTP client handed them to TLS (the client side), not decrypted by the lab. ` +
      `On the wire they are the encrypted fragment of the application_data record in frame ${d.frame}; tshark decrypts that record with the secrets inside the capture: tshark -r ${d.captureFile} -Y 'frame.number == ${d.frame}' -O http`,
  ];
  if (d.continuedIn.length) lines.push(`    The request's record continues in frame(s) ${d.continuedIn.join(', ')}.`);
  const answer = d.answer.segments;
  if (answer.length) lines.push(`    The ${d.answer.status} comes back in frame ${answer.map((x) => x.frame).join(', ')} (${answer.map((x) => `${x.length} bytes of TCP data, IP total length ${x.ipLength}`).join('; ')}).`);
  // Routing and ARP are decisions of this machine, not fields of the frame: from the kernel's tables.
  for (const l of system.decisions) lines.push(`    ${l.name}:`, ...l.lines.map((x) => `      ${x}`));
  if (d.arp?.length) {
    lines.push(`    ARP on the wire (RFC 826), in ${d.captureFile}:`);
    for (const a of d.arp) {
      const says = a.operation === 1 ? `who has ${a.targetIp}? tell ${a.senderIp}` : `${a.senderIp} is at ${a.senderMac}`;
      lines.push(`      frame ${a.frame}  ${a.from} → ${a.to}${a.to === 'ff:ff:ff:ff:ff:ff' ? ' (broadcast)' : ''}  ${a.operation === 1 ? 'request' : 'reply'}: ${says}`);
    }
    const ethernet = d.layers.find((l) => l.name === 'Ethernet')?.fields.find((f) => f.name === 'destination MAC')?.value;
    const reply = d.arp.find((a) => a.operation === 2);
    if (ethernet && reply) lines.push(`      So frame ${d.frame} goes to ${ethernet}${ethernet === reply.senderMac ? `, the gateway's MAC from that reply` : ''}: on Ethernet the POST is addressed to the next hop, not to the SLB.`);
  }
  return lines;
}

/** Step 3's layers without a frame: describeLayers' walk, then each value with its source. */
export function computedLayerLines(d: LayersComputed['data']): string[] {
  const lines = [
    `How the request is wrapped on its way down the layers, with this connection's values. No frame to read them from (${d.why}): every value is computed or read from the socket and this machine, none observed on the wire:`,
    ...walkLines(d).map((l) => `    ${l}`),
    '    Each value and where it comes from:',
    ...fieldSourceLines(d.layers).map((l) => `      ${l}`),
  ];
  // The arithmetic's check against the recorded bytes: the first application-data record the phone sent.
  const r = d.requestRecord;
  if (r) lines.push(`    The phone's socket sent that request as one ${r.bytes}-byte TLS record (header included)${r.riders.length ? `, in the same write as its ${r.riders.map(recordText).join(' and ')}` : ''}.`);
  return lines;
}

/** The same segment on two links: what the routers changed and what they did not. */
export function ipPathLines(d: IpPath['data']): string[] {
  const p = d.phoneLink;
  const lines = [`The way to the SLB: ${d.hops.map((h) => `${h.host} → ${h.nextHop} (${h.nextHost})`).join(', ')}; ${d.routers.length} router(s) forward it: ${d.routers.join(', ')}.`];
  const show = (x: PacketOnLink) => `${x.file} frame ${x.frame}: TTL ${x.ttl}, Ethernet ${x.sourceMac} → ${x.destinationMac}, IP ${x.source} → ${x.destination}, TCP ${x.sourcePort} → ${x.destinationPort}`;
  lines.push(`    On the phone's link: ${show(p)}`);
  const s = d.slbLink;
  if (!s) return [...lines, "    On the SLB's link: not in its capture."];
  lines.push(`    On the SLB's link:   ${show(s)}`);
  const same = p.source === s.source && p.destination === s.destination && p.sourcePort === s.sourcePort && p.destinationPort === s.destinationPort;
  lines.push(
    `    TTL ${p.ttl} − ${s.ttl} = ${p.ttl - s.ttl}: each router took one off (RFC 1812 §5.3.1) and gave the frame new MACs (its own as source, the next hop's as destination); ` +
      (same ? 'the IP addresses and ports are as the phone wrote them.' : 'the addresses or ports differ: something on the way rewrote them (NAT).'),
  );
  return lines;
}

/** The SLB's policy, by its name in the trace. */
export const POLICY: Record<SlbForward['data']['policy'], string> = {
  'round robin over the healthy app servers': 'round robin over the healthy app servers',
};

export function slbForwardLine(d: SlbForward['data']): string {
  const hop = d.captured && d.request ? ` (frame ${d.request.frame}: ${d.request.line}; the answer ${d.response ? `in frame ${d.response.frame}: ${d.response.line}` : 'is not in the capture'})` : '';
  return `The SLB chose ${d.backend} (${POLICY[d.policy]}), added X-Forwarded-For: ${d.xForwardedFor}, and forwarded plain HTTP${hop}.`;
}
