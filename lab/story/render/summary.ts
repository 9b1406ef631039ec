// The one-line label of each event (the Trace's `summary`: the report's arrows, --json's quick read),
// in the language asked for. The words are in lab/story/words/{en,zh}/summary.ts.
import type { StoryEvent } from '../events.ts';
import { words } from '../words/index.ts';
import { lang, type Lang } from '../../lang.ts';

export function renderSummary(event: StoryEvent, l: Lang = lang()): string {
  return words(l).summary.summaryOf(event);
}
