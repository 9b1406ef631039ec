// The DNS and CDN words in both languages: the local DNS's walk, `lab dig`'s and `lab fetch`'s
// output, the GSLB's reasoning and the cache path, rendered from hand-built facts that reach every
// branch. Chinese must be Chinese (the seed's terms, no English prose left over) and carry every
// value the English carries, unchanged. Then the real commands, against a lab started for the test.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { fetchCommand } from '../client/cdn-client.ts';
import { digCommand, type DigReport } from '../client/dig.ts';
import { badOptionOf } from '../client/command-line.ts';
import { digFetchWords, type FetchSummary } from '../client/words/dig-fetch.ts';
import { catalogues, setLang, type Lang } from '../lab/lang.ts';
import { words } from '../lab/story/words/index.ts';
import type { GslbDecision } from '../servers/dns/gslb.ts';
import type { Resolution, WalkLimit, WalkNote, WalkOutcome, WalkStep } from '../servers/dns/resolver.ts';
import { parseCacheStatus } from '../servers/net/cache-status.ts';
import { IS_LINUX, TEST_TIMEOUT_MS, cleanup, labCli, show, startUp } from './lab-process.ts';
import { englishProse as anyEnglishProse } from './i18n-text.ts';

// ─────────────────────────── what counts as English prose in a Chinese line ───────────────────────────

/** Terms that stay in English in Chinese text: protocol names, header values, dig's flags. */
/** The one detector (test/i18n-text.ts), with this part's terms that stay English. */
const englishProse = (line: string) => anyEnglishProse(line, KEPT_TERMS);
const KEPT_TERMS = [/EDNS Client Subnet/g, /Not Modified/g, /\b(?:qr|aa|tc|rd|ra)(?: (?:qr|aa|tc|rd|ra))+\b/g];

const CJK = /[\u3400-\u9fff]/;
/** Chinese, or Chinese punctuation: a dig-like line ("→ NOERROR AA：a CNAME b，TTL 600") is Chinese by its punctuation. */
const CHINESE = /[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]/;
/** A record as dig prints it: values only, the same in every language. */
const RECORD_LINE = /^\s*\S+\.\s+\d+\s+IN\s+[A-Z]+\s+\S+/;

/** Addresses (with prefix or port), DNS names, numbers: what must come through a translation unchanged. */
function values(lines: readonly string[]): string[] {
  const text = lines.join('\n');
  const found = [
    ...text.matchAll(/\d+(?:\.\d+){3}(?:\/\d+)?(?::\d+)?/g),
    ...text.matchAll(/\b[a-z0-9-]+(?:\.[a-z0-9-]+)+\.?/gi),
    ...text.matchAll(/(?<![\w.])-?\d+(?![\w.])/g),
  ].map((m) => m[0]);
  return [...new Set(found)].filter((v) => v !== 'e.g.'); // "e.g." is English, not a name
}

/** Render in both languages and hold the Chinese to the English: same values, Chinese prose, no English prose. */
function both(render: (l: Lang) => string[]): { en: string[]; zh: string[] } {
  const en = render('en');
  const zh = render('zh');
  for (const line of zh) {
    expect(englishProse(line), `English prose in: ${line}`).toBeUndefined();
    if (!CHINESE.test(line)) expect(line, 'a Chinese line without Chinese must be a dig record line').toMatch(RECORD_LINE);
  }
  const zhText = zh.join('\n');
  for (const value of values(en)) expect(zhText, `the value ${value} is missing from:\n${zhText}`).toContain(value);
  return { en, zh };
}

// ─────────────────────────── hand-built facts ───────────────────────────

const ROOT = { name: 'a.root-servers.test', address: '127.0.0.10', port: 53 };
const TLD = { name: 'ns.nic.test', address: '127.0.0.11', port: 53 };
const SHOP = { name: 'ns1.geektime.test', address: '127.0.0.12', port: 53 };
const CDN = { name: 'ns1.cdn.test', address: '127.0.0.13', port: 53 };
const GSLB = { name: 'ns1.gslb.cdn.test', address: '127.0.0.14', port: 53 };
const Q = { name: 'static.geektime.test', type: 'A' };

