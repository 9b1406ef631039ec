// The workshop in both languages (issue 13): every exercise has an English and a Chinese page that
// say the same commands with the same placeholders; every word a checker or the runner says exists
// in both catalogues; a running lab's checkers fail in Chinese under --lang zh and in English under
// --lang en; the Chinese lists line up by display width.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderPage, pageFile } from '../lab/exercises/cli.ts';
import { asked, runCheck } from '../lab/exercises/exercise.ts';
import { EXERCISES } from '../lab/exercises/index.ts';
import { say } from '../lab/exercises/words/index.ts';
import { catalogues, LANGS, setLang, type Lang } from '../lab/lang.ts';
import type { LabState } from '../lab/state.ts';
import { displayWidth } from '../lab/text-width.ts';
import { cleanup, freshLabDir, labCli, run, startUp, TSX, type UpLab } from './lab-process.ts';
import { untranslatedLines } from './i18n-text.ts';

const CJK = /[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]/;
const SECTIONS: Record<Lang, RegExp> = {
  en: /\*\*Goal\.\*\*[\s\S]*\*\*Steps\.\*\*[\s\S]*\*\*Questions\.\*\*[\s\S]*\*\*Check\.\*\*/,
  zh: /\*\*目标。\*\*[\s\S]*\*\*步骤。\*\*[\s\S]*\*\*思考题。\*\*[\s\S]*\*\*检查。\*\*/,
};

// ─────────────────────────────────────────── reading a page ───────────────────────────────────────────

