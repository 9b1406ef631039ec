// Decrypting a real TLS connection's records with its key log: a Node TLS server and client on
// 127.0.0.1, the client on a recorder around its own socket (client/recording-socket.ts) that keeps
// the bytes each way, both ends' 'keylog' lines, then lab/observe/tls-decrypt.ts must give back
// exactly the bytes the two ends sent each other, the Finished messages, and precise errors.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueLeaf, makeRootCa } from '../certs/chain.ts';
import { RecordingSocket, type RecordedChunk } from '../client/recording-socket.ts';
import { LINKTYPE_ETHERNET, writePcapng } from '../lab/observe/pcapng.ts';
import { decryptRecords, type CapturedRecord, type Opened } from '../lab/observe/tls-decrypt.ts';
import { slbListenerSettings, tlsSettings } from '../servers/net/tls-modes.ts';

const root = makeRootCa();
const leaf = issueLeaf({ issuerCertPem: root.certPem, issuerKeyPem: root.keyPem, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });

const REQUEST = Buffer.from('POST /orders HTTP/1.1\r\nHost: localhost\r\nContent-Length: 17\r\n\r\n{"item":"phone"}\n');
// Larger than one record (2^14 bytes of plaintext at most, RFC 8446 §5.1): the reply spans several.
const BODY = 'x'.repeat(40_000);
const RESPONSE = Buffer.from(`HTTP/1.1 201 Created\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`);

interface Exchange {
  records: CapturedRecord[];
  chunks: RecordedChunk[];
  keyLog: string;
  clientKeyLog: string;
  cipher: tls.CipherNameAndProtocol;
}

/** Split the recorded chunks into whole records, each in the order its last byte passed. */
function recordsOf(chunks: readonly RecordedChunk[]): CapturedRecord[] {
  const pending = { client: Buffer.alloc(0), server: Buffer.alloc(0) };
  const records: CapturedRecord[] = [];
  for (const c of chunks) {
    const from = c.direction === 'sent' ? 'client' : 'server';
    let buf = Buffer.concat([pending[from], c.bytes]);
    while (buf.length >= 5 && buf.length >= 5 + buf.readUInt16BE(3)) {
      const end = 5 + buf.readUInt16BE(3);
      records.push({ from, header: buf.subarray(0, 5), fragment: buf.subarray(5, end) });
      buf = buf.subarray(end);
    }
    pending[from] = buf;
  }
  return records;
}

/** One connection: the client sends REQUEST, the server answers RESPONSE and closes. */
async function exchange(clientOptions: tls.ConnectionOptions, serverOptions: tls.TlsOptions): Promise<Exchange> {
  const serverLog: Buffer[] = [];
  const clientLog: Buffer[] = [];
  const server = tls.createServer({ key: leaf.keyPem, cert: leaf.certPem, ...serverOptions }, (s) => {
    let got = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length === REQUEST.length) s.end(RESPONSE);
    });
    s.on('error', () => {});
  });
  server.on('keylog', (line: Buffer) => serverLog.push(line));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const port = (server.address() as net.AddressInfo).port;
    const recorder = new RecordingSocket(net.connect({ host: '127.0.0.1', port, allowHalfOpen: true }));
    const cipher = await new Promise<tls.CipherNameAndProtocol>((resolve, reject) => {
      const s = tls.connect({ socket: recorder, servername: 'localhost', ca: root.certPem, ...clientOptions });
      s.on('keylog', (line: Buffer) => clientLog.push(line));
      s.on('secureConnect', () => s.write(REQUEST));
      let got = 0;
      s.on('data', (d: Buffer) => (got += d.length));
      s.on('end', () => {
        expect(got).toBe(RESPONSE.length);
        const c = s.getCipher();
        s.end();
        recorder.socket.once('close', () => resolve(c));
      });
      s.on('error', reject);
    });
    const keyLog = Buffer.concat([...serverLog, ...clientLog]).toString('utf8');
    return { records: recordsOf(recorder.chunks), chunks: recorder.chunks, keyLog, clientKeyLog: Buffer.concat(clientLog).toString('utf8'), cipher };
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

