// The walkthrough's record of what happened: every typed event of the story (lab/story/events.ts),
// with when it was told and its one-line summary. It becomes .lab/trace.json, the JSON lines of
// `--json`, the terminal's narration and the report: each a renderer over these same events.
import type { StoryEvent } from './story/events.ts';

export type StepNumber = 0 | 1 | 2 | 3;

/** An event as trace.json and `--json` hold it: what a reader of the JSON may rely on for any kind. */
export interface TraceEvent {
  /** Milliseconds since the walkthrough started. */
  t: number;
  /** Wall-clock time, ISO 8601. */
  at: string;
  step: StepNumber;
  /** What kind of thing: 'dns-query', 'tls', 'tcp-segment', 'layers', ... (lab/story/events.ts). */
  kind: string;
  /** For messages: the sending and receiving roles (names from state.json, or 'phone'). */
  from?: string;
  to?: string;
  /** Frames of this run's capture the event corresponds to (Wireshark: frame.number == N). */
  frames?: number[];
  /** When the first of those frames was on the wire (from the capture): seconds since 1970, and ISO 8601. */
  wireTime?: number;
  wireAt?: string;
  /** One line a person reads (rendered from the facts: lab/story/render/summary.ts). */
  summary: string;
  /** The facts. */
  data?: unknown;
}

export type TracedEvent = StoryEvent & { t: number; at: string; summary: string };

export class Trace {
  readonly events: TracedEvent[] = [];
  private readonly started = Date.now();
  private listeners: Array<(e: TracedEvent) => void> = [];

  add(event: StoryEvent & { summary: string }): TracedEvent {
    const now = Date.now();
    const full: TracedEvent = { t: now - this.started, at: new Date(now).toISOString(), ...event };
    this.events.push(full);
    for (const listen of this.listeners) listen(full);
    return full;
  }

  onEvent(listener: (e: TracedEvent) => void): void {
    this.listeners.push(listener);
  }

  get elapsedMs(): number {
    return Date.now() - this.started;
  }

  toJSON(): { startedAt: string; events: TracedEvent[] } {
    return { startedAt: new Date(this.started).toISOString(), events: this.events };
  }
}