/** A learner's blank to fill, `<…>`, is in the page's language: compare commands without its words. */
const blanks = (s: string) => s.replace(/<[^<>\n]*>/g, '<>');
/** Pages indent code (4 spaces, 7 inside a numbered step); prose never is. */
const isCode = (line: string) => /^ {4,}\S/.test(line);
/** Every command line of a page, without its shell comment (comments are in the page's language). */
const commands = (page: string) =>
  page.split('\n').filter(isCode).map((l) => blanks(l.trim().replace(/(^|\s)#\s.*$/, '').trimEnd())).filter(Boolean);
/** Every `inline code` span of the prose, sorted. */
const spans = (page: string) =>
  page.split('\n').filter((l) => !isCode(l)).flatMap((l) => [...l.matchAll(/`([^`\n]+)`/g)].map((m) => blanks(m[1]!))).sort();
const placeholders = (page: string) => (page.match(/\{@?[a-z-]+(\.port)?\}/g) ?? []).sort();

/** English prose in Chinese text, line by line, outside code lines; role and fault commands are typed as they are. */
const englishProse = (text: string) =>
  untranslatedLines(text.split('\n').filter((l) => !isCode(l)), [/\b(?:role|fault|kill)\b[\x20-\x7e]*/g]).map((u) => u.prose);

/** A lab with every role the pages name, at made-up addresses and ports. */
function fakeLab(): LabState {
  const names = new Set(EXERCISES.flatMap((e) => LANGS.flatMap((l) => placeholders(fs.readFileSync(pageFile(e, l), 'utf8')))).map((p) => /\{@?([a-z-]+)/.exec(p)![1]!));
  names.delete('capture-interface');
  const roles = [...names].map((name, i) => ({ name, host: `127.0.9.${i + 1}`, port: 40000 + i, protocol: 'tcp' }));
  return { roles, addressing: 'per-role' } as unknown as LabState;
}

describe('the exercise pages, in English and Chinese', () => {
  it('every exercise has both pages, with the same sections, answers, placeholders and commands', () => {
    for (const e of EXERCISES) {
      const [en, zh] = LANGS.map((l) => {
        const file = pageFile(e, l);
        expect(fs.existsSync(file), `${e.n} has no ${l} page (${file})`).toBe(true);
        const page = fs.readFileSync(file, 'utf8');
        expect(page, `${e.n} ${l}`).toMatch(SECTIONS[l]);
        expect(page).toContain(`check ${e.n}`);
        for (const name of asked(e)) expect(page, `${e.slug} (${l}) names ${name}=`).toContain(`${name}=`);
        return page;
      }) as [string, string];
      expect(placeholders(zh), `${e.slug}: placeholders`).toEqual(placeholders(en));
      expect(commands(zh), `${e.slug}: commands`).toEqual(commands(en));
      expect(commands(en).length + spans(en).length, e.slug).toBeGreaterThan(0);
      expect(spans(zh), `${e.slug}: inline commands and names`).toEqual(spans(en));
      expect(englishProse(zh), `${e.slug}: English prose in the Chinese page`).toEqual([]);
      expect(en.split('\n').filter((l) => !isCode(l) && CJK.test(l)), `${e.slug}: Chinese in the English page`).toEqual([]);
    }
  });

  it('every page renders in both languages, with a running lab\'s addresses or, without one, what to put there', () => {
    const lab = fakeLab();
    for (const e of EXERCISES) {
      for (const l of LANGS) {
        const withLab = renderPage(e, lab, l);
        expect(withLab, `${e.slug} ${l}`).not.toMatch(/\{@?[a-z-]+(\.port)?\}/);
        for (const p of placeholders(fs.readFileSync(pageFile(e, l), 'utf8'))) {
          const role = lab.roles.find((r) => r.name === /\{@?([a-z-]+)/.exec(p)![1]);
          if (role) expect(withLab).toContain(p.startsWith('{@') ? `${role.host} -p ${role.port}` : p.endsWith('.port}') ? String(role.port) : role.host);
        }
        const without = renderPage(e, { notRunning: 'test' }, l);
        expect(without).not.toMatch(/\{@?[a-z-]+(\.port)?\}/);
        if (fs.readFileSync(pageFile(e, l), 'utf8').includes('{slb}')) expect(without).toContain(say(l).runner.noRole.address('slb'));
      }
    }
    expect(renderPage(EXERCISES[3]!, { notRunning: 'test' }, 'zh')).toContain('<edge-north 的端口>');
    expect(renderPage(EXERCISES[3]!, { notRunning: 'test' }, 'en')).toContain("<edge-north's port>");
  });
});

describe('the catalogue of the workshop\'s words', () => {
  /**
   * Every message of a catalogue, with sample arguments. One argument serves every parameter: the
   * array ['north'] reads as the string "north" in a template, joins as "north", indexes a region
   * table as north, and is truthy.
   */
  function messages(words: unknown, at = ''): Array<[string, string]> {
    if (typeof words === 'string') return [[at, words]];
    if (typeof words === 'function') return messages((words as (...a: unknown[]) => unknown)(...Array.from({ length: words.length }, () => ['north'])), at);
    if (words && typeof words === 'object') return Object.entries(words).flatMap(([k, v]) => messages(v, at ? `${at}.${k}` : k));
    throw new Error(`${at}: ${typeof words}`);
  }

  it('is declared through catalogue(), and every message exists in both languages: English in en, Chinese in zh', () => {
    const pair = catalogues().find((c) => c.name === 'exercises');
    expect(pair).toBeDefined();
    const en = messages(pair!.en);
    const zh = messages(pair!.zh);
    expect(zh.map(([k]) => k)).toEqual(en.map(([k]) => k));
    expect(en.length).toBeGreaterThan(150);
    for (const [key, text] of en) expect(CJK.test(text), `en ${key}: ${text}`).toBe(false);
    for (const [key, text] of zh) {
      // A message that is only a flag and its value (dig's -b ADDRESS) carries no prose.
      if (/^[\x20-\x7e]*$/.test(text)) continue;
      expect(CJK.test(text), `zh ${key}: ${text}`).toBe(true);
      expect(englishProse(text), `zh ${key}: ${text}`).toEqual([]);
      expect(text, `zh ${key}: undefined value`).not.toContain('undefined');
    }
  });

  it('every exercise asks for the same answers in both languages, each with what to put there', () => {
    for (const e of EXERCISES) {
      expect(Object.keys(e.words('zh').asks)).toEqual(Object.keys(e.words('en').asks));
      expect(e.words('zh').title).toMatch(CJK);
      for (const what of Object.values(e.words('zh').asks)) expect(what).toMatch(CJK);
    }
  });
});

// ────────────────────────────────────────── on a running lab ──────────────────────────────────────────

/** The checker's lines of an output: each ✓ or ✗ line, without its mark. */
const verdictLines = (stdout: string) => stdout.split('\n').filter((l) => /^\s+[✓✗]/.test(l)).map((l) => l.trim().slice(2));

/** Chinese lines say it in Chinese; English lines have no Chinese at all. */
function expectLanguage(l: Lang, lines: string[], what: string): void {
  expect(lines.length, what).toBeGreaterThan(0);
  for (const line of lines) {
    if (l === 'zh') {
      expect(line, what).toMatch(CJK);
      expect(englishProse(line), `${what}: ${line}`).toEqual([]);
    } else expect(line, `${what}: ${line}`).not.toMatch(CJK);
  }
}

describe.skipIf(os.platform() !== 'linux')('on a running lab, every checker fails in the language asked', () => {
  let lab: UpLab;
  let walked: string; // a finished walkthrough (classic), for 7 and 8

  beforeAll(async () => {
    lab = await startUp();
    walked = freshLabDir();
    const w = await run(TSX, ['lab/cli.ts', '--ephemeral'], { env: { ...process.env, LAB_DIR: walked, NO_COLOR: '1' }, timeoutMs: 60_000 });
    expect(w.code, w.stderr).toBe(0);
    // Files that are there but wrong, so 4 and 13 say every line they can.
    const work = path.join(lab.labDir, 'work');
    fs.mkdirSync(work, { recursive: true });
    for (const f of ['04-hit.txt', '04-after-purge.txt', '13-revalidated.txt', '13-stale.txt']) fs.writeFileSync(path.join(work, f), 'HTTP/1.1 404 Not Found\r\nDate: Thu, 01 Jan 2026 00:00:00 GMT\r\n\r\n');
  }, 90_000);
  afterAll(cleanup);

  /** Run one checker in this process, in language l (the CLI's own words are checked below). */
  async function checkIn(l: Lang, e: (typeof EXERCISES)[number], dir: string, answers: Record<string, string>, running = true): Promise<string[]> {
    setLang(l);
    try {
      const state = JSON.parse(fs.readFileSync(path.join(lab.labDir, 'state.json'), 'utf8')) as LabState;
      const v = await runCheck(e, { lab: running ? state : { notRunning: say(l).runner.noLab.missing(path.join(dir, 'state.json')) }, dir, answers });
      expect(v.ok, `${e.n} ${v.lines.join('\n')}`).toBe(false);
      return v.lines.map((x) => x.slice(2));
    } finally {
      setLang('en');
    }
  }

  for (const l of LANGS) {
    it(`${l}: trivial answers, missing files, the wrong mode, no lab, missing answers`, async () => {
      const seen = new Set<string>();
      for (const e of EXERCISES) {
        const dir = e.needs === 'a walkthrough run' ? walked : lab.labDir;
        const lines = await checkIn(l, e, dir, Object.fromEntries(asked(e).map((k) => [k, '1'])));
        expectLanguage(l, lines, `exercise ${e.n}`);
        lines.forEach((x) => seen.add(x));
        // Without a lab, or without a capture, and with no answers: what to start, what to give.
        const none = await checkIn(l, e, freshLabDir(), {}, false);
        expectLanguage(l, none, `exercise ${e.n} without a lab or answers`);
        none.forEach((x) => seen.add(x));
      }
      // 7 and 8: relative numbers and short hex, answers whose hints are their own.
      const [seven, eight] = [EXERCISES[6]!, EXERCISES[7]!];
      expectLanguage(l, await checkIn(l, eight, walked, { 'client-isn': '0', 'server-isn': '0', ack: '1' }), '8 relative');
      expectLanguage(l, await checkIn(l, seven, walked, { premaster: '00', master: '00' }), '7 short');
      expectLanguage(l, await checkIn(l, seven, freshLabDir(), { premaster: '00', master: '00' }), '7 no capture');
      expect(seen.size).toBeGreaterThan(30);
    }, 60_000);

    it(`--lang ${l} on the command line: the heading, the verdict, the runner's errors`, async () => {
      const r = await labCli(lab.labDir, ['--lang', l, 'check', '1', 'tld=1', 'shop=1', 'cname=1']);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stdout).toContain(say(l).runner.heading(1, EXERCISES[0]!.words(l).title));
      expect(r.stdout.trimEnd().endsWith(say(l).runner.notYet)).toBe(true);
      expectLanguage(l, verdictLines(r.stdout), 'check 1');
      for (const args of [['1', 'nope=1'], ['99']]) {
        const bad = await labCli(lab.labDir, ['--lang', l, 'check', ...args]);
        expect(bad.code, bad.stderr).toBe(1);
        expectLanguage(l, [bad.stderr.replace(/^lab: /, '')], `check ${args.join(' ')}`);
      }
    }, 60_000);
  }

  it('check --all and the list of exercises line up by display width in Chinese', async () => {
    const all = await labCli(lab.labDir, ['--lang', 'zh', 'check', '--all']);
    const rows = all.stdout.split('\n').filter((l) => /^\s+\d+\s/.test(l));
    expect(rows).toHaveLength(EXERCISES.length);
    expect(all.stdout).toMatch(/^工作坊：13 个练习完成了 \d+ 个/);
    const statusAt = rows.map((row) => displayWidth(row.slice(0, row.search(/[✓✗·] /))));
    expect(new Set(statusAt).size, rows.join('\n')).toBe(1);
    for (const e of EXERCISES) expect(all.stdout).toContain(e.words('zh').title);

    const list = await labCli(lab.labDir, ['--lang', 'zh', 'exercises']);
    const lines = list.stdout.split('\n').filter((l) => /^\s+\d+\s/.test(l));
    expect(lines).toHaveLength(EXERCISES.length);
    for (const column of ['原文 §', '需要：']) expect(new Set(lines.map((x) => displayWidth(x.slice(0, x.indexOf(column))))).size, lines.join('\n')).toBe(1);
    expectLanguage('zh', [list.stdout], 'the list');
    const page = await labCli(lab.labDir, ['--lang', 'zh', 'exercises', '4']);
    expect(page.stdout).toContain(`${lab.role('edge-north').host}`);
    expect(page.stdout).toContain('**目标。**');
  }, 90_000);
});
