// Both languages, everywhere a learner reads: every catalogue has Chinese where its English has
// prose, and a real run in each mode prints every line in the language asked for, with the values
// of the run untouched. The areas' own tests (i18n-*.test.ts) check their words one by one; this
// one walks the catalogues and a whole run's output.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { catalogues } from '../lab/lang.ts';
import { renderTranscript } from '../lab/story/render/transcript.ts';
import type { TracedEvent } from '../lab/trace.ts';
import { englishProse, hasCjk, proseOf, untranslatedLines } from './i18n-text.ts';
// Every module that declares a catalogue, so catalogues() knows them all.
import '../lab/story/words/index.ts';
import '../lab/report/words/index.ts';
import '../lab/exercises/words/index.ts';
import '../lab/words/run.ts';
import '../lab/net-ns/words/index.ts';
import '../client/words/order.ts';
import '../client/words/dig-fetch.ts';

const run = promisify(execFile);
const tsx = path.resolve('node_modules/.bin/tsx');
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** Each string of a catalogue with its path ("story.fields.FIELD_WORDS.tcp.seq"), in both languages. */
function leaves(en: unknown, zh: unknown, at: string, out: Array<{ at: string; en: unknown; zh: unknown }>): void {
  if (typeof en === 'object' && en !== null && !Array.isArray(en)) {
    for (const key of Object.keys(en)) leaves((en as Record<string, unknown>)[key], (zh as Record<string, unknown> | undefined)?.[key], `${at}.${key}`, out);
  } else if (Array.isArray(en)) en.forEach((v, i) => leaves(v, (zh as unknown[] | undefined)?.[i], `${at}[${i}]`, out));
  else out.push({ at, en, zh });
}

/** English that is more than a name: two or more lowercase words. */
const isProse = (text: string) => (proseOf(text).match(/\b[a-z]{2,}\b/g) ?? []).length >= 2;

describe('the prose detector (test/i18n-text.ts), which every language test uses', () => {
  it('finds English prose', () => {
    expect(englishProse('本地 DNS answered from its cache')).toBe('answered from its cache');
    expect(englishProse('All three steps done in 12 ms.')).toMatch(/^three steps done in/);
    expect(englishProse('the server has said all it will')).toBeDefined();
    expect(englishProse('手机打开一个 TCP 连接 to the SLB')).toBe('to the SLB');
    expect(englishProse('Run npm run lab -- up, then try it with the phone.')).toBe('then try it with the phone');
  });

  it('leaves commands, quoted strings, paths, values and kept terms alone', () => {
    for (const line of [
      '服务端要说的都说完了，轮到客户端',
      '用法：npm run lab -- dig <域名> [--type A]',
      '理由："client 127.10.1.0/24 (ECS) -> region north"',
      '用 dig 问同一个问题：dig @127.0.0.53 -p 53 static.geektime.test A -b 127.10.1.10',
      '  pgw-north    default via 198.18.0.1 dev to-core  (core)',
      '生成的文件：/tmp/x/report.html（用浏览器打开），TLS 密钥日志（key log）/tmp/x/keylog.txt',
      '先 npm run lab -- up，再 npm run lab -- order，或者用 openssl s_client 连 SLB',
      '  tshark -r /tmp/x/capture.pcapng -Y http',
      '重新签发它（在实验环境里：npm run lab -- certs --renew）',
      '用 chain.crt，而不是 leaf.crt；见 /proc/net/tcp',
      '签发者是 "CN=Geektime Lab Intermediate CA"',
      '  master secret = PRF(pre-master, "master secret", client random ‖ server random)',
      '内核自己的回答（ip route get 127.0.0.80 from 127.10.1.10，这条命令不发出任何包）：local 127.0.0.80 from 127.10.1.10 dev lo uid 0',
      'static.geektime.test.        30  IN  CNAME static.geektime.cdn.test.',
    ]) expect(englishProse(line), line).toBeUndefined();
    expect(englishProse('标志位：qr rd ra，3 ms', [/\bqr rd ra\b/])).toBeUndefined();
    expect(englishProse('GET /images/phone.png，上游回复 304 Not Modified', ['Not Modified'])).toBeUndefined();
  });
});

describe('the catalogues', () => {
  it('every catalogue has both languages with the same keys, and Chinese wherever the English is prose', () => {
    expect(catalogues().length).toBeGreaterThan(0);
    const problems: string[] = [];
    for (const c of catalogues()) {
      const all: Array<{ at: string; en: unknown; zh: unknown }> = [];
      leaves(c.en, c.zh, c.name, all);
      for (const { at, en, zh } of all) {
        if (typeof en !== typeof zh) problems.push(`${at}: ${typeof en} in en, ${typeof zh} in zh`);
        else if (typeof en === 'string' && isProse(en)) {
          if (!hasCjk(zh as string)) problems.push(`${at}: not translated: ${JSON.stringify(zh)}`);
          else if (englishProse(zh as string)) problems.push(`${at}: English left: "${englishProse(zh as string)}"`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
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
