// The TLS, TCP, kernel-state and order words in both languages, from the same facts: a real order
// to a real SLB in each TLS mode (its handshake as decoded, its chain as walked), and hand-built
// facts for what a good run does not show (broken chains, odd records, resets, a machine without
// /proc). Chinese must say it all in Chinese, with the seed's terms, and carry exactly the values
// the English carries.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChainStep } from '../client/chain-check.ts';
import { placeOrder, type OrderResult } from '../client/order-client.ts';
import { setLang, type Lang } from '../lab/lang.ts';
import { MasterSecretError, type MasterSecretFailureFacts, type ModernKeyExchange } from '../lab/master-secret.ts';
import type { SegmentFact, TcpStory } from '../lab/observe/tcp-story.ts';
import { decodeRecording } from '../lab/observe/tls-recorder.ts';
import { tlsSessionFacts, type MasterSecretFacts, type TlsSessionFacts } from '../lab/story/facts.ts';
import { words } from '../lab/story/words/index.ts';
import { formatSs, type KernelStates, type StateSnapshot, type TcpSocketInfo } from '../lab/tcp-states.ts';
import { displayWidth } from '../lab/text-width.ts';
import { withoutBytes, type TlsEventFacts } from '../lab/tls-decoder.ts';
import type { TlsMode } from '../servers/net/tls-modes.ts';
import { makeChainDir, startShop, type Shop } from './shop-fixture.ts';
import { englishProse } from './i18n-text.ts';

// ── What counts as English prose in a Chinese line ─────────────────────────────────────────

const CJK = /[\u4e00-\u9fff]/;

/** The values a line carries: hex of 8+ digits, addresses with ports, and every other number. */
function values(lines: string[]): string[] {
  const text = lines.join('\n').replace(/\b4-tuple\b/g, '四元组'); // a term, not a value

  return (text.match(/[0-9a-f]{8,}|\d+(?:\.\d+)+(?::\d+)?|\d+/g) ?? []).sort();
}

/**
 * Render with `render` in both languages and check the Chinese: no English prose, some Chinese
 * in every line that has prose in English, and the same values as the English.
 */
