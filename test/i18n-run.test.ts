// The walkthrough's own lines (around the story), the capture's, the `net` command's and the order
// client's, in both languages: the Chinese run prints Chinese with no English prose, and every
// path, command and value exactly as the English one does; the plan's tables line up by display
// width. Runs the walkthrough (Linux: one loopback address per role), so run it in a namespace.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { orderWords } from '../client/words/order.ts';
import { catalogues, type Lang } from '../lab/lang.ts';
import type { BuiltNetwork, NetDown, Teardown } from '../lab/net-ns/build.ts';
import { planNetwork, type NetPlan, type RoleName } from '../lab/net-ns/plan.ts';
import { netWords } from '../lab/net-ns/words/index.ts';
import { words } from '../lab/story/words/index.ts';
import { displayWidth } from '../lab/text-width.ts';
import { runWords } from '../lab/words/run.ts';
import { englishProse } from './i18n-text.ts';

const run = promisify(execFile);
const tsx = path.resolve('node_modules/.bin/tsx');
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

async function lab(args: string[]): Promise<{ stdout: string; stderr: string; code: number; dir: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-i18n-'));
  dirs.push(dir);
  try {
    const r = await run(tsx, ['lab/cli.ts', ...args], { env: { ...process.env, LAB_DIR: dir, NO_COLOR: '1' }, timeout: 60_000 });
    return { ...r, code: 0, dir };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code, dir };
  }
}

const hasChinese = (line: string) => /\p{Script=Han}/u.test(line);

/** Display column where `cell` starts in `line`. */
const columnOf = (line: string, cell: string) => displayWidth(line.slice(0, line.indexOf(cell)));

