// .lab/report.html: one self-contained page (no network: its style, script and data are inside)
// that shows a run, for a learner at a laptop or a class at a projector:
//
//   the map        who is where (lab/report/map.ts), each role clickable
//   the timeline   a sequence diagram in wire order (lab/report/diagram.ts), a part per step
//   step through   ← → move from message to message; the detail panel shows each frame's bytes,
//                  field by field (lab/observe/dissect.ts, explained by lab/story/words/fields.ts)
//   the story      the narration of each step, the same lines the terminal printed
//
// A renderer over the run's trace and capture, like the terminal and --json: every value on the
// page is one of the run's events or one of the captured frames' bytes. Its words are in the run's
// language (ReportInput.lang): the page's own from lab/report/words/, the story's from lab/story/words/.
import fs from 'node:fs';
import { lang, type Lang } from './lang.ts';
import { dissectCapture, type DissectedFrame } from './observe/dissect.ts';
import { readCapture } from './observe/pcapng.ts';
import type { NetPlan, RoleName } from './net-ns/plan.ts';
import type { RoleState } from './state.ts';
import { renderSummary } from './story/render/summary.ts';
import { renderTerminal, stepTitle } from './story/render/terminal.ts';
import { words } from './story/words/index.ts';
import type { StepNumber, TraceEvent, TracedEvent } from './trace.ts';
import { diagramHead, diagramPart, escapeHtml, lanesOf, partsOf, STEP_COLOURS, wireOrder } from './report/diagram.ts';
import { loopbackMap, mapSvg, namespaceMap } from './report/map.ts';
import { reportWords } from './report/words/index.ts';

export { escapeHtml, framesLabel, wireOrder } from './report/diagram.ts';

export interface ReportSection {
  step: StepNumber;
  title: string;
  lines: string[];
}

/** The narration of each step, from the events: a section per step heading, its events' lines under it. */
export function sectionsOf(events: readonly TracedEvent[], l: Lang = lang()): ReportSection[] {
  const sections: ReportSection[] = [];
  for (const e of events) {
    if (e.kind === 'step') sections.push({ step: e.step, title: stepTitle(e, l), lines: [] });
    else sections.at(-1)?.lines.push(...renderTerminal(e, l));
  }
  return sections;
}

export interface ReportInput {
  /** The language of the page: the run's (trace.json's `lang`). */
  lang: Lang;
  title: string;
  subtitle: string;
  roles: RoleState[];
  /** The phone's own address. */
  phone: string;
  events: TracedEvent[];
  /** The capture on the phone's link, as the commands on the page name it (a path relative to where the learner runs them), and its bytes. */
  capture?: { file: string; bytes: Buffer };
  /** The TLS key log, likewise. */
  keyLog?: { file: string; text: string };
  /** ns mode: the network. */
  net?: NetPlan;
}

/** The biggest frame shown byte by byte (on lo a segment can be 64 KiB): the fields list still covers the rest. */
const MAX_FRAME_BYTES = 8192;