function both(render: (l: Lang) => string[]): { en: string[]; zh: string[] } {
  const en = render('en');
  const zh = render('zh');
  expect(zh.length).toBeGreaterThan(0);
  for (const line of zh) {
    expect(englishProse(line), `English prose in a Chinese line:\n${line}`).toBeUndefined();
    // Chinese next to Chinese takes no space (手机确认, not 手机 确认), outside quoted values.
    expect(line.replace(/"[^"]*"/g, '""'), `a space between two Chinese words:\n${line}`).not.toMatch(/[\u4e00-\u9fff] [\u4e00-\u9fff]/);
  }
  en.forEach((line, i) => {
    if (englishProse(line)) expect(zh[i], `line ${i} is still English:\n${zh[i]}`).toMatch(CJK);
  });
  expect(values(zh)).toEqual(values(en));
  // I18N_DUMP=1 prints the Chinese, for a reader to judge what no test can.
  if (process.env.I18N_DUMP) console.log([...zh, ''].join('\n'));
  return { en, zh };
}

/** Render in the process's language `l` (for words that take no language), then back to English. */
function inLang<T>(l: Lang, f: () => T): T {
  setLang(l);
  try {
    return f();
  } finally {
    setLang('en');
  }
}

// ── A real order in each mode ──────────────────────────────────────────────────────────────

const chain = makeChainDir('lab-i18n-tls-');
let shop: Shop;
const orders: Partial<Record<TlsMode, { result: OrderResult; events: TlsEventFacts[] }>> = {};

beforeAll(async () => {
  shop = await startShop(chain);
  for (const mode of ['classic', 'modern'] as const) {
    const port = mode === 'classic' ? shop.slb.classicPort! : shop.slb.port;
    let closed = () => {};
    const whenClosed = new Promise<void>((resolve) => (closed = resolve));
    const result = await placeOrder({ hostname: 'www.geektime.test', address: shop.slb.host, port, rootCaPem: shop.rootPem, mode, record: true, onTcpClose: () => closed() });
    await whenClosed;
    orders[mode] = { result, events: decodeRecording(result.wire!.chunks).events.map((e) => withoutBytes(e)) };
  }
});
afterAll(async () => {
  await shop?.close();
  fs.rmSync(chain.dir, { recursive: true, force: true });
});

describe('TLS messages as decoded from a real handshake', () => {
  for (const mode of ['classic', 'modern'] as const) {
    it(`${mode}: every message in both languages, the Chinese with the seed's terms`, () => {
      const { events } = orders[mode]!;
      expect(events.length).toBeGreaterThan(5);
      const { en, zh } = both((l) => events.map((e) => words(l).tls.tlsMessageLine(e)));
      const hello = zh.find((l) => l.includes('ClientHello'))!;
      expect(hello).toContain('加密套件');
      expect(hello).toContain('随机数');
      expect(hello).toContain(events.find((e) => e.type === 'ClientHello')!.fields.random as string);
      if (mode === 'classic') {
        expect(zh.find((l) => l.includes('ClientKeyExchange'))).toContain('预主密钥');
        expect(en.find((l) => l.includes('ClientKeyExchange'))).toContain('pre-master secret');
        expect(zh.join('\n')).toContain('加密的握手消息（Finished）');
      } else {
        expect(zh.join('\n')).toContain('服务端这一轮的第 1 条加密握手记录');
      }
    });
  }

  it('the records a good run does not show: retry, downgrade, DHE, tickets, alerts, early data, undecodable bytes', () => {
    const record = { contentType: 22, contentTypeName: 'handshake', version: 0x0303, versionName: 'TLS 1.2', length: 100, offset: 0 };
    const base = { direction: 'server→client' as const, offset: 0, length: 105, record, encrypted: false };
    const serverHello = {
      legacyVersion: 0x0303, legacyVersionName: 'TLS 1.2', version: 0x0303, versionName: 'TLS 1.2',
      random: '8d3c0c9b54a5e1f2444f574e47524401a1b2c3d4e5f60718293a4b5c6d7e8f90', helloRetryRequest: false,
      sessionId: '', cipherSuite: { id: 0x009c, name: 'TLS_RSA_WITH_AES_128_GCM_SHA256' }, compressionMethod: 0,
      extensions: [], extendedMasterSecret: true, sessionTicket: false,
    };
    const odd: TlsEventFacts[] = [
      { ...base, type: 'ServerHello', name: 'HelloRetryRequest', fields: { ...serverHello, helloRetryRequest: true, keyShare: { group: 'secp256r1', groupId: 23 } } },
      { ...base, type: 'ServerHello', name: 'ServerHello', fields: { ...serverHello, downgradeSentinel: 'TLS 1.1 or older' } },
      { ...base, type: 'ServerKeyExchange', name: 'ServerKeyExchange', fields: { keyExchange: 'DHE', group: '2048-bit finite field', publicKeyLength: 256, signatureAlgorithm: 'rsa_pss_rsae_sha256', signatureLength: 256 } },
      { ...base, type: 'ClientKeyExchange', name: 'ClientKeyExchange', fields: { keyExchange: 'ECDHE', publicKeyLength: 32 } },
      { ...base, type: 'NewSessionTicket', name: 'NewSessionTicket', fields: { lifetimeHintSeconds: 7200, ticketLength: 192 } },
      { ...base, type: 'Handshake', name: 'handshake type 99', fields: { handshakeType: 99, handshakeTypeName: 'handshake type 99', bodyLength: 12 } },
      { ...base, type: 'ChangeCipherSpec', name: 'ChangeCipherSpec (TLS 1.3 middlebox compatibility, changes nothing)', fields: { middleboxCompatibility: true } },
      { ...base, type: 'Alert', name: 'Alert', fields: { level: 7, levelName: 'level 7', description: 40, descriptionName: 'handshake_failure' } },
      { ...base, type: 'EncryptedAlert', name: 'encrypted alert (at the end of a connection, usually close_notify)', encrypted: true, fields: { bytes: 26 } },
      { ...base, type: 'EncryptedAlert', name: "encrypted alert (an application_data record of exactly an alert's size; at the end of a connection, usually close_notify)", encrypted: true, fields: { bytes: 19 } },
      { ...base, type: 'EncryptedHandshake', name: 'encrypted handshake message (a handshake message)', encrypted: true, fields: { bytes: 40, contains: 'a handshake message' } },
      { ...base, type: 'EncryptedHandshake', name: 'encrypted (client Finished — not readable on the wire)', encrypted: true, fields: { bytes: 53, contains: 'Finished' } },
      { ...base, type: 'ApplicationData', name: 'application_data before any ServerHello (0-RTT early data, encrypted)', encrypted: true, fields: { bytes: 300 } },
      { ...base, type: 'ApplicationData', name: 'application_data (encrypted)', encrypted: true, fields: { bytes: 250, probablyTicket: true } },
      { ...base, type: 'Heartbeat', name: 'heartbeat', fields: { bytes: 3 } },
      { ...base, type: 'Undecodable', name: 'undecodable bytes (not TLS, or out of step with it)', fields: { reason: 'not TLS: the bytes start with "POST", which looks like plain HTTP', preview: '504f5354' } },
      { ...base, type: 'Undecodable', name: 'undecodable bytes (not TLS, or out of step with it)', fields: { reason: "not TLS: content type 0x63 is none of TLS's (20-24)", preview: '6303030010' } },
      { ...base, type: 'Undecodable', name: 'undecodable bytes (not TLS, or out of step with it)', fields: { reason: 'not TLS: record version 0x0a0b is none of SSL 3.0 … TLS 1.3', preview: '160a0b0010' } },
      { ...base, type: 'Undecodable', name: 'undecodable bytes (not TLS, or out of step with it)', fields: { reason: 'not TLS: a record of 40000 bytes is longer than TLS allows (18432)', preview: '1603039c40' } },
      { ...base, type: 'Undecodable', name: 'undecodable ClientHello', fields: { reason: 'a handshake message claims 9000000 bytes, more than any real one', preview: '01895440' } },
      { ...base, type: 'Undecodable', name: 'undecodable ServerHello', fields: { reason: 'malformed ServerHello: needs 32 bytes at offset 2, has 5', preview: '0200002603' } },
      { ...base, type: 'Undecodable', name: 'undecodable handshake type 77', fields: { reason: 'malformed handshake type 77: odd length in a list of 16-bit values', preview: '4d000003' } },
    ];
    const { zh } = both((l) => odd.map((e) => words(l).tls.tlsMessageLine(e)));
    expect(zh[1]).toContain('TLS 1.1 或更早的版本');
    expect(zh[2]).toContain('2048 位有限域');
  });
});

describe('the session and the chain', () => {
  it('a real session in each mode: cipher, key exchange, the chain walked up to the lab root', () => {
    const classic = both((l) => words(l).tls.tlsSessionLines(tlsSessionFacts(orders.classic!.result)));
    expect(classic.zh[0]).toContain('加密套件 TLS_RSA_WITH_AES_128_GCM_SHA256');
    expect(classic.zh[0]).toContain('预主密钥');
    expect(classic.zh[1]).toContain('证书链');
    expect(classic.zh.join('\n')).toContain('叶子证书 "CN=www.geektime.test" → 中间证书 "CN=Geektime Lab Intermediate CA"');
    expect(classic.en.join('\n')).toContain('leaf "CN=www.geektime.test" → intermediate "CN=Geektime Lab Intermediate CA"');
    const modern = both((l) => words(l).tls.tlsSessionLines(tlsSessionFacts(orders.modern!.result)));
    expect(modern.zh[0]).toContain('前向保密');
    expect(modern.zh[0]).not.toContain('预主密钥');
  });

  // Node 22's OpenSSL 3.5 negotiates the hybrid X25519MLKEM768 and its getEphemeralKeyInfo() says
  // nothing about it: the story said "RSA key exchange" for a TLS 1.3 session there.
  it('a TLS 1.3 session whose key Node does not report is still ephemeral, never RSA; the ServerHello names its group', () => {
    const modern = orders.modern!.result;
    const node22 = { ...modern, tls: { ...modern.tls, ephemeralKey: {} } };
    expect(tlsSessionFacts(node22).keyExchange).toEqual({ kind: 'ephemeral' });
    const lines = both((l) => words(l).tls.tlsSessionLines(tlsSessionFacts(node22)));
    expect(lines.en[0]).toMatch(/key exchange an ephemeral key \(forward secret; this Node does not say which group\)$/);
    expect(lines.zh[0]).toContain('临时密钥（具备前向保密');
    for (const line of [lines.en[0], lines.zh[0]]) expect(line).not.toMatch(/RSA|预主密钥/);
    expect(tlsSessionFacts(node22, 'X25519MLKEM768').keyExchange).toEqual({ kind: 'ephemeral', group: 'X25519MLKEM768' });
    // A TLS 1.2 ECDHE suite is ephemeral too; only a TLS_RSA_ suite without a key is RSA.
    const ecdhe = { ...node22, tls: { ...node22.tls, protocol: 'TLSv1.2', cipher: { ...node22.tls.cipher, standardName: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256' } } };
    expect(tlsSessionFacts(ecdhe).keyExchange.kind).toBe('ephemeral');
    expect(tlsSessionFacts(orders.classic!.result).keyExchange).toEqual({ kind: 'rsa' });
    // A TLS 1.2 suite the lab does not know (a PSK suite), and no key from Node: neither RSA nor ephemeral.
    const psk = { ...ecdhe, tls: { ...ecdhe.tls, cipher: { ...ecdhe.tls.cipher, standardName: 'TLS_PSK_WITH_AES_128_GCM_SHA256' } } };
    expect(tlsSessionFacts(psk).keyExchange).toEqual({ kind: 'unknown' });
    const unknown = both((l) => words(l).tls.tlsSessionLines(tlsSessionFacts(psk)));
    expect(unknown.en[0]).toMatch(/key exchange not known/);
    for (const line of [unknown.en[0], unknown.zh[0]]) expect(line).not.toMatch(/RSA|预主密钥|forward secret|前向保密/);
  });

  // Every kind of step the walk can report, broken or not.
  const leaf = { role: 'leaf', index: 0, name: '"CN=www.geektime.test"' } as const;
  const intermediate = { role: 'intermediate', index: 1, name: '"CN=Geektime Lab Intermediate CA"' } as const;
  const root = { role: 'root', index: 2, name: '"CN=Geektime Lab Root CA"' } as const;
  const third = { role: 'certificate', index: 2, name: '"CN=Cross CA"' } as const;
  const steps: ChainStep[] = [
    { ok: true, link: { cert: leaf, parent: intermediate }, check: { kind: 'signed-by', parent: intermediate.name } },
    { ok: true, link: { cert: root }, check: { kind: 'trusted-root', sha256: '5E:0A:91:3C:77:12:AB:CD' } },
    { ok: false, link: { cert: third }, check: { kind: 'foreign-root', trusted: root.name, trustedSha256: '5E:0A:91:3C:77:12:AB:CD', sha256: '01:23:45:67:89:AB:CD:EF' } },
    { ok: false, link: { cert: leaf, parent: 'unknown' }, check: { kind: 'issuer-missing', issuer: '"CN=Geektime Lab Intermediate CA"', trusted: root.name } },
    { ok: false, link: { cert: intermediate, parent: 'unknown' }, check: { kind: 'issuer-untrusted', issuer: '"CN=Other Root CA"', trusted: root.name } },
    { ok: false, link: { cert: intermediate, parent: root }, check: { kind: 'signature-mismatch', parent: root.name, parentIsTrustedRoot: true } },
    { ok: false, link: { cert: leaf, parent: intermediate }, check: { kind: 'signature-mismatch', parent: intermediate.name, parentIsTrustedRoot: false } },
    { ok: false, link: { cert: leaf }, check: { kind: 'expired', validTo: '2026-11-29T10:00:00.000Z', days: 2 } },
    { ok: false, link: { cert: leaf }, check: { kind: 'expired', validTo: '2026-11-30T10:00:00.000Z', days: 1 } },
    { ok: false, link: { cert: leaf }, check: { kind: 'not-yet-valid', validFrom: '2027-01-01T00:00:00.000Z' } },
    { ok: true, link: { cert: leaf }, check: { kind: 'valid', validFrom: '2026-11-01', validTo: '2027-11-01' } },
    { ok: true, link: { cert: leaf }, check: { kind: 'name-matches', hostname: 'www.geektime.test' } },
    { ok: false, link: { cert: leaf }, check: { kind: 'name-mismatch', hostname: 'shop.example.test', names: 'DNS:www.geektime.test, DNS:geektime.test, IP Address:127.0.0.80' } },
  ];

  it('every kind of step, and the refusal with its fix, in both languages', () => {
    const facts: TlsSessionFacts = { protocol: 'TLSv1.2', cipher: { standardName: 'TLS_RSA_WITH_AES_128_GCM_SHA256', name: 'AES128-GCM-SHA256' }, keyExchange: { kind: 'rsa' }, chain: steps };
    const session = both((l) => words(l).tls.tlsSessionLines(facts));
    expect(session.en.at(-1)).toBe('  ✗ leaf "CN=www.geektime.test": does not carry the name the client asked for (shop.example.test); it is for DNS:www.geektime.test, DNS:geektime.test, IP Address:127.0.0.80');
    expect(session.zh).toContain('  ✗ 叶子证书 "CN=www.geektime.test" → ?：签发者是 "CN=Geektime Lab Intermediate CA"，但服务端没有发来这个签发者的证书，客户端又只信任 "CN=Geektime Lab Root CA"：缺了中间证书');
    const refusals = both((l) => [...steps.filter((s) => !s.ok), undefined].map((s) => words(l).tls.certificateRefusal('UNABLE_TO_GET_ISSUER_CERT_LOCALLY', s)));
    expect(refusals.en[0]).toBe(
      'TLS certificate check failed (UNABLE_TO_GET_ISSUER_CERT_LOCALLY) at certificate #2 "CN=Cross CA": it is a self-signed root, but not the one this client trusts ' +
        '("CN=Geektime Lab Root CA", SHA-256 5E:0A:91:3C:77:12:AB:CD…; this one is 01:23:45:67:89:AB:CD:EF…). Fix: the server belongs to another PKI, or the client was given the wrong root CA file.',
    );
    expect(refusals.zh.every((l) => l.startsWith('TLS 证书校验失败'))).toBe(true);
    expect(refusals.zh.filter((l) => l.includes('解决办法：'))).toHaveLength(steps.filter((s) => !s.ok).length);
  });

  it("the client's own error follows the process's language", async () => {
    const leafOnly = await startShop(chain, { cert: fs.readFileSync(chain.files.leafCert, 'utf8') }); // no intermediate
    const refusal = () =>
      placeOrder({ hostname: 'www.geektime.test', address: leafOnly.slb.host, port: leafOnly.slb.port, rootCaPem: leafOnly.rootPem, mode: 'modern' }).then(
        () => '',
        (err: Error) => err.message,
      );
    try {
      expect(await refusal()).toContain('the intermediate is missing');
      setLang('zh');
      const zh = await refusal();
      expect(zh).toContain('缺了中间证书');
      expect(zh).toContain('chain.crt');
      expect(englishProse(zh)).toBeUndefined();
    } finally {
      setLang('en');
      await leafOnly.close();
    }
  });
});

describe('the three randoms, and forward secrecy', () => {
  it('classic: the three randoms, the pre-master, the master secret (预主密钥, 对称密钥), in aligned columns', () => {
    const classic = orders.classic!.events;
    const m: MasterSecretFacts = {
      clientRandom: classic.find((e) => e.type === 'ClientHello')!.fields.random as string,
      serverRandom: '6f1c2a3b4c5d6e7f8091a2b3c4d5e6f70718293a4b5c6d7e8f9001122334455f',
      preMaster: '0303' + 'ab'.repeat(46),
      master: 'cd'.repeat(48),
      keyLogLine: 7,
    };
    const { zh } = both((l) => words(l).tls.masterSecretLines(m));
    expect(zh[0]).toContain('三个随机数');
    expect(zh[0]).toContain('预主密钥');
    expect(zh[0]).toContain('对称密钥');
    // The four values start in one column, whatever the width of the Chinese label before them.
    const starts = [m.clientRandom, m.serverRandom, m.preMaster, m.master].map((v, i) => displayWidth(zh[i + 1]!.slice(0, zh[i + 1]!.indexOf(v))));
    expect(new Set(starts).size).toBe(1);
  });

  it('modern: ECDHE and the hybrid group, with and without key log lines (前向保密)', () => {
    const cases: ModernKeyExchange[] = [
      { group: 'x25519', groupId: 29, cipherSuite: 'TLS_AES_256_GCM_SHA384', clientKeyShares: ['x25519'], clientPublicKeyBytes: 32, serverPublicKeyBytes: 32, keyLogLabels: ['SERVER_HANDSHAKE_TRAFFIC_SECRET', 'CLIENT_HANDSHAKE_TRAFFIC_SECRET', 'EXPORTER_SECRET', 'SERVER_TRAFFIC_SECRET_0', 'CLIENT_TRAFFIC_SECRET_0'] },
      { group: 'X25519MLKEM768', groupId: 4588, cipherSuite: 'TLS_AES_128_GCM_SHA256', clientKeyShares: ['X25519MLKEM768', 'x25519'], clientPublicKeyBytes: 1216, serverPublicKeyBytes: 1120, keyLogLabels: [] },
    ];
    for (const k of cases) {
      const { zh } = both((l) => words(l).tls.modernKeyExchangeLines(k));
      expect(zh.join('')).toContain('前向保密');
    }
  });
});

describe('why the master secret could not be checked', () => {
  const random = '565295e42747c8c846c835c079b3277a10802d699faff471b9d23e80cf732b3d';
  const failures: MasterSecretFailureFacts[] = [
    { kind: 'no-hello', missing: 'ServerHello' },
    { kind: 'no-hello', missing: 'ClientHello and ServerHello' },
    { kind: 'tls13', suite: 'TLS_AES_256_GCM_SHA384' },
    { kind: 'no-client-key-exchange' },
    { kind: 'ephemeral', suite: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', keyExchange: 'ECDHE' },
    { kind: 'bad-pre-master', bytes: 47, startsWith: '0301', wantVersion: '0303' },
    { kind: 'extended-master-secret' },
    { kind: 'no-key-log', clientRandom: random, keyLogFile: '.lab/keylog.txt' },
    { kind: 'no-key-log-line', clientRandom: random, keyLogFile: '.lab/keylog.txt', lines: 3 },
    { kind: 'key-log-mismatch', clientRandom: random, keyLogFile: '.lab/keylog.txt', lineNumber: 7, logged: 'ab'.repeat(48), computed: 'cd'.repeat(48) },
    { kind: 'not-tls13', versionName: 'TLS 1.2', suite: 'TLS_RSA_WITH_AES_128_GCM_SHA256' },
  ];

  it('every failure in both languages, and the error speaks the process\'s language', () => {
    const { zh } = both((l) => failures.map((f) => words(l).tls.masterSecretFailure(f)));
    expect(zh[5]).toContain('预主密钥');
    expect(new MasterSecretError(failures[9]!).message).toMatch(/^the key log does not match/);
    expect(inLang('zh', () => new MasterSecretError(failures[9]!).message)).toMatch(/^密钥日志对不上/);
    expect(new MasterSecretError(failures[9]!).reason).toBe('key-log-mismatch');
  });

  it("a library's own error stays as it came, inside the Chinese sentence", () => {
    const zh = words('zh').tls.masterSecretFailure({ kind: 'undecryptable', bytes: 256, error: 'Encryption block is invalid.' });
    expect(zh).toBe('用这把私钥解不开那段 256 字节的 ClientKeyExchange（Encryption block is invalid.）：它是 SLB 发来的那张证书对应的私钥吗？');
  });
});

// ── TCP from the capture ───────────────────────────────────────────────────────────────────

function segment(frame: number, direction: SegmentFact['direction'], flags: string, over: Partial<SegmentFact> = {}): SegmentFact {
  return {
    frame, time: 1764640000 + frame / 1000, direction, seq: 0, ack: 0, relativeSeq: 0, relativeAck: undefined,
    flagBits: 0, flags, window: 512, options: [], length: 0, ipLength: 52, after: { client: 'ESTABLISHED', server: 'ESTABLISHED' }, carries: [], ...over,
  };
}

const C = 3005227316; // the phone's initial sequence number
const S = 1182334411; // the SLB's
const syn = segment(1, 'client→server', 'SYN', {
  seq: C, window: 65495, ipLength: 60, after: { client: 'SYN-SENT', server: 'SYN-RECEIVED' },
  options: [{ kind: 'mss', value: 65495 }, { kind: 'sack-permitted' }, { kind: 'timestamps', value: 1790511, echoReply: 0 }, { kind: 'nop' }, { kind: 'window-scale', shift: 7 }],
});
const synAck = segment(2, 'server→client', 'SYN, ACK', {
  seq: S, ack: C + 1, relativeAck: 1, window: 65483, ipLength: 60, after: { client: 'ESTABLISHED', server: 'SYN-RECEIVED' },
  options: [{ kind: 'mss', value: 65495 }, { kind: 'sack-permitted' }, { kind: 'timestamps', value: 4068931, echoReply: 1790511 }, { kind: 'nop' }, { kind: 'window-scale', shift: 7 }],
});
const ack = segment(3, 'client→server', 'ACK', { seq: C + 1, ack: S + 1, relativeSeq: 1, relativeAck: 1 });
const hello = segment(4, 'client→server', 'PSH, ACK', {
  seq: C + 1, ack: S + 1, relativeSeq: 1, relativeAck: 1, length: 517,
  carries: [{ name: 'ClientHello', type: 'ClientHello', recordOffset: 0, recordBytes: 517, whole: true }],
});
const flight = segment(6, 'server→client', 'PSH, ACK', {
  seq: S + 1, ack: C + 518, relativeSeq: 1, relativeAck: 518, length: 2048,
  carries: [
    { name: 'ServerHello, Certificate, ServerHelloDone', type: 'ServerHello', recordOffset: 0, recordBytes: 2700, whole: false },
  ],
});
const finished = segment(8, 'client→server', 'PSH, ACK', {
  seq: C + 518, ack: S + 2701, relativeSeq: 518, relativeAck: 2701, length: 318,
  carries: [
    { name: 'ClientKeyExchange', type: 'ClientKeyExchange', recordOffset: 517, recordBytes: 267, whole: true },
    { name: 'ChangeCipherSpec', type: 'ChangeCipherSpec', recordOffset: 784, recordBytes: 6, whole: true },
    { name: 'encrypted handshake message (Finished)', type: 'EncryptedHandshake', recordOffset: 790, recordBytes: 45, whole: true },
  ],
});
const pureAck = segment(5, 'server→client', 'ACK', { seq: S + 1, ack: C + 518, relativeSeq: 1, relativeAck: 518 });
const finS = segment(20, 'server→client', 'FIN, ACK', {
  seq: S + 3000, ack: C + 1200, relativeSeq: 3000, relativeAck: 1200, length: 31, after: { client: 'CLOSE-WAIT', server: 'FIN-WAIT-1' },
  carries: [{ name: 'encrypted alert (at the end of a connection, usually close_notify)', type: 'EncryptedAlert', recordOffset: 2999, recordBytes: 31, whole: true }],
});
const finC = segment(21, 'client→server', 'FIN, ACK', { seq: C + 1200, ack: S + 3032, relativeSeq: 1200, relativeAck: 3032, length: 31, after: { client: 'LAST-ACK', server: 'TIME-WAIT' } });
const lastAck = segment(22, 'server→client', 'ACK', { seq: S + 3032, ack: C + 1232, relativeSeq: 3032, relativeAck: 1232, after: { client: 'CLOSED', server: 'TIME-WAIT' } });
const rst = segment(21, 'server→client', 'RST', { seq: S + 3032, relativeSeq: 3032, after: { client: 'CLOSED', server: 'CLOSED' } });

function story(close: TcpStory['close'], final: TcpStory['final'], handshake: TcpStory['handshake'] = { syn, synAck, ack }): TcpStory {
  return {
    client: { address: '127.10.1.10', port: 40015 }, server: { address: '127.0.0.80', port: 443 },
    segments: [syn, synAck, ack, hello, pureAck, flight, finished, ...close.segments], handshake, close, final,
  };
}

describe('TCP from the capture', () => {
  const names = { client: 'phone', server: 'SLB' };
  const stories: Record<string, TcpStory> = {
    'both FINs': story({ kind: 'fin-both-ways', segments: [finS, finC, lastAck], firstFin: 'server→client' }, { client: 'CLOSED', server: 'TIME-WAIT' }),
    'a reset after data': story({ kind: 'reset', segments: [finS, rst], rst, rstAfterDataFrom: finished }, { client: 'CLOSED', server: 'CLOSED' }),
    'an abort': story({ kind: 'reset', segments: [rst], rst }, { client: 'CLOSED', server: 'CLOSED' }),
    'one FIN': story({ kind: 'fin-one-way', segments: [finS], firstFin: 'server→client' }, { client: 'CLOSE-WAIT', server: 'FIN-WAIT-1' }),
    'still open, handshake partly missing': story({ kind: 'open', segments: [] }, { client: 'ESTABLISHED', server: 'ESTABLISHED' }, { syn, ack }),
  };
  for (const [what, s] of Object.entries(stories)) {
    it(`the handshake, the data and the close (${what}) in both languages (三次握手)`, () => {
      const { zh } = both((l) => words(l).tcp.describeTcpStory(s, names, '.lab/capture.pcapng'));
      expect(zh[0]).toContain('三次握手');
      expect(zh.join('\n')).toContain('手机 → SLB'); // the roles by their Chinese names
      expect(zh.join('\n')).not.toMatch(/\bphone\b/);
      if (what === 'both FINs') expect(zh.join('\n')).toContain('加密的 alert（出现在连接末尾，通常是 close_notify）');
    });
  }

  it('the one-line summaries', () => {
    both((l) => [syn, synAck, ack, hello, flight, finished, finS].map((s) => words(l).tcp.segmentSummary(s)));
  });
});

// ── The kernel's table ─────────────────────────────────────────────────────────────────────

function socket(state: TcpSocketInfo['state'], local: string, remote: string, over: Partial<TcpSocketInfo> = {}): TcpSocketInfo {
  const ep = (s: string) => ({ address: s.split(':')[0]!, port: Number(s.split(':')[1]) });
  return { family: 4, local: ep(local), remote: ep(remote), state, stateCode: 1, txQueue: 0, rxQueue: 0, timer: 'none', timerSeconds: 0, uid: 1000, inode: 81926, ...over };
}

describe("the kernel's table", () => {
  const phone = { address: '127.10.1.10', port: 40015 };
  const server = { address: '127.0.0.80', port: 443 };
  const listener = socket('LISTEN', '127.0.0.80:443', '0.0.0.0:0', { rxQueue: 0, inode: 81924 });
  const est = socket('ESTABLISHED', '127.10.1.10:40015', '127.0.0.80:443');
  const estS = socket('ESTABLISHED', '127.0.0.80:443', '127.10.1.10:40015', { inode: 81927 });
  const look = (label: string, atMs: number, over: Partial<StateSnapshot> = {}): StateSnapshot => ({ label, atMs, observed: true, listener, ...over });
  const watched = (snapshots: StateSnapshot[], path: KernelStates['path'] = { kind: 'loopback' }): KernelStates => ({
    server, client: phone, observable: { ok: true }, names: { client: 'the phone', server: 'the SLB' }, path, snapshots,
  });
  const before = look('before connect', 0.4);
  const after = look('after connect', 3.2, { clientEnd: phone, client: est, serverEnd: estS });
  const answer = look('after the answer', 41.7, { clientEnd: phone, client: est, serverEnd: estS });
  const cases: Record<string, KernelStates> = {
    'the SLB closes first, TIME_WAIT': watched([before, after, answer, look('after close', 45.1, { clientEnd: phone, serverEnd: socket('TIME_WAIT', '127.0.0.80:443', '127.10.1.10:40015', { timer: 'TIME_WAIT', timerSeconds: 59.9, inode: 0 }) })]),
    'the phone closes first, FIN_WAIT2, on links': watched(
      [before, look('after connect', 3.2, { clientEnd: phone, client: socket('SYN_SENT', '127.10.1.10:40015', '127.0.0.80:443') }), answer, look('after close', 45.1, { clientEnd: phone, client: socket('FIN_WAIT2', '127.10.1.10:40015', '127.0.0.80:443'), serverEnd: socket('CLOSE_WAIT', '127.0.0.80:443', '127.10.1.10:40015') })],
      { kind: 'links', roundTripMs: 40 },
    ),
    'one end waits for its application': watched([before, after, look('after close', 45.1, { clientEnd: phone, client: socket('CLOSE_WAIT', '127.10.1.10:40015', '127.0.0.80:443'), serverEnd: estS })]),
    'both gone': watched([before, after, look('after close', 45.1, { clientEnd: phone })], { kind: 'links', roundTripMs: 0 }),
    'no listener': watched([look('before connect', 0.4, { listener: undefined })]),
    'not Linux': { ...watched([]), observable: { ok: false, blocked: { kind: 'not-linux', platform: 'darwin' } } },
    '/proc unreadable': { ...watched([]), observable: { ok: false, blocked: { kind: 'unreadable', code: 'EACCES' } } },
  };
  for (const [what, k] of Object.entries(cases)) {
    it(`${what}: in both languages`, () => {
      const { zh } = both((l) => inLang(l, () => words().tcpStates.kernelStateLines(k)));
      expect(zh.join('\n')).not.toMatch(/\bthe (phone|SLB)\b/);
    });
  }

  it("the two ends' rows line up by display width in Chinese", () => {
    const zh = words('zh').tcpStates.kernelStateLines(cases['the SLB closes first, TIME_WAIT']!);
    // Where each end's ss-style row starts, in terminal columns.
    const column = (ss: string) => {
      const row = zh.find((l) => l.endsWith(ss))!;
      return displayWidth(row.slice(0, row.length - ss.length));
    };
    expect(column(formatSs(est))).toBe(column(formatSs(estS)));
  });
});

// ── The order ──────────────────────────────────────────────────────────────────────────────

describe('the order', () => {
  it('the connection, the session, the request and the answer: values untouched', () => {
    const { result } = orders.classic!;
    const { en, zh } = both((l) => inLang(l, () => words().order.orderResultLines(result)));
    expect(zh[0]).toContain('（客户端，临时端口）');
    // The request and the body are quoted byte for byte in both languages.
    expect(zh.filter((l) => l.startsWith('  > ') || l.startsWith('  < '))).toEqual(en.filter((l) => l.startsWith('  > ') || l.startsWith('  < ')));
    expect(zh.join('\n')).toContain('趣谈网络协议');
  });
});
