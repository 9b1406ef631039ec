// `npm run lab`: the whole story on real sockets, its narration, and its artifacts.
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { tcpConnections, tcpSegments } from '../lab/observe/packets.ts';
import { readCapture } from '../lab/observe/pcapng.ts';
import type { TraceEvent } from '../lab/trace.ts';
import { SEED_BODY } from './lab-process.ts';

const run = promisify(execFile);
const tsx = path.resolve('node_modules/.bin/tsx');
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

async function walkthrough(...args: Array<string | NodeJS.ProcessEnv>) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-walk-'));
  dirs.push(dir);
  const env = Object.assign({}, ...args.filter((a) => typeof a !== 'string')) as NodeJS.ProcessEnv; // extra environment, e.g. a PATH
  const flags = args.filter((a): a is string => typeof a === 'string');
  const result = await run(tsx, ['lab/cli.ts', '--ephemeral', ...flags], { env: { ...process.env, LAB_DIR: dir, NO_COLOR: '1', ...env }, timeout: 60_000 });
  return { ...result, dir };
}

const ROLES = ['root', 'tld', 'shop-dns', 'cdn-dns', 'gslb', 'local-dns', 'origin', 'parent', 'edge-north', 'edge-south', 'slb', 'app-1', 'app-2'];

describe.skipIf(os.platform() !== 'linux')('npm run lab (Linux: one address per role)', () => {
  it('classic, north: the DNS walk, MISS then HIT, TCP states, each TLS message, the master secret, the layers, the 201', { timeout: 90_000 }, async () => {
    const { stdout, dir } = await walkthrough('--mode', 'classic');
    // Step 1: the local DNS walks root → test. → geektime.test → cdn.test → the GSLB.
    expect(stdout).toMatch(/1\. a\.root-servers\.test \(127\.0\.0\.10:\d+\): A static\.geektime\.test\?/);
    expect(stdout).toContain('→ NOERROR: referral to test. (ns.nic.test 127.0.0.11), TTL 172800');
    expect(stdout).toContain('→ NOERROR AA: static.geektime.test CNAME geektime.cdn.test, TTL 600');
    expect(stdout).toMatch(/ns1\.gslb\.cdn\.test \(127\.0\.0\.14:\d+\): A geektime\.gslb\.cdn\.test\?.*ECS 127\.10\.1\.0\/24/);
    expect(stdout).toMatch(/The GSLB's reasoning: client 127\.10\.1\.0\/24 .*→ edge-north 127\.0\.0\.21/);
    // ...the picture: MISS through edge and parent to the origin, then a HIT at the edge.
    expect(stdout).toMatch(/Cache-Status: parent; fwd=uri-miss; stored.*, edge-north; fwd=uri-miss; stored/);
    expect(stdout).toMatch(/the origin served 1 request\(s\) for it this time/);
    expect(stdout).toContain('The local DNS answers from its cache: it asks no other server');
    expect(stdout).toMatch(/Cache-Status: edge-north; hit; ttl=\d+/);
    expect(stdout).toMatch(/the origin served 0 request\(s\) for it this time/);
    // Step 2: TCP from the kernel, TLS from the wire, the chain, the three randoms.
    expect(stdout).toMatch(/the phone's end: +ESTAB/);
    expect(stdout).toMatch(/phone → SLB {2}client→server ClientHello: version TLS 1\.2, .*TLS_RSA_WITH_AES_128_GCM_SHA256.*SNI www\.geektime\.test, no extended_master_secret/);
    expect(stdout).toMatch(/SLB → phone {2}server→client Certificate: 2 certificate\(s\): "www\.geektime\.test" issued by "Geektime Lab Intermediate CA"/);
    expect(stdout).toContain('ClientKeyExchange: pre-master secret encrypted with the server\'s RSA public key: 256 bytes');
    expect(stdout).toContain('✓ intermediate "CN=Geektime Lab Intermediate CA" → root "CN=Geektime Lab Root CA"');
    expect(stdout).toMatch(/pre-master {5}0303[0-9a-f]{92}/);
    expect(stdout).toMatch(/= the key log's CLIENT_RANDOM line \d+: the same secret/);
    // Step 3: the request, the layers with real values, the SLB's choice, the 201.
    expect(stdout).toContain('> POST /purchaseOrder HTTP/1.1');
    const slbPort = /slb-classic +https:\/\/127\.0\.0\.80:(\d+)/.exec(stdout)![1]; // classic TLS has its own port
    expect(stdout).toContain(`> host: www.geektime.test:${slbPort}\n`); // the site's (classic) port
    // One TCP connection, phone → SLB: the states of both its ends, and the SLB saw the phone's own port.
    const phonePort = /TCP, phone 127\.10\.1\.10:(\d+) → SLB 127\.0\.0\.80:(\d+) \(states of both ends/.exec(stdout);
    expect(phonePort?.[2]).toBe(slbPort);
    const phone = `127.10.1.10:${phonePort![1]}`;
    expect(stdout).toContain(`The SLB accepted exactly one connection from the phone during the order: ${phone}, the phone's own address and port; its request record says client ${phone}.`);
    expect(stdout).toMatch(new RegExp(`the phone's end: +ESTAB +\\d+ +\\d+ +${phone} +127\\.0\\.0\\.80:${slbPort} `));
    expect(stdout).toMatch(new RegExp(`the SLB's end: +ESTAB +\\d+ +\\d+ +127\\.0\\.0\\.80:${slbPort} +${phone} `));
    expect(stdout).toContain(`Source port ${phonePort![1]}: ephemeral`); // the layers are the phone's connection's
    expect(stdout).not.toMatch(/\btap\b|\brelay|127\.0\.0\.79/);
    expect(stdout).toMatch(/MSS 65495/); // the MSS every SYN on lo carries (observed, or computed without a capture)
    expect(stdout).toMatch(/phone → SLB {2}client→server encrypted alert \(at the end of a connection, usually close_notify\)/);
    expect(stdout).toMatch(/127\.0\.0\.0 = 127\.0\.0\.0: same subnet 127\.0\.0\.0\/8/);
    expect(stdout).toContain('ARP is not used on loopback');
    expect(stdout).toMatch(/The SLB chose app-[12] .*X-Forwarded-For: 127\.10\.1\.10/);
    expect(stdout).toMatch(/Answer: 201, Location: \/purchaseOrder\/po-\d{6}\?token=[\w-]{22}, served by app-[12]/);
    // The 201's body as the bytes came (compact JSON from the app), not re-indented.
    expect(stdout).toMatch(/\n {4}< \{"id":"po-\d{6}","order":\{"date":"2018-07-01","className":"趣谈网络协议","Author":"刘超","price":"68"\},"createdAt":"[^"]+","handledBy":"app-[12]","forwarded":\{"for":"127\.10\.1\.10","proto":"https","host":"www\.geektime\.test:\d+"\}\}\n/);
    expect(stdout).toMatch(/All three steps done in \d+ ms\./);
    expect(fs.existsSync(path.join(dir, 'state.json'))).toBe(false);

    // The artifacts: the trace has every step's events; the report shows every role.
    const trace = JSON.parse(fs.readFileSync(path.join(dir, 'trace.json'), 'utf8')) as { events: TraceEvent[] };
    const kinds = (step: number) => new Set(trace.events.filter((e) => e.step === step).map((e) => e.kind));
    expect([...kinds(1)]).toEqual(expect.arrayContaining(['dns-query', 'dns-answer', 'gslb-decision', 'http-request', 'http-response', 'cache-path']));
    expect([...kinds(2)]).toEqual(expect.arrayContaining(['tcp-handshake', 'tls', 'master-secret']));
    expect([...kinds(3)]).toEqual(expect.arrayContaining(['layers', 'http-request', 'http-response']));
    expect(trace.events.every((e, i) => i === 0 || e.t >= trace.events[i - 1]!.t)).toBe(true);
    const report = fs.readFileSync(path.join(dir, 'report.html'), 'utf8');
    expect(report).toMatch(/^<!doctype html>/);
    expect(report).not.toMatch(/<script[^>]*\bsrc=|<link|<img|@import|url\((?!#)|(src|href)=["']?https?:/i); // self-contained: nothing is loaded
    expect(report).toContain(`content="default-src 'none';`); // and the page may load nothing (CSP)
    for (const role of ROLES) expect(report, role).toContain(`>${role}<`);
    expect(report).toContain('<svg');
  });

  it('modern, south: TLS 1.3 decoded as encrypted after the ServerHello, ECDHE explained, the south edge chosen', { timeout: 90_000 }, async () => {
    const { stdout, dir } = await walkthrough('--mode', 'modern', '--from', 'south', '--no-capture');
    expect(stdout).toMatch(/TCP segments: not observed \(no capture \(--no-capture\)\)/);
    const traced = (JSON.parse(fs.readFileSync(path.join(dir, 'trace.json'), 'utf8')) as { events: TraceEvent[] }).events;
    expect(traced.filter((e) => e.frames || e.wireTime)).toEqual([]); // --no-capture: no frames, nothing made up
    expect(traced.filter((e) => e.from && e.to).length).toBeGreaterThan(40);
    expect(stdout).toMatch(/ECS 127\.10\.2\.0\/24[\s\S]*→ edge-south 127\.0\.0\.22/);
    expect(stdout).toMatch(/ServerHello: TLS 1\.3/);
    // x25519 ECDHE (OpenSSL 3.0: Node 20, 22), or the hybrid with ML-KEM-768 (OpenSSL 3.5: Node 24, 26).
    expect(stdout).toMatch(/Key exchange: (x25519 \(ECDHE\)|X25519MLKEM768 \(hybrid: x25519 ECDHE \+ ML-KEM-768\))/);
    expect(stdout).not.toContain('pre-master');
    expect(stdout).toContain('"for":"127.10.2.10"'); // the body as received
    expect(stdout).toMatch(/Answer: 201/);
    // One connection straight to the SLB's shop port, which saw the phone's own port.
    const slbPort = /\bslb +https:\/\/127\.0\.0\.80:(\d+)/.exec(stdout)![1];
    const phonePort = /TCP, phone 127\.10\.2\.10:(\d+) → SLB 127\.0\.0\.80:(\d+) \(states of both ends/.exec(stdout);
    expect(phonePort?.[2]).toBe(slbPort);
    expect(stdout).toContain(`The SLB accepted exactly one connection from the phone during the order: 127.10.2.10:${phonePort![1]}, the phone's own address and port; its request record says client 127.10.2.10:${phonePort![1]}.`);
    expect(stdout).not.toMatch(/\btap\b|\brelay|127\.0\.0\.79/);
    // ClientHello … the client's Finished, decoded from the phone's own bytes; close_notify named an alert.
    expect(stdout).toMatch(/phone → SLB {2}client→server ClientHello: version TLS 1\.2 \(supported_versions: TLS 1\.3\)/);
    expect(stdout).toMatch(/phone → SLB {2}client→server encrypted \(client Finished — not readable on the wire\)/);
    expect(stdout).toMatch(/phone → SLB {2}client→server encrypted alert \(an application_data record of exactly an alert's size; at the end of a connection, usually close_notify\): 19 bytes/);
    // TLS 1.3: the client's ChangeCipherSpec and Finished ride in the same write as the request.
    const segment = /Total length of the segment carrying the request: 20 \(IP\) \+ 32 \(TCP\) \+ (\d+) \(payload\) = (\d+) bytes\. The payload is the client's one write of \1 bytes, recorded at its socket: ChangeCipherSpec \(6 bytes\) \+ Finished \(encrypted, (\d+) bytes\) \+ application_data \((\d+) bytes\)\./.exec(stdout);
    expect(segment).not.toBeNull();
    const [, payload, total, finished, request] = segment!.map(Number);
    expect(payload).toBe(6 + finished! + request!);
    expect(total).toBe(20 + 32 + payload!);
    expect(stdout).toContain(`The phone's socket sent that request as one ${request}-byte TLS record (header included), in the same write as its ChangeCipherSpec (6 bytes) and Finished (encrypted, ${finished} bytes).`);
  });

  const hasTools = ['tcpdump', 'tshark'].every((tool) => spawnSync(tool, ['--version']).status === 0);
  const tshark = async (file: string, ...args: string[]) => (await run('tshark', ['-r', file, ...args], { maxBuffer: 20 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C.UTF-8' } })).stdout;
  for (const mode of ['classic', 'modern'] as const) {
    it.skipIf(!hasTools)(`${mode}: leaves capture.pcapng, the run's record: tshark with no options shows the decrypted order, nothing is lost, no health checks, and the lab's reader agrees with tshark (tcpdump and tshark on PATH)`, { timeout: 90_000 }, async () => {
      const { stdout: narration, dir } = await walkthrough('--mode', mode);
      const file = path.join(dir, 'capture.pcapng');
      expect(fs.existsSync(path.join(dir, 'capture.pcap'))).toBe(false);
      expect(fs.readdirSync(dir).filter((f) => f.startsWith('capture'))).toEqual(['capture.pcapng']); // tcpdump's own pcap is gone
      expect((fs.statSync(file).mode & 0o777).toString(8)).toBe('600'); // it holds the run's TLS secrets
      const saved = JSON.parse(fs.readFileSync(path.join(dir, 'trace.json'), 'utf8')) as { events: TraceEvent[]; roles: { name: string; host: string; port: number; healthChecksFrom?: string }[] };
      const roles = saved.roles;

      // Nothing lost, by tcpdump's own count, and the run says so.
      const captured = saved.events.find((e) => e.kind === 'capture')!.data as { lost: number; frames: number; secretLines: number; stats: { droppedByKernel: number } };
      expect(captured.stats.droppedByKernel).toBe(0);
      expect(captured.lost).toBe(0);
      expect(narration).toMatch(new RegExp(`Capture: .*capture\\.pcapng \\(${captured.frames} frames, none lost; this run's TLS secrets inside\\)`));
      expect(narration).not.toMatch(/WARNING/);

      // No -o, no -d: the secrets are in the file, and tshark's heuristics find DNS, HTTP and TLS on the lab's (ephemeral) ports.
      const lines = (await tshark(file, '-Y', 'dns or http', '-T', 'fields', '-e', 'ip.src', '-e', 'ip.dst', '-e', '_ws.col.Info')).split('\n');
      const seen = (src: string, dst: string, text: RegExp) => lines.some((l) => l.startsWith(`${src}\t${dst}\t`) && text.test(l));
      expect(seen('127.0.0.53', '127.0.0.10', /query .* A static\.geektime\.test/), lines.join('\n')).toBe(true); // local DNS → root
      expect(seen('127.0.0.14', '127.0.0.53', /response .* A 127\.0\.0\.21/)).toBe(true); // the GSLB's answer
      expect(lines.filter((l) => l.startsWith('127.0.0.30\t127.0.0.40\t') && /GET \/images\/phone\.png/.test(l))).toHaveLength(1); // parent → origin, once
      const slb = roles.find((r) => r.name === (mode === 'classic' ? 'slb-classic' : 'slb'))!;
      const order = (await tshark(file, '-Y', `tcp.port == ${slb.port} && (http.request.method == "POST" || http.response.code == 201)`, '-T', 'fields', '-e', 'ip.src', '-e', 'http.request.uri', '-e', 'http.response.code', '-e', 'json.key', '-e', 'json.value.string', '-E', 'occurrence=a', '-E', 'aggregator=|'))
        .trim().split('\n').map((l) => l.split('\t'));
      const seed = JSON.parse(SEED_BODY) as { order: Record<string, string> };
      expect(order).toContainEqual(['127.10.1.10', '/purchaseOrder', '', [...Object.keys(seed.order), 'order'].join('|'), Object.values(seed.order).join('|')]);
      expect(order.some(([src, , code]) => src === '127.0.0.80' && code === '201')).toBe(true);
      expect(captured.secretLines).toBeGreaterThan(0);

      // Only the story: no health check (their own addresses, or their user agent) made it into the capture.
      const quiet = roles.flatMap((r) => (r.healthChecksFrom ? [r.healthChecksFrom] : []));
      expect(quiet.sort()).toEqual(['127.0.0.114', '127.0.0.180']);
      expect(await tshark(file, '-Y', `${quiet.map((a) => `ip.addr == ${a}`).join(' || ')} || http.user_agent contains "health-check" || http.request.uri == "/healthz"`)).toBe('');

      // The lab's reader and tshark agree on every segment of the order connection.
      const capture = readCapture(fs.readFileSync(file));
      expect(capture.frames).toHaveLength(captured.frames);
      expect(capture.secrets).toHaveLength(1);
      const conn = tcpConnections(capture).find((c) => c.client.address === '127.10.1.10' && c.server.address === slb.host && c.server.port === slb.port)!;
      expect(conn).toBeDefined();
      const ours = tcpSegments(capture, conn.client, conn.server);
      const fields = ['frame.number', 'tcp.srcport', 'tcp.dstport', 'tcp.seq_raw', 'tcp.ack_raw', 'tcp.seq', 'tcp.ack', 'tcp.flags', 'tcp.len', 'tcp.window_size_value', 'tcp.options.mss_val', 'tcp.options.wscale.shift', 'tcp.options.timestamp.tsval', 'tcp.options.sack_perm'];
      const filter = `ip.addr == ${conn.client.address} && tcp.port == ${conn.client.port} && ip.addr == ${conn.server.address} && tcp.port == ${conn.server.port}`;
      const theirs = (await tshark(file, '-Y', filter, '-T', 'fields', ...fields.flatMap((f) => ['-e', f]))).replace(/\n$/, '').split('\n'); // empty fields at a line's end are tabs too
      const option = <K extends string>(s: (typeof ours)[number], kind: K) => s.options.find((o) => o.kind === kind) as Record<string, number> | undefined;
      const mine = ours.map((s) => [
        s.frame, s.direction === 'client→server' ? conn.client.port : conn.server.port, s.direction === 'client→server' ? conn.server.port : conn.client.port,
        s.seq, s.ack, s.relativeSeq, s.relativeAck ?? 0, `0x${s.flagBits.toString(16).padStart(4, '0')}`, s.payloadLength, s.window,
        option(s, 'mss')?.value ?? '', option(s, 'window-scale')?.shift ?? '', option(s, 'timestamps')?.value ?? '', option(s, 'sack-permitted') ? '0402' : '',
      ].join('\t'));
      expect(mine).toEqual(theirs);
      expect(ours.filter((s) => s.flags.syn).map((s) => option(s, 'mss')?.value)).toEqual([65495, 65495]); // lo: 65535 - 20 - 20
      expect(ours.some((s) => s.payloadLength > 0)).toBe(true);

      // No relay: one connection phone → SLB, from the port the story names, and the POST crosses it once.
      const [, phonePort] = /TCP, phone 127\.10\.1\.10:(\d+) → SLB 127\.0\.0\.80:(\d+)/.exec(narration)!;
      expect(conn.client.port).toBe(Number(phonePort));
      const syns = await tshark(file, '-Y', `tcp.flags.syn == 1 && tcp.flags.ack == 0 && ip.dst == ${slb.host} && tcp.dstport == ${slb.port}`, '-T', 'fields', '-e', 'ip.src', '-e', 'tcp.srcport');
      expect(syns.trim().split('\n')).toEqual([`127.10.1.10\t${phonePort}`]);
      expect(order.filter(([src, uri]) => src === '127.10.1.10' && uri === '/purchaseOrder')).toHaveLength(1);
      expect(await tshark(file, '-Y', 'ip.addr == 127.0.0.79')).toBe('');

      // Step 2's handshake as narrated equals tshark on the same frames: numbers, flags, window, options.
      const one = async (frame: string, ...f: string[]) => (await tshark(file, '-Y', `frame.number == ${frame}`, '-T', 'fields', ...f.flatMap((x) => ['-e', x]))).replace(/\n$/, '').split('\t');
      const hs = [
        /frame (\d+) {2}phone → SLB {2}\[SYN\] {2}seq (\d+) \(relative 0\), ack \d+ \(ACK flag off: not used\), window (\d+), 0 bytes of data\n +options: MSS (\d+), SACK-permitted, timestamps TSval (\d+) TSecr 0, window scale (\d+)/,
        /frame (\d+) {2}SLB → phone {2}\[SYN, ACK\] {2}seq (\d+) \(relative 0\), ack (\d+) \(relative 1\), window (\d+), 0 bytes of data\n +options: MSS (\d+), SACK-permitted, timestamps TSval (\d+) TSecr (\d+), window scale (\d+)/,
        /frame (\d+) {2}phone → SLB {2}\[ACK\] {2}seq (\d+) \(relative 1\), ack (\d+) \(relative 1\), window (\d+) /,
      ].map((re) => re.exec(narration));
      expect(hs.every(Boolean), narration).toBe(true);
      const [syn, synAck, ack] = hs as RegExpExecArray[];
      const opt = ['tcp.options.mss_val', 'tcp.options.sack_perm', 'tcp.options.timestamp.tsval', 'tcp.options.timestamp.tsecr', 'tcp.options.wscale.shift'];
      expect(await one(syn[1]!, 'tcp.srcport', 'tcp.seq_raw', 'tcp.flags.str', 'tcp.window_size_value', ...opt)).toEqual([phonePort, syn[2], '··········S·', syn[3], syn[4], '0402', syn[5], '0', syn[6]]);
      expect(await one(synAck[1]!, 'tcp.srcport', 'tcp.seq_raw', 'tcp.ack_raw', 'tcp.flags.str', 'tcp.window_size_value', ...opt)).toEqual([String(slb.port), synAck[2], synAck[3], '·······A··S·', synAck[4], synAck[5], '0402', synAck[6], synAck[7], synAck[8]]);
      expect(await one(ack[1]!, 'tcp.srcport', 'tcp.seq_raw', 'tcp.ack_raw', 'tcp.flags.str', 'tcp.window_size_value')).toEqual([phonePort, ack[2], ack[3], '·······A····', ack[4]]);
      expect([Number(syn[1]), Number(synAck[1])]).toEqual(ours.filter((x) => x.flags.syn).map((x) => x.frame));
      expect(narration).toMatch(/\[phone SYN-SENT, SLB SYN-RECEIVED\][\s\S]*\[phone ESTABLISHED, SLB SYN-RECEIVED\][\s\S]*\[phone ESTABLISHED, SLB ESTABLISHED\]/);
      expect(narration).toContain('SYN-SENT and SYN-RECEIVED are inferred here from the segments');

      // The POST and the 201: the frames the narration names are tshark's, with the same IP lengths.
      const post = /the segment that carried it, frame (\d+) \((\d+) bytes of TCP data, IP total length (\d+)\)/.exec(narration)!;
      const answer = /The 201 comes back in frame (\d+) \((\d+) bytes of TCP data, IP total length (\d+)\)/.exec(narration)!;
      expect(post).not.toBeNull();
      expect(answer).not.toBeNull();
      const frameOf = async (f: string) => (await tshark(file, '-Y', `tcp.port == ${slb.port} && ${f}`, '-T', 'fields', '-e', 'frame.number', '-e', 'tcp.len', '-e', 'ip.len')).trim().split('\t');
      expect(await frameOf('http.request.method == "POST"')).toEqual([post[1], post[2], post[3]]);
      expect(await frameOf('http.response.code == 201')).toEqual([answer[1], answer[2], answer[3]]);
      expect(narration).toContain(`bytes 16–17    total length             ${post[3]}   [observed, frame ${post[1]}]`);
      expect(narration).toContain(`bytes 38–41    sequence number          ${(await one(post[1]!, 'tcp.seq_raw'))[0]}   [observed, frame ${post[1]}]`);
      expect(narration).toMatch(new RegExp(`content type +23 \\(application_data\\): application_data \\(encrypted\\) +\\[observed, frame ${post[1]}\\]`));

      // The close as it happens on the wire: FIN both ways, no RST in the order connection.
      expect(await tshark(file, '-Y', `${filter} && tcp.flags.reset == 1`)).toBe('');
      const fins = (await tshark(file, '-Y', `${filter} && tcp.flags.fin == 1`, '-T', 'fields', '-e', 'frame.number', '-e', 'tcp.srcport')).trim().split('\n').map((l) => l.split('\t'));
      expect(fins.map(([, port]) => port)).toEqual([String(slb.port), phonePort]); // the SLB closes first
      expect(narration).toContain('The close (RFC 9293 §3.6): SLB sends its FIN first (active close)');
      for (const [frame] of fins) expect(narration).toMatch(new RegExp(`frame ${frame} {2}(SLB → phone|phone → SLB) {2}\\[FIN, `));
      expect(narration).toContain('SLB ends in TIME-WAIT');

      // Every TCP event in the trace has its frames and their wire time (tshark's frame.time_epoch).
      const tcpEvents = saved.events.filter((e) => e.kind.startsWith('tcp'));
      expect(tcpEvents.filter((e) => e.kind === 'tcp-segment').map((e) => e.frames![0])).toEqual(ours.map((x) => x.frame));
      for (const e of tcpEvents) {
        expect(e.frames?.length, e.kind).toBeGreaterThan(0);
        const [epoch] = await one(String(e.frames![0]), 'frame.time_epoch');
        expect(Math.abs(e.wireTime! - Number(epoch))).toBeLessThan(1e-5);
      }
      const synEvent = saved.events.find((e) => e.kind === 'tcp-handshake')!.data as { syn: { seq: number; options: unknown[] } };
      expect(String(synEvent.syn.seq)).toBe(syn[2]); // --json carries what the prose shows
    });
  }

  it('without tcpdump on PATH the run completes and says what it could not observe', { timeout: 90_000 }, async () => {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-no-tcpdump-'));
    dirs.push(bin);
    fs.symlinkSync(process.execPath, path.join(bin, 'node')); // node, and nothing else
    const { stdout, dir } = await walkthrough('--mode', 'classic', { PATH: bin });
    expect(stdout).toMatch(/All three steps done/);
    expect(stdout).toContain('no capture: tcpdump is not installed (apt install tcpdump), so no capture.pcapng: the frames, TCP sequence numbers and TLS records of this run are not recorded');
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('capture'))).toEqual([]);
    const events = (JSON.parse(fs.readFileSync(path.join(dir, 'trace.json'), 'utf8')) as { events: TraceEvent[] }).events;
    expect(events.find((e) => e.kind === 'capture')?.summary).toMatch(/^no capture: tcpdump is not installed/);
    // The TCP section and the layers say they are computed, and mark each value's source.
    expect(stdout).toContain('TCP segments: not observed (no capture: tcpdump is not installed');
    expect(stdout).toContain('Every TCP value in this step and the next is computed or read from the socket, not from the wire.');
    expect(stdout).toContain('No frame to read them from (no capture: tcpdump is not installed');
    expect(stdout).toContain('every value is computed or read from the socket and this machine, none observed on the wire');
    expect(stdout).toMatch(/TCP +MSS: 65495 +\[computed\]/);
    expect(stdout).toMatch(/IP +source: 127\.10\.1\.10 +\[from the socket\]/);
    expect(stdout).not.toMatch(/\[observed, frame/);
    expect(events.find((e) => e.kind === 'tcp-handshake')?.data).toMatchObject({ observed: false });
    expect(events.find((e) => e.kind === 'layers')?.data).toMatchObject({ observed: false });
    // No capture: no message names a frame, and the diagram keeps the narration's order.
    expect(events.filter((e) => e.frames || e.wireTime)).toEqual([]);
    expect(stdout).not.toMatch(/\bframe \d/);
    const report = fs.readFileSync(path.join(dir, 'report.html'), 'utf8');
    expect(report).not.toMatch(/data-wire-time|class="frame">#/);
    expect(report).toContain('no capture: in the order the run narrated them');
    expect(stdout).toMatch(/Source 127\.10\.1\.10, destination 127\.0\.0\.80, protocol 6 \(TCP\)/);
    // The layer arithmetic equals what the recorder saw the phone's socket send.
    const computed = /sent as one application-data record it is \d+ \+ 29 = (\d+) bytes/.exec(stdout)?.[1];
    const measured = /The phone's socket sent that request as one (\d+)-byte TLS record \(header included\)\./.exec(stdout)?.[1];
    expect(computed).toBeDefined();
    expect(computed).toBe(measured);
    // TLS 1.2: the request is a write of its own, so the segment is 20 + 32 + that record.
    expect(stdout).toContain(`Total length of the segment carrying the request: 20 (IP) + 32 (TCP) + ${measured} (payload) = ${52 + Number(measured)} bytes. The payload is the client's one write of ${measured} bytes, recorded at its socket: application_data (${measured} bytes).`);
    expect(stdout).toContain('− 20 (IP) − 20 (TCP) = 65495 bytes.');
  });

  it('--json prints the trace as JSON lines, one event each, with every step', { timeout: 90_000 }, async () => {
    const { stdout } = await walkthrough('--json');
    const events = stdout.trim().split('\n').map((line) => JSON.parse(line) as TraceEvent);
    expect(new Set(events.map((e) => e.step))).toEqual(new Set([0, 1, 2, 3]));
    expect(events.some((e) => e.kind === 'master-secret')).toBe(true);
  });

  it('a role that cannot start stops the lab with one message naming the role, the address and the fix', { timeout: 60_000 }, async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.80', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      await expect(walkthrough('--slb-port', String(port))).rejects.toMatchObject({
        code: 1,
        stderr: expect.stringMatching(new RegExp(`starting the lab failed: slb: 127\\.0\\.0\\.80:${port} is already in use`)),
      });
    } finally {
      blocker.close();
    }
  });

  it('a bad option stops with a clear message and a non-zero exit', async () => {
    await expect(walkthrough('--mode', 'ancient')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('--mode must be classic or modern, not "ancient"') });
  });
});

describe('npm run lab on one address (the macOS default)', () => {
  it('completes, says the region cannot be told by address, and fetches from the edge the GSLB chose', { timeout: 90_000 }, async () => {
    const { stdout } = await walkthrough('--single-address', '--from', 'south', '--no-capture');
    expect(stdout).toContain('the GSLB sees 127.0.0.1 and answers for its default region');
    const chosen = /The GSLB's reasoning: .* → (edge-\w+) 127\.0\.0\.1:/.exec(stdout)?.[1];
    expect(chosen).toBeDefined();
    expect(stdout).toMatch(new RegExp(`GET http://static\\.geektime\\.test:\\d+/images/phone\\.png from 127\\.0\\.0\\.1:\\d+ → ${chosen} 127\\.0\\.0\\.1`));
    expect(stdout).toMatch(/Answer: 201/);
    expect(stdout).toMatch(/All three steps done/);
  });
});