/** What the page script gets: the messages in wire order, the frames they name, dissected, and the words. */
function pageData(input: ReportInput, messages: ReadonlyArray<TracedEvent & { folded: TracedEvent[] }>, firstWire: number | undefined) {
  const l = input.lang;
  const w = reportWords(l).html;
  const story = words(l).fields;
  let frames: Record<number, DissectedFrame & { length: number }> = {};
  if (input.capture) {
    const dnsPorts = input.roles.filter((r) => r.protocol === 'dns').map((r) => r.port);
    const { frames: all } = dissectCapture(readCapture(input.capture.bytes), { dnsPorts });
    const wanted = new Set(input.events.flatMap((e) => e.frames ?? []));
    frames = Object.fromEntries(
      all.filter((f) => wanted.has(f.number)).map((f) => [f.number, { ...f, length: f.hex.length / 2, hex: f.hex.slice(0, MAX_FRAME_BYTES * 2) }]),
    );
  }
  const classic = input.events.find((e) => e.kind === 'master-secret');
  const hello = input.events.find((e) => e.kind === 'tls' && (e.data as { type?: string }).type === 'ClientHello');
  const clientRandom = (hello?.data as { fields?: { random?: string } } | undefined)?.fields?.random;
  const keyLogLines = input.keyLog && clientRandom ? input.keyLog.text.split('\n').filter((l) => l.includes(clientRandom)) : [];
  const roles: Record<string, object> = { phone: { what: w.phone, address: input.phone } };
  for (const r of input.roles) {
    const host = input.net?.roles[r.name as RoleName]?.host;
    roles[r.name] = { what: words(input.lang).roles.whatIs(r.name, r.what), address: `${r.host}:${r.port}`, protocol: r.protocol, namespace: r.namespace, host };
  }
  for (const h of input.net?.hosts ?? []) {
    roles[h.name] = {
      what: words(input.lang).roles.whatIs(h.name, h.what),
      address: h.interfaces.filter((i) => i.address).map((i) => `${i.address}/${i.prefix}`).join(', '),
      namespace: h.namespace,
      interfaces: h.interfaces.map((i) => `${i.name} ${i.address ? `${i.address}/${i.prefix} ` : ''}${i.mac}${i.delayMs ? `, ${i.delayMs} ms` : ''}`),
      routes: h.routes.map((r) => `${r.to} via ${r.via} dev ${r.dev}`),
      router: h.kind === 'router',
    };
  }
  return {
    // The words page.js builds its text from: the page has no words of its own.
    ui: reportWords(l).page,
    capture: input.capture?.file,
    keyLog: input.keyLog?.file,
    messages: messages.map((m, i) => ({
      i,
      step: m.step,
      kind: m.kind,
      from: m.from,
      to: m.to,
      summary: m.summary,
      frames: m.frames ?? [],
      wireAt: m.wireAt,
      since: m.wireTime !== undefined && firstWire !== undefined ? w.sinceFirstFrame(((m.wireTime - firstWire) * 1000).toFixed(3)) : w.intoTheRun(m.t),
      lines: [m, ...m.folded].flatMap((e) => renderTerminal(e, l)),
      tlsType: m.kind === 'tls' ? (m.data as { type?: string }).type : undefined,
    })),
    frames,
    roles,
    words: { fields: story.FIELD_WORDS, parts: story.PART_WORDS, layers: story.LAYER_WORDS },
    tls: classic
      ? { kind: 'classic', words: story.CLASSIC_WORDS, ...(classic.data as object), keyLogLines }
      : hello
        ? { kind: 'modern', words: story.TLS13_WORDS, keyLogLines }
        : undefined,
  };
}

/**
 * One arrow per message, not per copy of the same bytes: a TCP segment that carries a TLS or HTTP
 * message is drawn as that message (its segment line goes into the message's detail), and a TLS
 * record that carries an HTTP message the report can name is drawn as that HTTP message.
 */
export function foldCopies<E extends TraceEvent>(messages: readonly E[]): Array<E & { folded: E[] }> {
  const rank = (e: E) => (e.kind === 'tcp-segment' ? 0 : e.kind === 'tls' && /^(ApplicationData|application_data)/.test(String((e.data as { type?: string }).type)) ? 1 : 2);
  const shown = messages.map((e) => ({ ...e, folded: [] as E[] }));
  const keep = shown.filter((m) => {
    if (rank(m) === 2 || !m.frames?.length) return true;
    const into = shown.find((o) => o !== m && rank(o) > rank(m) && o.from === m.from && o.to === m.to && o.frames?.includes(m.frames![0]!));
    if (!into) return true;
    into.folded.push(m);
    return false;
  });
  return keep;
}

/** The first sentence of a paragraph, in either language: up to ". " or "。". */
function firstSentence(text: string): string {
  return /^.*?(?:\.(?=\s)|。)/s.exec(text)?.[0] ?? text;
}