const opened = (o: Opened) => ('plaintext' in o ? o : undefined);
const errorOf = (o: Opened) => ('error' in o ? o.error : undefined);

/** The application data one side sent, put back together from its decrypted records. */
function applicationData(ex: Exchange, results: Opened[], from: 'client' | 'server'): Buffer {
  return Buffer.concat(results.flatMap((o, i) => (ex.records[i]!.from === from && opened(o)?.contentType === 23 ? [opened(o)!.plaintext] : [])));
}

/** The handshake messages (type, body length) in one side's decrypted handshake records. */
function encryptedHandshake(ex: Exchange, results: Opened[], from: 'client' | 'server', keyLabel: RegExp): Array<[number, number]> {
  let bytes = Buffer.concat(results.flatMap((o, i) => (ex.records[i]!.from === from && opened(o)?.contentType === 22 && keyLabel.test(opened(o)!.key) ? [opened(o)!.plaintext] : [])));
  const messages: Array<[number, number]> = [];
  while (bytes.length >= 4) {
    messages.push([bytes[0]!, bytes.readUIntBE(1, 3)]);
    bytes = bytes.subarray(4 + bytes.readUIntBE(1, 3));
  }
  return messages;
}

// Settings both ends take (tls.SecureContextOptions is what tls.connect and tls.createServer share).
const TLS12_ONLY: tls.SecureContextOptions = { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' };
const TLS13_ONLY: tls.SecureContextOptions = { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' };

const TLS12_CASES = [
  // The lab's classic mode, with the SLB's own listener settings (no EMS, no tickets, no renegotiation).
  { suite: 'TLS_RSA_WITH_AES_128_GCM_SHA256', client: tlsSettings('classic'), server: slbListenerSettings('classic') },
  // The same with OpenSSL's defaults (extended master secret on): the key log holds the master
  // secret itself, so how it was computed does not matter here.
  { suite: 'TLS_RSA_WITH_AES_128_GCM_SHA256 (extended master secret on)', client: { ...TLS12_ONLY, ciphers: 'AES128-GCM-SHA256' }, server: {} },
  { suite: 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384', client: { ...TLS12_ONLY, ciphers: 'ECDHE-RSA-AES256-GCM-SHA384' }, server: {} },
  { suite: 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256', client: { ...TLS12_ONLY, ciphers: 'ECDHE-RSA-CHACHA20-POLY1305' }, server: {} },
];

describe.each(TLS12_CASES)('TLS 1.2, $suite', ({ suite, client, server }) => {
  let ex: Exchange;
  let results: Opened[];
  beforeAll(async () => {
    ex = await exchange(client, server);
    results = decryptRecords(ex.records, ex.keyLog);
  });

  it('negotiated the suite; each end logs the master secret in a CLIENT_RANDOM line (an RSA client also the pre-master)', () => {
    expect(ex.cipher.standardName).toBe(suite.split(' ')[0]);
    expect(ex.cipher.version).toBe('TLSv1.2');
    const lines = ex.keyLog.trim().split('\n');
    expect(lines.filter((l) => l.startsWith('CLIENT_RANDOM'))).toEqual([expect.stringMatching(/^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}$/), lines[0]]);
    // NSS's "RSA <first 8 bytes of the encrypted pre-master> <pre-master>": OpenSSL's client writes it
    // too in RSA key exchange; it names no client random, so it is not what this module reads.
    const rsa = lines.filter((l) => !l.startsWith('CLIENT_RANDOM'));
    expect(rsa).toEqual(suite.includes('ECDHE') ? [] : [expect.stringMatching(/^RSA [0-9a-f]{16} 0303[0-9a-f]{92}$/)]);
  });

  it('opens every encrypted record, and the application data is exactly what each end sent', () => {
    expect(results.map(errorOf).filter(Boolean)).toEqual([]);
    expect(applicationData(ex, results, 'client').equals(REQUEST)).toBe(true);
    expect(applicationData(ex, results, 'server').equals(RESPONSE)).toBe(true);
  });

  it('plaintext up to each side’s ChangeCipherSpec; its next record is its Finished, sequence 0', () => {
    for (const from of ['client', 'server'] as const) {
      const mine = ex.records.map((r, i) => ({ r, o: results[i]! })).filter(({ r }) => r.from === from);
      const ccs = mine.findIndex(({ r }) => r.header[0] === 20);
      expect(mine.slice(0, ccs + 1).every(({ o }) => 'notEncrypted' in o)).toBe(true);
      const finished = opened(mine[ccs + 1]!.o)!;
      // Finished: handshake type 20, 12 bytes of verify_data (RFC 5246 §7.4.9).
      expect(finished).toMatchObject({ contentType: 22, sequence: 0, key: `TLS 1.2 key block (${from} write key)` });
      expect([...finished.plaintext.subarray(0, 4)]).toEqual([20, 0, 0, 12]);
      expect(mine.slice(ccs + 1).map(({ o }) => opened(o)!.sequence)).toEqual(mine.slice(ccs + 1).map((_, i) => i));
    }
  });

  it('the server’s close_notify is an encrypted alert (21) that decrypts to warning, close_notify', () => {
    const alerts = results.filter((o, i) => ex.records[i]!.from === 'server' && opened(o)?.contentType === 21);
    expect(alerts.map((o) => [...opened(o)!.plaintext])).toEqual([[1, 0]]);
  });

  it('a changed byte fails that record only, with an error and no throw', () => {
    const i = ex.records.findIndex((r, k) => r.from === 'client' && opened(results[k]!)?.contentType === 23);
    const fragment = Buffer.from(ex.records[i]!.fragment);
    fragment[20]! ^= 0x01;
    const changed = ex.records.map((r, k) => (k === i ? { ...r, fragment } : r));
    const again = decryptRecords(changed, ex.keyLog);
    expect(errorOf(again[i]!)).toMatch(/^record 1 under the TLS 1.2 key block \(client write key\) does not authenticate: the (aes-\d+-gcm|chacha20-poly1305) tag check failed/);
    expect(again.filter((_, k) => k !== i)).toEqual(results.filter((_, k) => k !== i));
  });

  it('without the CLIENT_RANDOM line, every encrypted record is an error naming it', () => {
    const random = ex.keyLog.split('\n')[0]!.split(' ')[1]!;
    const again = decryptRecords(ex.records, ex.keyLog.split('\n').filter((l) => !l.startsWith('CLIENT_RANDOM')).join('\n'));
    const errors = again.filter((o) => 'error' in o);
    expect(errors).toHaveLength(results.filter((o) => 'plaintext' in o).length);
    expect(errorOf(errors[0]!)).toBe(`the key log has no CLIENT_RANDOM line for client random ${random} (it has no line at all for this connection)`);
  });
});

const TLS13_CASES = [
  { suite: 'TLS_AES_128_GCM_SHA256', hashBytes: 32 },
  { suite: 'TLS_AES_256_GCM_SHA384', hashBytes: 48 },
  { suite: 'TLS_CHACHA20_POLY1305_SHA256', hashBytes: 32 },
];

describe.each(TLS13_CASES)('TLS 1.3, $suite', ({ suite, hashBytes }) => {
  let ex: Exchange;
  let results: Opened[];
  beforeAll(async () => {
    // Node takes TLS 1.3 suites in `ciphers` too; the server offers only this one.
    ex = await exchange({ ...TLS13_ONLY, ciphers: suite }, { ...TLS13_ONLY, ciphers: suite });
    results = decryptRecords(ex.records, ex.keyLog);
  });

  it('negotiated the suite; each end logs five secrets, the traffic secrets as long as the suite’s hash', () => {
    expect(ex.cipher).toMatchObject({ standardName: suite, version: 'TLSv1.3' });
    const labels = ex.clientKeyLog.trim().split('\n').map((l) => l.split(' ')[0]);
    expect(labels.sort()).toEqual(['CLIENT_HANDSHAKE_TRAFFIC_SECRET', 'CLIENT_TRAFFIC_SECRET_0', 'EXPORTER_SECRET', 'SERVER_HANDSHAKE_TRAFFIC_SECRET', 'SERVER_TRAFFIC_SECRET_0']);
    for (const line of ex.keyLog.trim().split('\n')) expect(line).toMatch(new RegExp(`^[A-Z_0]+ [0-9a-f]{64} [0-9a-f]{${2 * hashBytes}}$`));
  });

  it('opens every application_data record; only the hellos and ChangeCipherSpecs are plaintext', () => {
    expect(results.map(errorOf).filter(Boolean)).toEqual([]);
    const plain = ex.records.filter((_, i) => 'notEncrypted' in results[i]!).map((r) => `${r.from} ${r.header[0]}`);
    expect(plain).toEqual(['client 22', 'server 22', 'server 20', 'client 20']);
    expect(ex.records.every((r, i) => ('plaintext' in results[i]!) === (r.header[0] === 23))).toBe(true);
  });

  it('the application data is exactly what each end sent, under the application traffic secrets', () => {
    expect(applicationData(ex, results, 'client').equals(REQUEST)).toBe(true);
    expect(applicationData(ex, results, 'server').equals(RESPONSE)).toBe(true);
    const keys = new Set(results.filter((o) => opened(o)?.contentType === 23).map((o) => opened(o)!.key));
    expect([...keys].sort()).toEqual(['CLIENT_TRAFFIC_SECRET_0', 'SERVER_TRAFFIC_SECRET_0']);
  });

  it('the handshake secrets open the hidden handshake, ending in each side’s Finished (type 20)', () => {
    // Server: EncryptedExtensions, Certificate, CertificateVerify, Finished (RFC 8446 §2); verify_data is one hash long (§4.4.4).
    expect(encryptedHandshake(ex, results, 'server', /HANDSHAKE/).map(([type]) => type)).toEqual([8, 11, 15, 20]);
    expect(encryptedHandshake(ex, results, 'server', /HANDSHAKE/).at(-1)).toEqual([20, hashBytes]);
    expect(encryptedHandshake(ex, results, 'client', /HANDSHAKE/)).toEqual([[20, hashBytes]]);
    // The client's Finished is its first encrypted record, sequence 0 under its handshake secret.
    const first = results.find((o, i) => ex.records[i]!.from === 'client' && 'plaintext' in o);
    expect(first).toMatchObject({ key: 'CLIENT_HANDSHAKE_TRAFFIC_SECRET', sequence: 0, contentType: 22 });
    // After its Finished the server's application secret starts again at 0: NewSessionTickets (type 4) first.
    const afterFinished = results.find((o, i) => ex.records[i]!.from === 'server' && opened(o)?.key === 'SERVER_TRAFFIC_SECRET_0');
    expect(afterFinished).toMatchObject({ sequence: 0, contentType: 22 });
    expect(opened(afterFinished!)!.plaintext[0]).toBe(4);
  });

  it('the close_notify hides in application_data: inner type 21, warning close_notify', () => {
    const alerts = results.filter((o, i) => ex.records[i]!.from === 'server' && opened(o)?.contentType === 21);
    expect(alerts.map((o) => [...opened(o)!.plaintext])).toEqual([[1, 0]]);
  });

  it('a changed byte in a record, or in its header (the additional data), fails that record only', () => {
    const i = ex.records.findIndex((r, k) => r.from === 'server' && opened(results[k]!)?.contentType === 23);
    const fragment = Buffer.from(ex.records[i]!.fragment);
    fragment[fragment.length - 1]! ^= 0x80; // in the tag
    const again = decryptRecords(ex.records.map((r, k) => (k === i ? { ...r, fragment } : r)), ex.keyLog);
    expect(errorOf(again[i]!)).toMatch(/^record \d+ under SERVER_TRAFFIC_SECRET_0 does not authenticate/);
    expect(again.filter((_, k) => k !== i)).toEqual(results.filter((_, k) => k !== i));
    const header = Buffer.from(ex.records[i]!.header);
    header[2] = 0x01; // legacy_record_version 0x0301: the same length, but not the header that was authenticated
    const again2 = decryptRecords(ex.records.map((r, k) => (k === i ? { ...r, header } : r)), ex.keyLog);
    expect(errorOf(again2[i]!)).toMatch(/does not authenticate/);
  });

  it('without CLIENT_TRAFFIC_SECRET_0, the client’s application records are errors naming it; the rest still open', () => {
    const keyLog = ex.keyLog.split('\n').filter((l) => !l.startsWith('CLIENT_TRAFFIC_SECRET_0')).join('\n');
    const again = decryptRecords(ex.records, keyLog);
    again.forEach((o, k) => {
      const wanted = results[k]!;
      if (ex.records[k]!.from === 'client' && opened(wanted)?.key === 'CLIENT_TRAFFIC_SECRET_0') {
        expect(errorOf(o)).toMatch(/^the key log has no CLIENT_TRAFFIC_SECRET_0 line for client random [0-9a-f]{64} \(it has only .*CLIENT_HANDSHAKE_TRAFFIC_SECRET/);
      } else {
        expect(o).toEqual(wanted);
      }
    });
  });
});

describe('bad input gives errors, never a throw', () => {
  it('no records, or no key log', () => {
    expect(decryptRecords([], '')).toEqual([]);
    expect(decryptRecords([], 'garbage\n\n#comment')).toEqual([]);
  });

  it('records without hellos: the encrypted-looking one says what is missing', () => {
    const record = (from: 'client' | 'server', type: number, fragment: Buffer) => ({ from, header: Buffer.from([type, 3, 3, fragment.length >> 8, fragment.length & 0xff]), fragment });
    const results = decryptRecords([record('client', 23, Buffer.alloc(40)), record('server', 21, Buffer.from([2, 40]))], '');
    expect(results).toEqual([{ error: "no ClientHello among the client's records: no client random to find the key log lines by" }, { notEncrypted: true }]);
  });

  it('a header that is not 5 bytes, or that disagrees with its fragment', () => {
    const results = decryptRecords([{ from: 'client', header: Buffer.from([23, 3]), fragment: Buffer.alloc(3) }, { from: 'server', header: Buffer.from([23, 3, 3, 0, 9]), fragment: Buffer.alloc(3) }], '');
    expect(results).toEqual([{ error: 'a record header is 5 bytes, this one has 2' }, { error: 'the header announces a 9-byte fragment, the record has 3 bytes' }]);
  });
});

// ── A second opinion: Wireshark ───────────────────────────────────────────────────────────
//
// The recorded streams, wrapped in made-up Ethernet/IPv4/TCP headers and written as pcapng with the
// key log inside, decrypted by tshark: its decrypted TLS stream must be what we decrypted.

const hasTshark = spawnSync('tshark', ['--version']).status === 0;

/** One Ethernet frame: 10.0.0.1:50000 (client) ⇄ 10.0.0.2:443 (server), TCP flags and payload. */
function frame(from: 'client' | 'server', seq: number, ack: number, flags: number, payload: Buffer): Buffer {
  const ip = Buffer.alloc(20);
  ip.writeUInt8(0x45, 0); // IPv4, 5 words of header
  ip.writeUInt16BE(20 + 20 + payload.length, 2);
  ip.writeUInt8(64, 8); // TTL
  ip.writeUInt8(6, 9); // TCP
  Buffer.from(from === 'client' ? [10, 0, 0, 1, 10, 0, 0, 2] : [10, 0, 0, 2, 10, 0, 0, 1]).copy(ip, 12);
  const tcp = Buffer.alloc(20);
  tcp.writeUInt16BE(from === 'client' ? 50000 : 443, 0);
  tcp.writeUInt16BE(from === 'client' ? 443 : 50000, 2);
  tcp.writeUInt32BE(seq >>> 0, 4);
  tcp.writeUInt32BE(ack >>> 0, 8);
  tcp.writeUInt8(5 << 4, 12); // 5 words of header
  tcp.writeUInt8(flags, 13);
  tcp.writeUInt16BE(65535, 14);
  const ethernet = Buffer.from('020000000002020000000001' + '0800', 'hex');
  return Buffer.concat([ethernet, ip, tcp, payload]);
}

/** The chunks as TCP segments after a three-way handshake (checksums left 0: tshark does not check them by default). */
function pcapngOf(chunks: readonly RecordedChunk[], keyLog: string): Buffer {
  const SYN = 0x02, ACK = 0x10, PSH = 0x08;
  const next = { client: 1000, server: 5000 };
  const frames = [frame('client', next.client++, 0, SYN, Buffer.alloc(0)), frame('server', next.server++, next.client, SYN | ACK, Buffer.alloc(0)), frame('client', next.client, next.server, ACK, Buffer.alloc(0))];
  for (const c of chunks) {
    const from = c.direction === 'sent' ? 'client' : 'server';
    const to = from === 'client' ? 'server' : 'client';
    for (let at = 0; at < c.bytes.length; at += 1400) {
      const part = c.bytes.subarray(at, at + 1400);
      frames.push(frame(from, next[from], next[to], ACK | PSH, part));
      next[from] += part.length;
    }
  }
  return writePcapng({
    interface: { linkType: LINKTYPE_ETHERNET, snapLength: 262144 },
    frames: frames.map((data, i) => ({ timestampNs: BigInt(i) * 1000n, originalLength: data.length, data })),
    tlsKeyLog: keyLog,
  });
}

/** `tshark -z follow,tls,raw`: the decrypted stream in hex, "Node 0"'s lines flush left, the other's indented.
 *  Node 0 is whoever tshark saw decrypted data from first: in TLS 1.3 that is the server (its tickets). */
function tsharkFollow(file: string): { client: Buffer; server: Buffer } {
  const out = spawnSync('tshark', ['-r', file, '-q', '-z', 'follow,tls,raw,0'], { encoding: 'utf8' });
  expect(out.status, out.stderr).toBe(0);
  const clientIsNode0 = out.stdout.includes('Node 0: 10.0.0.1:50000');
  const body = out.stdout.split('\n').filter((l) => /^\t?[0-9a-f]+$/.test(l));
  const side = (indented: boolean) => Buffer.from(body.filter((l) => l.startsWith('\t') === indented).map((l) => l.trim()).join(''), 'hex');
  return { client: side(!clientIsNode0), server: side(clientIsNode0) };
}

const tsharkTitle = hasTshark ? 'tshark decrypts the same bytes' : 'tshark (skipped: `tshark --version` failed, Wireshark is not installed)';
describe.skipIf(!hasTshark)(tsharkTitle, () => {
  let dir: string;
  beforeAll(() => void (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-tls-decrypt-')))); // not at collection: a skipped suite runs no afterAll
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it.each([
    { name: 'classic', client: tlsSettings('classic'), server: slbListenerSettings('classic') },
    { name: 'TLS 1.3', client: TLS13_ONLY, server: TLS13_ONLY },
  ])('$name', async ({ name, client, server }) => {
    const ex = await exchange(client, server);
    const results = decryptRecords(ex.records, ex.keyLog);
    const file = path.join(dir, `${name.replace(/\W/g, '')}.pcapng`);
    fs.writeFileSync(file, pcapngOf(ex.chunks, ex.keyLog), { mode: 0o600 });
    const theirs = tsharkFollow(file);
    expect(theirs.client.equals(applicationData(ex, results, 'client'))).toBe(true);
    expect(theirs.server.equals(applicationData(ex, results, 'server'))).toBe(true);
    expect(theirs.client.equals(REQUEST)).toBe(true);
  });
});
