// The one-line label of each event (the Trace's `summary`: the report's arrows, --json's quick read).
import type { StoryEvent } from '../events.ts';
import { gslbChoiceText, walkAnswerText } from '../words/dns.ts';
import { frameNote } from './terminal.ts';

export function renderSummary(event: StoryEvent): string {
  switch (event.kind) {
    case 'dns-query':
      return `A ${event.data.name}? (RD, id ${event.data.id})${frameNote(event)}`;
    case 'dns-resolution':
      return event.data.fromCache ? `answered from the local DNS's cache (${event.data.ms} ms)` : `walked the tree in ${event.data.walkSteps} steps (${event.data.ms} ms)`;
    case 'dns-walk-query':
      return `${event.data.question.type} ${event.data.question.name}?${frameNote(event)}`;
    case 'dns-walk-answer':
      return `${walkAnswerText(event.data)}${frameNote(event)}`;
    case 'gslb-decision':
      return `${event.data.chosen.name} ${event.data.chosen.address}: ${gslbChoiceText(event.data)}`;
    case 'dns-answer':
      return `${event.data.chain.map((r) => `${r.type} ${r.data}`).join(' → ')}${frameNote(event)}`;
    case 'http-request':
      if (event.step === 1) return `${event.data.method} ${event.data.target}`;
      if ('request' in event.data) return `${event.data.method} ${event.data.target} (inside TLS)${frameNote(event)}`;
      return `${event.data.method} ${event.data.path}, X-Forwarded-For: ${event.data.xForwardedFor}`;
    case 'http-response':
      if (event.step === 1) return `${event.data.status}${event.data.hit ? ' HIT' : ''}`;
      if ('body' in event.data) return `${event.data.status}${event.data.location ? ` ${event.data.location}` : ''}${frameNote(event)}`;
      return `${event.data.status}`;
    case 'order-answer':
      return `${event.data.status}, served by ${event.data.servedBy ?? '?'}`;
    case 'layers':
      return event.data.observed ? `Ethernet → IPv4 → TCP → TLS → HTTP, from frame ${event.data.frame}` : 'HTTP → TCP → IP → route → ARP → Ethernet (computed: no capture)';
    case 'slb-forward':
      return `${event.data.backend} chosen (${event.data.policy}), X-Forwarded-For: ${event.data.xForwardedFor}`;
    case 'cache-path':
      return `${event.data.status} ${event.data.cacheStatusHeader ?? ''}`;
  }
}