let nextId = 4000;
function step(server: WalkStep['server'], outcome: WalkOutcome, more: Partial<WalkStep> = {}): WalkStep {
  const id = nextId++;
  return { server, question: Q, transport: 'udp', truncatedOverUdp: false, id, sourcePort: 40_000 + (id % 1000), ms: 2, rcode: 'NOERROR', aa: false, outcome, records: [], ...more };
}

const NOTES: WalkNote[] = [
  { kind: 'looking-up-server', server: 'ns1.geektime.test', zone: 'sub.evil.test' },
  { kind: 'outside-zone', records: [{ name: 'www.geektime.test', type: 'A' }, { name: 'shop.test', type: 'NS' }], zone: 'evil.test' },
  { kind: 'not-a-server', name: 'www.geektime.test', address: '127.0.0.66', zone: 'sub.evil.test' },
  { kind: 'out-of-bailiwick', name: 'ns1.geektime.test', address: '127.0.0.67', zone: 'sub.evil.test' },
];
const LIMITS: WalkLimit[] = [
  { kind: 'max-resolutions', max: 1000 },
  { kind: 'max-queries', max: 40 },
  { kind: 'nxns', lookedUp: 3, total: 30, zone: 'attacker.test', max: 3, per: 'referral' },
  { kind: 'nxns', lookedUp: 2, total: 9, zone: '', max: 6, per: 'question' },
];

/** The seed's walk, then every other kind of reply a server can give. */
const WALK: WalkStep[] = [
  step(ROOT, { kind: 'referral', zone: 'test', servers: [{ name: 'ns.nic.test', address: '127.0.0.11' }], ttl: 172800 }),
  step(TLD, { kind: 'referral', zone: 'geektime.test', servers: [{ name: 'ns1.geektime.test', address: '127.0.0.12' }, { name: 'ns2.geektime.test' }], ttl: 172800 }),
  step(SHOP, { kind: 'cname', chain: [{ name: 'static.geektime.test', target: 'geektime.cdn.test', ttl: 600 }] }, { aa: true }),
  step(CDN, { kind: 'cname', chain: [{ name: 'geektime.cdn.test', target: 'geektime.gslb.cdn.test', ttl: 600 }] }, { aa: true, transport: 'tcp', truncatedOverUdp: true }),
  step(GSLB, { kind: 'answer', name: 'geektime.gslb.cdn.test', type: 'A', values: ['127.0.0.21', '127.0.0.23'], ttl: 30 }, { aa: true, ecs: '127.10.1.0/24', ecsScope: 24 }),
  step(SHOP, { kind: 'nxdomain', chain: [{ name: 'pic.geektime.test', target: 'nope.geektime.test', ttl: 300 }], name: 'nope.geektime.test', type: 'A', soa: { zone: 'geektime.test', negativeTtl: 300 } }, { rcode: 'NXDOMAIN', aa: true }),
  step(SHOP, { kind: 'nodata', chain: [], name: 'www.geektime.test', type: 'AAAA', soa: { zone: '', negativeTtl: 86400 } }, { aa: true }),
  step(SHOP, { kind: 'nodata', chain: [], name: 'www.geektime.test', type: 'MX' }, { aa: true }),
  step(SHOP, { kind: 'lame', because: 'answer-not-asked' }, { note: [NOTES[1]!] }),
  step(SHOP, { kind: 'lame', because: 'referral-not-closer', zone: 'evil.test', referredTo: 'test' }, { note: NOTES }),
  step(SHOP, { kind: 'lame', because: 'no-answer-no-referral' }),
  step(SHOP, { kind: 'error', because: 'rcode', rcode: 'REFUSED' }, { rcode: 'REFUSED' }),
  step(SHOP, { kind: 'error', because: 'network', message: 'connect ECONNREFUSED 127.0.0.12:53' }, { rcode: 'NETWORK-ERROR' }),
  step(SHOP, { kind: 'timeout', afterMs: 1500 }, { rcode: 'TIMEOUT' }),
];

