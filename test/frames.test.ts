// Every narrated message names its frame: the DNS and HTTP readers on frames built by hand, the
// report's wire order, and a real walkthrough in both TLS modes checked against tshark — each frame
// the trace names is one where tshark shows that very message (DNS id and name, HTTP method, URI
// and status, TLS handshake and record types), at tshark's wire time.
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { dnsMessages, findDnsMessage, readDnsMessage } from '../lab/observe/dns-wire.ts';
import { findHttpExchange, httpStarts } from '../lab/observe/http-wire.ts';
import type { CaptureFile, Frame } from '../lab/observe/pcapng.ts';
import { foldCopies, wireOrder } from '../lab/report.ts';
import { diagramPart, lanesOf, partsOf } from '../lab/report/diagram.ts';
import { dissectCapture } from '../lab/observe/dissect.ts';
import { readCapture } from '../lab/observe/pcapng.ts';
import type { TraceEvent } from '../lab/trace.ts';
import { Packet, type DnsPacket } from '../servers/dns/dns-server.ts';

// ── frames built by hand: Ethernet, IPv4, then UDP or TCP (checksums left 0: the readers do not check them) ──

const ip = (a: string) => a.split('.').map(Number);
function frame(o: { src: string; dst: string; sport: number; dport: number; udp?: boolean; seq?: number; flags?: number; payload: Buffer }): Buffer {
  const l4 = o.udp
    ? Buffer.from([o.sport >> 8, o.sport & 255, o.dport >> 8, o.dport & 255, (8 + o.payload.length) >> 8, (8 + o.payload.length) & 255, 0, 0])
    : (() => {
        const h = Buffer.alloc(20);
        h.writeUInt16BE(o.sport, 0);
        h.writeUInt16BE(o.dport, 2);
        h.writeUInt32BE(o.seq ?? 0, 4);
        h.writeUInt16BE((5 << 12) | (o.flags ?? 0x18), 12); // data offset 5 words; PSH ACK unless told
        h.writeUInt16BE(65535, 14);
        return h;
      })();
  const ipHeader = Buffer.from([0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, o.udp ? 17 : 6, 0, 0, ...ip(o.src), ...ip(o.dst)]);
  ipHeader.writeUInt16BE(20 + l4.length + o.payload.length, 2);
  return Buffer.concat([Buffer.alloc(12), Buffer.from([0x08, 0x00]), ipHeader, l4, o.payload]);
}

function captureOf(frames: Buffer[]): CaptureFile {
  const list: Frame[] = frames.map((data, i) => ({ number: i + 1, interfaceId: 0, linkType: 1, timestampNs: BigInt(i) * 1000n, time: 1_700_000_000 + i / 1e6, originalLength: data.length, data }));
  return { format: 'pcapng', interfaces: [{ linkType: 1, snapLength: 65549, unitsPerSecond: 1_000_000n }], frames: list, secrets: [] };
}

function dnsQuery(id: number, name: string, response = false): Buffer {
  const p = new Packet();
  p.header.id = id;
  p.header.rd = 1;
  p.header.qr = response ? 1 : 0;
  p.questions.push({ name, type: Packet.TYPE.A, class: Packet.CLASS.IN } as DnsPacket['questions'][number]);
  return p.toBuffer();
}