export function buildReport(input: ReportInput): string {
  const l = input.lang;
  const w = reportWords(l).html;
  const seedWords = words(l).fields.SEED_WORDS;
  // Each message's one line in the page's language (the trace holds the run's; the same renderer made it).
  const events = input.events.map((e) => ({ ...e, summary: renderSummary(e, l) }));
  const messages = foldCopies(wireOrder(events.filter((e) => e.from && e.to)));
  const lanes = lanesOf(messages);
  const address = (name: string) => (name === 'phone' ? input.phone : (input.roles.find((r) => r.name === name)?.host ?? ''));
  const firstWire = messages.find((m) => m.wireTime !== undefined)?.wireTime;
  const parts = partsOf(messages as TraceEvent[])
    .map((p) => {
      const seed = seedWords[p.step as 1 | 2 | 3];
      return (
        `<details class="part" data-step="${p.step}" open><summary style="--step:${STEP_COLOURS[p.step]}"><b>${escapeHtml(w.step(p.step))}</b> ${escapeHtml(w.stepNames[p.step] ?? '')}` +
        (seed ? ` <span class="seed">${escapeHtml(w.seed(seed.section) + firstSentence(seed.text))}</span>` : '') +
        `</summary>${diagramPart(p, lanes, firstWire, l)}</details>`
      );
    })
    .join('');
  const map = input.net
    ? namespaceMap(input.net)
    : loopbackMap(
        // A role's second listener on the same address (edge-north-tls, slb-classic) is the same machine: one node.
        [{ name: 'phone', address: input.phone }, ...input.roles.filter((r) => !input.roles.some((o) => o !== r && o.host === r.host && r.name.startsWith(`${o.name}-`))).map((r) => ({ name: r.name, address: r.host }))],
        messages.map((m) => [m.from!, m.to!] as [string, string]),
      );
  const sections = sectionsOf(input.events, l)
    .map((s) => {
      const seed = seedWords[s.step as 1 | 2 | 3];
      return (
        `<details class="story" open><summary><h3 style="color:${STEP_COLOURS[s.step]}">${escapeHtml(s.title)}</h3></summary>` +
        (seed ? `<blockquote>${escapeHtml(w.seed(seed.section) + seed.text)}</blockquote>` : '') +
        `<pre>${s.lines.map(escapeHtml).join('\n')}</pre></details>`
      );
    })
    .join('');
  const data = JSON.stringify(pageData({ ...input, events }, messages, firstWire)).replace(/</g, '\\u003c');
  const css = fs.readFileSync(new URL('./report/page.css', import.meta.url), 'utf8');
  const script = fs.readFileSync(new URL('./report/page.js', import.meta.url), 'utf8');
  const captured = messages.some((m) => m.wireTime !== undefined);
  return `<!doctype html>
<html lang="${w.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(input.title)}</title>
<style>${css}</style>
</head>
<body>
<header><h1>${escapeHtml(input.title)}</h1><p class="subtitle">${escapeHtml(input.subtitle)}</p></header>
<section id="map-section"><h2>${escapeHtml(w.mapHeading)}</h2><p class="hint">${escapeHtml((input.net ? w.mapHintNs : w.mapHintLoopback) + w.mapClick)}</p>${mapSvg(map, l)}</section>
<section id="stage" aria-label="${escapeHtml(w.stageAria)}">
  <div class="toolbar">
    <button id="prev" title="${escapeHtml(w.prev)}">←</button><button id="next" title="${escapeHtml(w.next)}">→</button>
    <span id="position">${escapeHtml(w.messages(messages.length))}</span>
    <span class="hint">${captured ? escapeHtml(w.wireOrder).replace('{filter}', '<code>frame.number == N</code>') : escapeHtml(w.narratedOrder)}</span>
    <span class="zoom"><button id="zoom-out" title="${escapeHtml(w.zoomOut)}">−</button><button id="zoom-fit" title="${escapeHtml(w.zoomFit)}">${escapeHtml(w.fit)}</button><button id="zoom-in" title="${escapeHtml(w.zoomIn)}">+</button></span>
  </div>
  <div id="diagram" class="panel" tabindex="0">
    <div class="head">${diagramHead(lanes, address, l)}</div>
    ${parts}
  </div>
  <div id="detail" class="panel" tabindex="0" aria-live="polite"><p class="hint">${escapeHtml(w.detailHint)}</p></div>
</section>
<section id="story"><h2>${escapeHtml(w.storyHeading)}</h2>${sections}</section>
<script type="application/json" id="run">${data}</script>
<script>${script}</script>
</body>
</html>
`;
}