const RESOLUTION: Resolution = {
  name: Q.name,
  type: Q.type,
  client: '127.10.1.10',
  clientSubnet: '127.10.1.0/24',
  rcode: 'NOERROR',
  answers: [],
  fromCache: false,
  walk: WALK,
  limits: LIMITS,
  ms: 27,
};

const DECISION: GslbDecision = {
  client: '127.10.1.0/24',
  source: 'ecs',
  region: 'north',
  regionBy: { kind: 'subnet', subnet: '127.10.1.0/24' },
  candidates: [
    { name: 'edge-north', address: '127.0.0.21', healthy: true, reason: '200 in 3 ms' },
    { name: 'edge-south', address: '127.0.0.22', healthy: false, reason: 'connect ECONNREFUSED' },
    { name: 'edge-west', address: '127.0.0.23', healthy: 'unknown', reason: '' },
  ],
  chosen: { name: 'edge-north', address: '127.0.0.21' },
  choice: { kind: 'nearest-healthy' },
  scopePrefixLength: 24,
};

/** One decision for every way of placing a client and choosing an edge. */
const DECISIONS: GslbDecision[] = [
  DECISION,
  { ...DECISION, source: 'source-address', client: '127.0.0.1', regionBy: { kind: 'default', because: 'no-subnet-matches' }, choice: { kind: 'nearest-not-checked-yet' } },
  { ...DECISION, client: '2001:db8::/56', regionBy: { kind: 'default', because: 'ipv6-subnet' }, choice: { kind: 'failover', down: ['edge-south'] } },
  { ...DECISION, ecsUnused: { ip: '0.0.0.0', sourcePrefixLength: 0 }, source: 'source-address', client: '127.10.2.10', region: 'south', choice: { kind: 'failover', down: ['edge-south', 'edge-west'] } },
  { ...DECISION, region: 'south', choice: { kind: 'all-down' } },
];

const DIG: DigReport = {
  question: Q,
  localAddress: '127.10.1.10',
  resolver: { host: '127.0.0.53', port: 53 },
  sourcePort: 51234,
  id: 777,
  transport: 'udp',
  resolution: RESOLUTION,
  rcode: 'NOERROR',
  flags: ['qr', 'rd', 'ra'],
  ms: 31,
  answers: [
    { name: 'static.geektime.test', type: 'CNAME', ttl: 600, data: 'geektime.cdn.test' },
    { name: 'geektime.cdn.test', type: 'CNAME', ttl: 600, data: 'geektime.gslb.cdn.test' },
    { name: 'geektime.gslb.cdn.test', type: 'A', ttl: 30, data: '127.0.0.21' },
  ],
  gslbTxt: ['client 127.10.1.0/24 (ECS) -> region north (127.10.1.0/24 is inside north\'s 127.10.1.0/24) -> candidates edge-north healthy -> edge-north 127.0.0.21 (edge-north is the nearest healthy edge for north)'],
};

const CACHE_STATUS = [
  'parent; fwd=uri-miss; stored, edge-north; fwd=uri-miss; stored',
  'edge-north; hit; ttl=299',
  'edge-north; hit; ttl=299; collapsed',
  'edge-south; hit; ttl=-3; detail="stale-if-error"',
  'edge-south; hit; ttl=-7',
  'edge-north; hit',
  'parent; fwd=stale; fwd-status=304; stored; collapsed, edge-north; fwd=request; detail=private',
  'edge-north; fwd=bypass',
  'edge-north; fwd=vary-miss; stored',
  'edge-north',
].map((h) => parseCacheStatus(h));

