// One event stream, three views. A real run's trace.json, rendered again, must be exactly what the
// run printed from its first step to its end, and the report's narration; `--json` prints those
// same events; and every value the terminal shows (addresses, ids, names, TTLs, rcodes, frame
// numbers, statuses, sequence numbers, randoms) is in the event it came from.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type { StoryEvent } from '../lab/story/events.ts';
import { renderSummary } from '../lab/story/render/summary.ts';
import { renderTerminal } from '../lab/story/render/terminal.ts';
import { renderTranscript } from '../lab/story/render/transcript.ts';
import { escapeHtml, sectionsOf } from '../lab/report.ts';
import { words } from '../lab/story/words/index.ts';
import type { TraceEvent, TracedEvent } from '../lab/trace.ts';

const run = promisify(execFile);
const tsx = path.resolve('node_modules/.bin/tsx');
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

const STEP_ONE_KINDS = new Set(['dns-query', 'dns-resolution', 'dns-walk-query', 'dns-walk-answer', 'gslb-decision', 'dns-answer', 'http-request', 'http-response', 'cache-path']);

/** The narration's own connective lines in step 1: they state no value, so no event carries them. */
const CONNECTIVES = new Set(['', 'The same picture again, a moment later:']);

/** The values in a terminal line: IPv4 addresses, DNS names, then any other number. An address with a
 *  prefix length ("192.0.2.2/24") is two values, as the events hold them: the address and the length. */
function valuesIn(line: string): string[] {
  const withoutIndex = line.replace(/^\s*\d+\. /, ''); // a walk step's position, checked on its own below
  return withoutIndex.match(/\d+(?:\.\d+){3}|[a-z0-9-]+(?:\.[a-z0-9-]+)*\.test\b|\d+/gi) ?? [];
}

/** What the run printed for one step: between its heading and the next line that is not the step's, without the step's time. */
function printedStep(stdout: string, heading: string, next: string, connectives: Set<string>): string[] {
  const lines = stdout.split('\n');
  const start = lines.findIndex((l) => l.startsWith(heading));
  const end = lines.findIndex((l, i) => i > start && l.startsWith(next));
  expect(start).toBeGreaterThan(-1);
  expect(end).toBeGreaterThan(start);
  return lines.slice(start + 1, end).filter((l) => !/^ {2}\(\d+ ms\)$/.test(l) && !connectives.has(l.trim()));
}

/**
 * The numbers the words themselves state, whatever the run (RFC 9293, a 20-byte IP header, bytes 0-5 of an
 * Ethernet header): constants of the prose, written in the words' own source, not values of the run.
 */
const WORDS_TEXT = ['story', 'layers'].map((f) => fs.readFileSync(path.resolve(`lab/story/words/en/${f}.ts`), 'utf8')).join('\n');

/** Each value a terminal line shows is in the JSON of the event it was rendered from (a number as a whole number), or a constant of the words. */
function expectValuesIn(e: StoryEvent, line: string): void {
  const json = JSON.stringify(e);
  const inWords = (value: string) => /^\d+$/.test(value) && new RegExp(`(?<![\\d])${value}(?![\\d])`).test(WORDS_TEXT);
  // A header field's span "bytes 14–33" is its offset and its size (describeWireLayers adds them): check those.
  const spans = [...line.matchAll(/bytes (\d+)–(\d+)/g)].map((m) => [m[1]!, String(Number(m[2]) - Number(m[1]) + 1)]);
  const rest = line.replace(/bytes (\d+)–(\d+)/g, ' ');
  for (const value of [...spans.flat(), ...valuesIn(rest)]) {
    const found = /^\d+$/.test(value) ? new RegExp(`(?<![\\d])${value}(?![\\d])`).test(json) : json.includes(value);
    expect(found || inWords(value), `${value} in "${line.trim()}" is not in its ${e.kind} event`).toBe(true);
  }
}

interface Run {
  stdout: string;
  events: TracedEvent[];
  dir: string;
}

async function runLab(args: string[]): Promise<Run> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-story-'));
  dirs.push(dir);
  const { stdout } = await run(tsx, ['lab/cli.ts', '--ephemeral', ...args], { env: { ...process.env, LAB_DIR: dir, NO_COLOR: '1' }, timeout: 60_000 });
  const trace = JSON.parse(fs.readFileSync(path.join(dir, 'trace.json'), 'utf8')) as { events: TraceEvent[] };
  return { stdout, events: trace.events as unknown as TracedEvent[], dir };
}

