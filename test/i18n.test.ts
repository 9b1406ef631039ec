// Both languages, everywhere a learner reads: every catalogue has Chinese where its English has
// prose. The areas' own tests (i18n-*.test.ts) check their words one by one; this one walks the
// catalogues, and i18n-whole-run.test.ts a whole run's output.
import { describe, expect, it } from 'vitest';
import { catalogues } from '../lab/lang.ts';
import { englishProse, hasCjk, proseOf } from './i18n-text.ts';
// Every module that declares a catalogue, so catalogues() knows them all.
import '../lab/story/words/index.ts';
import '../lab/report/words/index.ts';
import '../lab/exercises/words/index.ts';
import '../lab/words/run.ts';
import '../lab/net-ns/words/index.ts';
import '../client/words/order.ts';
import '../client/words/dig-fetch.ts';
import '../certs/words/certs.ts';
import '../lab/words/browser.ts';
import '../lab/words/cli.ts';
import '../lab/words/faults.ts';
import '../lab/words/up.ts';
import '../servers/words/args.ts';
import '../servers/words/cli.ts';

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
      '  fault NAME on|off',
      '没有找到 Chromium（apt install chromium libnss3-tools）',
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