const FETCH: FetchSummary = {
  host: 'static.geektime.test',
  chain: ['geektime.cdn.test', 'geektime.gslb.cdn.test', '127.0.0.21'],
  localDns: { host: '127.0.0.53', port: 53 },
  method: 'GET',
  url: 'http://static.geektime.test/images/phone.png',
  local: { address: '127.10.1.10', port: 40100 },
  edge: 'edge-north',
  remote: { address: '127.0.0.21', port: 80 },
  status: 200,
  bytes: 48213,
  ms: 12,
};

// ─────────────────────────── the renders ───────────────────────────

describe('the local DNS walk in both languages', () => {
  it('every kind of reply, note and limit: Chinese, with the same values', () => {
    const { en, zh } = both((l) => words(l).dns.walkLines(RESOLUTION));
    expect(zh).toHaveLength(en.length);
    expect(en[0]).toBe('The local DNS walked the tree for 127.10.1.10 (client subnet 127.10.1.0/24) in 27 ms:');
    expect(zh[0]).toBe('本地 DNS 为 127.10.1.10（客户端子网 127.10.1.0/24）从根开始逐级查询，用时 27 ms：');
    expect(zh[1]).toBe(` 1. 向 a.root-servers.test（127.0.0.10:53）查询 A static.geektime.test  [udp，id ${WALK[0]!.id}，源端口 ${WALK[0]!.sourcePort}，2 ms]`);
    expect(zh[2]).toBe('    → NOERROR：转介到 test.（ns.nic.test 127.0.0.11），TTL 172800');
    expect(zh).toContain('    → NOERROR AA：geektime.gslb.cdn.test A 127.0.0.21, 127.0.0.23，TTL 30；ECS 127.10.1.0/24，scope /24');
    expect(zh.filter((l) => l.startsWith('    注：'))).toHaveLength(2);
    expect(zh.filter((l) => l.startsWith('    限制：'))).toHaveLength(LIMITS.length);
    // The seed's roles by the seed's names; a lame server is "not the zone's 权威 DNS".
    expect(zh.join('\n')).toContain('权威 DNS');
    expect(en.join('\n')).toContain('not authoritative');
  });

  it('a walk without a subnet, from the cache, and joined to another client\'s', () => {
    const plain = { ...RESOLUTION, clientSubnet: undefined, limits: undefined, walk: WALK.slice(0, 1) };
    expect(both((l) => words(l).dns.walkLines(plain)).zh[0]).toBe('本地 DNS 为 127.10.1.10 从根开始逐级查询，用时 27 ms：');
    const cached = both((l) => words(l).dns.walkLines({ ...RESOLUTION, fromCache: true, walk: [], ms: 0 }));
    expect(cached.zh).toEqual(['本地 DNS 直接用缓存回答，没有再问别的服务器（0 ms）。']);
    const joined = both((l) => words(l).dns.walkLines({ ...RESOLUTION, joined: true, walk: [], ms: 5 }));
    expect(joined.zh[0]).toContain('本地 DNS');
  });

  it('the notes and limits are facts the words say in each language; English unchanged', () => {
    expect(NOTES.map((n) => words('en').dns.walkNoteText(n))).toEqual([
      'looking up ns1.geektime.test, a server of sub.evil.test. given without usable glue',
      "ignored www.geektime.test A, shop.test NS: outside evil.test., so not this server's to say",
      'record www.geektime.test A 127.0.0.66 ignored: not the address of a server of sub.evil.test.',
      'glue for ns1.geektime.test (127.0.0.67) ignored: out of bailiwick (not inside sub.evil.test.)',
    ]);
    expect(LIMITS.map((l) => words('en').dns.walkLimitText(l))).toEqual([
      '1000 resolutions already in progress (maxResolutions)',
      'gave up after 40 queries for one question',
      'looked up 3 of the 30 servers of attacker.test. named without glue, and no more (NXNS limit: 3 per referral)',
      'looked up 2 of the 9 servers of . named without glue, and no more (NXNS limit: 6 per question)',
    ]);
    const zhNotes = NOTES.map((n) => words('zh').dns.walkNoteText(n));
    expect(zhNotes[3]).toBe('忽略 ns1.geektime.test 的胶水记录（127.0.0.67）：超出辖区（bailiwick），不在 sub.evil.test. 之内');
    both((l) => [...NOTES.map((n) => words(l).dns.walkNoteText(n)), ...LIMITS.map((x) => words(l).dns.walkLimitText(x))]);
  });
});