describe('the DNS reader (RFC 1035 §4.1)', () => {
  it('reads the header and the first question of a query and of a response', () => {
    const q = readDnsMessage(dnsQuery(0xcb8c, 'static.geektime.test'))!;
    expect(q.header).toMatchObject({ id: 0xcb8c, response: false, recursionDesired: true, rcode: 0, questions: 1 });
    expect(q.question).toEqual({ name: 'static.geektime.test', type: 1, class: 1 });
    expect(readDnsMessage(dnsQuery(7, 'www.geektime.test', true))!.header.response).toBe(true);
    expect(readDnsMessage(Buffer.alloc(11))).toBeUndefined(); // shorter than a header
  });

  it('follows a compression pointer, and does not loop on one that points at itself', () => {
    // One question, built by hand: "www", then a pointer to "test" at byte 22 (after QTYPE and QCLASS).
    const header = Buffer.from([0, 9, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0]);
    const name = Buffer.from([3, 0x77, 0x77, 0x77, 0xc0, 22, 0, 1, 0, 1, 4, 0x74, 0x65, 0x73, 0x74, 0]);
    expect(readDnsMessage(Buffer.concat([header, name]))!.question).toEqual({ name: 'www.test', type: 1, class: 1 });
    const loop = Buffer.concat([header, Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
    expect(readDnsMessage(loop)!.question).toBeUndefined();
  });

  it('finds a message by 4-tuple, id and name, over UDP and over TCP (length-prefixed, split across segments)', () => {
    const query = dnsQuery(42, 'Static.GeekTime.test'); // 0x20: the resolver may mix the case
    const answer = dnsQuery(42, 'Static.GeekTime.test', true);
    const overTcp = Buffer.concat([Buffer.from([0, answer.length]), answer]);
    const cap = captureOf([
      frame({ src: '127.0.0.53', dst: '127.0.0.10', sport: 4000, dport: 53, udp: true, payload: dnsQuery(41, 'other.test') }),
      frame({ src: '127.0.0.53', dst: '127.0.0.10', sport: 4000, dport: 53, udp: true, payload: query }),
      frame({ src: '127.0.0.53', dst: '127.0.0.12', sport: 5000, dport: 53, seq: 100, flags: 0x02, payload: Buffer.alloc(0) }), // SYN
      frame({ src: '127.0.0.12', dst: '127.0.0.53', sport: 53, dport: 5000, seq: 900, flags: 0x12, payload: Buffer.alloc(0) }), // SYN-ACK
      frame({ src: '127.0.0.12', dst: '127.0.0.53', sport: 53, dport: 5000, seq: 901, payload: overTcp.subarray(0, 10) }),
      frame({ src: '127.0.0.12', dst: '127.0.0.53', sport: 53, dport: 5000, seq: 911, payload: overTcp.subarray(10) }),
    ]);
    const servers = [{ address: '127.0.0.10', port: 53 }, { address: '127.0.0.12', port: 53 }];
    const messages = dnsMessages(cap, servers);
    const key = { client: { address: '127.0.0.53', port: 4000 }, server: servers[0]!, id: 42, name: 'static.geektime.test', response: false };
    expect(findDnsMessage(messages, key)?.frames).toEqual([2]);
    expect(findDnsMessage(messages, { ...key, response: true })).toBeUndefined();
    const tcp = findDnsMessage(messages, { client: { address: '127.0.0.53', port: 5000 }, server: servers[1]!, id: 42, name: 'static.geektime.test', response: true });
    expect(tcp).toMatchObject({ transport: 'tcp', frames: [5, 6] });
  });
});

describe('the HTTP start-line reader', () => {
  it('finds each hop of the same GET in order, and its answer on the same 4-tuple', () => {
    const get = Buffer.from('GET /images/phone.png HTTP/1.1\r\nhost: x\r\n\r\n');
    const ok = Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n');
    const cap = captureOf([
      frame({ src: '127.10.1.10', dst: '127.0.0.21', sport: 40000, dport: 80, payload: get }),
      frame({ src: '127.0.0.21', dst: '127.0.0.30', sport: 41000, dport: 81, payload: get }),
      frame({ src: '127.0.0.30', dst: '127.0.0.21', sport: 81, dport: 41000, payload: ok }),
      frame({ src: '127.0.0.21', dst: '127.10.1.10', sport: 80, dport: 40000, payload: Buffer.concat([ok, Buffer.from('body')]) }),
      frame({ src: '127.0.0.21', dst: '127.10.1.10', sport: 80, dport: 40000, payload: Buffer.from('HTTP/1.1 is not at the start here') }),
    ]);
    const starts = httpStarts(cap);
    expect(starts.map((s) => s.frame)).toEqual([1, 2, 3, 4]);
    const phone = findHttpExchange(starts, { from: { address: '127.10.1.10', port: 40000 }, to: { address: '127.0.0.21', port: 80 }, method: 'GET', target: '/images/phone.png' })!;
    expect([phone.request.frame, phone.response?.frame, phone.response?.status]).toEqual([1, 4, 200]);
    const edge = findHttpExchange(starts, { from: { address: '127.0.0.21' }, to: { address: '127.0.0.30', port: 81 }, method: 'GET', target: '/images/phone.png', after: 1 })!;
    expect([edge.request.frame, edge.response?.frame]).toEqual([2, 3]);
    expect(findHttpExchange(starts, { from: { address: '127.0.0.21' }, to: { address: '127.0.0.30', port: 81 }, method: 'GET', target: '/images/phone.png', after: 2 })).toBeUndefined();
  });
});

describe('the dissector on a damaged capture', () => {
  const ends = { src: '127.10.1.10', dst: '127.0.0.80', sport: 40000, dport: 443 };
  /** The ClientHello's fields as the dissector reads them from one segment (after a SYN, so the stream is known). */
  const helloFields = (hello: Buffer) => {
    const handshake = Buffer.concat([Buffer.from([1, 0, 0, hello.length]), hello]);
    const record = Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0, handshake.length]), handshake]);
    const { frames } = dissectCapture(captureOf([frame({ ...ends, seq: 99, flags: 0x02, payload: Buffer.alloc(0) }), frame({ ...ends, seq: 100, payload: record })]));
    const layer = frames[1]!.layers.find((l) => l.name === 'TLS handshake')!;
    for (const f of layer.fields) expect(f.offset + f.bytes, f.name).toBeLessThanOrEqual(54 + record.length); // nothing placed past the message
    expect(layer.summary).toBe('ClientHello (malformed: a length in it runs past the message)');
    return layer.fields;
  };
  const start = Buffer.concat([Buffer.from([0x03, 0x03]), Buffer.alloc(32, 0xab), Buffer.from([0])]); // legacy version, random, no session id

  it('reads a ClientHello whose cipher-suite length lies as far as the message goes, without throwing', () => {
    const fields = helloFields(Buffer.concat([start, Buffer.from([0xff, 0xfe, 0x00, 0x9c])])); // "65534 bytes of suites", then one
    expect(fields.find((f) => f.ws === 'tls.handshake.random')?.value).toBe('ab'.repeat(32));
    expect(fields.filter((f) => f.ws === 'tls.handshake.ciphersuite').map((f) => f.value)).toEqual(['0x009c TLS_RSA_WITH_AES_128_GCM_SHA256']);
  });

  it('keeps what came before a lying compression-method length', () => {
    const fields = helloFields(Buffer.concat([start, Buffer.from([0x00, 0x02, 0x00, 0x9c, 0xf0, 0x00, 0x00, 0x05])])); // 240 methods, 3 bytes left
    expect(fields.find((f) => f.ws === 'tls.handshake.ciphersuite')?.value).toBe('0x009c TLS_RSA_WITH_AES_128_GCM_SHA256');
    expect(fields.filter((f) => f.ws === 'tls.handshake.comp_method')).toHaveLength(3); // the three bytes there are
  });

  it('clips a certificate whose length runs past the message', () => {
    const cert = Buffer.concat([Buffer.from([0, 0, 10]), Buffer.from([0, 0, 0xff]), Buffer.alloc(7, 1)]); // list of 10, one "255-byte" certificate
    const handshake = Buffer.concat([Buffer.from([11, 0, 0, cert.length]), cert]);
    const record = Buffer.concat([Buffer.from([0x16, 0x03, 0x03, 0, handshake.length]), handshake]);
    const { frames } = dissectCapture(captureOf([frame({ ...ends, seq: 99, flags: 0x02, payload: Buffer.alloc(0) }), frame({ ...ends, seq: 100, payload: record })]));
    const layer = frames[1]!.layers.find((l) => l.name === 'TLS handshake')!;
    for (const f of layer.fields) expect(f.offset + f.bytes).toBeLessThanOrEqual(54 + record.length);
    expect(layer.fields.find((f) => f.ws === 'tls.handshake.certificate_length')?.value).toBe('255');
  });
});

