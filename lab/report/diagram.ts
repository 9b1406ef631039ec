// The report's sequence diagram: one lane per role, one arrow per message, in the order the frames
// were on the wire. Built to fit a 1280×720 projector: a left column with each message's time,
// frame and text (so labels never squeeze between two close lanes), then narrow lanes grouped by
// who runs them (name servers, the CDN, the shop). The diagram is cut where each step begins on
// the wire; each part is an SVG inside a <details>, so a step folds away without script.
import { lang, type Lang } from '../lang.ts';
import { displayWidth } from '../text-width.ts';
import type { TraceEvent } from '../trace.ts';
import { reportWords } from './words/index.ts';

export const STEP_COLOURS: Record<number, string> = { 0: '#6e7781', 1: '#1f6feb', 2: '#8250df', 3: '#bf3989' };

/** Left to right in the order a request travels, in groups as the story has them. */
export const GROUPS: ReadonlyArray<{ name: 'phone' | 'dns' | 'names' | 'cdn' | 'shop'; roles: readonly string[] }> = [
  { name: 'phone', roles: ['phone'] },
  { name: 'dns', roles: ['local-dns'] },
  { name: 'names', roles: ['root', 'tld', 'shop-dns', 'cdn-dns', 'gslb'] },
  { name: 'cdn', roles: ['edge-north', 'edge-south', 'parent', 'origin'] },
  { name: 'shop', roles: ['slb', 'app-1', 'app-2'] },
];

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * The messages in the order they were on the wire: by the wire time of their first frame, then the
 * frame number, then narration order. A message the capture does not hold (or every message, when
 * there was no capture) keeps its narrated place: it sorts with the message narrated just before it.
 */
