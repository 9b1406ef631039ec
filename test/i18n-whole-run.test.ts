// A whole real run in each mode prints every line in the language asked for, from the lab-up
// listing to the artifacts, with the values of the run untouched; the same events rendered in
// English have no Chinese. (The catalogues themselves are walked in i18n.test.ts.)
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { renderTranscript } from '../lab/story/render/transcript.ts';
import type { TracedEvent } from '../lab/trace.ts';
import { hasCjk, untranslatedLines } from './i18n-text.ts';

const run = promisify(execFile);
const tsx = path.resolve('node_modules/.bin/tsx');
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

interface Run {
  stdout: string;
  events: TracedEvent[];
}

async function walkthrough(...flags: string[]): Promise<Run> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-i18n-'));
  dirs.push(dir);
  const env = { ...process.env, LAB_DIR: dir, NO_COLOR: '1' };
  const result = await run(tsx, ['lab/cli.ts', '--ephemeral', ...flags], { env, timeout: 90_000, maxBuffer: 16 * 1024 * 1024 });
  const trace = JSON.parse(fs.readFileSync(path.join(dir, 'trace.json'), 'utf8')) as { events: TracedEvent[]; lang: string };
  expect(trace.lang).toBe(flags.includes('zh') ? 'zh' : 'en');
  return { stdout: result.stdout, events: trace.events };
}

/** Lines that carry the seed's order itself (its JSON has 趣谈网络协议 and 刘超 in any language). */
const seedValue = (line: string) => /^\s*[<>] /.test(line) || /趣谈网络协议|刘超/.test(line);

/** The values of a line: addresses, hex strings, numbers, DNS names, as they must appear in both languages (a 4-tuple is a word: 四元组). */
const valuesOf = (line: string) => line.replace(/\b4-tuple\b/g, '').match(/\d+(?:\.\d+){3}(?::\d+)?|\b[0-9a-f]{16,}\b|[a-z0-9-]+(?:\.[a-z0-9-]+)+\.test\b|\b\d+\b/gi) ?? [];

describe.each(['classic', 'modern'])('a real run in Chinese and in English (%s)', (mode) => {
  let zh: Run;
  it('prints every line in Chinese with --lang zh: no English prose from the lab-up listing to the artifacts', { timeout: 120_000 }, async () => {
    zh = await walkthrough('--mode', mode, '--lang', 'zh');
    const lines = zh.stdout.split('\n').filter((l) => l.trim() !== '' && !seedValue(l));
    expect(lines.length).toBeGreaterThan(40);
    expect(untranslatedLines(lines)).toEqual([]);
    // Chinese throughout, not only in the headings: most lines with words have Chinese.
    const worded = lines.filter((l) => /[A-Za-z\u4e00-\u9fff]{2}/.test(l));
    expect(worded.filter(hasCjk).length / worded.length).toBeGreaterThan(0.6);
  });

  it('the same events in English have no Chinese but the seed\'s, and every value of the English in the Chinese', () => {
    const en = zh.events.map((e) => renderTranscript([e], 'en'));
    const cn = zh.events.map((e) => renderTranscript([e], 'zh'));
    const problems: string[] = [];
    zh.events.forEach((e, i) => {
      for (const line of en[i]!) if (hasCjk(line) && !seedValue(line)) problems.push(`${e.kind}: Chinese in English: ${line}`);
      const want = new Set(en[i]!.flatMap(valuesOf));
      const have = new Set(cn[i]!.flatMap(valuesOf));
      for (const v of want) if (!have.has(v)) problems.push(`${e.kind}: ${v} is in the English, not in the Chinese`);
    });
    expect(problems).toEqual([]);
  });
});
