// What the walkthrough prints from its first step to its last, as one function of the trace: a
// step's heading after a blank line, every other event's lines under the step's two-space margin.
// The narrator prints exactly these lines (adding colour on a terminal); a trace.json read back
// renders them again.
import type { StoryEvent } from '../events.ts';
import { lang, type Lang } from '../../lang.ts';
import { renderTerminal } from './terminal.ts';

export function transcriptLines(event: StoryEvent, l: Lang = lang()): string[] {
  if (event.kind === 'step') return ['', ...renderTerminal(event, l)];
  return renderTerminal(event, l).map((line) => `  ${line}`);
}

export function renderTranscript(events: readonly StoryEvent[], l: Lang = lang()): string[] {
  return events.flatMap((e) => transcriptLines(e, l));
}