describe('lab dig in both languages', () => {
  it('the question, the walk, the answer, the GSLB\'s TXT (quoted, as sent) and the dig command', () => {
    const { en, zh } = both((l) => words(l).dns.digLines(DIG));
    expect(zh).toHaveLength(en.length);
    expect(zh[0]).toBe('手机（127.10.1.10:51234）向本地 DNS 127.0.0.53:53 查询 A static.geektime.test（id 777，udp）');
    // dig's record lines are dig's format in every language.
    for (const line of en.filter((l) => RECORD_LINE.test(l))) expect(zh).toContain(line);
    expect(zh).toContain(`全局负载均衡器（GSLB）在 TXT 记录里说明了它的选择（协议文本只用 ASCII，所以是英文原文）："${DIG.gslbTxt![0]}"`);
    expect(zh.at(-1)).toBe('用 dig 问同一个问题：dig @127.0.0.53 -p 53 static.geektime.test A -b 127.10.1.10');
    expect(en.at(-1)).toBe('Same question with dig: dig @127.0.0.53 -p 53 static.geektime.test A -b 127.10.1.10');
  });

  it('when the local DNS logged no walk, and without an address of its own', () => {
    const { zh } = both((l) => words(l).dns.digLines({ ...DIG, resolution: undefined, localAddress: undefined, gslbTxt: undefined }));
    expect(zh[1]).toBe('（本地 DNS 的日志里没有这次查询的解析过程）');
    expect(zh.at(-1)).toBe('用 dig 问同一个问题：dig @127.0.0.53 -p 53 static.geektime.test A');
  });
});

describe("the GSLB's reasoning in both languages", () => {
  it('every way of placing the client and choosing an edge', () => {
    const { zh } = both((l) => DECISIONS.flatMap((d) => [words(l).dns.gslbRegionText(d), words(l).dns.gslbChoiceText(d), words(l).dns.gslbReasoningLine(d)]));
    for (const line of zh.filter((_, i) => i % 3 === 2)) {
      expect(line).toMatch(/^全局负载均衡器（GSLB）的理由：/);
      expect(line).toContain('边缘节点');
    }
    expect(words('zh').dns.gslbReasoningLine(DECISION)).toBe(
      '全局负载均衡器（GSLB）的理由：客户端 127.10.1.0/24（按 EDNS Client Subnet）→ 127.10.1.0/24 属于北区（north）的子网 127.10.1.0/24 → ' +
        'edge-north 健康，edge-south 宕机，edge-west 尚未检查 → edge-north 127.0.0.21：edge-north 是北区（north）最近的健康边缘节点',
    );
    expect(words('en').dns.gslbReasoningLine(DECISION)).toBe(
      "The GSLB's reasoning: client 127.10.1.0/24 (by EDNS Client Subnet) → 127.10.1.0/24 is inside north's 127.10.1.0/24 → " +
        'edge-north healthy, edge-south down, edge-west not checked yet → edge-north 127.0.0.21: edge-north is the nearest healthy edge for north',
    );
  });
});

describe('the cache path in both languages', () => {
  it('hits, misses, stale copies, revalidation, collapsing: Chinese, with the same values; a miss ends at the 源站', () => {
    const { en, zh } = both((l) => CACHE_STATUS.flatMap((entries) => words(l).cache.cachePathLines(entries)));
    expect(zh).toHaveLength(en.length);
    expect(words('zh').cache.cachePathLines(CACHE_STATUS[0]!)).toEqual([
      'edge-north：未命中（MISS，它没有副本），存下了响应',
      'parent：未命中（MISS，它没有副本），存下了响应',
      '源站：返回了这个对象',
    ]);
    expect(words('zh').cache.cachePathLines(CACHE_STATUS[1]!)).toEqual(['edge-north：命中（HIT），新鲜期还剩 299 s']);
    expect(words('zh').cache.cachePathLines(CACHE_STATUS[3]!)).toEqual(['edge-south：命中（HIT），但已过期 3 s（stale-if-error）']);
  });
});

