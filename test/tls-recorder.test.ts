// The phone's one connection to the SLB, recorded around its own socket, and the decoder that reads
// it: the handshake from real bytes in both modes, on a connection that goes straight to the SLB
// (the SLB sees the phone's own port), a recorder TLS never notices, and a decoder that neither
// chokes on odd chunking nor on garbage.
import crypto, { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { placeOrder, type OrderResult } from '../client/order-client.ts';
import { RecordingSocket } from '../client/recording-socket.ts';
import { decodeRecording, writeCarrying, type RecordedTlsConnection } from '../lab/observe/tls-recorder.ts';
import { TlsStreamDecoder, withoutBytes, type Direction, type TlsEvent } from '../lab/tls-decoder.ts';

const describeTlsEvent = (e: TlsEvent) => words().tls.tlsMessageLine(withoutBytes(e));
import type { AcceptRecord, ForwardRecord } from '../servers/slb.ts';
import type { TlsMode } from '../servers/net/tls-modes.ts';
import { makeChainDir, startShop, type Shop } from './shop-fixture.ts';
import { words } from '../lab/story/words/index.ts';

const chain = makeChainDir('lab-tls-recorder-');
let shop: Shop;

beforeAll(async () => {
  shop = await startShop(chain);
});
afterAll(async () => {
  await shop.close();
  fs.rmSync(chain.dir, { recursive: true, force: true });
});

interface RecordedOrder {
  result: OrderResult;
  conn: RecordedTlsConnection;
  /** The recorder itself, to compare with the TCP socket under it. */
  recorder: RecordingSocket;
  /** Every TCP connection the SLB accepted while the order ran, and the request it took. */
  accepted: AcceptRecord[];
  forwarded: ForwardRecord[];
}

/** Place the seed's order straight to the SLB, recording the phone's socket; wait until it has closed. */
async function orderRecorded(mode: TlsMode): Promise<RecordedOrder> {
  const port = mode === 'classic' ? shop.slb.classicPort! : shop.slb.port;
  const accepted: AcceptRecord[] = [];
  const forwarded: ForwardRecord[] = [];
  const onAccept = (a: AcceptRecord) => accepted.push(a);
  const onRequest = (r: ForwardRecord) => forwarded.push(r);
  shop.slb.events.on('accept', onAccept);
  shop.slb.events.on('request', onRequest);
  try {
    let closed = () => {};
    const whenClosed = new Promise<void>((resolve) => (closed = resolve));
    const result = await placeOrder({ hostname: 'www.geektime.test', address: shop.slb.host, port, rootCaPem: shop.rootPem, mode, record: true, onTcpClose: () => closed() });
    await whenClosed;
    return { result, conn: decodeRecording(result.wire!.chunks), recorder: result.wire as RecordingSocket, accepted, forwarded };
  } finally {
    shop.slb.events.off('accept', onAccept);
    shop.slb.events.off('request', onRequest);
  }
}

/** The events without the recorder's stamps, as a bare decoder would give them. */
function bare(conn: RecordedTlsConnection): TlsEvent[] {
  return conn.events.map(({ at: _a, sinceStartMs: _s, chunk: _c, ...e }) => e as TlsEvent);
}

const steps = (events: TlsEvent[]) => events.map((e) => `${e.direction} ${e.name}`);

/** One connection, straight to the SLB, which saw the phone's own address and port. */
function expectOneDirectConnection({ result, accepted, forwarded, recorder, conn }: RecordedOrder, slbPort: number): void {
  const phone = `${result.tcp.localAddress}:${result.tcp.localPort}`;
  expect(result.tcp).toMatchObject({ remoteAddress: shop.slb.host, remotePort: slbPort }); // no relay: the SLB's own address and port
  expect(accepted).toEqual([{ client: phone, port: slbPort, refused: false }]); // exactly one TCP connection during the order
  expect(forwarded.map((r) => r.client)).toEqual([phone]); // and the order came in on it
  expect(forwarded[0]!.xForwardedFor).toBe(result.tcp.localAddress);
  // The recording is the whole connection: every byte the TCP socket wrote and read, once.
  expect(conn.bytes['client→server']).toBe(recorder.socket.bytesWritten);
  expect(conn.bytes['server→client']).toBe(recorder.socket.bytesRead);
  expect(recorder.error).toBeUndefined();
}

describe('classic mode (TLS 1.2, RSA key exchange), recorded at the phone', () => {
  let order: RecordedOrder;
  let result: OrderResult;
  let conn: RecordedTlsConnection;
  beforeAll(async () => {
    order = await orderRecorded('classic');
    ({ result, conn } = order);
  });

  it('goes straight to the SLB: one TCP connection, the SLB sees the phone\'s port; the order gets 201 and the chain still verifies', () => {
    expect(result.status).toBe(201);
    expect(result.tls.protocol).toBe('TLSv1.2');
    expect(result.tls.chain.length).toBeGreaterThanOrEqual(3);
    expect(result.tls.chain.every((s) => s.ok)).toBe(true);
    expectOneDirectConnection(order, shop.slb.classicPort!);
  });

  it('reads the seed’s handshake in order, message by message', () => {
    expect(steps(conn.events).slice(0, 9)).toEqual([
      'client→server ClientHello',
      'server→client ServerHello',
      'server→client Certificate',
      'server→client ServerHelloDone',
      'client→server ClientKeyExchange',
      'client→server ChangeCipherSpec',
      'client→server encrypted handshake message (Finished)',
      'server→client ChangeCipherSpec',
      'server→client encrypted handshake message (Finished)',
    ]);
    const rest = conn.events.slice(9);
    const data = rest.filter((e) => e.type === 'ApplicationData');
    expect(new Set(data.map((e) => e.direction))).toEqual(new Set(['client→server', 'server→client']));
    expect(rest.every((e) => e.type === 'ApplicationData' || e.type === 'EncryptedAlert')).toBe(true);
    expect(rest.every((e) => e.encrypted)).toBe(true);
    // Time only moves forward, chunk after chunk.
    expect(conn.events.every((e, i) => i === 0 || (e.at >= conn.events[i - 1]!.at && e.chunk >= conn.events[i - 1]!.chunk))).toBe(true);
    expect(conn.chunks.every((c, i) => i === 0 || c.at >= conn.chunks[i - 1]!.at)).toBe(true);
  });

  it('the request rides in a write of its own: the client waited for the server\'s Finished', () => {
    const request = conn.events.find((e) => e.type === 'ApplicationData' && e.direction === 'client→server')!;
    const write = writeCarrying(conn, request)!;
    expect(write.records.map((r) => r.type)).toEqual(['ApplicationData']);
    expect(write.chunk.bytes.length).toBe(request.length);
    expect(request.length).toBe(Buffer.byteLength(result.requestText) + 29); // header 5, explicit nonce 8, GCM tag 16
    // The client's flight after ServerHelloDone was one write: ClientKeyExchange, ChangeCipherSpec, Finished.
    const keyExchange = conn.events.find((e) => e.type === 'ClientKeyExchange')!;
    expect(writeCarrying(conn, keyExchange)!.records.map((r) => r.type)).toEqual(['ClientKeyExchange', 'ChangeCipherSpec', 'EncryptedHandshake']);
  });

  it('ClientHello: offers TLS_RSA_WITH_AES_128_GCM_SHA256, names www.geektime.test, no extended_master_secret', () => {    const hello = conn.events[0]!;
    if (hello.type !== 'ClientHello') throw new Error(hello.type);
    expect(hello.record).toMatchObject({ contentType: 22, contentTypeName: 'handshake', offset: 0 });
    expect(hello.offset).toBe(5); // the message starts right after the 5-byte record header
    expect(hello.fields.legacyVersionName).toBe('TLS 1.2');
    expect(hello.fields.random).toMatch(/^[0-9a-f]{64}$/);
    expect(hello.fields.cipherSuites.map((s) => s.name)).toContain('TLS_RSA_WITH_AES_128_GCM_SHA256');
    expect(hello.fields.serverName).toBe('www.geektime.test');
    expect(hello.fields.extendedMasterSecret).toBe(false);
    expect(hello.fields.extensions.map((x) => x.name)).not.toContain('extended_master_secret');
    expect(hello.fields.supportedVersions).toBeUndefined(); // a TLS 1.2-only client does not mention 1.3
    expect(conn.clientRandom).toBe(hello.fields.random);
    expect(describeTlsEvent(hello)).toMatch(/^client→server ClientHello: .*TLS_RSA_WITH_AES_128_GCM_SHA256.*SNI www\.geektime\.test/);
  });

  it('ServerHello: TLS 1.2, chose TLS_RSA_WITH_AES_128_GCM_SHA256, its random (no downgrade marker: that port cannot do TLS 1.3)', () => {
    const hello = conn.events[1]!;
    if (hello.type !== 'ServerHello') throw new Error(hello.type);
    expect(hello.fields.versionName).toBe('TLS 1.2');
    expect(hello.fields.cipherSuite).toEqual({ id: 0x009c, name: 'TLS_RSA_WITH_AES_128_GCM_SHA256' });
    expect(hello.fields.random).toMatch(/^[0-9a-f]{64}$/);
    expect(hello.fields.random).not.toBe(conn.clientRandom);
    expect(hello.fields.helloRetryRequest).toBe(false);
    // The classic port speaks only TLS 1.2, so its random has no downgrade marker: only a server
    // that could have done TLS 1.3 ends it with "DOWNGRD\x01" (RFC 8446 §4.1.3).
    expect(hello.fields.downgradeSentinel).toBeUndefined();
    expect(hello.fields.extendedMasterSecret).toBe(false);
    expect(conn.serverRandom).toBe(hello.fields.random);
  });

  it('Certificate: the leaf for www.geektime.test, then the intermediate, exactly the files the lab made', () => {
    const cert = conn.events[2]!;
    if (cert.type !== 'Certificate') throw new Error(cert.type);
    const [leaf, intermediate] = cert.fields.certificates;
    expect(cert.fields.certificates).toHaveLength(2);
    expect(leaf!.commonName).toBe('www.geektime.test');
    expect(intermediate!.commonName).toBe('Geektime Lab Intermediate CA');
    expect(leaf!.issuer).toBe(intermediate!.subject);
    expect(leaf!.der.equals(new X509Certificate(fs.readFileSync(chain.files.leafCert)).raw)).toBe(true);
    expect(intermediate!.der.equals(new X509Certificate(fs.readFileSync(chain.files.intermediateCert)).raw)).toBe(true);
  });

  it('ClientKeyExchange: the pre-master encrypted with the leaf’s RSA-2048 key is 256 bytes', () => {
    const cke = conn.events[4]!;
    if (cke.type !== 'ClientKeyExchange') throw new Error(cke.type);
    const bits = new X509Certificate(fs.readFileSync(chain.files.leafCert)).publicKey.asymmetricKeyDetails?.modulusLength;
    expect(bits).toBe(2048);
    expect(cke.fields.keyExchange).toBe('RSA');
    expect(cke.fields.encryptedPreMaster).toHaveLength(512); // 256 bytes, in hex
    expect(cke.fields.raw).toHaveLength(2 + 256); // a 2-byte length, then the ciphertext
    expect(conn.clientKeyExchange?.encryptedPreMaster).toBe(cke.fields.encryptedPreMaster);
  });
});

describe('modern mode (TLS 1.3), recorded at the phone', () => {
  let order: RecordedOrder;
  let result: OrderResult;
  let conn: RecordedTlsConnection;
  beforeAll(async () => {
    order = await orderRecorded('modern');
    ({ result, conn } = order);
  });

  it('the order still gets 201 over a verified TLS 1.3 connection, straight to the SLB, which sees the phone\'s port', () => {
    expect(result.status).toBe(201);
    expect(result.tls.protocol).toBe('TLSv1.3');
    expect(result.tls.chain.every((s) => s.ok)).toBe(true);
    expectOneDirectConnection(order, shop.slb.port);
  });

  it('the recorded bytes decode to ClientHello … the client Finished, then the request in the same write', () => {
    expect(steps(conn.events.filter((e) => e.direction === 'client→server')).slice(0, 3)).toEqual([
      'client→server ClientHello',
      'client→server ChangeCipherSpec (TLS 1.3 middlebox compatibility, changes nothing)',
      'client→server encrypted (client Finished — not readable on the wire)',
    ]);
    // The client sends its ChangeCipherSpec, its Finished and the request in one write: one segment.
    const request = conn.events.find((e) => e.type === 'ApplicationData' && e.direction === 'client→server')!;
    const write = writeCarrying(conn, request)!;
    expect(write.records.map((r) => r.type)).toEqual(['ChangeCipherSpec', 'EncryptedHandshake', 'ApplicationData']);
    expect(write.chunk.bytes.length).toBe(write.records.reduce((n, r) => n + 5 + r.record.length, 0));
    expect(request.length).toBe(Buffer.byteLength(result.requestText) + 5 + 1 + 16); // header, inner type, tag
  });

  it('close_notify at the end, both ways, is named an encrypted alert, as in TLS 1.2', () => {
    for (const direction of ['client→server', 'server→client'] as const) {
      const last = conn.events.filter((e) => e.direction === direction).at(-1)!;
      expect(last).toMatchObject({ type: 'EncryptedAlert', record: { contentTypeName: 'application_data', length: 2 + 1 + 16 } });
      expect(describeTlsEvent(last)).toMatch(/encrypted alert .*usually close_notify/);
    }
    // Only those two: the request, the tickets and the answer are application data.
    expect(conn.events.filter((e) => e.type === 'EncryptedAlert')).toHaveLength(2);
  });

  it('ClientHello offers TLS 1.3 (supported_versions) with a key_share; ServerHello chooses TLS 1.3 and one of the offered groups', () => {
    const [clientHello, serverHello] = conn.events;
    if (clientHello?.type !== 'ClientHello' || serverHello?.type !== 'ServerHello') throw new Error('hellos missing');
    expect(clientHello.fields.legacyVersionName).toBe('TLS 1.2'); // what TLS 1.3 writes there, for old middleboxes
    expect(clientHello.fields.supportedVersions).toContain('TLS 1.3');
    expect(clientHello.fields.keyShares?.map((k) => k.group)).toContain('x25519');
    expect(clientHello.fields.serverName).toBe('www.geektime.test');
    expect(serverHello.fields.legacyVersionName).toBe('TLS 1.2');
    expect(serverHello.fields.versionName).toBe('TLS 1.3');
    // x25519 (OpenSSL 3.0: Node 20, 22) or the hybrid X25519MLKEM768 (OpenSSL 3.5: Node 24, 26), at the group's own size.
    const chosen = serverHello.fields.keyShare!;
    expect(clientHello.fields.keyShares?.map((k) => k.group)).toContain(chosen.group);
    expect({ x25519: 32, X25519MLKEM768: 1088 + 32 }[chosen.group as 'x25519']).toBe(chosen.keyLength);
    expect(serverHello.fields.cipherSuite.name).toMatch(/^TLS_(AES_\d+_GCM|CHACHA20_POLY1305)_SHA\d+$/);
    expect(serverHello.fields.downgradeSentinel).toBeUndefined();
  });

  it('everything after ServerHello is named encrypted; no certificate is readable on the wire', () => {
    const after = conn.events.slice(2);
    for (const e of after) {
      if (e.type === 'ChangeCipherSpec') expect(e.fields.middleboxCompatibility).toBe(true);
      else expect(e.encrypted, describeTlsEvent(e)).toBe(true);
    }
    expect(conn.events.some((e) => e.type === 'Certificate')).toBe(false);
    // OpenSSL sends EncryptedExtensions, Certificate, CertificateVerify and Finished as a record
    // each, but the decoder cannot see that: it numbers the records and says which messages are in them.
    const serverFlight = after.filter((e) => e.direction === 'server→client' && e.type === 'EncryptedHandshake');
    expect(serverFlight.length).toBeGreaterThanOrEqual(1);
    serverFlight.forEach((record, i) => {
      expect(record.name).toBe(
        `encrypted handshake record ${i + 1} of the server's flight (EncryptedExtensions, Certificate, CertificateVerify and Finished travel in these; which is which can't be read without keys)`,
      );
    });
    const clientFinished = after.find((e) => e.direction === 'client→server' && e.type === 'EncryptedHandshake')!;
    expect(clientFinished.name).toMatch(/client Finished — not readable on the wire/);
    const data = after.filter((e) => e.type === 'ApplicationData');
    expect(new Set(data.map((e) => e.direction))).toEqual(new Set(['client→server', 'server→client']));
    expect(conn.clientKeyExchange).toBeUndefined();
  });

  it("the server's first application_data records are called what they probably are: NewSessionTickets", () => {
    const fromServer = conn.events.filter((e) => e.type === 'ApplicationData' && e.direction === 'server→client');
    const fromClient = conn.events.filter((e) => e.type === 'ApplicationData' && e.direction === 'client→server');
    expect(fromServer.length).toBeGreaterThan(2); // two tickets, then the answer
    const hint = '(probably a NewSessionTicket: in TLS 1.3 they look like application data)';
    expect(fromServer.slice(0, 2).map((e) => describeTlsEvent(e).includes(hint))).toEqual([true, true]);
    expect(fromServer.slice(2).some((e) => describeTlsEvent(e).includes(hint))).toBe(false);
    expect(fromClient.some((e) => describeTlsEvent(e).includes(hint))).toBe(false);
  });

  it('a TLS 1.3 server record that comes before any data from the client is called a ticket too', () => {
    // The same bytes, replayed as if the client had waited after its Finished: the server's
    // records all come before the client says anything, so none of them can be an answer.
    const stream = (direction: Direction) => Buffer.concat(conn.chunks.filter((c) => c.direction === direction).map((c) => c.bytes));
    const end = (e: TlsEvent) => e.offset + e.length;
    const up = stream('client→server');
    const down = stream('server→client');
    const clientHello = conn.events[0]!;
    const flightEnd = end(conn.events.filter((e) => e.direction === 'server→client' && e.type === 'EncryptedHandshake').at(-1)!);
    const clientFinished = conn.events.find((e) => e.direction === 'client→server' && e.type === 'EncryptedHandshake')!;
    const decoder = new TlsStreamDecoder();
    const events = [
      ...decoder.push('client→server', up.subarray(0, end(clientHello))),
      ...decoder.push('server→client', down.subarray(0, flightEnd)),
      ...decoder.push('client→server', up.subarray(end(clientHello), end(clientFinished))),
      ...decoder.push('server→client', down.subarray(flightEnd)),
    ];
    expect(events.filter((e) => e.direction === 'client→server').map((e) => e.type)).toEqual(['ClientHello', 'ChangeCipherSpec', 'EncryptedHandshake']); // no data
    const fromServer = events.filter((e) => e.type === 'ApplicationData' && e.direction === 'server→client');
    expect(fromServer.length).toBeGreaterThan(2);
    expect(fromServer.every((e) => describeTlsEvent(e).includes('(probably a NewSessionTicket'))).toBe(true);
  });
});

// ── The decoder on its own ────────────────────────────────────────────────────────────────

/** A small seeded generator, so a failing run can be repeated. */
function prng(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x80000000;
  };
}

