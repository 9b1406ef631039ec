// The one-line label of each event (the Trace's `summary`: the report's arrows, --json's quick read).
import type { StoryEvent } from '../events.ts';
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
      return `${event.data.summary}${frameNote(event)}`;
    case 'gslb-decision':
      return `${event.data.chosen.name} ${event.data.chosen.address}: ${event.data.why}`;
    case 'dns-answer':
      return `${event.data.chain.map((r) => `${r.type} ${r.data}`).join(' → ')}${frameNote(event)}`;
    case 'http-request':
      return `${event.data.method} ${event.data.target}`;
    case 'http-response':
      return `${event.data.status}${event.data.hit ? ' HIT' : ''}`;
    case 'cache-path':
      return `${event.data.status} ${event.data.cacheStatusHeader ?? ''}`;
  }
}
