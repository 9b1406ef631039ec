// One event stream, two views: step 1 of a real run, rendered again from its trace.json with the
// terminal renderer, must be exactly what the run printed; and every value the terminal shows
// (addresses, ids, names, TTLs, rcodes, frame numbers, statuses) must be in the event it came from,
// so `--json` (which prints the events) carries everything the prose says.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type { StoryEvent } from '../lab/story/events.ts';
import { renderSummary } from '../lab/story/render/summary.ts';
import { renderTerminal } from '../lab/story/render/terminal.ts';
import type { TraceEvent } from '../lab/trace.ts';

const run = promisify(execFile);
const tsx = path.resolve('node_modules/.bin/tsx');
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

const STEP_ONE_KINDS = new Set(['dns-query', 'dns-resolution', 'dns-walk-query', 'dns-walk-answer', 'gslb-decision', 'dns-answer', 'http-request', 'http-response', 'cache-path']);

/** The narration's own connective lines in step 1: they state no value, so no event carries them. */
const CONNECTIVES = new Set(['', 'The same picture again, a moment later:']);

/** The values in a terminal line: IPv4 addresses (with a prefix length), DNS names, then any other number. */
function valuesIn(line: string): string[] {
  const withoutIndex = line.replace(/^\s*\d+\. /, ''); // a walk step's position, checked on its own below
  return withoutIndex.match(/\d+(?:\.\d+){3}(?:\/\d+)?|[a-z0-9-]+(?:\.[a-z0-9-]+)*\.test\b|\d+/gi) ?? [];
}

describe.skipIf(os.platform() !== 'linux')('step 1: the terminal and --json are one renderer over one trace', () => {
  it('re-renders what the run printed from trace.json, and every value printed is in its event', { timeout: 90_000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-story-'));
    dirs.push(dir);
    const { stdout } = await run(tsx, ['lab/cli.ts', '--ephemeral', '--mode', 'classic'], { env: { ...process.env, LAB_DIR: dir, NO_COLOR: '1' }, timeout: 60_000 });
    const trace = JSON.parse(fs.readFileSync(path.join(dir, 'trace.json'), 'utf8')) as { events: TraceEvent[] };

    // What the run printed for step 1: between its heading and step 2's, without the step's time.
    const lines = stdout.split('\n');
    const start = lines.findIndex((l) => l.startsWith('Step 1 — '));
    const end = lines.findIndex((l) => l.startsWith('Step 2 — '));
    expect(start).toBeGreaterThan(-1);
    const printed = lines.slice(start + 1, end).filter((l) => !/^ {2}\(\d+ ms\)$/.test(l) && !CONNECTIVES.has(l.trim()));

    const events = trace.events.filter((e) => e.step === 1 && STEP_ONE_KINDS.has(e.kind)) as unknown as Array<StoryEvent & TraceEvent>;
    expect(events.length).toBeGreaterThan(20);
    const rendered = events.flatMap((e) => renderTerminal(e).map((l) => `  ${l}`)); // the narrator's margin
    expect(rendered).toEqual(printed);

    // Every value shown is in the JSON of the event that showed it; the summary is rendered from it too.
    for (const e of events) {
      expect(e.summary).toBe(renderSummary(e));
      const json = JSON.stringify(e);
      for (const line of renderTerminal(e)) {
        for (const value of valuesIn(line)) {
          const found = /^\d+$/.test(value) ? new RegExp(`(?<![\\d])${value}(?![\\d])`).test(json) : json.includes(value);
          expect(found, `${value} in "${line.trim()}" is not in its ${e.kind} event`).toBe(true);
        }
      }
      if (e.kind === 'dns-walk-query') expect(renderTerminal(e)[0]).toMatch(new RegExp(`^ +${e.data.index + 1}\\. `));
    }
    // The kinds of values the prose states are all there (a check that the check looked at something).
    const shown = rendered.join('\n');
    expect(shown).toMatch(/id \d+/);
    expect(shown).toMatch(/NOERROR AA/);
    expect(shown).toMatch(/IN {2}A {5}127\.0\.0\.2\d/);
  });
});
