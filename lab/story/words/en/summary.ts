// The one-line label of each event: the report's arrows and --json's quick read.
import type { CaptureRecord } from '../../../capture.ts';
import type { StoryEvent } from '../../events.ts';
import { gslbChoiceText, walkAnswerText } from './dns.ts';
import { frameNote, POLICY, stepTitle } from './story.ts';
import { segmentSummary } from './tcp.ts';

/** The capture's own verdict on itself: frames tcpdump dropped, or could not count (lab/capture.ts). */
export function lostFrames(record: Pick<CaptureRecord, 'lost' | 'file'>): string | undefined {
  if (record.lost === undefined) return `WARNING: tcpdump did not report how many frames it dropped: ${record.file} may be incomplete.`;
  if (record.lost === 0) return undefined;
  return `WARNING: the capture LOST ${record.lost} frame(s) (tcpdump: dropped by kernel): ${record.file} is incomplete, and what it is missing cannot be checked against the narration. Run again (a busy machine starves tcpdump).`;
}

export function summaryOf(event: StoryEvent): string {
  switch (event.kind) {
    case 'step':
      return stepTitle(event.step, event.data);
    case 'step-done':
      return `${event.data.ms} ms`;
    case 'lab-up':
      return `${event.data.roles.length} roles up, the phone ${event.data.phone} in the ${event.data.region}`;
    case 'again':
      return 'the same picture again';
    case 'capture': {
      const d = event.data;
      if ('unavailable' in d) return d.unavailable;
      return lostFrames(d) ?? `${d.frames} frames, none lost, ${d.secretLines} TLS secret line(s) inside`;
    }
    case 'slb-accept':
      return `the SLB accepted 1 connection from the phone: ${event.data.requestClient}`;
    case 'tcp-story':
      return event.data.observed ? `the phone's connection in the capture: ${event.data.story.segments.length} segments, ${event.data.story.close.kind}` : `not observed: ${event.data.why}`;
    case 'tcp-segment':
      return `frame ${event.data.frame} ${segmentSummary(event.data)}`;
    case 'tcp-handshake': {
      const d = event.data;
      const frames = d.observed ? ` (frames ${[d.syn, d.synAck, d.ack].map((x) => x?.frame ?? '?').join(', ')})` : '';
      return `TCP handshake ${d.client.address}:${d.client.port} → ${d.server.address}:${d.server.port}${frames}`;
    }
    case 'socket-changes':
      return event.data.observed ? `${event.data.changes.length} state changes recorded by the kernel` : `state changes not read: ${event.data.why}`;
    case 'socket-states':
      return `${event.data.kernel.snapshots.length} looks at the kernel's table`;
    case 'tls-recording':
      return `${event.data.bytesUp} bytes up, ${event.data.bytesDown} down`;
    case 'tls':
      return event.data.name;
    case 'tls-session':
      return `${event.data.protocol}, ${event.data.cipher.standardName}, chain ${event.data.chain.every((c) => c.ok) ? 'verified' : 'broken'}`;
    case 'master-secret':
      return `master secret recomputed and matches key log line ${event.data.keyLogLine}`;
    case 'key-exchange':
      return `${event.data.group}: forward secrecy, no key recoverable from a capture`;
    case 'dns-query':
      return `A ${event.data.name}? (RD, id ${event.data.id})${frameNote(event.frames)}`;
    case 'dns-resolution':
      return event.data.fromCache ? `answered from the local DNS's cache (${event.data.ms} ms)` : `walked the tree in ${event.data.walkSteps} steps (${event.data.ms} ms)`;
    case 'dns-walk-query':
      return `${event.data.question.type} ${event.data.question.name}?${frameNote(event.frames)}`;
    case 'dns-walk-answer':
      return `${walkAnswerText(event.data)}${frameNote(event.frames)}`;
    case 'gslb-decision':
      return `${event.data.chosen.name} ${event.data.chosen.address}: ${gslbChoiceText(event.data)}`;
    case 'dns-answer':
      return `${event.data.chain.map((r) => `${r.type} ${r.data}`).join(' → ')}${frameNote(event.frames)}`;
    case 'http-request':
      if (event.step === 1) return `${event.data.method} ${event.data.target}`;
      if ('request' in event.data) return `${event.data.method} ${event.data.target} (inside TLS)${frameNote(event.frames)}`;
      return `${event.data.method} ${event.data.path}, X-Forwarded-For: ${event.data.xForwardedFor}`;
    case 'http-response':
      if (event.step === 1) return `${event.data.status}${event.data.hit ? ' HIT' : ''}`;
      if ('body' in event.data) return `${event.data.status}${event.data.location ? ` ${event.data.location}` : ''}${frameNote(event.frames)}`;
      return `${event.data.status}`;
    case 'order-answer':
      return `${event.data.status}, served by ${event.data.servedBy ?? '?'}`;
    case 'layers':
      return event.data.observed ? `Ethernet → IPv4 → TCP → TLS → HTTP, from frame ${event.data.frame}` : 'HTTP → TCP → IP → route → ARP → Ethernet (computed: no capture)';
    case 'ip-path':
      return `${event.data.routers.length} routers: TTL ${event.data.phoneLink.ttl}${event.data.slbLink ? ` → ${event.data.slbLink.ttl}` : ''}`;
    case 'slb-forward':
      return `${event.data.backend} chosen (${POLICY[event.data.policy]}), X-Forwarded-For: ${event.data.xForwardedFor}`;
    case 'cache-path':
      return `${event.data.status} ${event.data.cacheStatusHeader ?? ''}`;
  }
}