/** What the run printed from the blank line before its first step's heading to its last step's time. */
function printedSteps(stdout: string): string[] {
  const lines = stdout.split('\n');
  const start = lines.findIndex((l) => l.startsWith('The lab is up')) - 1;
  const end = lines.findIndex((l) => l.startsWith('All three steps done')) - 1; // a blank line comes before it
  expect(start).toBeGreaterThan(-1);
  expect(end).toBeGreaterThan(start);
  return lines.slice(start, end);
}

// The whole run, in both TLS modes, with a capture (when tcpdump is here) and without.
describe.skipIf(os.platform() !== 'linux')('the whole run: every printed line is rendered from trace.json', () => {
  it.each([
    { name: 'TLS 1.2', args: ['--mode', 'classic'] },
    { name: 'TLS 1.3, no capture', args: ['--mode', 'modern', '--no-capture'] },
  ])('$name: the terminal from the first step to the end, and the report\'s narration, are the trace rendered again', { timeout: 90_000 }, async ({ args }) => {
    const { stdout, events, dir } = await runLab(args);
    expect(renderTranscript(events)).toEqual(printedSteps(stdout));
    expect(new Set(events.map((e) => e.step))).toEqual(new Set([0, 1, 2, 3]));
    for (const e of events) expect(e.summary, e.kind).toBe(renderSummary(e));

    // The report's narration is the same renderer's lines, section by section.
    const report = fs.readFileSync(path.join(dir, 'report.html'), 'utf8');
    const sections = sectionsOf(events);
    expect(sections.map((x) => x.title)).toEqual(events.filter((e) => e.kind === 'step').map((e) => renderTerminal(e)[0]));
    for (const section of sections) expect(report).toContain(`<pre>${section.lines.map(escapeHtml).join('\n')}</pre>`);

    // Step 2's values are in their events: frames, sequence numbers, randoms and secrets, byte counts.
    for (const e of events.filter((x) => x.step === 2)) {
      const json = JSON.stringify(e);
      for (const line of renderTerminal(e)) {
        const values = [...line.matchAll(/\b(?:frames? |seq |ack |random +|pre-master +|master secret +|line )([0-9a-f]+)\b|\b([0-9a-f]{16,})\b|\((\d+) bytes up, (\d+) down\)/g)].flatMap((m) => m.slice(1).filter(Boolean));
        for (const value of values) expect(json.includes(value), `${value} in "${line.trim()}" is not in its ${e.kind} event`).toBe(true);
      }
    }
    // With a capture, every event of the story names its frames and carries their wire time; the only
    // ones without are the run's frame (headings, times, the roles, the capture's own counts) and the
    // kernel's own socket records (its table, its state changes), which are not read off the wire.
    const captured = events.some((e) => e.kind === 'capture' && !('unavailable' in e.data));
    const NOT_ON_THE_WIRE = new Set(['step', 'step-done', 'lab-up', 'again', 'capture', 'socket-states', 'socket-changes']);
    for (const e of events.filter((x) => !NOT_ON_THE_WIRE.has(x.kind))) {
      if (captured) {
        expect(e.frames?.length, `${e.kind}: ${e.summary}`).toBeGreaterThan(0);
        expect(e.wireTime, e.kind).toBeGreaterThan(1.7e9);
      } else expect(e.frames, e.kind).toBeUndefined();
    }

    const shown = renderTranscript(events).join('\n');
    if (args.includes('classic')) expect(shown).toMatch(/master secret +[0-9a-f]{96} /);
    else expect(shown).toMatch(/Key exchange: (x25519 \(ECDHE\)|X25519MLKEM768 \(hybrid: x25519 ECDHE \+ ML-KEM-768\))/);
  });

  it('--json prints exactly the events trace.json keeps', { timeout: 90_000 }, async () => {
    const { stdout, events } = await runLab(['--json', '--no-capture']);
    const printed = stdout.trim().split('\n').map((line) => JSON.parse(line) as TraceEvent);
    expect(printed).toEqual(events);
    expect(printed.length).toBeGreaterThan(60);
  });
});

