// .lab/report.html: one self-contained page (no scripts, no fonts or styles from the network)
// that shows a run: the roles, a sequence diagram of every message between them, and the
// narration of each step. Large type, so it reads on a projector. A renderer over the run's trace,
// like the terminal and --json: the sections are the terminal renderer's lines for each event.
import { renderTerminal, stepTitle } from './story/render/terminal.ts';
import type { RoleState } from './state.ts';
import type { StepNumber, TraceEvent, TracedEvent } from './trace.ts';

export interface ReportSection {
  step: StepNumber;
  title: string;
  lines: string[];
}

/** The narration of each step, from the events: a section per step heading, its events' lines under it. */
export function sectionsOf(events: readonly TracedEvent[]): ReportSection[] {
  const sections: ReportSection[] = [];
  for (const e of events) {
    if (e.kind === 'step') sections.push({ step: e.step, title: stepTitle(e), lines: [] });
    else sections.at(-1)?.lines.push(...renderTerminal(e));
  }
  return sections;
}

export interface ReportInput {
  title: string;
  subtitle: string;
  roles: RoleState[];
  /** The phone's own address, shown as the first column. */
  phone: string;
  events: TracedEvent[];
}

const STEP_COLOURS: Record<number, string> = { 0: '#666', 1: '#1f6feb', 2: '#8250df', 3: '#bf3989' };
// Left to right, in the order a request travels.
const COLUMN_ORDER = ['phone', 'local-dns', 'root', 'tld', 'shop-dns', 'cdn-dns', 'gslb', 'edge-north', 'edge-south', 'parent', 'origin', 'slb', 'app-1', 'app-2'];

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * The messages in the order they were on the wire: by the wire time of their first frame, then the
 * frame number, then narration order. A message the capture does not hold (or every message, when
 * there was no capture) keeps its narrated place: it sorts with the message narrated just before it.
 */
export function wireOrder(events: readonly TraceEvent[]): TraceEvent[] {
  let time = -Infinity;
  let frame = -Infinity;
  const keyed = events.map((e, index) => {
    if (e.wireTime !== undefined) {
      time = e.wireTime;
      frame = e.frames?.[0] ?? frame;
    }
    return { e, time, frame, index };
  });
  keyed.sort((a, b) => a.time - b.time || a.frame - b.frame || a.index - b.index);
  return keyed.map((k) => k.e);
}

/** "frame 20", "frames 76, 77", "frames 91–95" for an arrow's small label. */
export function framesLabel(frames: readonly number[] | undefined): string {
  if (!frames || frames.length === 0) return '';
  if (frames.length === 1) return `frame ${frames[0]}`;
  const consecutive = frames.every((f, i) => i === 0 || f === frames[i - 1]! + 1);
  return consecutive && frames.length > 2 ? `frames ${frames[0]}–${frames.at(-1)}` : `frames ${frames.join(', ')}`;
}

