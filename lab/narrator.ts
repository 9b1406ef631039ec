// How the walkthrough talks: prose on the terminal (colour only on a TTY, never with NO_COLOR),
// or, with --json, the trace itself as JSON lines. Every line also goes into the report.
import type { ReportSection } from './report.ts';
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
  readonly sections: ReportSection[] = [];
  private stepStarted = 0;
  private current: ReportSection | undefined;
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

  /** Start a step: a heading on the terminal, a section in the report, a mark in the trace. */
  step(step: StepNumber, title: string): void {
    this.endStep();
    this.stepStarted = this.trace.elapsedMs;
    this.current = { step, title, lines: [] };
    this.sections.push(this.current);
    this.trace.note(step, 'step', title);
    if (!this.opts.json) {
      this.write('');
      this.write(this.paint(1, this.paint(STEP_COLOUR[step] ?? 0, title)));
    }
  }

  /** Close the current step with how long it took. */
  endStep(): void {
    if (!this.current) return;
    const ms = this.trace.elapsedMs - this.stepStarted;
    this.trace.note(this.current.step, 'step-done', `${this.current.title}: ${ms} ms`, { ms });
    this.say(this.paint(90, `(${ms} ms)`), `(${ms} ms)`);
    this.current = undefined;
  }

  /** One line of narration. `plain` is what the report gets when `text` carries colour. */
  say(text: string, plain: string = text): void {
    this.current?.lines.push(plain);
    if (!this.opts.json) this.write(`  ${text}`);
  }

  /** Several lines, indented under the last one. */
  sayAll(lines: string[], indent = '  '): void {
    for (const line of lines) this.say(`${indent}${line}`);
  }

  /** Outside any step (the start and the end). */
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
