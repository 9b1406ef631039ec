// The walkthrough's record of what happened: every message between roles and every observation,
// with timestamps. It becomes .lab/trace.json, the JSON lines of `--json`, and the report's
// sequence diagram, so the prose, the file and the picture all tell the same run.

export type StepNumber = 0 | 1 | 2 | 3;

export interface TraceEvent {
  /** Milliseconds since the walkthrough started. */
  t: number;
  /** Wall-clock time, ISO 8601. */
  at: string;
  step: StepNumber;
  /** What kind of thing: 'dns-query', 'dns-answer', 'http-request', 'tls', 'tcp-state', 'note', ... */
  kind: string;
  /** For messages: the sending and receiving roles (names from state.json, or 'phone'). */
  from?: string;
  to?: string;
  /** Frames of this run's capture the event corresponds to (Wireshark: frame.number == N). */
  frames?: number[];
  /** When the first of those frames was on the wire (from the capture): seconds since 1970, and ISO 8601. */
  wireTime?: number;
  wireAt?: string;
  /** One line a person reads. */
  summary: string;
  /** The real values behind the line. */
  data?: unknown;
}

export class Trace {
  readonly events: TraceEvent[] = [];
  private readonly started = Date.now();
  private listeners: Array<(e: TraceEvent) => void> = [];

  add(event: Omit<TraceEvent, 't' | 'at'>): TraceEvent {
    const now = Date.now();
    const full: TraceEvent = { t: now - this.started, at: new Date(now).toISOString(), ...event };
    this.events.push(full);
    for (const listen of this.listeners) listen(full);
    return full;
  }

  /** A message from one role to another (an arrow in the sequence diagram). */
  message(step: StepNumber, kind: string, from: string, to: string, summary: string, data?: unknown): TraceEvent {
    return this.add({ step, kind, from, to, summary, data });
  }

  note(step: StepNumber, kind: string, summary: string, data?: unknown): TraceEvent {
    return this.add({ step, kind, summary, data });
  }

  onEvent(listener: (e: TraceEvent) => void): void {
    this.listeners.push(listener);
  }

  get elapsedMs(): number {
    return Date.now() - this.started;
  }

  toJSON(): { startedAt: string; events: TraceEvent[] } {
    return { startedAt: new Date(this.started).toISOString(), events: this.events };
  }
}
