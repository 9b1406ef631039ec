// The lab's capture tooling without a lab: tcpdump's counts, the capture filter, the pcap/pcapng
// reader and writer, the header decoder, one connection's segments, the key log selection.
// (The walkthrough's real capture is checked against tshark in test/walkthrough.test.ts.)
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureSoFar, captureUnavailable, labFilter, lostFrames, lostFramesWarning, parseTcpdumpStats, startCapture } from '../lab/capture.ts';
import { clientRandoms, keyLogLinesFor } from '../lab/observe/keylog.ts';
import { decodeFrame, tcpConnections, tcpSegments } from '../lab/observe/packets.ts';
import { readCapture, SECRETS_TLS_KEY_LOG, writePcapng } from '../lab/observe/pcapng.ts';

describe("tcpdump's own counts", () => {
  it('a clean stop: 0 dropped, no warning', () => {
    const stats = parseTcpdumpStats('tcpdump: listening on lo, link-type EN10MB (Ethernet), snapshot length 65549 bytes\n118 packets captured\n236 packets received by filter\n0 packets dropped by kernel\n');
    expect(stats).toEqual({ captured: 118, receivedByFilter: 236, droppedByKernel: 0, droppedByInterface: undefined });
    expect(lostFrames(stats)).toBe(0);
    expect(lostFramesWarning({ lost: lostFrames(stats), file: 'capture.pcapng' })).toBeUndefined();
  });

  it('a capture that lost frames says so loudly, with the number', () => {
    const stats = parseTcpdumpStats('7147 packets captured\n40000 packets received by filter\n25704 packets dropped by kernel\n3 packets dropped by interface\n');
    expect(lostFrames(stats)).toBe(25707);
    expect(lostFramesWarning({ lost: lostFrames(stats), file: '.lab/capture.pcapng' })).toMatch(/^WARNING: the capture LOST 25707 frame\(s\) .*\.lab\/capture\.pcapng is incomplete/);
  });

  it('a tcpdump that said nothing about drops is not taken for a clean one', () => {
    const stats = parseTcpdumpStats('tcpdump: pcap_loop: error\n');
    expect(lostFrames(stats)).toBeUndefined();
    expect(lostFramesWarning({ lost: undefined, file: 'c.pcapng' })).toMatch(/did not report how many frames it dropped/);
  });
});

