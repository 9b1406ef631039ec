// The terminal's words for each event of the story: one function, each kind worded in one place,
// from the event alone (so a trace.json read back renders exactly what the run printed).
// Lines are as the narrator's say() takes them: it adds the step's two-space margin.
import type { OnWire, StoryEvent } from '../events.ts';
import { cachePathLines } from '../words/cache.ts';
import { recordLine, walkQuestionLine, walkReplyLines } from '../words/dns.ts';

/** ", frame 12" (or ", frames 12, 13") for a message the capture holds; nothing when it does not. */
export function frameNote(event: OnWire, lead = ', '): string {
  const frames = event.frames;
  if (!frames || frames.length === 0) return '';
  return `${lead}frame${frames.length > 1 ? 's' : ''} ${frames.join(', ')}`;
}

export function renderTerminal(event: StoryEvent): string[] {
  switch (event.kind) {
    case 'dns-query': {
      const d = event.data;
      return [`The phone (${d.client.address}:${d.sourcePort}) asks its local DNS ${d.server.address}:${d.server.port}: ${d.type} ${d.name}? (id ${d.id}, recursion desired${frameNote(event)})`];
    }
    case 'dns-resolution': {
      const d = event.data;
      if (d.fromCache) return [`The local DNS answers from its cache: it asks no other server (${d.ms} ms).`];
      return [`The local DNS walks the tree${d.clientSubnet ? `, sending the GSLB the phone's subnet ${d.clientSubnet}` : ''} (${d.ms} ms):`];
    }
    case 'dns-walk-query':
      // dig +trace's question line, with the frame that carried it.
      return [`  ${walkQuestionLine(event.data, event.data.index)}${frameNote(event, '  ')}`];
    case 'dns-walk-answer': {
      const [answer, ...rest] = walkReplyLines(event.data);
      return [`  ${answer}${frameNote(event, '  ')}`, ...rest.map((l) => `  ${l}`)];
    }
    case 'gslb-decision': {
      const d = event.data;
      const health = (h: unknown) => (h === true ? 'healthy' : h === false ? 'down' : 'not checked yet');
      return [`The GSLB's reasoning: client ${d.client} (by ${d.source === 'ecs' ? 'EDNS Client Subnet' : 'source address'}) → ${d.regionReason} → ` +
        `${d.candidates.map((c) => `${c.name} ${health(c.healthy)}`).join(', ')} → ${d.chosen.name} ${d.chosen.address}: ${d.why}`];
    }
    case 'dns-answer':
      return [`The answer the phone gets${frameNote(event, ' (')}${event.frames?.length ? ')' : ''}:`, ...event.data.chain.map((r) => `    ${recordLine(r)}`)];
    case 'http-request':
    case 'http-response':
      return []; // told with the whole fetch (cache-path), in wire order
    case 'cache-path': {
      const d = event.data;
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
  }
}
