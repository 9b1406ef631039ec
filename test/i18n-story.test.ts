// The story in both languages: real runs' traces (TLS 1.2 with a capture, TLS 1.3 without, and the
// routed network of ns mode when root), every event rendered by the terminal and the summary in
// English and in Chinese; and step 3's layer walk on fixed machines, so every kind of note is said
// (a LAN with its gateway, no gateway, no LAN, a real wire, macOS). For each:
//   - the Chinese holds no English prose (three lowercase English words in a row, outside quotes,
//     commands and the values the event itself carries);
//   - the English holds no Chinese (outside the values the event carries: the order's own body);
//   - every value of the English lines (addresses, ports, hex, MACs, numbers, frame numbers) is in
//     the Chinese lines, unchanged.
// Strings the event carries are left out of the prose checks: they are facts made elsewhere (a role's
// description, why there is no capture), worded where they are made.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { describeLayers, parseIpRouteGet, type LayerNote, type LayersFacts, type SystemNet } from '../lab/layers.ts';
import type { Lang } from '../lab/lang.ts';
import type { StoryEvent } from '../lab/story/events.ts';
import { renderSummary } from '../lab/story/render/summary.ts';
import { renderTerminal } from '../lab/story/render/terminal.ts';
import { words } from '../lab/story/words/index.ts';
import { displayWidth } from '../lab/text-width.ts';
import { englishProse } from './i18n-text.ts';

const run = promisify(execFile);
const tsx = path.resolve('node_modules/.bin/tsx');
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

const CJK = /[\u2e80-\u9fff\uf900-\ufaff\uff01-\uff60]/;

/** The facts' own keys (a field's name, a note's kind, a value's source): words, not values, so never left out. */
const KEYS = new Set<string>([...Object.keys(words('en').layers.FIELD_NAMES), ...Object.keys(words('en').layers.WIRE_FIELD_NAMES), 'connection', 'system', 'computed', 'not observed', 'on a LAN']);

/** Every string in an event's facts, longest first (so a long one is taken out before a part of it). */
function stringsOf(value: unknown, into: Set<string> = new Set(), key = ''): Set<string> {
  if (key === 'say' || key === 'kind' || (typeof value === 'string' && KEYS.has(value))) return into;
  if (typeof value === 'string') {
    if (value.length >= 2) into.add(value);
    // A multi-line fact (the request) is shown line by line.
    if (value.includes('\n')) for (const line of value.split(/\r?\n/)) if (line.length >= 2) into.add(line);
  } else if (Array.isArray(value)) for (const v of value) stringsOf(v, into);
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) stringsOf(v, into, k);
  return into;
}

const factsOf = (value: unknown) => [...stringsOf(value)].sort((a, b) => b.length - a.length);

function without(line: string, facts: readonly string[]): string {
  let rest = line;
  for (const f of facts) rest = rest.split(f).join(' ');
  return rest;
}

/** The values in a line: addresses (with a port or prefix), MACs, hex, numbers. */
function valuesOf(text: string): Set<string> {
  return new Set(text.match(/\d+(?:\.\d+){3}(?::\d+|\/\d+)?|(?:[0-9a-f]{2}:){5}[0-9a-f]{2}|0x[0-9a-f]+|\b[0-9a-f]{8,}\b|\d+(?:\.\d+)?/gi) ?? []);
}

/** An event in one language: its terminal lines and its summary. */
function rendered(e: StoryEvent, l: Lang): string[] {
  return [...renderTerminal(e, l), renderSummary(e, l)];
}

function expectBothLanguages(label: string, en: string[], zh: string[], facts: readonly string[]): void {
  // Soft: a failing run lists every line that is wrong, not only the first.
  for (const line of zh) expect.soft(englishProse(line, facts), `${label}, zh: ${line}`).toBeUndefined();
  for (const line of en) expect.soft(without(line, facts), `${label}, en: ${line}`).not.toMatch(CJK);
  const zhText = zh.join('\n');
  for (const value of valuesOf(en.join('\n'))) expect.soft(zhText.includes(value), `${label}: ${value} of the English is not in the Chinese:\n${zhText}`).toBe(true);
  expect.soft(zh.length, label).toBeGreaterThan(0);
}