describe.skipIf(os.platform() !== 'linux')('step 1: the terminal and --json are one renderer over one trace', () => {
  it('re-renders what the run printed from trace.json, and every value printed is in its event', { timeout: 90_000 }, async () => {
    const { stdout, events: all } = await runLab(['--mode', 'classic']);
    const printed = printedStep(stdout, 'Step 1 — ', 'Step 2 — ', CONNECTIVES);

    const events = all.filter((e) => e.step === 1 && STEP_ONE_KINDS.has(e.kind));
    expect(events.length).toBeGreaterThan(20);
    const rendered = events.flatMap((e) => renderTerminal(e).map((l) => `  ${l}`)); // the narrator's margin
    expect(rendered).toEqual(printed);

    // Every value shown is in the JSON of the event that showed it; the summary is rendered from it too.
    for (const e of events) {
      expect(e.summary).toBe(renderSummary(e));
      for (const line of renderTerminal(e)) expectValuesIn(e, line);
      if (e.kind === 'dns-walk-query') expect(renderTerminal(e)[0]).toMatch(new RegExp(`^ +${e.data.index + 1}\\. `));
    }
    // The kinds of values the prose states are all there (a check that the check looked at something).
    const shown = rendered.join('\n');
    expect(shown).toMatch(/id \d+/);
    expect(shown).toMatch(/NOERROR AA/);
    expect(shown).toMatch(/IN {2}A {5}127\.0\.0\.2\d/);
  });
});

// Step 3, the order: with a capture (the layers read from the frame that carried the POST) and
// without (the layers computed, each value with its source).
describe.skipIf(os.platform() !== 'linux')('step 3: the order is one renderer over one trace', () => {
  it.each([
    { name: 'TLS 1.2, captured when tcpdump is here', args: ['--mode', 'classic'] },
    { name: 'TLS 1.3, no capture', args: ['--mode', 'modern', '--no-capture'] },
  ])('$name: re-renders what the run printed from trace.json, and every value printed is in its event', { timeout: 90_000 }, async ({ args }) => {
    const { stdout, events: all } = await runLab(args);
    const printed = printedStep(stdout, 'Step 3 — ', 'All three steps done', new Set(['']));
    const STEP_THREE_KINDS = new Set(['http-request', 'order-answer', 'layers', 'http-response', 'slb-forward']); // not the narrator's step/step-done
    const events = all.filter((e) => e.step === 3 && STEP_THREE_KINDS.has(e.kind));
    expect(events.map((e) => e.kind)).toEqual(['http-request', 'order-answer', 'layers', 'http-request', 'http-response', 'slb-forward', 'http-response']);
    const rendered = events.flatMap((e) => renderTerminal(e).map((l) => `  ${l}`));
    expect(rendered).toEqual(printed);
    for (const e of events) {
      expect(e.summary).toBe(renderSummary(e));
      for (const line of renderTerminal(e)) expectValuesIn(e, line);
    }
    // The values the prose states, and the layers' structured fields in the JSON (not only their lines).
    const shown = rendered.join('\n');
    expect(shown).toMatch(/> POST \/purchaseOrder HTTP\/1\.1/);
    expect(shown).toMatch(/Answer: 201, Location: \/purchaseOrder\/po-\d+/);
    expect(shown).toMatch(/The SLB chose app-[12] .*X-Forwarded-For: 127\.10\.1\.10/);
    const layers = events.find((e) => e.kind === 'layers')!;
    if (layers.kind !== 'layers') throw new Error('no layers event');
    const captured = !stdout.includes('No frame to read them from');
    expect(layers.data.observed).toBe(captured);
    if (layers.data.observed) {
      expect(layers.data.layers.map((l) => l.name)).toEqual(expect.arrayContaining(['Ethernet', 'IPv4', 'TCP', 'TLS record']));
      expect(shown).toContain(`frame ${layers.data.frame} (${layers.data.segment.length} bytes of TCP data, IP total length ${layers.data.segment.ipLength})`);
    } else {
      const fields = layers.data.layers.flatMap((l) => l.fields.map((f) => words('en').layers.fieldText(l.name, f)));
      expect(fields).toEqual(expect.arrayContaining([expect.stringMatching(/^IP source: 127\.10\.1\.10$/)]));
    }
  });
});