describe('the capture filter', () => {
  it('on one address: by port, nothing to leave out', () => {
    expect(labFilter([{ host: '127.0.0.1', port: 8053 }, { host: '127.0.0.1', port: 8091 }], false)).toBe('port 8053 or port 8091');
  });

  // Two labs in one network namespace (two test files at once in CI) have the same per-role
  // addresses: each capture must hold its own lab's packets only, or a frame of the other's
  // DNS walk turns up in this one's story. tcpdump on lo, with real datagrams, and the real
  // "port unreachable" the kernel sends for a datagram to a port nobody holds.
  it.skipIf(captureUnavailable() !== undefined)("per role: this lab's sockets (address and port) and the ICMP errors about them; not another lab's on the same address, not the health checks' own address", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-filter-'));
    const sockets: dgram.Socket[] = [];
    const bound = async (address: string) => {
      const s = dgram.createSocket('udp4');
      sockets.push(s);
      await new Promise<void>((resolve) => s.bind(0, address, resolve));
      return s;
    };
    // Ports on 127.0.0.10 that nobody holds any more: a role that is down, ours and another lab's.
    // Both are bound before either is closed, so they differ.
    const closedPorts = async () => {
      const held = [dgram.createSocket('udp4'), dgram.createSocket('udp4')];
      for (const s of held) await new Promise<void>((resolve) => s.bind(0, '127.0.0.10', resolve));
      const ports = held.map((s) => s.address().port);
      for (const s of held) await new Promise<void>((resolve) => s.close(() => resolve()));
      return ports;
    };
    try {
      const ours = await bound('127.0.0.10'); // this lab's root
      const theirs = await bound('127.0.0.10'); // another lab's root: the same address, another port
      const client = await bound('127.0.0.53'); // a local DNS
      const healthCheck = await bound('127.0.0.114'); // a health check's own source address
      const [oursDown, theirsDown] = (await closedPorts()) as [number, number]; // a role of this lab's that is down, and another lab's
      const port = (s: dgram.Socket) => s.address().port;
      const roles = [{ host: '127.0.0.10', port: port(ours) }, { host: '127.0.0.10', port: oursDown }, { host: '127.0.0.53', port: 40053 }];
      const capture = await startCapture(path.join(dir, 'c.pcapng'), labFilter(roles, true, ['127.0.0.114']));
      const send = (from: dgram.Socket, toPort: number, text: string) => new Promise<void>((resolve) => from.send(text, toPort, '127.0.0.10', () => resolve()));
      await send(client, port(ours), 'ours 1');
      await send(client, port(theirs), 'theirs');
      await send(healthCheck, port(ours), 'health');
      await send(client, oursDown, 'to our role that is down');
      await send(client, theirsDown, 'to their role that is down');
      await send(client, port(ours), 'ours 2');
      // What each frame is: a UDP payload, or an ICMP error with the port of the datagram it quotes
      // (an Ethernet header of 14 bytes on lo, IP 20, then UDP 8 or ICMP 8 + the quoted IP 20).
      const seen = (f: { data: Buffer }) => (f.data[23] === 1 ? `ICMP type ${f.data[34]} about port ${f.data.readUInt16BE(64)}` : f.data.subarray(42).toString());
      // tcpdump writes each frame as it comes (-U): wait until the last ones we expect are in the file.
      await captureSoFar(capture, (c) => c.frames.length >= 4);
      await capture.stop();
      const frames = readCapture(fs.readFileSync(capture.rawFile)).frames.map(seen);
      // Another test's traffic on lo cannot match this filter; the kernel's ICMP may come after the next datagram.
      expect(frames.sort()).toEqual([`ICMP type 3 about port ${oursDown}`, 'ours 1', 'ours 2', 'to our role that is down']);
    } finally {
      for (const s of sockets) s.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ── frames built by hand, byte by byte ──

function ipv4Bytes(a: string): number[] {
  return a.split('.').map(Number);
}

/** An Ethernet + IPv4 + TCP frame on lo (zero MACs), with options and payload as given. */
function tcpFrame(o: { src: string; dst: string; sport: number; dport: number; seq: number; ack: number; flags: number; window: number; options?: number[]; payload?: Buffer }): Buffer {
  const options = o.options ?? [];
  const payload = o.payload ?? Buffer.alloc(0);
  const tcpLength = 20 + options.length;
  const eth = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00]);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + tcpLength + payload.length, 2);
  ip.writeUInt16BE(0x1234, 4);
  ip.writeUInt16BE(0x4000, 6); // DF
  ip[8] = 64;
  ip[9] = 6;
  Buffer.from(ipv4Bytes(o.src)).copy(ip, 12);
  Buffer.from(ipv4Bytes(o.dst)).copy(ip, 16);
  const tcp = Buffer.alloc(tcpLength);
  tcp.writeUInt16BE(o.sport, 0);
  tcp.writeUInt16BE(o.dport, 2);
  tcp.writeUInt32BE(o.seq, 4);
  tcp.writeUInt32BE(o.ack, 8);
  tcp.writeUInt16BE(((tcpLength / 4) << 12) | o.flags, 12);
  tcp.writeUInt16BE(o.window, 14);
  Buffer.from(options).copy(tcp, 20);
  return Buffer.concat([eth, ip, tcp, payload]);
}

// MSS 65495, SACK permitted, timestamps 1000/0, NOP, window scale 7: what Linux puts in a SYN.
const SYN_OPTIONS = [2, 4, 0xff, 0xd7, 4, 2, 8, 10, 0, 0, 0x03, 0xe8, 0, 0, 0, 0, 1, 3, 3, 7];
const phone = { address: '127.10.1.10', port: 40000 };
const slb = { address: '127.0.0.80', port: 4433 };
const random = Buffer.alloc(32, 0xab);
const clientHello = Buffer.concat([Buffer.from([22, 3, 1, 0, 100, 1, 0, 0, 96, 3, 3]), random, Buffer.alloc(60)]);

function handshakeFrames(): Buffer[] {
  const isnClient = 0xfffffff0; // wraps past 2^32 within the connection
  const isnServer = 1000;
  return [
    tcpFrame({ src: phone.address, dst: slb.address, sport: phone.port, dport: slb.port, seq: isnClient, ack: 0, flags: 0x002, window: 65495, options: SYN_OPTIONS }),
    tcpFrame({ src: slb.address, dst: phone.address, sport: slb.port, dport: phone.port, seq: isnServer, ack: isnClient + 1, flags: 0x012, window: 65483, options: SYN_OPTIONS }),
    tcpFrame({ src: phone.address, dst: slb.address, sport: phone.port, dport: slb.port, seq: isnClient + 1, ack: isnServer + 1, flags: 0x010, window: 512 }),
    tcpFrame({ src: phone.address, dst: slb.address, sport: phone.port, dport: slb.port, seq: isnClient + 1, ack: isnServer + 1, flags: 0x018, window: 512, payload: clientHello }),
    tcpFrame({ src: slb.address, dst: phone.address, sport: slb.port, dport: phone.port, seq: isnServer + 1, ack: (isnClient + 1 + clientHello.length) >>> 0, flags: 0x010, window: 512 }),
  ];
}

/** A classic pcap file, little-endian, µs or ns timestamps: what tcpdump writes. */
function pcapFile(frames: Buffer[], nano: boolean): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(nano ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(65549, 16);
  head.writeUInt32LE(1, 20);
  const records = frames.map((f, i) => {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(1_700_000_000 + i, 0);
    r.writeUInt32LE(nano ? 123_456_789 : 123_456, 4);
    r.writeUInt32LE(f.length, 8);
    r.writeUInt32LE(f.length, 12);
    return Buffer.concat([r, f]);
  });
  return Buffer.concat([head, ...records]);
}

describe('reading and writing capture files', () => {
  it('reads classic pcap with µs and with ns timestamps, frames numbered from 1', () => {
    for (const nano of [false, true]) {
      const file = readCapture(pcapFile(handshakeFrames(), nano));
      expect(file.format).toBe('pcap');
      expect(file.frames.map((f) => f.number)).toEqual([1, 2, 3, 4, 5]);
      expect(file.frames[1]!.timestampNs).toBe(1_700_000_001_000_000_000n + (nano ? 123_456_789n : 123_456_000n));
      expect(file.frames[0]!.data.equals(handshakeFrames()[0]!)).toBe(true);
    }
  });

  it('writes pcapng (SHB, DSB, IDB, EPBs) that reads back the same, secrets included and padded to 32 bits', () => {
    const frames = readCapture(pcapFile(handshakeFrames(), true)).frames;
    const keyLog = `CLIENT_RANDOM ${'ab'.repeat(32)} ${'cd'.repeat(48)}\n`; // 162 bytes: not a multiple of 4
    const bytes = writePcapng({ interface: { linkType: 1, snapLength: 65549, name: 'lo' }, frames, tlsKeyLog: keyLog, application: 'test' });
    expect(bytes.readUInt32LE(0)).toBe(0x0a0d0d0a);
    expect(bytes.length % 4).toBe(0);
    const back = readCapture(bytes);
    expect(back.format).toBe('pcapng');
    expect(back.interfaces).toEqual([{ linkType: 1, snapLength: 65549, unitsPerSecond: 1_000_000_000n, name: 'lo' }]);
    expect(back.secrets).toHaveLength(1);
    expect(back.secrets[0]!.type).toBe(SECRETS_TLS_KEY_LOG);
    expect(back.secrets[0]!.data.toString()).toBe(keyLog);
    expect(back.frames.map((f) => [f.number, f.timestampNs, f.data.toString('hex')])).toEqual(frames.map((f) => [f.number, f.timestampNs, f.data.toString('hex')]));
  });

  it('refuses what is not a capture, and a block whose two lengths differ', () => {
    expect(() => readCapture(Buffer.from('GET / HTTP/1.1\r\n'))).toThrow(/not a pcap or pcapng file/);
    const bytes = writePcapng({ interface: { linkType: 1, snapLength: 100 }, frames: [] });
    bytes.writeUInt32LE(999, bytes.length - 4);
    expect(() => readCapture(bytes)).toThrow(/two total lengths differ|bad total length/);
  });
});

describe('the headers of a frame, and one connection', () => {
  it('decodes Ethernet, IPv4 and TCP with the SYN options Linux sends', () => {
    const d = decodeFrame(readCapture(pcapFile(handshakeFrames(), false)).frames[0]!);
    expect(d.ethernet).toEqual({ offset: 0, destination: '00:00:00:00:00:00', source: '00:00:00:00:00:00', etherType: 0x0800 });
    expect(d.ipv4).toMatchObject({ offset: 14, headerLength: 20, totalLength: 60, identification: 0x1234, dontFragment: true, ttl: 64, protocol: 6, source: '127.10.1.10', destination: '127.0.0.80' });
    expect(d.tcp).toMatchObject({ offset: 34, sourcePort: 40000, destinationPort: 4433, seq: 0xfffffff0, headerLength: 40, flagBits: 0x002, window: 65495, payloadOffset: 74, payloadLength: 0 });
    expect(d.tcp!.flags).toMatchObject({ syn: true, ack: false });
    expect(d.tcp!.options).toEqual([
      { kind: 'mss', value: 65495 },
      { kind: 'sack-permitted' },
      { kind: 'timestamps', value: 1000, echoReply: 0 },
      { kind: 'nop' },
      { kind: 'window-scale', shift: 7 },
    ]);
  });

  it('gives the segments of one connection with absolute and relative numbers, across the 2^32 wrap', () => {
    const file = readCapture(pcapFile(handshakeFrames(), false));
    expect(tcpConnections(file)).toEqual([{ client: phone, server: slb, synFrame: 1 }]);
    const segments = tcpSegments(file, phone, slb);
    expect(segments.map((s) => [s.frame, s.direction, s.relativeSeq, s.relativeAck, s.payloadLength])).toEqual([
      [1, 'client→server', 0, undefined, 0],
      [2, 'server→client', 0, 1, 0],
      [3, 'client→server', 1, 1, 0],
      [4, 'client→server', 1, 1, clientHello.length],
      [5, 'server→client', 1, 1 + clientHello.length, 0],
    ]);
    expect(segments[3]!.seq).toBe(0xfffffff1);
    expect(segments[4]!.ack).toBe((0xfffffff1 + clientHello.length) >>> 0); // wrapped past zero
    expect(tcpSegments(file, phone, { address: '127.0.0.80', port: 443 })).toEqual([]);
  });

  it('picks the key log lines of the ClientHellos in the capture, and only those', () => {
    const file = readCapture(pcapFile(handshakeFrames(), false));
    expect([...clientRandoms(file)]).toEqual([random.toString('hex')]);
    const ours = `CLIENT_RANDOM ${random.toString('hex')} ${'11'.repeat(48)}`;
    const theirs = `CLIENT_RANDOM ${'cd'.repeat(32)} ${'22'.repeat(48)}`;
    const tls13 = `SERVER_TRAFFIC_SECRET_0 ${random.toString('hex').toUpperCase()} ${'33'.repeat(32)}`;
    expect(keyLogLinesFor(`${theirs}\n${ours}\n# comment ${random.toString('hex')}\n${tls13}\n`, clientRandoms(file))).toEqual([ours, tls13]);
  });
});