interface Trace {
  events: StoryEvent[];
}

async function runLab(args: string[]): Promise<Trace> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-i18n-story-'));
  dirs.push(dir);
  await run(tsx, ['lab/cli.ts', ...args], { env: { ...process.env, LAB_DIR: dir, NO_COLOR: '1' }, timeout: 200_000 });
  return JSON.parse(fs.readFileSync(path.join(dir, 'trace.json'), 'utf8')) as Trace;
}

const isRoot = process.getuid?.() === 0;
const RUNS = [
  { name: 'TLS 1.2 on loopback, with a capture', args: ['--ephemeral', '--mode', 'classic'], can: true },
  { name: 'TLS 1.3 on loopback, no capture', args: ['--ephemeral', '--mode', 'modern', '--no-capture'], can: true },
  { name: 'a routed network (ns mode), TLS 1.2, both links captured', args: ['--net', 'ns', '--mode', 'classic', '--capture', 'all'], can: isRoot },
];

describe.skipIf(os.platform() !== 'linux')('a real run, every event in English and in Chinese', () => {
  for (const r of RUNS) {
    it.skipIf(!r.can)(r.name, { timeout: 240_000 }, async () => {
      const { events } = await runLab(r.args);
      const kinds = new Set<string>();
      for (const e of events) {
        const en = rendered(e, 'en');
        const zh = rendered(e, 'zh');
        kinds.add(e.kind);
        const facts = factsOf(e.data);
        expectBothLanguages(`${e.kind} (step ${e.step})`, en, zh, facts);
      }
      // The run told the whole story: the kinds every run has, and step 3's layers.
      for (const kind of ['step', 'lab-up', 'dns-query', 'dns-walk-answer', 'cache-path', 'slb-accept', 'tls', 'tls-session', 'socket-states', 'http-request', 'order-answer', 'layers', 'slb-forward']) {
        expect(kinds, kind).toContain(kind);
      }
      if (r.args.includes('ns')) expect(kinds).toContain('ip-path');
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Step 3's walk on fixed machines: every kind of note, in both languages.

const ROUTE = `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0
wlan0\t0001A8C0\t00000000\t0001\t0\t0\t600\t00FFFFFF\t0\t0\t0
`;
const ARP = `IP address       HW type     Flags       HW address            Mask     Device
192.168.1.1      0x1         0x2         a4:2b:b0:12:34:56     *        wlan0
`;
const interfaces = (): SystemNet['interfaces'] => ({
  lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' }],
  wlan0: [{ address: '192.168.1.10', netmask: '255.255.255.0', family: 'IPv4', mac: 'f0:de:f1:aa:bb:cc', internal: false, cidr: '192.168.1.10/24' }],
});
function machine(over: Partial<SystemNet> = {}): SystemNet {
  return {
    platform: 'linux',
    interfaces: interfaces(),
    links: { lo: { flags: 0x9, type: 772, mtu: 65536, virtual: true }, wlan0: { flags: 0x1003, type: 1, mtu: 1500, virtual: false } },
    ephemeralRange: [32768, 60999],
    defaultTtl: 64,
    tcpOptions: { timestamps: true, sack: true, windowScaling: true },
    routeText: ROUTE,
    arpText: ARP,
    routeGet: (dst, src) =>
      dst.startsWith('127.')
        ? { command: `ip route get ${dst} from ${src}`, ...parseIpRouteGet(`local ${dst} from ${src} dev lo uid 1000`) }
        : { command: `ip route get ${dst}`, ...parseIpRouteGet(`${dst} via 192.168.1.1 dev wlan0 src 192.168.1.10 uid 1000`) },
    ...over,
  };
}
const REQUEST = 'POST /purchaseOrder HTTP/1.1\r\nhost: www.geektime.test:8443\r\ncontent-length: 2\r\n\r\n{}';
const LAB = { local: { address: '127.10.1.10', port: 40015 }, remote: { address: '127.0.0.80', port: 8443 }, requestText: REQUEST, tls: { protocol: 'TLSv1.2', cipher: 'AES128-GCM-SHA256' } };

const WALKS: Array<{ name: string; facts: () => LayersFacts }> = [
  { name: 'loopback, a Wi-Fi LAN with its gateway in the ARP cache', facts: () => describeLayers(LAB, machine()) },
  { name: 'loopback, the gateway not in the ARP cache', facts: () => describeLayers(LAB, machine({ arpText: '' })) },
  { name: 'loopback, no default route', facts: () => describeLayers(LAB, machine({ routeText: ROUTE.split('\n').filter((l) => !l.includes('\t00000000\t0')).join('\n') })) },
  { name: 'loopback, no LAN at all', facts: () => describeLayers(LAB, machine({ interfaces: { lo: interfaces().lo } })) },
  { name: 'loopback, a LAN that is not Ethernet', facts: () => describeLayers(LAB, machine({ links: { ...machine().links, wlan0: { type: 65534 } } })) },
  {
    name: 'TLS 1.3 with the recorded write, and a route with its own MTU',
    facts: () => describeLayers({ ...LAB, tls: { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' }, requestWrite: { bytes: 413, records: [{ type: 'Finished', encrypted: true, bytes: 74 }, { type: 'application_data', encrypted: false, bytes: 339 }] } },
      machine({ routeGet: (dst, src) => ({ command: `ip route get ${dst} from ${src}`, ...parseIpRouteGet(`local ${dst} from ${src} dev lo uid 1000 mtu 1400`) }) })),
  },
  { name: 'over wlan0 to the gateway itself', facts: () => describeLayers({ local: { address: '192.168.1.10', port: 40015 }, remote: { address: '192.168.1.1', port: 8443 }, requestBytes: 300 }, machine({ routeGet: (dst) => ({ command: `ip route get ${dst}`, ...parseIpRouteGet(`${dst} dev wlan0 src 192.168.1.10 uid 1000`) }) })) },
  { name: 'over wlan0 past the gateway, no ARP cache', facts: () => describeLayers({ local: { address: '192.168.1.10', port: 40015 }, remote: { address: '10.0.0.1', port: 8443 } }, machine({ arpText: undefined })) },
  { name: 'a source no interface has', facts: () => describeLayers({ local: { address: '10.9.9.9', port: 40015 }, remote: { address: '10.0.0.1', port: 8443 }, requestBytes: 10 }, machine()) },
  {
    name: 'macOS: no /proc, no ip',
    facts: () => describeLayers(LAB, machine({
      platform: 'darwin', interfaces: { lo0: interfaces().lo!, en0: interfaces().wlan0! }, links: {}, ephemeralRange: undefined, defaultTtl: undefined, tcpOptions: undefined,
      routeText: undefined, arpText: undefined, routeGet: (dst) => ({ command: `ip route get ${dst}`, unavailable: { kind: 'not on this platform', platform: 'darwin' } }),
    })),
  },
  { name: 'an IPv6 connection', facts: () => describeLayers({ local: { address: '::1', port: 40015 }, remote: { address: '::1', port: 8443 } }, machine()) },
];

describe("step 3's layer walk in both languages", () => {
  it.each(WALKS)('$name', ({ facts }) => {
    const f = facts();
    const en = [...words('en').layers.walkLines(f), ...words('en').layers.fieldSourceLines(f.layers)];
    const zh = [...words('zh').layers.walkLines(f), ...words('zh').layers.fieldSourceLines(f.layers)];
    // The facts' own strings are the system's text: the kernel's route, a command's error.
    expectBothLanguages('walk', en, zh, factsOf(f));
  });

  it("the Chinese walk speaks the seed's words: 子网掩码, 同一网段, 默认网关, 下一跳, and the frame as 帧 N", () => {
    const zh = words('zh').layers.walkLines(describeLayers(LAB, machine())).join('\n');
    for (const term of ['子网掩码 /8', '同一网段 127.0.0.0/8', '默认网关', '下一跳', '源地址', '目标地址']) expect(zh).toContain(term);
    const titles = ([0, 1, 2, 3] as const).map((step) => words('zh').story.stepTitle(step, { addressing: 'per-role', region: 'north', mode: 'classic' }));
    expect(titles).toEqual(['实验环境已启动（每个角色一个环回地址）', '第 1 步 — 通过 CDN 看图片（原文第 4 节），手机在北区（north）', '第 2 步 — 建立连接（原文第 5 节），原文里的 TLS 1.2，RSA 密钥交换', '第 3 步 — 下单（原文第 6 节）']);
    expect(words('zh').story.frameNote([12, 13])).toBe('，帧 12, 13');
    expect(words('en').story.frameNote([12, 13])).toBe(', frames 12, 13');
  });

  it('every kind of note is said by some walk above', () => {
    const said = new Set<LayerNote['say']>(WALKS.flatMap((w) => w.facts().layers.flatMap((l) => l.notes.map((n) => n.say))));
    const all: Record<LayerNote['say'], true> = {
      request: true, 'request bytes': true, 'inside TLS': true, 'into the socket': true, 'source port': true, 'destination port': true, 'sequence numbers': true,
      'tcp header': true, 'tcp header unknown': true, mss: true, 'ip header': true, ttl: true, 'total length': true, 'source interface': true, 'same subnet?': true,
      'no interface': true, 'kernel route': true, 'local delivery': true, 'main table': true, 'next hop': true, 'no arp on loopback': true, 'arp for next hop': true,
      'arp on a lan': true, 'arp on a lan, no gateway': true, 'no lan': true, 'ethernet on loopback': true, 'ethernet on the wire': true, 'ethernet on a lan': true,
    };
    expect([...said].sort()).toEqual(Object.keys(all).sort());
  });

  it('the columns line up by display width: the value list (路由 or Ethernet), the lab-up listing (a Chinese description)', () => {
    const f = describeLayers(LAB, machine());
    /** The column where a line's second field starts: after the first cell and the spaces that pad it. */
    const secondColumn = (line: string) => displayWidth(line.slice(0, line.search(/(?<=\S)\s+\S/) + (/(?<=\S)\s+/.exec(line)?.[0].length ?? 0)));
    for (const l of ['en', 'zh'] as const) {
      const lines = words(l).layers.fieldSourceLines(f.layers);
      expect(lines.some((x) => x.startsWith(l === 'zh' ? '路由' : 'Routing'))).toBe(true);
      expect(new Set(lines.map(secondColumn)), lines.join('\n')).toEqual(new Set([10]));
    }
    const roles = [
      { name: 'root', protocol: 'dns', host: '127.0.0.10', port: 53, what: '根域名服务器' },
      { name: 'edge-north-tls', protocol: 'https', host: '127.0.0.21', port: 443, what: 'the same edge over HTTPS' },
      { name: 'gslb', protocol: 'dns', host: '127.0.0.14', port: 53, what: '全局负载均衡器（GSLB）' },
    ];
    const up = { addressing: 'per-role' as const, roles, notes: [], certs: { made: [], dir: 'certs' }, phone: '127.10.1.10', region: 'north' };
    for (const l of ['en', 'zh'] as const) {
      const listing = words(l).story.labUpLines(up).slice(0, roles.length);
      // Each role's description is the roles catalogue's, in the listing's language.
      const what = (i: number) => words(l).roles.whatIs(roles[i]!.name, roles[i]!.what);
      const third = listing.map((line, i) => displayWidth(line.slice(0, line.indexOf(what(i)))));
      expect(new Set(third), listing.join('\n')).toEqual(new Set([third[0]]));
      expect(third[0]).toBe('edge-north-tls'.length + 1 + 26 + 1); // the widest name, then the address column (at least 26 wide)
    }
  });
});
