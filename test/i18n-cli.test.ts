// The lab's command line in both languages: --lang and the locale default choose the language of
// the help and the errors; Node's parseArgs errors are said again in Chinese; the faults table lines
// up by display width; the operator socket answers in the asker's language; and the command-line
// catalogues have no line left in English on the Chinese side.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { detectLang, langOfLocale, parseLang, setLang, takeLangFlag, type Lang } from '../lab/lang.ts';
import { displayWidth } from '../lab/text-width.ts';
import { cliWords, errorText, isArgsError } from '../lab/words/cli.ts';
import { upWords } from '../lab/words/up.ts';
import { words } from '../lab/story/words/index.ts';
import { faultWords } from '../lab/words/faults.ts';
import { browserWords } from '../lab/words/browser.ts';
import { serversCliWords } from '../servers/words/cli.ts';
import { argsWords } from '../servers/words/args.ts';
import { certsWords } from '../certs/words/certs.ts';
import { FAULT_NAMES, FaultSwitches, faultBreaks, faultsCommand } from '../lab/faults.ts';
import { control, startControl } from '../lab/control.ts';
import { planRoles } from '../lab/topology.ts';
import type { RoleControl, RoleRecord } from '../lab/supervisor.ts';
import { REPO, TSX } from './lab-process.ts';

const temp: string[] = [];
afterAll(() => {
  for (const dir of temp) fs.rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'i18n-cli-'));
  temp.push(dir);
  return dir;
}

/**
 * `npm run lab -- …` with exactly the locale variables given: the test runner's LAB_LANG (en) and
 * the developer's own LC_ALL, LC_MESSAGES and LANG are removed first.
 */
function lab(args: string[], locale: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, LAB_DIR: tempDir() };
  for (const name of ['LAB_LANG', 'LC_ALL', 'LC_MESSAGES', 'LANG', 'LANGUAGE']) delete env[name];
  Object.assign(env, locale);
  return new Promise((resolve) =>
    execFile(TSX, ['lab/cli.ts', ...args], { cwd: REPO, env, encoding: 'utf8', timeout: 55_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    ),
  );
}

const ENGLISH_USAGE = /^usage: npm run lab /;
const CHINESE_USAGE = /^用法：npm run lab /;

