// What the walkthrough prints from its first step to its last, as one function of the trace: a
// step's heading after a blank line, every other event's lines under the step's two-space margin.
// The narrator prints exactly these lines (adding colour on a terminal); a trace.json read back
// renders them again.
import type { StoryEvent } from '../events.ts';
import { renderTerminal } from './terminal.ts';

export function transcriptLines(event: StoryEvent): string[] {
  if (event.kind === 'step') return ['', ...renderTerminal(event)];
  return renderTerminal(event).map((line) => `  ${line}`);
}

export function renderTranscript(events: readonly StoryEvent[]): string[] {
  return events.flatMap(transcriptLines);
}