describe("the report's sequence diagram", () => {
  const event = (i: number, wireTime?: number, frames?: number[]): TraceEvent => ({ t: i, at: '', step: 1, kind: 'x', from: 'phone', to: 'local-dns', summary: `e${i}`, ...(wireTime !== undefined && { wireTime, frames }) });

  it('orders arrows by wire time; a message the capture lacks stays after the one narrated before it', () => {
    const events = [event(0, 10, [3]), event(1, 5, [1]), event(2), event(3, 7, [2]), event(4, 10, [3])];
    expect(wireOrder(events).map((e) => e.summary)).toEqual(['e1', 'e2', 'e3', 'e0', 'e4']);
    expect(wireOrder([event(0), event(1), event(2)]).map((e) => e.summary)).toEqual(['e0', 'e1', 'e2']); // no capture: narration order
  });

  it('labels each arrow with its first frame and draws them in wire order, cut where each step begins', () => {
    const events = wireOrder([event(0, 10, [9]), event(1, 5, [4, 5, 6])]);
    const [part] = partsOf(events);
    const svg = diagramPart(part!, lanesOf(events), 5);
    expect(svg.indexOf('#4…')).toBeGreaterThan(0);
    expect(svg.indexOf('#4…')).toBeLessThan(svg.indexOf('#9<'));
    expect([...svg.matchAll(/data-wire-time="([\d.]+)"/g)].map((m) => Number(m[1]))).toEqual([5, 10]);
    expect(diagramPart(partsOf([event(0)])[0]!, ['phone', 'local-dns'], undefined)).not.toMatch(/data-wire-time|class="frame">#/);
    // Steps overlap on the wire: a later message of step 2 stays in step 3's part, in order.
    const s = (step: 1 | 2 | 3, t: number) => ({ ...event(t, t, [t]), step });
    expect(partsOf([s(1, 1), s(2, 2), s(3, 3), s(2, 4)]).map((p) => [p.step, p.messages.map((m) => m.event.wireTime)])).toEqual([[1, [1]], [2, [2]], [3, [3, 4]]]);
  });

  it('draws the same bytes once: a segment carrying a TLS message, a TLS record carrying HTTP, fold into that message', () => {
    const m = (kind: string, frames: number[], type?: string): TraceEvent => ({ t: 0, at: '', step: 2, kind, from: 'phone', to: 'slb', summary: kind, frames, wireTime: frames[0], data: type && { type } });
    const shown = foldCopies([m('tcp-segment', [5]), m('tls', [5], 'ClientHello'), m('tcp-segment', [6]), m('tls', [7], 'ApplicationData'), m('http-request', [7])]);
    expect(shown.map((e) => e.kind)).toEqual(['tls', 'tcp-segment', 'http-request']); // the ACK alone (frame 6) stays
    expect(shown[0]!.folded.map((e) => e.kind)).toEqual(['tcp-segment']);
    expect(shown[2]!.folded.map((e) => e.kind)).toEqual(['tls']);
  });
});

/** Every field the dissector places at a byte offset is, in tshark's PDML, a field of that name at that offset and size. */
async function expectDissectionAsTshark(file: string, dnsPorts: number[]): Promise<void> {
  const { frames } = dissectCapture(readCapture(fs.readFileSync(file)), { dnsPorts });
  const { stdout } = await run('tshark', ['-r', file, '-T', 'pdml', ...(await udpAsDns(file))], { maxBuffer: 200 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C.UTF-8' } });
  const packets = stdout.split('<packet>').slice(1);
  expect(packets).toHaveLength(frames.length);
  let checked = 0;
  const opened: string[] = [];
  packets.forEach((p, i) => {
    const shown = new Set([...p.matchAll(/<field name="([^"]+)"[^>]*? size="(\d+)" pos="(\d+)"/g)].map((m) => `${m[1]} ${m[3]}+${m[2]}`));
    const frame = frames[i]!;
    const covered = new Uint8Array(frame.hex.length / 2);
    for (const layer of frame.layers.filter((l) => !l.decrypted)) {
      for (const f of layer.fields) {
        covered.fill(1, f.offset, f.offset + f.bytes);
        // Once tshark opens a TLS 1.3 record with the secrets in the file, it shows what is inside instead of tls.app_data.
        if (!f.ws || f.partial || f.ws === 'tls.app_data') continue;
        expect(shown.has(`${f.ws} ${f.offset}+${f.bytes}`), `frame ${frame.number} ${layer.name} ${f.ws} at ${f.offset}, ${f.bytes} bytes (${f.value})`).toBe(true);
        checked++;
      }
    }
    expect(covered.every((b) => b === 1), `frame ${frame.number}: every byte belongs to a field`).toBe(true);
    // The records opened with the key log inside the capture: tshark opens them too, and shows the same fields at the same places.
    for (const layer of frame.layers.filter((l) => l.decrypted)) {
      for (const f of layer.fields.filter((x) => x.ws)) {
        expect(shown.has(`${f.ws} ${f.offset}+${f.bytes}`), `frame ${frame.number} decrypted ${layer.name} ${f.ws} at ${f.offset}, ${f.bytes} bytes (${f.value})`).toBe(true);
        opened.push(`${f.ws}=${f.value}`);
      }
    }
  });
  expect(checked).toBeGreaterThan(1000);
  expect(opened).toContain('http.request.method=POST'); // the order, from inside TLS
  expect(opened).toContain('tls.alert_message.desc=0 (close_notify)');
}

// ── a real run, both TLS modes, against tshark ──

const run = promisify(execFile);
const tsx = path.resolve('node_modules/.bin/tsx');
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});
const hasTools = os.platform() === 'linux' && ['tcpdump', 'tshark'].every((tool) => spawnSync(tool, ['--version']).status === 0);

/**
 * tshark's `-d` for every UDP port in the capture: all of the lab's UDP is DNS. With --ephemeral
 * the ports are random, and tshark tries its port tables before its DNS heuristic: a port that
 * happens to be in them (31 of the ephemeral range in tshark 4.0, e.g. 44818 EtherNet/IP) would
 * show a DNS message as another protocol, in about one run in twenty-five.
 */
async function udpAsDns(file: string): Promise<string[]> {
  const { stdout } = await run('tshark', ['-r', file, '-Y', 'udp', '-T', 'fields', '-e', 'udp.srcport', '-e', 'udp.dstport'], { maxBuffer: 20 * 1024 * 1024 });
  const ports = new Set(stdout.split(/\s+/).filter(Boolean));
  return [...ports].flatMap((p) => ['-d', `udp.port==${p},dns`]);
}

/** What tshark shows in each frame: one tab-separated line per frame, several values joined by commas. */
const FIELDS = ['frame.number', 'frame.time_epoch', 'dns.id', 'dns.qry.name', 'dns.flags.response', 'http.request.method', 'http.request.uri', 'http.response.code', 'tls.handshake.type', 'tls.record.content_type'] as const;
type Shown = Record<(typeof FIELDS)[number], string[]>;

async function tsharkFrames(file: string): Promise<Map<number, Shown>> {
  const { stdout } = await run('tshark', ['-r', file, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,', ...(await udpAsDns(file)), ...FIELDS.flatMap((f) => ['-e', f])], { maxBuffer: 20 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C.UTF-8' } });
  const frames = new Map<number, Shown>();
  for (const line of stdout.replace(/\n$/, '').split('\n')) {
    const values = line.split('\t');
    const shown = Object.fromEntries(FIELDS.map((f, i) => [f, values[i] ? values[i]!.split(',') : []])) as Shown;
    frames.set(Number(shown['frame.number'][0]), shown);
  }
  return frames;
}

/** What tshark must show in the frame(s) of a TLS message of this type (handshake type numbers, RFC 8446 §4 / RFC 5246 §7.4; record content types 20–23). */
function tlsShown(type: string, probablyTicket: boolean): { handshake?: string; content?: string } {
  switch (type) {
    case 'ClientHello': return { handshake: '1' };
    case 'ServerHello': return { handshake: '2' };
    case 'Certificate': return { handshake: '11' };
    case 'ServerHelloDone': return { handshake: '14' };
    case 'ClientKeyExchange': return { handshake: '16' };
    case 'ChangeCipherSpec': return { content: '20' };
    case 'EncryptedHandshake': return { content: '22' }; // tshark decrypts it with the secrets inside the capture
    case 'EncryptedAlert': return { content: '21' };
    case 'ApplicationData': return probablyTicket ? { handshake: '4' } : { content: '23' }; // TLS 1.3 tickets decrypt to NewSessionTicket
    default: return {};
  }
}

describe.skipIf(!hasTools)('each narrated message names a frame where tshark shows it (tcpdump and tshark on PATH)', () => {
  for (const mode of ['classic', 'modern'] as const) {
    it(`${mode}: DNS queries and answers, every CDN hop, every TLS message, the SLB's hop; wire times; the diagram in wire order`, { timeout: 90_000 }, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-frames-'));
      dirs.push(dir);
      // --json: the frames must be in the lines as they are printed, not only in trace.json.
      const { stdout } = await run(tsx, ['lab/cli.ts', '--ephemeral', '--json', '--mode', mode], { env: { ...process.env, LAB_DIR: dir, NO_COLOR: '1' }, timeout: 60_000 });
      const events = stdout.trim().split('\n').map((l) => JSON.parse(l) as TraceEvent);
      const shown = await tsharkFrames(path.join(dir, 'capture.pcapng'));
      const at = (e: TraceEvent) => shown.get(e.frames![0]!)!;

      // Every message between roles in steps 1–3 has frames, and the first one's wire time is tshark's.
      const messages = events.filter((e) => e.step >= 1 && e.from && e.to);
      expect(messages.length).toBeGreaterThan(40);
      for (const e of messages) {
        expect(e.frames?.length, `${e.kind} ${e.from} → ${e.to} ${e.summary}`).toBeGreaterThan(0);
        expect(Math.abs(e.wireTime! - Number(at(e)['frame.time_epoch'][0]))).toBeLessThan(1e-5);
      }

      // DNS: every query and answer of each lookup (the phone's, each step of the walk, the cached one).
      const dns = messages.filter((e) => e.kind.startsWith('dns-')); // the phone's query and answer, each walk step's (dns-walk-*)
      expect(dns.filter((e) => e.from === 'phone')).toHaveLength(3); // static twice (walk, then cache), www once
      expect(dns.length).toBeGreaterThanOrEqual(2 * 3 + 2 * 8); // the first walk has 7 steps, the www walk at least 1
      for (const e of dns) {
        const d = e.data as { id: number; name?: string; question?: { name: string } };
        const name = (d.question?.name ?? d.name)!;
        const f = at(e);
        expect([Number(f['dns.id'][0]), f['dns.qry.name'][0]?.toLowerCase(), f['dns.flags.response'][0]], `${e.kind} ${e.from} → ${e.to} frame ${e.frames}`)
          .toEqual([d.id, name.toLowerCase(), e.kind.endsWith('-answer') ? '1' : '0']);
      }

      // HTTP via the CDN (MISS through edge and parent to the origin, then the HIT) and the SLB → app server hop.
      const http = messages.filter((e) => (e.kind === 'http-request' || e.kind === 'http-response') && !(e.step === 3 && (e.from === 'phone' || e.to === 'phone')));
      expect(http.filter((e) => e.step === 1).map((e) => `${e.from}→${e.to}`)).toEqual([
        'phone→edge-north', 'edge-north→parent', 'parent→origin', 'origin→parent', 'parent→edge-north', 'edge-north→phone', // the page
        'phone→edge-north', 'edge-north→parent', 'parent→origin', 'origin→parent', 'parent→edge-north', 'edge-north→phone', // the picture, MISS
        'phone→edge-north', 'edge-north→phone', // the picture again, HIT
      ]);
      for (const e of http) {
        const f = at(e);
        if (e.kind === 'http-request') {
          const d = e.data as { target?: string; method: string; path?: string };
          expect([f['http.request.method'][0], f['http.request.uri'][0]], `${e.from} → ${e.to} frame ${e.frames}`).toEqual([d.method, d.target ?? d.path]);
        } else {
          expect(f['http.response.code'][0], `${e.from} → ${e.to} frame ${e.frames}`).toBe(String((e.data as { status: number }).status));
        }
      }
      const [post, created] = ['http-request', 'http-response'].map((k) => messages.find((e) => e.step === 3 && e.kind === k && (e.from === 'phone' || e.to === 'phone'))!);
      expect(at(post!)['http.request.method']).toContain('POST'); // decrypted from the secrets in the file
      expect(shown.get(created!.frames!.at(-1)!)!['http.response.code']).toContain('201');

      // TLS: each message's frame(s) carry that handshake message or record type, in tshark's eyes.
      const tls = messages.filter((e) => e.kind === 'tls');
      expect(tls.map((e) => (e.data as { type: string }).type)).toEqual(expect.arrayContaining(['ClientHello', 'ServerHello', 'ChangeCipherSpec', 'ApplicationData', 'EncryptedAlert']));
      for (const e of tls) {
        const d = e.data as { type: string; fields?: { probablyTicket?: boolean } };
        const want = tlsShown(d.type, Boolean(d.fields?.probablyTicket));
        const all = (field: keyof Shown) => e.frames!.flatMap((n) => shown.get(n)![field]);
        if (want.handshake) expect(all('tls.handshake.type'), `${d.type} frame ${e.frames}`).toContain(want.handshake);
        if (want.content) expect(all('tls.record.content_type'), `${d.type} frame ${e.frames}`).toContain(want.content);
      }

      // The prose names the same frames (the narration is in the report too).
      const report = fs.readFileSync(path.join(dir, 'report.html'), 'utf8');
      const firstQuery = dns[0]!;
      expect(report).toContain(`A static.geektime.test? (id ${(firstQuery.data as { id: number }).id}, recursion desired, frame ${firstQuery.frames![0]})`);
      for (const e of http.filter((x) => x.step === 1 && x.kind === 'http-request')) expect(report).toContain(`frame ${e.frames![0]}  ${e.from} → ${e.to}  GET `);
      const hello = tls.find((e) => (e.data as { type: string }).type === 'ClientHello')!;
      expect(report).toMatch(new RegExp(`frame ${hello.frames![0]} {2}phone → SLB {2}client→server ClientHello`));

      // The report's bytes: every field the dissector names is where tshark has it.
      const roles = (JSON.parse(fs.readFileSync(path.join(dir, 'trace.json'), 'utf8')) as { roles: Array<{ protocol: string; port: number }> }).roles;
      await expectDissectionAsTshark(path.join(dir, 'capture.pcapng'), [...new Set(roles.filter((r) => r.protocol === 'dns').map((r) => r.port))]);

      // The diagram: one arrow per message (copies of the same bytes folded), in wire-time order.
      const arrows = [...report.matchAll(/<g class="message" [^>]*?data-wire-time="([\d.]+)" data-frames="([\d ]+)"[^>]*>/g)];
      expect(arrows).toHaveLength(foldCopies(wireOrder(events.filter((e) => e.from && e.to))).length);
      const times = arrows.map((m) => Number(m[1]));
      expect(times.every((t, i) => i === 0 || t >= times[i - 1]!)).toBe(true);
      const postArrow = arrows.findIndex((m) => Number(m[2]!.split(' ')[0]) === post!.frames![0] && m.index !== undefined && report.slice(m.index, m.index + 400).includes('POST /purchaseOrder (inside TLS)'));
      const firstAlert = arrows.findIndex((m) => m.index !== undefined && /encrypted alert/.test(report.slice(m.index, report.indexOf('</title>', m.index))));
      expect(postArrow).toBeGreaterThan(-1);
      expect(postArrow).toBeLessThan(firstAlert); // the POST is drawn before the close_notify alerts
    });
  }
});