describe("lab dig's and lab fetch's own words in both languages", () => {
  const say = (l: Lang) => digFetchWords(l);
  it('usage, errors and the summary of a fetch', () => {
    const unknown = badOptionOf(Object.assign(new TypeError("Unknown option '--x'. To specify a positional argument starting with a '-', place it at the end of the command after '--', as in '-- \"--x\"'"), { code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' }))!;
    const missing = badOptionOf(Object.assign(new TypeError("Option '--type <value>' argument missing"), { code: 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' }))!;
    expect(unknown).toMatchObject({ kind: 'unknown', option: '--x' });
    expect(missing).toMatchObject({ kind: 'bad-value', option: '--type <value>' });
    expect(badOptionOf(new Error('something else'))).toBeUndefined();
    const render = (l: Lang) => [
      say(l).digUsage,
      say(l).fetchUsage,
      ...say(l).badOption(unknown, say(l).digUsage).split('\n'),
      ...say(l).badOption(missing, say(l).fetchUsage).split('\n'),
      say(l).fromRegion('west'),
      say(l).pathSlash('images/phone.png'),
      say(l).noAnswerWithin('http://static.geektime.test/images/phone.png', 10000),
      say(l).nothingListens('static.geektime.test', 'connect ECONNREFUSED 127.0.0.21:80'),
      say(l).noEdgeAt('static.geektime.test', '127.0.0.99'),
      ...say(l).fetchLines(FETCH),
    ];
    const { en, zh } = both(render);
    expect(en.slice(-3)).toEqual([
      'static.geektime.test → geektime.cdn.test → geektime.gslb.cdn.test → 127.0.0.21 (local DNS 127.0.0.53:53)',
      'GET http://static.geektime.test/images/phone.png from 127.10.1.10:40100 → edge-north 127.0.0.21:80',
      '200, 48213 bytes, 12 ms',
    ]);
    expect(zh.slice(-3)).toEqual([
      'static.geektime.test → geektime.cdn.test → geektime.gslb.cdn.test → 127.0.0.21（本地 DNS 127.0.0.53:53）',
      'GET http://static.geektime.test/images/phone.png：从 127.10.1.10:40100 → 边缘节点 edge-north 127.0.0.21:80',
      '200，48213 字节，12 ms',
    ]);
  });

  it('every string of the catalogue is translated', () => {
    const entry = catalogues().find((c) => c.name === 'client-dig-fetch')!;
    expect(entry).toBeDefined();
    const en = entry.en as Record<string, unknown>;
    const zh = entry.zh as Record<string, unknown>;
    for (const key of Object.keys(en)) {
      if (typeof en[key] !== 'string') continue;
      expect(zh[key], key).not.toBe(en[key]);
      expect(zh[key], key).toMatch(CJK);
    }
  });
});

// ─────────────────────────── the real commands ───────────────────────────

describe('the commands themselves in Chinese and English', () => {
  afterEach(cleanup);
  afterAll(cleanup);

  it('a wrong command line is refused in the learner\'s language, before any lab is needed', async () => {
    setLang('zh');
    try {
      await expect(fetchCommand(['images/phone.png'])).rejects.toThrow('路径必须以 "/" 开头，例如 /images/phone.png，而不是 "images/phone.png"');
      await expect(digCommand(['x.test', '--nope'])).rejects.toThrow('没有这个选项 --nope\n用法：npm run lab -- dig <域名> [--type A] [--from north|south]');
      await expect(digCommand([])).rejects.toThrow(/^用法：npm run lab -- dig/);
      await expect(fetchCommand(['--from', 'west'])).rejects.toThrow('--from 只能是 north 或 south，而不是 "west"');
      await expect(fetchCommand(['--head=yes'])).rejects.toThrow('选项 --head 的值不对（缺了值，或者它不接受值）\n用法：npm run lab -- fetch');
    } finally {
      setLang('en');
    }
    await expect(digCommand(['x.test', '--from', 'west'])).rejects.toThrow('--from must be north or south, not "west"');
    await expect(digCommand(['x.test', '--nope'])).rejects.toThrow(/^Unknown option '--nope'[\s\S]*\nusage: npm run lab -- dig <name>/);
  });

  // Four runs of the CLI (tsx each time) after the lab starts, on a busy machine: longer than one lab test.
  it('`lab --lang zh dig` and `lab --lang zh fetch` against a running lab: Chinese, values as in English', { timeout: 6 * TEST_TIMEOUT_MS }, async () => {
    const { labDir } = await startUp();
    // A cold cache first, so the walk is there to read; then the same from the cache.
    const zhDig = await labCli(labDir, ['--lang', 'zh', 'dig', 'static.geektime.test', '--from', 'south']);
    expect(zhDig.code, show(zhDig)).toBe(0);
    // The English dig and the first fetch touch different caches (DNS, CDN): at once, to save a CLI start.
    const [enDig, zhFetch] = await Promise.all([
      labCli(labDir, ['--lang', 'en', 'dig', 'static.geektime.test', '--from', 'south']),
      labCli(labDir, ['--lang', 'zh', 'fetch', '/images/phone.png', '--from', 'south']),
    ]);
    expect(enDig.code, show(enDig)).toBe(0);
    const zhLines = zhDig.stdout.trimEnd().split('\n');
    for (const line of zhLines) {
      expect(englishProse(line), `English prose in: ${line}`).toBeUndefined();
      if (!CHINESE.test(line)) expect(line).toMatch(RECORD_LINE);
    }
    expect(zhDig.stdout).toContain('本地 DNS');
    expect(zhDig.stdout).toMatch(/^ 1\. 向 a\.root-servers\.test（127\.0\.0\.10:\d+）查询 A static\.geektime\.test/m);
    expect(zhDig.stdout).toMatch(/转介到 test\.（ns\.nic\.test 127\.0\.0\.11），TTL 172800/);
    expect(zhDig.stdout).toMatch(/static\.geektime\.test\.\s+\d+\s+IN\s+CNAME\s+geektime\.cdn\.test\./);
    expect(enDig.stdout).toContain('The local DNS answered from its cache');
    // Both answers lead to the same edge, south's in the lab's own addressing.
    const edgeOf = (out: string) => /geektime\.gslb\.cdn\.test\.\s+\d+\s+IN\s+A\s+(\S+)/.exec(out)?.[1];
    expect(edgeOf(zhDig.stdout)).toBeDefined();
    expect(edgeOf(zhDig.stdout)).toBe(edgeOf(enDig.stdout));

    expect(zhFetch.code, show(zhFetch)).toBe(0);
    // The response's headers are printed raw ("  cache-status: ..."), the same in every language.
    const told = zhFetch.stdout.trimEnd().split('\n').filter((l) => !/^ {2}[a-z][a-z-]*: /.test(l));
    expect(told.length).toBeGreaterThanOrEqual(4);
    for (const line of told) expect(englishProse(line), `English prose in: ${line}`).toBeUndefined();
    expect(zhFetch.stdout).toMatch(/^200，\d+ 字节，\d+ ms$/m);
    expect(zhFetch.stdout).toContain('边缘节点 edge-');
    expect(zhFetch.stdout).toContain('源站：返回了这个对象'); // a cold cache: the miss goes all the way
    const enFetch = await labCli(labDir, ['--lang', 'en', 'fetch', '/images/phone.png', '--from', 'south']);
    expect(enFetch.stdout, show(enFetch)).toMatch(/^ {2}edge-\w+: HIT/m);

    if (IS_LINUX) expect(zhDig.stdout).toMatch(/手机（127\.10\.2\.\d+:\d+）/);
  });
});