type Chunk = { direction: Direction; bytes: Buffer };

function decodeAll(chunks: Chunk[]): TlsEvent[] {
  const decoder = new TlsStreamDecoder();
  return chunks.flatMap((c) => decoder.push(c.direction, c.bytes));
}

/** The same bytes in the same order, cut differently: each chunk into pieces of 1..maxPiece bytes. */
function recut(chunks: Chunk[], piece: () => number): Chunk[] {
  const out: Chunk[] = [];
  for (const { direction, bytes } of chunks) {
    for (let i = 0; i < bytes.length; ) {
      const n = Math.max(1, piece());
      out.push({ direction, bytes: bytes.subarray(i, i + n) });
      i += n;
    }
  }
  return out;
}

/** Consecutive chunks of one direction glued together: as if TCP had delivered them at once. */
function glued(chunks: Chunk[]): Chunk[] {
  const out: Chunk[] = [];
  for (const c of chunks) {
    const last = out.at(-1);
    if (last?.direction === c.direction) last.bytes = Buffer.concat([last.bytes, c.bytes]);
    else out.push({ ...c });
  }
  return out;
}

describe('the decoder', () => {
  const recorded: Record<TlsMode, RecordedTlsConnection | undefined> = { classic: undefined, modern: undefined };
  beforeAll(async () => {
    recorded.classic = (await orderRecorded('classic')).conn;
    recorded.modern = (await orderRecorded('modern')).conn;
  });

  it.each(['classic', 'modern'] as const)('gives the same events for a recorded %s stream however it is cut', (mode) => {
    const conn = recorded[mode]!;
    const chunks: Chunk[] = conn.chunks.map((c) => ({ direction: c.direction, bytes: c.bytes }));
    const reference = decodeAll(chunks);
    expect(reference).toEqual(bare(conn)); // decodeRecording read it the same way
    expect(decodeAll(recut(chunks, () => 1))).toEqual(reference); // one byte at a time
    const random = prng(mode === 'classic' ? 1 : 2);
    for (const max of [3, 17, 200, 5000]) {
      expect(decodeAll(recut(chunks, () => Math.ceil(random() * max)))).toEqual(reference);
    }
    expect(decodeAll(glued(chunks))).toEqual(reference);
  });

  it('reassembles handshake messages however they are framed into records (split over many, or many in one)', () => {
    const chunks = recorded.classic!.chunks;
    const serverStream = Buffer.concat(chunks.filter((c) => c.direction === 'server→client').map((c) => c.bytes));
    const reference = decodeAll(chunks).filter((e) => e.direction === 'server→client' && e.record.contentType === 22 && !e.encrypted);
    expect(reference.map((e) => e.type)).toEqual(['ServerHello', 'Certificate', 'ServerHelloDone']);
    // The handshake messages alone, as the server wrote them.
    const messages = Buffer.concat(reference.map((e) => serverStream.subarray(e.offset, e.offset + e.length)));
    for (const size of [1, 7, 100, messages.length]) {
      const records: Buffer[] = [];
      for (let i = 0; i < messages.length; i += size) {
        const piece = messages.subarray(i, i + size);
        records.push(Buffer.from([0x16, 0x03, 0x03, piece.length >> 8, piece.length & 0xff]), piece);
      }
      const stream = Buffer.concat(records);
      const events = decodeAll([{ direction: 'server→client', bytes: stream }]);
      expect(events.map((e) => e.type)).toEqual(['ServerHello', 'Certificate', 'ServerHelloDone']);
      events.forEach((e, i) => {
        expect(e.fields).toEqual(reference[i]!.fields);
        expect(e.length).toBe(reference[i]!.length);
        // The offset points at the message's own header in the new stream: its type byte, then its length.
        expect(stream[e.offset]).toBe([2, 11, 14][i]);
      });
    }
  });

  it('turns random bytes into an Undecodable event and never throws', () => {
    const random = prng(42);
    for (let round = 0; round < 300; round++) {
      const garbage = Buffer.from(Array.from({ length: 1 + Math.floor(random() * 600) }, () => Math.floor(random() * 256)));
      if (round % 2 === 0) garbage[0] = 0x80 + Math.floor(random() * 0x7f); // surely not a content type
      const whole = decodeAll([{ direction: 'client→server', bytes: garbage }]);
      const pieces = decodeAll(recut([{ direction: 'client→server', bytes: garbage }], () => Math.ceil(random() * 7)));
      expect(pieces).toEqual(whole);
      if (round % 2 === 0 && garbage.length >= 5) {
        expect(whole).toHaveLength(1);
        expect(whole[0]).toMatchObject({ type: 'Undecodable', fields: { reason: expect.stringMatching(/^not TLS/) } });
      }
    }
  });

  it('survives handshake records with garbage inside (and random bit flips in a real handshake)', () => {
    const random = prng(7);
    const known = new Set(['ClientHello', 'ServerHello', 'Certificate', 'ServerKeyExchange', 'ServerHelloDone', 'ClientKeyExchange', 'NewSessionTicket', 'Handshake', 'ChangeCipherSpec', 'Alert', 'EncryptedHandshake', 'EncryptedAlert', 'ApplicationData', 'Heartbeat', 'Undecodable']);
    for (let round = 0; round < 300; round++) {
      // A plausible record header, then nonsense: every message decoder meets truncated and absurd lengths.
      const body = crypto.randomBytes(Math.floor(random() * 300));
      if (body.length) body[0] = [1, 2, 4, 11, 12, 14, 16][round % 7]!;
      const record = Buffer.concat([Buffer.from([0x16, 0x03, 0x03, body.length >> 8, body.length & 0xff]), body]);
      const events = decodeAll([{ direction: round % 2 ? 'server→client' : 'client→server', bytes: record }]);
      for (const e of events) expect(known.has(e.type)).toBe(true);
      expect(() => events.map(describeTlsEvent)).not.toThrow();
    }
    const real = recorded.classic!.chunks;
    for (let round = 0; round < 100; round++) {
      const flipped = real.map((c) => ({ direction: c.direction, bytes: Buffer.from(c.bytes) }));
      const target = flipped[Math.floor(random() * flipped.length)]!;
      target.bytes[Math.floor(random() * target.bytes.length)] ^= 1 << Math.floor(random() * 8);
      const events = decodeAll(flipped);
      expect(() => events.map(describeTlsEvent)).not.toThrow();
    }
  });

  it('a plaintext alert is decoded: level and description', () => {
    const [alert] = decodeAll([{ direction: 'server→client', bytes: Buffer.from('150303000202 28'.replace(/ /g, ''), 'hex') }]);
    expect(alert).toMatchObject({ type: 'Alert', encrypted: false, fields: { levelName: 'fatal', descriptionName: 'handshake_failure' } });
    expect(describeTlsEvent(alert!)).toMatch(/^server→client Alert: fatal handshake_failure/);
  });

  it('a HelloRetryRequest is recognised by its special random, and the second ClientHello is still read', async () => {
    // A TLS 1.3 server that accepts only P-256: the client's first key_share (x25519) is refused.
    const server = tls.createServer({ cert: fs.readFileSync(chain.files.fullChain), key: fs.readFileSync(chain.files.leafKey), minVersion: 'TLSv1.3', ecdhCurve: 'P-256' });
    server.on('secureConnection', (s) => s.end('hello'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const recorder = await recordTls({ port: (server.address() as net.AddressInfo).port, servername: 'www.geektime.test', ca: shop.rootPem, minVersion: 'TLSv1.3' });
      const events = decodeRecording(recorder.chunks).events;
      const hellos = events.filter((e) => e.type === 'ClientHello' || e.type === 'ServerHello').map((e) => `${e.direction} ${e.name}`);
      expect(hellos).toEqual(['client→server ClientHello', 'server→client HelloRetryRequest', 'client→server ClientHello', 'server→client ServerHello']);
      const [first, retry, second, chosen] = events.filter((e) => e.type === 'ClientHello' || e.type === 'ServerHello');
      if (first?.type !== 'ClientHello' || retry?.type !== 'ServerHello' || second?.type !== 'ClientHello' || chosen?.type !== 'ServerHello') throw new Error('hellos');
      // What the client offered first does not include P-256 (x25519, or on OpenSSL 3.5 the hybrid and x25519).
      expect(first.fields.keyShares?.map((k) => k.group)).not.toContain('secp256r1');
      expect(first.fields.keyShares?.map((k) => k.group)).toContain('x25519');
      expect(retry.fields).toMatchObject({ helloRetryRequest: true, random: 'cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', keyShare: { group: 'secp256r1' } });
      expect(second.fields.keyShares?.map((k) => k.group)).toEqual(['secp256r1']);
      expect(second.fields.random).toBe(first.fields.random); // RFC 8446: the same client random both times
      expect(chosen.fields).toMatchObject({ versionName: 'TLS 1.3', keyShare: { group: 'secp256r1', keyLength: 65 } });
    } finally {
      server.close();
    }
  });
});

// ── The recorder on its own ───────────────────────────────────────────────────────────────

/** A TLS client on a recorder around its own TCP socket; resolves with the recorder once the server has ended. */
async function recordTls(opts: tls.ConnectionOptions & { port: number }): Promise<RecordingSocket> {
  const recorder = new RecordingSocket(net.connect({ host: '127.0.0.1', port: opts.port, allowHalfOpen: true }));
  await new Promise<void>((resolve, reject) => {
    const s = tls.connect({ ...opts, socket: recorder });
    s.on('data', () => {});
    s.on('end', () => resolve());
    s.on('error', reject);
  });
  return recorder;
}

/** Connect a recorder to host:port; `talk` writes through it; resolves with what came back, once the peer ended (or an error). */
async function throughRecorder(port: number, talk: (r: RecordingSocket) => void): Promise<{ recorder: RecordingSocket; answer: Buffer; error?: NodeJS.ErrnoException }> {
  const recorder = new RecordingSocket(net.connect({ host: '127.0.0.1', port, allowHalfOpen: true }));
  const chunks: Buffer[] = [];
  const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    recorder.socket.once('connect', () => talk(recorder));
    recorder.on('data', (c: Buffer) => chunks.push(c));
    recorder.on('end', () => resolve(undefined));
    recorder.on('error', resolve);
  });
  recorder.destroy();
  return { recorder, answer: Buffer.concat(chunks), error };
}