// Each spawns the CLI: a few seconds under tsx, more on a busy machine.
describe('the language of the help', { timeout: 60_000 }, () => {
  it('--lang zh: the help in Chinese, and it names --lang', async () => {
    const r = await lab(['--lang', 'zh', 'help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(CHINESE_USAGE);
    expect(r.stdout).toContain('--lang zh|en');
    expect(r.stdout).toContain('本地 DNS'); // the glossary's word
    expect(r.stdout).toBe(`${cliWords('zh').usage}\n`);
  });

  it('LANG=zh_CN.UTF-8 with no --lang and no LAB_LANG: Chinese, from the locale', async () => {
    const r = await lab(['help'], { LANG: 'zh_CN.UTF-8' });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(CHINESE_USAGE);
  });

  it('LC_ALL=en_US.UTF-8 wins over LANG=zh_CN.UTF-8: English', async () => {
    const r = await lab(['help'], { LC_ALL: 'en_US.UTF-8', LANG: 'zh_CN.UTF-8' });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(ENGLISH_USAGE);
    expect(r.stdout).toContain('--lang zh|en');
  });

  it('--lang en overrides a Chinese LANG, wherever it stands', async () => {
    const first = await lab(['--lang', 'en', 'help'], { LANG: 'zh_CN.UTF-8' });
    expect(first.stdout).toMatch(ENGLISH_USAGE);
    const last = await lab(['help', '--lang=en'], { LANG: 'zh_CN.UTF-8' });
    expect(last.stdout).toMatch(ENGLISH_USAGE);
  });

  it('--lang fr: one clear line in both languages, exit 2', async () => {
    const r = await lab(['--lang', 'fr', 'help']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('--lang takes zh or en, not "fr"');
    expect(r.stderr).toContain('--lang 只接受 zh 或 en');
  });

  it('an unknown command in Chinese: the line, then the Chinese help, exit 2', async () => {
    const r = await lab(['--lang', 'zh', 'bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^lab: 未知的命令 "bogus"\n\n用法：npm run lab /);
    const en = await lab(['bogus'], { LANG: 'en_US.UTF-8' });
    expect(en.stderr).toMatch(/^lab: unknown command "bogus"\n\nusage: npm run lab /);
  });
});

describe("Node's parseArgs errors in the learner's language", { timeout: 60_000 }, () => {
  it('an unknown option and a missing value, in Chinese, naming the option; exit 2', async () => {
    const unknown = await lab(['--lang', 'zh', 'up', '--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toBe('lab: 未知的选项 --bogus');
    const missing = await lab(['--lang', 'zh', 'browser', '--from']);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toBe('lab: 选项 --from 缺少取值（写成 --from <取值>）');
  });

  it("English keeps Node's own words", async () => {
    const r = await lab(['up', '--bogus'], { LANG: 'en_US.UTF-8' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("lab: Unknown option '--bogus'");
  });

  it('every kind, with short options too', () => {
    const options = { from: { type: 'string', short: 'f' }, check: { type: 'boolean' } } as const;
    const error = (args: string[]) => {
      try {
        parseArgs({ args, options });
      } catch (err) {
        return err;
      }
      throw new Error(`parseArgs took ${args.join(' ')}`);
    };
    const said = (args: string[], l: Lang) => errorText(error(args), l);
    expect(said(['--nope'], 'zh')).toBe('未知的选项 --nope');
    expect(said(['-f'], 'zh')).toBe('选项 --from 缺少取值（写成 --from <取值>）');
    expect(said(['--check=yes'], 'zh')).toBe('选项 --check 不带取值');
    expect(said(['stray'], 'zh')).toBe('多余的参数 "stray"：这个命令不接受位置参数');
    for (const args of [['--nope'], ['-f'], ['--check=yes'], ['stray']]) {
      const err = error(args) as Error;
      expect(isArgsError(err)).toBe(true);
      expect(errorText(err, 'en')).toBe(err.message);
    }
    expect(isArgsError(new Error('x'))).toBe(false);
    expect(errorText(new Error('plain'), 'zh')).toBe('plain');
  });
});

describe('the faults table', { timeout: 60_000 }, () => {
  /** "  name  state  what it breaks": the display columns at which the state and the description start. */
  function cellStarts(line: string): number[] {
    const m = /^( *\S+ {2,})(\S+ {2,})/.exec(line);
    return m ? [displayWidth(m[1]!), displayWidth(m[1]! + m[2]!)] : [];
  }

  it('in Chinese, every column starts at the same display column in every row', async () => {
    const r = await lab(['--lang', 'zh', 'faults']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    const rows = FAULT_NAMES.map((name) => lines.find((l) => l.startsWith(`  ${name} `))!);
    expect(rows.every(Boolean), r.stdout).toBe(true);
    for (const row of rows) expect(row).toMatch(/ 关闭  \S/); // no lab here: every fault is off
    const starts = rows.map(cellStarts);
    for (const s of starts) expect(s).toEqual(starts[0]);
    expect(starts[0]).toHaveLength(2);
    // Each description is the Chinese one, whole.
    rows.forEach((row, i) => expect(row.endsWith(faultBreaks(FAULT_NAMES[i]!, 'zh')), row).toBe(true));
    expect(r.stdout).toContain('没有从 ');
    expect(r.stdout).toContain('开关一个故障：npm run lab -- fault NAME on|off');
  });

  it('with faults on and off in one table (开启 and 关闭), the columns still line up', async () => {
    const dir = tempDir();
    const state = { pid: process.pid, startedAt: new Date().toISOString(), addressing: 'per-role', shopHost: 'www.geektime.test', roles: [], rootCa: '', intermediateCa: '', keyLog: '', orderLog: '', walkLog: '', faults: ['edge-down', 'expired-leaf'] };
    fs.writeFileSync(path.join(dir, 'state.json'), JSON.stringify(state));
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
    const labDirBefore = process.env.LAB_DIR;
    process.env.LAB_DIR = dir;
    setLang('zh');
    try {
      expect(await faultsCommand([])).toBe(0);
    } finally {
      setLang('en');
      if (labDirBefore === undefined) delete process.env.LAB_DIR;
      else process.env.LAB_DIR = labDirBefore;
      log.mockRestore();
    }
    const rows = FAULT_NAMES.map((name) => lines.find((l) => l.startsWith(`  ${name} `))!);
    expect(rows.filter((r) => / 开启  /.test(r))).toHaveLength(2);
    expect(rows.filter((r) => / 关闭  /.test(r))).toHaveLength(FAULT_NAMES.length - 2);
    const starts = rows.map(cellStarts);
    for (const s of starts) expect(s).toEqual(starts[0]);
  });

  it('in English, as it always was', async () => {
    const r = await lab(['faults'], { LANG: 'en_US.UTF-8' });
    for (const name of FAULT_NAMES) expect(r.stdout).toMatch(new RegExp(`^  ${name} +off  \\S`, 'm'));
    expect(r.stdout).toContain('Switch one: npm run lab -- fault NAME on|off');
  });
});

describe('the operator socket answers in the language of whoever asks', () => {
  it('a fault switched from a Chinese terminal is told in Chinese, whatever the lab speaks', async () => {
    const up = (name: string): [string, RoleRecord] => [name, { name, status: 'up', since: new Date().toISOString(), restarts: 0 }];
    const records = new Map<string, RoleRecord>([up('edge-north'), up('slb')]);
    const roles: RoleControl = {
      status: () => [...records.values()],
      stop: async (name, reason) => {
        const r = { ...records.get(name)!, status: 'stopped' as const, reason };
        records.set(name, r);
        return r;
      },
      restart: async (name) => {
        const r = { ...records.get(name)!, status: 'up' as const, reason: undefined, restarts: records.get(name)!.restarts + 1 };
        records.set(name, r);
        return r;
      },
      crash: () => {},
    };
    const dir = tempDir();
    const faults = new FaultSwitches(roles, path.join(dir, 'certs'), () => {});
    const socket = path.join(dir, 'control.sock');
    const server = await startControl(socket, roles, faults);
    try {
      const on = await control(socket, { cmd: 'fault', name: 'edge-down', on: true, lang: 'zh' });
      expect(on).toMatchObject({ ok: true, faults: ['edge-down'] });
      const done = (on as { done: string }).done;
      expect(done).toContain(`edge-down 已开启：${faultBreaks('edge-down', 'zh')}`);
      expect(done).toContain('edge-north 已停止（stopped）');
      expect(done).toContain('怎么看：');
      const off = await control(socket, { cmd: 'fault', name: 'edge-down', on: false, lang: 'en' });
      expect((off as { done: string }).done).toMatch(/^edge-down is off: back as before\n {2}edge-north started again \(up\)$/);
      const wrong = await control(socket, { cmd: 'fault', name: 'edge-gone', on: true, lang: 'zh' });
      expect(wrong).toEqual({ ok: false, error: `没有叫 "edge-gone" 的故障；故障有：${FAULT_NAMES.join('、')}` });
      // Two faults that change the same thing: the second is refused, in the asker's words.
      expect(await control(socket, { cmd: 'fault', name: 'missing-intermediate', on: true, lang: 'zh' })).toMatchObject({ ok: true, faults: ['missing-intermediate'] });
      expect(await control(socket, { cmd: 'fault', name: 'wrong-san', on: true, lang: 'zh' })).toEqual({
        ok: false,
        error: 'wrong-san 和 missing-intermediate 改的都是负载均衡器（SLB）的证书：先关掉 missing-intermediate（npm run lab -- fault missing-intermediate off）',
      });
      expect(await control(socket, { cmd: 'fault', name: 'wrong-san', on: true, lang: 'en' })).toEqual({
        ok: false,
        error: 'wrong-san and missing-intermediate both change the SLB certificate: switch missing-intermediate off first (npm run lab -- fault missing-intermediate off)',
      });
      // A "lang" that is not a string names no language: the answer comes in the lab's own, and the socket keeps serving.
      const odd = await control(socket, { cmd: 'fault', name: 'edge-gone', on: true, lang: 5 as unknown as Lang });
      expect(odd).toEqual({ ok: false, error: `no fault "edge-gone"; the faults are: ${FAULT_NAMES.join(', ')}` });
      expect(await control(socket, { cmd: 'status' })).toMatchObject({ ok: true });
    } finally {
      await server.close();
    }
  });
});

describe('lab/lang.ts', () => {
  it('langOfLocale and parseLang read locales and flag values', () => {
    expect(langOfLocale('zh_CN.UTF-8')).toBe('zh');
    expect(langOfLocale('zh-Hant-TW')).toBe('zh');
    expect(langOfLocale('en_GB@euro')).toBe('en');
    expect(langOfLocale('C')).toBeUndefined();
    expect(langOfLocale(undefined)).toBeUndefined();
    for (const v of ['zh', 'ZH', 'zh-CN', 'zh_TW.UTF-8', 'chinese', 'Chinese', '中文']) expect(parseLang(v), v).toBe('zh');
    for (const v of ['en', 'EN', 'en_US', 'en-GB', 'english']) expect(parseLang(v), v).toBe('en');
    for (const v of ['fr', 'de_DE', '', undefined, 'zhx']) expect(parseLang(v), String(v)).toBeUndefined();
    // A control request's JSON may carry any type: it names no language, and does not throw.
    for (const v of [5, {}, null, ['zh'], true]) expect(parseLang(v), JSON.stringify(v)).toBeUndefined();
  });

  it('detectLang: LAB_LANG, then the first of LC_ALL, LC_MESSAGES, LANG that is set, then the OS, then English', () => {
    expect(detectLang({ LAB_LANG: 'zh', LC_ALL: 'en_US.UTF-8' }, 'en-US')).toBe('zh');
    expect(detectLang({ LAB_LANG: 'nonsense', LANG: 'zh_CN.UTF-8' }, undefined)).toBe('zh');
    expect(detectLang({ LANG: 'zh_CN.UTF-8' }, 'en-US')).toBe('zh');
    expect(detectLang({ LC_ALL: 'en_US.UTF-8', LANG: 'zh_CN.UTF-8' }, 'zh-CN')).toBe('en');
    expect(detectLang({ LC_MESSAGES: 'zh_TW.UTF-8', LANG: 'en_US.UTF-8' }, undefined)).toBe('zh');
    expect(detectLang({ LC_ALL: '', LANG: 'zh_CN.UTF-8' }, undefined)).toBe('zh'); // empty is unset
    // The first one set decides, even for a language the lab does not have: English, not the OS's.
    expect(detectLang({ LANG: 'fr_FR.UTF-8' }, 'zh-CN')).toBe('en');
    // C and POSIX say nothing: the OS decides.
    expect(detectLang({ LANG: 'C' }, 'zh-Hans-CN')).toBe('zh');
    expect(detectLang({ LC_ALL: 'C.UTF-8', LANG: 'zh_CN.UTF-8' }, 'en-US')).toBe('en');
    expect(detectLang({ LC_ALL: 'POSIX' }, 'zh-CN')).toBe('zh');
    expect(detectLang({}, 'zh-CN')).toBe('zh');
    expect(detectLang({}, undefined)).toBe('en');
  });

  it('takeLangFlag takes --lang X and --lang=X anywhere before --, and says what is wrong in both languages', () => {
    expect(takeLangFlag(['--lang', 'zh', 'up', '--quiet'])).toEqual({ rest: ['up', '--quiet'], lang: 'zh' });
    expect(takeLangFlag(['up', '--lang=en', '--quiet'])).toEqual({ rest: ['up', '--quiet'], lang: 'en' });
    expect(takeLangFlag(['--lang', 'zh', 'dig', '--lang', 'en'])).toEqual({ rest: ['dig'], lang: 'en' }); // the last wins
    expect(takeLangFlag(['status'])).toEqual({ rest: ['status'], lang: undefined });
    expect(takeLangFlag(['order', '--', '--lang', 'zh'])).toEqual({ rest: ['order', '--', '--lang', 'zh'], lang: undefined });
    for (const argv of [['--lang'], ['--lang', 'fr'], ['--lang=']]) {
      const { error, lang } = takeLangFlag(argv);
      expect(lang).toBeUndefined();
      expect(error).toMatch(/^--lang takes zh or en, not ".*" \/ --lang 只接受 zh 或 en/);
    }
  });
});

describe('the command-line catalogues', () => {
  const CJK = /[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]/;
  /** Leaves of a catalogue pair: [path, en, zh]. */
  function leaves(en: unknown, zh: unknown, at = ''): Array<[string, unknown, unknown]> {
    if (en && typeof en === 'object') return Object.keys(en).flatMap((k) => leaves((en as Record<string, unknown>)[k], (zh as Record<string, unknown>)[k], at ? `${at}.${k}` : k));
    return [[at, en, zh]];
  }
  // Lines with nothing to translate: a format of values alone, or a lookup.
  const WORDLESS = new Set(['certs.labelWidth', 'certs.numbered']);

  it('every Chinese line is Chinese (no English left behind), and every key is there', () => {
    const pairs = { cli: cliWords, args: argsWords, faults: faultWords, up: upWords, browser: browserWords, 'servers-cli': serversCliWords, certs: certsWords };
    for (const [name, words] of Object.entries(pairs)) {
      for (const [at, en, zh] of leaves(words('en'), words('zh'))) {
        const key = `${name}.${at}`;
        expect(typeof zh, key).toBe(typeof en);
        if (WORDLESS.has(key)) continue;
        const text = typeof zh === 'function' ? zh.toString() : String(zh);
        expect(text, key).toMatch(CJK);
      }
    }
  });

  it('every role the lab plans has a Chinese description for the up listing', () => {
    const names = [...planRoles({ addressing: 'per-role', ephemeral: true }).map((p) => p.name), 'edge-north-tls', 'edge-south-tls', 'slb-classic'];
    for (const name of names) expect(words('zh').roles.whatIs(name, 'ENGLISH'), name).not.toBe('ENGLISH');
  });
});