describe.skipIf(os.platform() !== 'linux')('npm run lab -- --lang zh: the lines around the story', () => {
  it('the first line, the end, the artifacts and the capture are Chinese; paths and commands are as in English', { timeout: 90_000 }, async () => {
    const zh = runWords('zh');
    const { stdout, code, dir } = await lab(['--lang', 'zh', '--ephemeral']);
    expect(code, stdout).toBe(0);
    const lines = stdout.split('\n');
    expect(lines[0]).toBe(zh.opening);
    const done = lines.findIndex((l) => /^三步全部完成，用时 \d+ ms。$/.test(l));
    expect(done, stdout).toBeGreaterThan(0);
    const end = lines.slice(done).filter((l) => l !== '');
    const at = (file: string) => path.join(dir, file);
    expect(end[1]).toBe(`生成的文件：${at('report.html')}（用浏览器打开），${at('trace.json')}，TLS 密钥日志（key log）${at('keylog.txt')}`);
    if (end[2]!.startsWith('抓包文件：')) {
      // tcpdump is here: the capture, its frames, and the command to read it, unchanged.
      expect(end[2]).toMatch(new RegExp(`^抓包文件：${at('capture.pcapng').replace(/[.]/g, '\\.')}（\\d+ 帧，一帧未丢；内含本次运行的 TLS 密钥）：用 Wireshark 打开，或者运行$`));
      expect(end[3]).toBe(`  tshark -r ${at('capture.pcapng')} -Y http`);
    } else {
      expect(end[2]).toBe(zh.capture.noTcpdump);
    }
    for (const line of [lines[0]!, ...end]) {
      expect(englishProse(line), line).toBeUndefined();
      if (!line.startsWith('  tshark')) expect(hasChinese(line), line).toBe(true);
    }
    // The run's record says which language it was told in.
    expect(JSON.parse(fs.readFileSync(at('trace.json'), 'utf8')).lang).toBe('zh');
  });

  it('without a capture, and a step that fails: the note and the failure are Chinese, the commands to try unchanged', { timeout: 90_000 }, async () => {
    const zh = runWords('zh');
    const { stdout, stderr, code } = await lab(['--lang', 'zh', '--ephemeral', '--no-capture', '--fault', 'expired-leaf']);
    expect(code, stdout + stderr).not.toBe(0);
    expect(stdout.trimEnd().split('\n').at(-1)).toBe(zh.capture.noCaptureFlag);
    // The walkthrough's failure, the order client's refusal and the chain walk's step, all in Chinese.
    const [failure, tryLine] = stderr.trimEnd().split('\n').slice(-2);
    expect(failure).toMatch(
      /^lab: 第 2 步（建立连接）在 slb 失败，当时正在连接 [\d.]+:\d+ 并发送订单：TLS 证书校验失败（CERT_HAS_EXPIRED），问题出在叶子证书 "CN=www\.geektime\.test"：已于 \d{4}-\d\d-\d\dT[\d:.]+Z 过期（\d+ 天前）。解决办法：重新签发它（在实验环境里：npm run lab -- certs --renew）。$/,
    );
    expect(englishProse(failure!.replace(/"[^"]*"/g, '')), failure).toBeUndefined();
    expect(tryLine).toBe(`  试试：${zh.tryThis.connect}`);
    expect(englishProse(tryLine!)).toBeUndefined();
  });

  it('a wrong option is refused in Chinese, before anything starts', async () => {
    const { stderr, code } = await lab(['--lang', 'zh', '--from', 'west']);
    expect(code).toBe(1);
    expect(stderr.trim()).toBe('lab: --from 只能是 north 或 south，而不是 "west"');
  });
});

describe('npm run lab -- --lang zh net plan (no privilege needed)', () => {
  it('prints the plan in Chinese, its columns lined up by display width', { timeout: 30_000 }, async () => {
    const { stdout, code } = await lab(['--lang', 'zh', 'net', 'plan']);
    expect(code, stdout).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    const hosts = lines.indexOf('主机：');
    const routes = lines.indexOf('路由器的路由（它们所在网络之外的）：');
    expect(hosts).toBeGreaterThan(0);
    expect(routes).toBeGreaterThan(hosts);
    // The hosts' table: every MAC and every delay starts in its header's column.
    const [header, ...rows] = lines.slice(hosts + 1, routes);
    expect(header).toMatch(/^ {2}主机 +命名空间 +接口 +地址\/前缀 +MAC +网关 +时延$/);
    for (const row of rows) {
      const mac = /02:0[01](?::[0-9a-f]{2}){4}/.exec(row)![0];
      expect(columnOf(row, mac), row).toBe(columnOf(header!, 'MAC'));
      const delay = / (\d+ ms)$/.exec(row)?.[1];
      if (delay) expect(columnOf(row, delay), row).toBe(columnOf(header!, '时延'));
      const port = /br-\w+ 的端口/.exec(row)?.[0];
      if (port) expect(columnOf(row, port), row).toBe(columnOf(header!, '地址/前缀'));
    }
    // The networks: the Chinese description after the gateway column starts in one column.
    const networks = lines.slice(lines.indexOf('网络：') + 1, hosts);
    const zh = netWords('zh');
    const starts = networks.map((line) => columnOf(line, Object.values(zh.networkWhat).find((what) => line.endsWith(what))!));
    expect(new Set(starts).size, networks.join('\n')).toBe(1);
    for (const line of lines) expect(englishProse(line), line).toBeUndefined();
  });
});

// ───────────────────────────── the words themselves, both languages ─────────────────────────────

const plan = planNetwork({ runId: '4711' });

function built(p: NetPlan, applied: boolean, l: Lang = 'en'): BuiltNetwork {
  return { plan: p, ms: { create: 10, config: 20, forwarding: 3, delays: 4, resolvers: 1, total: 38 }, delays: applied ? { applied: true } : { applied: false, reason: netWords(l).buildErrors.noNetem } } as BuiltNetwork;
}

describe('the namespace network in words (lab/net-ns/words)', () => {
  it('English and Chinese describe the same networks and roles as the plan', () => {
    for (const n of plan.networks) {
      // The English words and the plan's own description do not drift apart; every network has Chinese.
      expect(netWords('en').networkWhat[n.name as keyof ReturnType<typeof netWords>['networkWhat']]).toBe(n.what);
      expect(netWords('zh').networkWhat[n.name as keyof ReturnType<typeof netWords>['networkWhat']]).toBeDefined();
    }
    for (const h of plan.hosts) {
      const key = h.name as keyof ReturnType<typeof words>['roles']['hostWhat'];
      expect(words('en').roles.hostWhat[key]).toBe(h.what);
      expect(hasChinese(words('zh').roles.hostWhat[key]), h.name).toBe(true);
    }
    for (const role of [...(Object.keys(plan.roles) as RoleName[]), 'slb-classic' as const]) {
      expect(hasChinese(words('zh').roles.roleWhat[role]), role).toBe(true);
    }
  });

  for (const l of ['en', 'zh'] as Lang[]) {
    it(`${l}: the plan's tables line up by display width, and hold the plan's values unchanged`, () => {
      const w = netWords(l);
      const [header, ...rows] = w.planTable(plan);
      const macColumn = columnOf(header!, 'MAC');
      let row = 0;
      for (const h of plan.hosts) {
        for (const i of h.interfaces) {
          const line = rows[row++]!;
          expect(columnOf(line, i.mac), line).toBe(macColumn);
          if (i.address) expect(line).toContain(`${i.address}/${i.prefix}`);
        }
      }
      expect(row).toBe(rows.length);
      const networks = w.networkLines(plan);
      const whatColumn = new Set(networks.map((line, k) => columnOf(line, (w.networkWhat as Record<string, string>)[plan.networks[k]!.name]!)));
      expect(whatColumn.size).toBe(1);
      plan.networks.forEach((n, k) => expect(networks[k]).toMatch(new RegExp(`^${n.name} +${n.cidr.replace(/\./g, '\\.')} +${n.rfc} `)));
    });
  }

  it('zh: what was built, how to use it, and what was removed: Chinese, with the commands exactly as in English', () => {
    const en = netWords('en');
    const zh = netWords('zh');
    const moved = { ...plan, moved: [{ block: 'dns' as const, from: '192.0.2.0/24', to: '198.19.0.0/24', because: zh.claims.address('192.0.2.2/24', 'eth0') }] };
    const teardown: Teardown = { prefix: 'bol-4711-', namespaces: ['a', 'b'], dirs: ['a'], killed: [99], ms: 12 };
    const down: NetDown = { removed: [teardown], running: [{ prefix: 'bol-4712-', pid: 4712 }] };
    const lines = [
      ...zh.movedLines(moved),
      ...zh.builtLines(built(plan, true)),
      ...zh.builtLines(built(plan, false, 'zh')),
      ...zh.howToLines(plan),
      zh.teardownLine(teardown),
      ...zh.netDownLines(down),
      ...zh.netDownLines({ removed: [], running: [] }),
      zh.cannotBuildLine(zh.cannotBuild.lacks(['CAP_NET_ADMIN', 'CAP_SYS_ADMIN']), 'net up'),
      zh.buildErrors.commandFailed('ip -n bol-4711-core -batch -', 'link add to-root type veth', 'RTNETLINK answers: File exists'),
      zh.buildErrors.commandFailed('tc -batch -', undefined, ''),
      ...zh.cli.usage.split('\n').filter((x) => x.trim() !== ''),
    ];
    for (const line of lines) {
      expect(englishProse(line), line).toBeUndefined();
      if (!/^ {2}(?:ip|up|down|plan) /.test(line)) expect(hasChinese(line), line).toBe(true);
    }
    expect(lines[0]).toBe('dns 地址块从 192.0.2.0/24 移到了 198.19.0.0/24：这台机器已经在用 eth0 上的 192.0.2.2/24。');
    // The commands of "how to use it", up to their comments, are the English ones.
    const commands = (ls: string[]) => ls.filter((x) => x.startsWith('  ip ')).map((x) => x.slice(0, x.indexOf('#')));
    expect(commands(zh.howToLines(plan))).toEqual(commands(en.howToLines(plan)));
    expect(commands(zh.howToLines(plan))).toHaveLength(5);
    expect(zh.cannotBuildLine('x', 'net up')).toContain('sudo npm run lab -- net up');
    // The usage's options column lines up by display width.
    const usage = zh.cli.usage.split('\n').filter((x) => /^ {2}(up|down|plan) /.test(x));
    expect(new Set(usage.map((x) => columnOf(x, '['))) .size).toBe(1);
  });

  it('en: the words are as before (the English the tests and the README quote)', () => {
    const en = netWords('en');
    expect(en.teardownLine({ prefix: 'bol-4711-', namespaces: ['a'], dirs: ['a'], killed: [], ms: 5 })).toBe('Removed 1 namespaces and 1 resolver directories (bol-4711-*) in 5 ms.');
    expect(en.builtLines(built(plan, true))[0]).toBe(
      'Built 19 namespaces (15 hosts, 4 routers), 18 cables and 3 switches in 38 ms (namespaces and cables 10, addresses and routes 20, forwarding 3, delays 4, resolvers 1).',
    );
    expect(en.planTable(plan)[0]).toBe('host         namespace             interface       address/prefix     MAC                gateway         delay');
  });
});

describe('the catalogues of this part: every sentence has its Chinese', () => {
  it('run, net-ns and order are declared, and no Chinese string is an English copy', () => {
    void orderWords; // imported: declared
    const mine = catalogues().filter((c) => ['run', 'net-ns', 'order'].includes(c.name));
    expect(mine.map((c) => c.name).sort()).toEqual(['net-ns', 'order', 'run']);
    // Strings with no Chinese in them on purpose: a command, a protocol's or a role's name.
    const same = new Set(['npm run lab -- dig www.geektime.test', 'TLS 1.3', 'SLB']);
    const walk = (en: unknown, zh: unknown, where: string) => {
      if (typeof en === 'string') {
        if (same.has(zh as string)) return;
        expect(zh, where).not.toBe(en);
        expect(hasChinese(zh as string), where).toBe(true);
      } else if (en && typeof en === 'object') {
        for (const key of Object.keys(en)) walk((en as Record<string, unknown>)[key], (zh as Record<string, unknown>)[key], `${where}.${key}`);
      }
    };
    for (const c of mine) walk(c.en, c.zh, c.name);
  });

  it('the functions say the same values in both languages', () => {
    for (const l of ['en', 'zh'] as Lang[]) {
      const w = runWords(l);
      expect(w.allDone(1234)).toContain('1234 ms');
      expect(w.captureFile('.lab/capture.pcapng', 95, 0)).toContain('.lab/capture.pcapng');
      expect(w.capture.lost(25707, '.lab/capture.pcapng')).toMatch(/25707.*\.lab\/capture\.pcapng/);
      expect(w.stepFailed(2, w.stepTitles[2], 'slb', w.doing.connecting('127.0.0.80', 4433), 'x', w.tryThis.order)).toContain('127.0.0.80:4433');
      expect(orderWords(l).refused('127.0.0.80:443')).toContain('npm run lab -- up');
    }
    expect(runWords('zh').captureFile('c.pcapng', 3, undefined)).toContain('丢帧数不明');
    expect(runWords('en').captureFile('c.pcapng', 3, undefined)).toContain('unknown number lost');
  });
});