export function wireOrder<E extends TraceEvent>(events: readonly E[]): E[] {
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

/** "frame 20", "frames 76, 77", "frames 91–95" (帧 20, …). */
export function framesLabel(frames: readonly number[] | undefined, l: Lang = lang()): string {
  if (!frames || frames.length === 0) return '';
  const consecutive = frames.every((f, i) => i === 0 || f === frames[i - 1]! + 1);
  return reportWords(l).html.framesLabel(frames, consecutive && frames.length > 2);
}

/** The lanes: the roles that sent or received a message, grouped, in travel order. */
export function lanesOf(messages: readonly TraceEvent[]): string[] {
  const used = new Set(messages.flatMap((e) => [e.from!, e.to!]));
  const known = GROUPS.flatMap((g) => g.roles);
  return [...known.filter((r) => used.has(r)), ...[...used].filter((r) => !known.includes(r)).sort()];
}

/** One part of the diagram: the messages from where a step begins on the wire to where the next one does. */
export interface DiagramPart {
  step: number;
  messages: Array<{ index: number; event: TraceEvent }>;
}

/** Cut the wire-ordered messages where each step's first message is. Steps overlap on the wire (the TLS close comes after the order), so a part can hold arrows of an earlier step, in that step's colour. */
export function partsOf(messages: readonly TraceEvent[]): DiagramPart[] {
  const parts: DiagramPart[] = [];
  const started = new Set<number>();
  messages.forEach((event, index) => {
    if (!started.has(event.step) && (parts.length === 0 || event.step > parts.at(-1)!.step)) {
      started.add(event.step);
      parts.push({ step: event.step, messages: [] });
    }
    parts.at(-1)!.messages.push({ index, event });
  });
  return parts;
}

// Geometry, in SVG user units (1 unit = 1 CSS px at zoom 1 on a 1280 px wide panel).
const GUTTER = 118; // time and frame
const TEXT = 290; // the message's text
const LANE = 62;
const ROW = 26;
const HEAD = 96;

// The last lane's name is turned to the right: room for it.
export const diagramWidth = (lanes: number) => GUTTER + TEXT + lanes * LANE + 48;
const laneX = (i: number) => GUTTER + TEXT + i * LANE + LANE / 2;

/** At most `max` columns (a CJK character takes two, as it takes about twice the room on the page), cut with '…'. */
export function shorten(text: string, max: number): string {
  if (displayWidth(text) <= max) return text;
  let out = '';
  let width = 0;
  for (const ch of text) {
    const w = displayWidth(ch);
    if (width + w > max - 1) break;
    out += ch;
    width += w;
  }
  return `${out}…`;
}

/** The header: group bands and role names (turned, so narrow lanes still take full names), with addresses on hover. */
export function diagramHead(lanes: readonly string[], address: (role: string) => string, l: Lang = lang()): string {
  const w = reportWords(l).html;
  const width = diagramWidth(lanes.length);
  const parts: string[] = [];
  for (const g of GROUPS) {
    const idx = lanes.map((l, i) => (g.roles.includes(l) ? i : -1)).filter((i) => i >= 0);
    if (idx.length < 2) continue;
    const x0 = laneX(idx[0]!) - LANE / 2 + 2;
    const x1 = laneX(idx.at(-1)!) + LANE / 2 - 2;
    parts.push(`<rect x="${x0}" y="2" width="${x1 - x0}" height="18" rx="4" class="band"/><text x="${(x0 + x1) / 2}" y="15" class="band-label">${escapeHtml(w.groups[g.name])}</text>`);
  }
  lanes.forEach((l, i) => {
    parts.push(`<g class="actor" data-role="${escapeHtml(l)}"><title>${escapeHtml(`${l} ${address(l)}`)}</title><text transform="translate(${laneX(i) - 4} ${HEAD - 6}) rotate(-38)" class="actor-name">${escapeHtml(l)}</text></g>`);
  });
  parts.push(`<text x="6" y="${HEAD - 8}" class="col-head">${escapeHtml(w.timeFrame)}</text><text x="${GUTTER}" y="${HEAD - 8}" class="col-head">${escapeHtml(w.message)}</text>`);
  // The arrowhead every part uses (one definition for the page).
  const defs = '<defs><marker id="head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="11" markerHeight="11" markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" fill="context-stroke"/></marker></defs>';
  return `<svg class="diagram-head" viewBox="0 0 ${width} ${HEAD}" preserveAspectRatio="xMinYMin meet" role="img" aria-label="${escapeHtml(w.lanesAria)}">${defs}${parts.join('')}</svg>`;
}

/** One part's rows: lifelines, then for each message its time and frame, its text, and its arrow. */
export function diagramPart(part: DiagramPart, lanes: readonly string[], firstWire: number | undefined, l: Lang = lang()): string {
  const w = reportWords(l).html;
  const width = diagramWidth(lanes.length);
  const height = part.messages.length * ROW + 6;
  const rows: string[] = [];
  lanes.forEach((_, i) => rows.push(`<line x1="${laneX(i)}" y1="0" x2="${laneX(i)}" y2="${height}" class="lifeline"/>`));
  part.messages.forEach(({ index, event: m }, row) => {
    const y = row * ROW + ROW / 2 + 3;
    const x1 = laneX(lanes.indexOf(m.from!));
    const x2 = laneX(lanes.indexOf(m.to!));
    const colour = STEP_COLOURS[m.step] ?? '#333';
    // A message the capture does not hold (another link's, or no capture) has no wire time: no number rather than a different clock's.
    const when = m.wireTime !== undefined && firstWire !== undefined ? `${((m.wireTime - firstWire) * 1000).toFixed(1)} ms` : firstWire === undefined ? `+${m.t ?? 0} ms` : '·';
    const frames = m.frames?.length ? `#${m.frames[0]}${m.frames.length > 1 ? '…' : ''}` : '';
    const wire = m.wireTime !== undefined ? ` data-wire-time="${m.wireTime}" data-frames="${m.frames?.join(' ') ?? ''}"` : '';
    const self = x1 === x2;
    rows.push(
      `<g class="message" data-index="${index}" data-step="${m.step}" data-from="${escapeHtml(m.from!)}" data-to="${escapeHtml(m.to!)}"${wire} tabindex="-1">` +
        `<title>${escapeHtml(`${m.wireAt ? w.onTheWire(m.wireAt) : firstWire !== undefined ? reportWords(l).page.notInCapture : `+${m.t} ms`}${m.frames?.length ? `, ${framesLabel(m.frames, l)}` : ''}  ${m.from} → ${m.to}: ${m.summary}`)}</title>` +
        `<rect x="0" y="${y - ROW / 2 + 1}" width="${width}" height="${ROW - 2}" class="hit"/>` +
        `<text x="6" y="${y + 4}" class="time">${when}</text><text x="${GUTTER - 6}" y="${y + 4}" class="frame">${frames}</text>` +
        `<text x="${GUTTER}" y="${y + 5}" class="label">${escapeHtml(shorten(m.summary ?? '', 34))}</text>` +
        (self
          ? `<path d="M${x1} ${y - 6} h18 v12 h-18" class="arrow" stroke="${colour}" marker-end="url(#head)"/>`
          : `<line x1="${x1}" y1="${y}" x2="${x2 + (x2 > x1 ? -3 : 3)}" y2="${y}" class="arrow" stroke="${colour}" marker-end="url(#head)"/><circle cx="${x1}" cy="${y}" r="3" fill="${colour}"/>`) +
        `</g>`,
    );
  });
  return (
    `<svg class="diagram-part" viewBox="0 0 ${width} ${height}" preserveAspectRatio="xMinYMin meet" role="img" aria-label="${escapeHtml(w.partAria(part.step))}">` +
    rows.join('') +
    `</svg>`
  );
}