/** An SVG sequence diagram: a lifeline per role, an arrow per message, time flowing down (wire time when the capture ran). */
export function sequenceDiagram(input: Pick<ReportInput, 'roles' | 'phone'> & { events: readonly TraceEvent[] }): string {
  const messages = wireOrder(input.events.filter((e) => e.from && e.to));
  // The time column: ms since the first message on the wire, or since the start of the run without a capture.
  const firstWire = messages.find((m) => m.wireTime !== undefined)?.wireTime;
  const when = (m: TraceEvent) => (m.wireTime !== undefined && firstWire !== undefined ? `${((m.wireTime - firstWire) * 1000).toFixed(3)} ms` : `${m.t} ms`);
  const used = new Set(messages.flatMap((e) => [e.from!, e.to!]));
  const columns = [...COLUMN_ORDER.filter((c) => used.has(c)), ...[...used].filter((c) => !COLUMN_ORDER.includes(c))];
  const colWidth = 150;
  const rowHeight = 30;
  const top = 70;
  const width = Math.max(columns.length * colWidth + 40, 600);
  const height = top + messages.length * rowHeight + 40;
  const x = (name: string) => 20 + columns.indexOf(name) * colWidth + colWidth / 2;
  const address = (name: string) => (name === 'phone' ? input.phone : (input.roles.find((r) => r.name === name)?.host ?? ''));

  const parts: string[] = [];
  columns.forEach((c) => {
    parts.push(
      `<text x="${x(c)}" y="28" class="actor">${escapeHtml(c)}</text>`,
      `<text x="${x(c)}" y="48" class="address">${escapeHtml(address(c))}</text>`,
      `<line x1="${x(c)}" y1="56" x2="${x(c)}" y2="${height - 20}" class="lifeline"/>`,
    );
  });
  // A rule where each step begins. On the wire steps overlap (step 3's POST leaves before step 2's
  // close), so a step is marked once, where its first message is; the colour tells them apart after.
  const marked = new Set<number>();
  messages.forEach((m, i) => {
    const y = top + i * rowHeight + 18;
    if (!marked.has(m.step)) {
      parts.push(`<line x1="0" y1="${y - 20}" x2="${width}" y2="${y - 20}" class="step-rule"/>`, `<text x="6" y="${y - 6}" class="step-label" fill="${STEP_COLOURS[m.step]}">step ${m.step}</text>`);
      marked.add(m.step);
    }
    const x1 = x(m.from!);
    const x2 = x(m.to!);
    const colour = STEP_COLOURS[m.step] ?? '#333';
    const label = escapeHtml(shorten(m.summary, Math.max(24, Math.floor((Math.abs(x2 - x1) || colWidth) / 7.5))));
    const self = x1 === x2;
    const frames = framesLabel(m.frames);
    const wire = m.wireTime !== undefined ? ` data-wire-time="${m.wireTime}" data-frames="${m.frames?.join(' ') ?? ''}"` : '';
    parts.push(
      `<g class="message"${wire}><title>${escapeHtml(`${m.wireAt ? `${m.wireAt} (on the wire)` : `+${m.t} ms`}${frames ? `, ${frames}` : ''}  ${m.from} → ${m.to}: ${m.summary}`)}</title>`,
      self
        ? `<path d="M${x1} ${y} h30 v10 h-30" class="arrow" stroke="${colour}" marker-end="url(#head)"/>`
        : `<line x1="${x1}" y1="${y}" x2="${x2}" y2="${y}" class="arrow" stroke="${colour}" marker-end="url(#head)"/>`,
      `<text x="${(x1 + x2) / 2 + (self ? 40 : 0)}" y="${y - 5}" class="label">${label}</text>`,
      frames ? `<text x="${Math.min(x1, x2) + 6 + (self ? 36 : 0)}" y="${y + 13}" class="frame">${escapeHtml(frames)}</text>` : '',
      `<text x="${width - 6}" y="${y + 4}" class="time">${when(m)}</text></g>`,
    );
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="sequence diagram of the run">` +
    `<defs><marker id="head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" fill="context-stroke"/></marker></defs>` +
    parts.join('') +
    `</svg>`
  );
}

export function buildReport(input: ReportInput): string {
  const roles = input.roles
    .map((r) => `<tr><td>${escapeHtml(r.name)}</td><td><code>${escapeHtml(`${r.protocol}://${r.host}:${r.port}`)}</code></td><td>${escapeHtml(r.what)}</td></tr>`)
    .join('');
  const sections = sectionsOf(input.events)
    .map(
      (s) =>
        `<section><h2 style="color:${STEP_COLOURS[s.step]}">${escapeHtml(s.title)}</h2><pre>${s.lines.map(escapeHtml).join('\n')}</pre></section>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(input.title)}</title>
<style>
  body { font: 18px/1.45 system-ui, -apple-system, "Segoe UI", "Noto Sans", "PingFang SC", sans-serif; margin: 2rem; color: #1f2328; background: #fff; }
  h1 { font-size: 2rem; margin: 0 0 .3rem; } h2 { font-size: 1.5rem; margin-top: 2.5rem; }
  .subtitle { color: #57606a; margin-bottom: 1.5rem; }
  table { border-collapse: collapse; } td, th { padding: .25rem .8rem; border-bottom: 1px solid #d0d7de; text-align: left; vertical-align: top; }
  pre { background: #f6f8fa; padding: 1rem; overflow-x: auto; font: 15px/1.45 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; white-space: pre; }
  .diagram { overflow-x: auto; border: 1px solid #d0d7de; padding: .5rem; }
  svg .actor { font: bold 15px system-ui, sans-serif; text-anchor: middle; }
  svg .address { font: 12px ui-monospace, monospace; fill: #57606a; text-anchor: middle; }
  svg .lifeline { stroke: #d0d7de; stroke-dasharray: 4 4; }
  svg .arrow { stroke-width: 2; fill: none; }
  svg .label { font: 12px system-ui, sans-serif; text-anchor: middle; fill: #1f2328; }
  svg .time { font: 11px ui-monospace, monospace; fill: #8c959f; text-anchor: end; }
  svg .frame { font: 10px ui-monospace, monospace; fill: #6e7781; text-anchor: start; }
  svg .step-rule { stroke: #eaeef2; } svg .step-label { font: bold 12px system-ui, sans-serif; }
</style>
</head>
<body>
<h1>${escapeHtml(input.title)}</h1>
<div class="subtitle">${escapeHtml(input.subtitle)}</div>
<h2>Who is who</h2>
<table><tr><th>role</th><th>listens on</th><th>what it is</th></tr><tr><td>phone</td><td><code>${escapeHtml(input.phone)}</code></td><td>the shopper's phone: the client</td></tr>${roles}</table>
<h2>Every message, in order</h2>
<p>Each arrow is one real message of this run (hover for its time and full text). ${input.events.some((e) => e.from && e.to && e.wireTime !== undefined)
    ? 'Arrows are in the order their frames were on the wire, with the frame number under each (Wireshark: <code>frame.number == N</code>) and the time since the first frame on the right.'
    : 'There was no capture: arrows are in the order the run narrated them, with the time since the run started.'}</p>
<div class="diagram">${sequenceDiagram(input)}</div>
${sections}
</body>
</html>
`;
}
