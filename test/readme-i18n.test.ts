// The READMEs in two languages say the same: the Chinese page has exactly the English page's code
// blocks (every command identical), as many headings, and links that lead somewhere. Pure file reading.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');

/** The pairs of pages that must say the same thing: English first, Chinese second. */
const pairs = [
  { en: 'README.md', zh: 'README.zh-CN.md' },
  { en: 'lab/exercises/README.md', zh: 'lab/exercises/README.zh-CN.md' },
] as const;

function read(file: string): string {
  return fs.readFileSync(path.join(root, file), 'utf8');
}

interface Page {
  /** Every code block, fenced (its info string and its lines) or indented, exactly as written. */
  fences: string[];
  /** Every ATX heading outside the fences, with its level. */
  headings: { level: number; text: string }[];
  /** Every inline link target `[text](target)` outside fences and code spans. */
  links: string[];
}

function parse(text: string): Page {
  const page: Page = { fences: [], headings: [], links: [] };
  let fence: { marker: string; lines: string[] } | undefined;
  let indented: string[] | undefined; // an indented code block (four spaces after a blank line)
  let previous = '';
  for (const line of text.split('\n')) {
    if (indented) {
      if (line.startsWith('    ')) {
        indented.push(line);
        continue;
      }
      page.fences.push(indented.join('\n'));
      indented = undefined;
    }
    if (!fence && line.startsWith('    ') && previous.trim() === '') {
      indented = [line];
      continue;
    }
    previous = line;
    if (fence) {
      if (line.trimStart().startsWith(fence.marker) && line.trim() === line.trim()[0]!.repeat(line.trim().length)) {
        page.fences.push(fence.lines.join('\n'));
        fence = undefined;
      } else fence.lines.push(line);
      continue;
    }
    const open = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(line);
    if (open) {
      fence = { marker: open[1]!, lines: [open[2]!.trim()] };
      continue;
    }
    const heading = /^(#{1,6}) +(.*?) *#* *$/.exec(line);
    if (heading) page.headings.push({ level: heading[1]!.length, text: heading[2]! });
    const prose = line.replace(/`[^`]*`/g, '');
    for (const m of prose.matchAll(/\]\(([^)\s]+)(?: "[^"]*")?\)/g)) page.links.push(m[1]!);
  }
  if (indented) page.fences.push(indented.join('\n'));
  expect(fence, 'a code fence is never closed').toBeUndefined();
  return page;
}

/** GitHub's anchor for a heading (github-slugger): lower case, punctuation out, spaces to hyphens. */
function slugs(headings: Page['headings']): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const { text } of headings) {
    const plain = text.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const base = plain.toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** The targets of a page's links that lead nowhere: a missing file, or an anchor with no heading. */
function brokenLinks(file: string, only?: (target: string) => boolean): string[] {
  const page = parse(read(file));
  const broken: string[] = [];
  for (const link of page.links) {
    if (/^[a-z]+:/i.test(link)) continue; // https:, mailto:: outside this repository
    if (only && !only(link)) continue;
    const [target, anchor] = link.split('#') as [string, string | undefined];
    const resolved = target === '' ? path.join(root, file) : path.resolve(path.dirname(path.join(root, file)), decodeURI(target));
    if (!fs.existsSync(resolved)) {
      broken.push(`${link} (no such file)`);
      continue;
    }
    if (anchor && resolved.endsWith('.md')) {
      const there = parse(fs.readFileSync(resolved, 'utf8'));
      if (!slugs(there.headings).has(decodeURIComponent(anchor))) broken.push(`${link} (no such heading)`);
    }
  }
  return broken;
}

describe.each(pairs)('$zh says what $en says', ({ en, zh }) => {
  const english = parse(read(en));
  const chinese = parse(read(zh));

  it('with the same code blocks, every command identical', () => {
    expect([...chinese.fences].sort()).toEqual([...english.fences].sort());
  });

  it('with as many headings, level by level', () => {
    expect(chinese.headings.map((h) => h.level)).toEqual(english.headings.map((h) => h.level));
  });

  it('and each links to the other', () => {
    expect(english.links).toContain(path.basename(zh));
    expect(chinese.links).toContain(path.basename(en));
  });
});

describe('links lead somewhere', () => {
  it.each(['README.md', 'README.zh-CN.md'])('%s: every file and heading it links to exists', (file) => {
    expect(brokenLinks(file)).toEqual([]);
  });

  it.each(['lab/exercises/README.md', 'lab/exercises/README.zh-CN.md'])('%s: every link outside the exercise pages', (file) => {
    expect(brokenLinks(file, (t) => !/^(en|zh)\//.test(t))).toEqual([]);
  });

  // The exercise pages in en/ and zh/ arrive with the exercises' own translation (issue 13).
  it.skipIf(!fs.existsSync(path.join(root, 'lab/exercises/zh')))(
    'the instructors\' pages: every exercise page they link to exists',
    () => {
      for (const file of ['lab/exercises/README.md', 'lab/exercises/README.zh-CN.md']) {
        expect(brokenLinks(file, (t) => /^(en|zh)\//.test(t)), file).toEqual([]);
      }
    },
  );
});