const sent = (r: RecordingSocket) => Buffer.concat(r.chunks.filter((c) => c.direction === 'sent').map((c) => c.bytes));
const received = (r: RecordingSocket) => Buffer.concat(r.chunks.filter((c) => c.direction === 'received').map((c) => c.bytes));

describe('the recorder around a TCP socket', () => {
  it('plaintext HTTP to the SLB passes unchanged: the SLB answers its 400, the recorded bytes say it is not TLS', async () => {
    const request = 'POST /purchaseOrder HTTP/1.1\r\nHost: www.geektime.test\r\nContent-Length: 2\r\n\r\n{}';
    const { recorder, answer } = await throughRecorder(shop.slb.classicPort!, (r) => r.write(request));
    const text = answer.toString();
    expect(text).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(text).toMatch(/speaks TLS, and your client sent plain HTTP/);
    expect(sent(recorder).toString()).toBe(request);
    expect(received(recorder).equals(answer)).toBe(true);
    const first = decodeRecording(recorder.chunks).events.find((e) => e.direction === 'client→server')!;
    expect(first).toMatchObject({ type: 'Undecodable', fields: { reason: expect.stringMatching(/looks like plain HTTP/) } });
  });

  it('half-close and back-pressure: 8 MB up, our FIN reaches the server, its answer still comes back, every byte recorded once', async () => {
    // A server that answers only once the client has finished sending (reads to FIN).
    const server = net.createServer({ allowHalfOpen: true }, (s) => {
      const hash = crypto.createHash('sha256');
      let n = 0;
      s.on('data', (c: Buffer) => {
        n += c.length;
        hash.update(c);
      });
      s.on('end', () => s.end(`${n} ${hash.digest('hex')}`));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      // 8 MB: far more than any socket buffer, so the recorder must wait for the socket to drain.
      const payload = crypto.randomBytes(8 * 1024 * 1024);
      const { recorder, answer, error } = await throughRecorder((server.address() as net.AddressInfo).port, (r) => r.end(payload));
      expect(error).toBeUndefined();
      expect(answer.toString()).toBe(`${payload.length} ${crypto.createHash('sha256').update(payload).digest('hex')}`);
      expect(sent(recorder).equals(payload)).toBe(true);
      expect(recorder.socket.bytesWritten).toBe(payload.length);
      expect(received(recorder).equals(answer)).toBe(true);
      expect(recorder.finAt).toBeGreaterThanOrEqual(recorder.chunks.at(-1)!.at); // the server's FIN came after its answer
      expect(recorder.chunks.every((c, i) => i === 0 || c.at >= recorder.chunks[i - 1]!.at)).toBe(true);
    } finally {
      server.close();
    }
  });

  it('writes handed over together (cork … uncork) go to the kernel as one write, recorded as one chunk', async () => {
    const server = net.createServer({ allowHalfOpen: true }, (s) => s.resume().on('end', () => s.end()));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { recorder } = await throughRecorder((server.address() as net.AddressInfo).port, (r) => {
        r.write('alone');
        r.cork();
        r.write('one ');
        r.write('write');
        process.nextTick(() => {
          r.uncork();
          r.end();
        });
      });
      expect(recorder.chunks.filter((c) => c.direction === 'sent').map((c) => c.bytes.toString())).toEqual(['alone', 'one write']);
    } finally {
      server.close();
    }
  });

  it('a refused connection: the error comes up with its code, and the recorder keeps it; the order says nothing listens', async () => {
    const unused = net.createServer();
    await new Promise<void>((r) => unused.listen(0, '127.0.0.1', r));
    const port = (unused.address() as net.AddressInfo).port;
    await new Promise<void>((r) => unused.close(() => r()));
    const { recorder, error } = await throughRecorder(port, () => {});
    expect(error?.code).toBe('ECONNREFUSED');
    expect(recorder.error).toMatchObject({ code: 'ECONNREFUSED' });
    expect(recorder.chunks).toEqual([]);
    await expect(placeOrder({ hostname: 'www.geektime.test', address: '127.0.0.1', port, rootCaPem: shop.rootPem, mode: 'classic', record: true })).rejects.toThrow(/nothing listens on 127\.0\.0\.1:\d+ \(connection refused\)/);
  });

  it('a reset from the server reaches the reader as ECONNRESET, and is recorded', async () => {
    const server = net.createServer((s) => s.once('data', () => s.resetAndDestroy()));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { recorder, error } = await throughRecorder((server.address() as net.AddressInfo).port, (r) => r.write('hello'));
      expect(error?.code).toBe('ECONNRESET');
      expect(recorder.error).toMatchObject({ code: 'ECONNRESET' });
      expect(recorder.finAt).toBeUndefined();
      expect(sent(recorder).toString()).toBe('hello');
    } finally {
      server.close();
    }
  });
});
