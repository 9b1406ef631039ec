// How the walkthrough talks: each typed event goes into the trace, and out as prose on the
// terminal (colour only on a TTY, never with NO_COLOR) or, with --json, as one JSON line. The
// prose is the transcript renderer's (lab/story/render/transcript.ts): nothing else is printed
// between the first step and the end.
import type { StepStart, StoryEvent } from './story/events.ts';
import { renderSummary } from './story/render/summary.ts';
import { transcriptLines } from './story/render/transcript.ts';
import type { StepNumber, Trace } from './trace.ts';

export interface NarratorOptions {
  json: boolean;
  color: boolean;
  write?: (line: string) => void;
}

/** Colour when a person is watching a terminal, and they have not asked for none (no-color.org). */
export function wantsColor(stream: NodeJS.WriteStream = process.stdout): boolean {
  return Boolean(stream.isTTY) && !('NO_COLOR' in process.env && process.env.NO_COLOR !== '');
}

const STEP_COLOUR: Record<number, number> = { 0: 90, 1: 34, 2: 35, 3: 31 };

export class Narrator {
  private open: { step: StepNumber; startedMs: number } | undefined;
  private readonly write: (line: string) => void;

  constructor(
    private readonly trace: Trace,
    private readonly opts: NarratorOptions,
  ) {
    this.write = opts.write ?? ((line) => console.log(line));
    if (opts.json) trace.onEvent((event) => this.write(JSON.stringify(event)));
  }

  private paint(code: number, text: string): string {
    return this.opts.color ? `\x1b[${code}m${text}\x1b[0m` : text;
  }

  /** Record one event of the story and say it. */
  tell(event: StoryEvent): void {
    this.trace.add({ ...event, summary: renderSummary(event) });
    if (this.opts.json) return;
    const lines = transcriptLines(event);
    if (event.kind === 'step') lines[1] = this.paint(1, this.paint(STEP_COLOUR[event.step] ?? 0, lines[1]!));
    if (event.kind === 'step-done') lines[0] = this.paint(90, lines[0]!);
    for (const line of lines) this.write(line);
  }

  /** Start a step (closing the one before): its heading, and the start of its time. */
  step(event: StepStart): void {
    this.endStep();
    this.open = { step: event.step, startedMs: this.trace.elapsedMs };
    this.tell(event);
  }

  /** Close the current step with how long it took. */
  endStep(): void {
    if (!this.open) return;
    const { step, startedMs } = this.open;
    this.open = undefined;
    this.tell({ step, kind: 'step-done', data: { ms: this.trace.elapsedMs - startedMs } });
  }

  /** Outside any step (the start and the end): not part of the story. */
  plain(text: string): void {
    if (!this.opts.json) this.write(text);
  }

  good(text: string): string {
    return this.paint(32, text);
  }

  /** Something the reader must not miss (bold red). */
  bad(text: string): string {
    return this.paint(1, this.paint(31, text));
  }
}
