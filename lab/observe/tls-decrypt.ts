// Decrypting the records of one captured TLS connection with the run's key log.
//
// A key log (NSS format: what SSLKEYLOGFILE and Node's 'keylog' event write) holds, per connection,
// the secrets both ends derived their record keys from. Each line names its connection by the
// client random, so the first job is to read the two hellos, which are never encrypted: the
// ClientHello gives the client random, the ServerHello the server random, the version and the
// cipher suite. Then each direction has keys of its own:
//
//   TLS 1.2 (RFC 5246)  line: CLIENT_RANDOM <client random> <master secret>
//     key block = PRF(master, "key expansion", server random ‖ client random)          §6.3
//               = client write key ‖ server write key ‖ client write IV ‖ server write IV (AEAD: no MAC keys)
//     A side encrypts every record after its own ChangeCipherSpec; its first one is its Finished.
//   TLS 1.3 (RFC 8446)  lines: {CLIENT,SERVER}_HANDSHAKE_TRAFFIC_SECRET, {CLIENT,SERVER}_TRAFFIC_SECRET_0
//     key and IV = HKDF-Expand-Label(traffic secret, "key" / "iv")                     §7.3
//     A side uses its handshake secret up to and including its Finished, then its application
//     secret (§7.2). Every encrypted record says application_data outside; its real type is inside.
//
// Each record has a sequence number (per direction, from 0 at each change of keys) that is never
// sent: it goes into the nonce or the additional data, so a record dropped, replayed or reordered
// fails to authenticate (RFC 5246 §6.1, RFC 8446 §5.3).
//
// Pure: records and key log text in, one result per record out. Bad input gives an `error`, never a throw.
import { createDecipheriv, createHmac } from 'node:crypto';
import { TlsStreamDecoder, cipherSuiteName } from '../tls-decoder.ts';
import { prf } from '../tls12-prf.ts';
import { parseKeyLog } from './keylog.ts';

export interface CapturedRecord {
  /** Who sent it. */
  from: 'client' | 'server';
  /** The 5-byte record header as on the wire (type, version, length), then the fragment as on the wire. */
  header: Buffer;
  fragment: Buffer;
}

export type Opened =
  /** `contentType` is the real one (in TLS 1.3 the inner one: 22 handshake, 23 application data, 21 alert);
   *  `key` says which secret opened it, e.g. 'CLIENT_TRAFFIC_SECRET_0' or 'TLS 1.2 key block (client write key)'. */
  | { plaintext: Buffer; contentType: number; key: string; sequence: number }
  | { notEncrypted: true }
  | { error: string };

type Hash = 'sha256' | 'sha384';
interface Aead {
  cipher: 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305';
  keyLength: number;
  /** TLS 1.2: the PRF's hash; TLS 1.3: the HKDF's. */
  hash: Hash;
}
const AES_128_GCM_SHA256: Aead = { cipher: 'aes-128-gcm', keyLength: 16, hash: 'sha256' };
const AES_256_GCM_SHA384: Aead = { cipher: 'aes-256-gcm', keyLength: 32, hash: 'sha384' };
const CHACHA20_POLY1305_SHA256: Aead = { cipher: 'chacha20-poly1305', keyLength: 32, hash: 'sha256' };

/** TLS 1.3 suites (RFC 8446 §B.4). */
const TLS13_SUITES: Record<number, Aead> = { 0x1301: AES_128_GCM_SHA256, 0x1302: AES_256_GCM_SHA384, 0x1303: CHACHA20_POLY1305_SHA256 };

/** TLS 1.2 AEAD suites: GCM (RFC 5288, RFC 5289) and ChaCha20-Poly1305 (RFC 7905). */
const TLS12_SUITES: Record<number, Aead> = {
  0x009c: AES_128_GCM_SHA256, // TLS_RSA_WITH_AES_128_GCM_SHA256: the lab's classic mode
  0x009d: AES_256_GCM_SHA384, // TLS_RSA_WITH_AES_256_GCM_SHA384
  0xc02b: AES_128_GCM_SHA256, // TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
  0xc02f: AES_128_GCM_SHA256, // TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
  0xc02c: AES_256_GCM_SHA384, // TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
  0xc030: AES_256_GCM_SHA384, // TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
  0xcca8: CHACHA20_POLY1305_SHA256, // TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
  0xcca9: CHACHA20_POLY1305_SHA256, // TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
};

const TAG = 16; // every AEAD here appends a 16-byte authentication tag

/** What the two hellos settle: the randoms (hex, as in the key log), the version, the cipher suite. */
interface Hellos { clientRandom: string; serverRandom: string; tls13: boolean; suite: number }

/** The hellos, read by the lab's decoder, which also puts together handshake messages split over records. */
function readHellos(records: readonly CapturedRecord[]): Hellos | string {
  const decoder = new TlsStreamDecoder();
  let clientRandom: string | undefined;
  let server: Omit<Hellos, 'clientRandom'> | undefined;
  for (const r of records) {
    for (const e of decoder.push(r.from === 'client' ? 'client→server' : 'server→client', Buffer.concat([r.header, r.fragment]))) {
      // After a HelloRetryRequest the client repeats its random (RFC 8446 §4.1.2): the first ClientHello will do.
      if (e.type === 'ClientHello') clientRandom ??= e.fields.random;
      if (e.type === 'ServerHello' && !e.fields.helloRetryRequest) {
        server ??= { serverRandom: e.fields.random, tls13: e.fields.version === 0x0304, suite: e.fields.cipherSuite.id };
      }
    }
  }
  if (!clientRandom) return 'no ClientHello among the client\'s records: no client random to find the key log lines by';
  if (!server) return 'no ServerHello among the server\'s records: the version and cipher suite are unknown';
  return { clientRandom, ...server };
}

/** HKDF-Expand-Label(secret, label, "", length), RFC 8446 §7.1. */
function expandLabel(hash: Hash, secret: Buffer, label: string, length: number): Buffer {
  // HkdfLabel: uint16 length ‖ opaque label<7..255> = "tls13 " + label ‖ opaque context<0..255> (empty).
  const full = Buffer.from(`tls13 ${label}`, 'ascii');
  const info = Buffer.concat([Buffer.from([length >> 8, length & 0xff, full.length]), full, Buffer.from([0])]);
  // HKDF-Expand (RFC 5869 §2.3): T(1) = HMAC(secret, info ‖ 0x01). Keys and IVs are shorter than
  // the hash, so T(1) is all we ever need.
  return createHmac(hash, secret).update(Buffer.concat([info, Buffer.from([1])])).digest().subarray(0, length);
}

/** The per-record nonce (RFC 8446 §5.3, RFC 7905 §2): the 12-byte IV XOR the sequence number, left-padded. */
function nonceFor(iv: Buffer, sequence: number): Buffer {
  const nonce = Buffer.from(iv);
  const seq = Buffer.alloc(8);
  seq.writeBigUInt64BE(BigInt(sequence));
  for (let i = 0; i < 8; i++) nonce[4 + i]! ^= seq[i]!;
  return nonce;
}

/** Decrypt and check the tag; a message in words if the record does not open. */
function aeadOpen(cipher: Aead['cipher'], key: Buffer, nonce: Buffer, aad: Buffer, sealed: Buffer, what: string): Buffer | string {
  const ciphertext = sealed.subarray(0, sealed.length - TAG);
  try {
    // One call; written twice only because Node's typings take one cipher family at a time.
    const decipher = cipher === 'chacha20-poly1305' ? createDecipheriv(cipher, key, nonce, { authTagLength: TAG }) : createDecipheriv(cipher, key, nonce, { authTagLength: TAG });
    decipher.setAAD(aad, { plaintextLength: ciphertext.length });
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG));
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    return `${what} does not authenticate: the ${cipher} tag check failed (bytes changed on the way, or not this record's key or sequence number)`;
  }
}

interface Keys { key: Buffer; iv: Buffer }

/** What one direction has done so far. */
interface Side {
  /** TLS 1.2: this side sent its ChangeCipherSpec; everything after is encrypted. */
  changedCipherSpec: boolean;
  /** TLS 1.3: which of this side's traffic secrets is in use (after a KeyUpdate: none we follow). */
  phase: 'HANDSHAKE_TRAFFIC_SECRET' | 'TRAFFIC_SECRET_0' | 'KeyUpdate';
  keys?: Keys | string;
  sequence: number;
  /** TLS 1.3: decrypted handshake bytes not yet split into messages (one may span records). */
  handshake: Buffer;
}

/** Open the records of one connection, given in wire order (both directions), with the run's key log text. */
export function decryptRecords(records: CapturedRecord[], keyLogText: string): Opened[] {
  const hellos = readHellos(records);
  const lines = typeof hellos === 'string' ? [] : parseKeyLog(keyLogText).filter((l) => l.clientRandom === hellos.clientRandom);
  const sides: Record<CapturedRecord['from'], Side> = {
    client: { changedCipherSpec: false, phase: 'HANDSHAKE_TRAFFIC_SECRET', sequence: 0, handshake: Buffer.alloc(0) },
    server: { changedCipherSpec: false, phase: 'HANDSHAKE_TRAFFIC_SECRET', sequence: 0, handshake: Buffer.alloc(0) },
  };

  function secret(label: string, clientRandom: string): Buffer | string {
    const line = lines.find((l) => l.label === label);
    if (line) return Buffer.from(line.secret, 'hex');
    const has = lines.length ? `it has only ${lines.map((l) => l.label).join(', ')} for it` : 'it has no line at all for this connection';
    return `the key log has no ${label} line for client random ${clientRandom} (${has})`;
  }

  function open(r: CapturedRecord): Opened {
    if (r.header.length !== 5) return { error: `a record header is 5 bytes, this one has ${r.header.length}` };
    const type = r.header[0]!;
    if (r.header.readUInt16BE(3) !== r.fragment.length) {
      return { error: `the header announces a ${r.header.readUInt16BE(3)}-byte fragment, the record has ${r.fragment.length} bytes` };
    }
    const side = sides[r.from];
    const tls13 = typeof hellos !== 'string' && hellos.tls13;
    // ChangeCipherSpec is never encrypted: in TLS 1.2 it says "the next record uses the new keys",
    // in TLS 1.3 it means nothing and is only there for middleboxes (RFC 8446 §D.4).
    if (type === 20) {
      if (!tls13) Object.assign(side, { changedCipherSpec: true, sequence: 0 }); // RFC 5246 §6.1: new keys start at sequence 0
      return { notEncrypted: true };
    }
    // TLS 1.3 disguises every encrypted record as application_data (23) (RFC 8446 §5.2).
    const encrypted = type === 23 || (!tls13 && side.changedCipherSpec);
    if (!encrypted) return { notEncrypted: true };
    if (typeof hellos === 'string') return { error: hellos };
    if (r.fragment.length < TAG) return { error: `a ${r.fragment.length}-byte fragment is too short for its ${TAG}-byte tag` };
    return tls13 ? open13(r, side, hellos) : open12(r, side, hellos);
  }

  let keyBlock: { client: Keys; server: Keys } | string | undefined; // TLS 1.2: one for the connection

  function open12(r: CapturedRecord, side: Side, h: Hellos): Opened {
    const aead = TLS12_SUITES[h.suite];
    if (!aead) return { error: `cipher suite ${cipherSuiteName(h.suite)} is not one of the TLS 1.2 AEAD suites this module reads` };
    keyBlock ??= (() => {
      const master = secret('CLIENT_RANDOM', h.clientRandom);
      if (typeof master === 'string') return master;
      // RFC 5246 §6.3: the randoms in the other order than for the master secret.
      const ivLength = aead.cipher === 'chacha20-poly1305' ? 12 : 4; // GCM: a 4-byte salt (RFC 5288 §3)
      const n = aead.keyLength;
      const block = prf(aead.hash, master, 'key expansion', Buffer.from(h.serverRandom + h.clientRandom, 'hex'), 2 * n + 2 * ivLength);
      const at = (i: number, length: number) => block.subarray(i, i + length);
      return { client: { key: at(0, n), iv: at(2 * n, ivLength) }, server: { key: at(n, n), iv: at(2 * n + ivLength, ivLength) } };
    })();
    if (typeof keyBlock === 'string') return { error: keyBlock };
    const { key, iv } = keyBlock[r.from];
    const sequence = side.sequence++;
    // GCM (RFC 5288 §3): nonce = salt ‖ an 8-byte explicit nonce the sender puts before the ciphertext.
    // ChaCha20-Poly1305 (RFC 7905 §2): nonce = IV XOR sequence number, as in TLS 1.3; nothing explicit.
    const gcm = aead.cipher !== 'chacha20-poly1305';
    if (gcm && r.fragment.length < 8 + TAG) return { error: `a ${r.fragment.length}-byte fragment is too short for an explicit nonce and a tag` };
    const nonce = gcm ? Buffer.concat([iv, r.fragment.subarray(0, 8)]) : nonceFor(iv, sequence);
    const sealed = gcm ? r.fragment.subarray(8) : r.fragment;
    // Additional data (RFC 5246 §6.2.3.3): seq_num (8) ‖ type (1) ‖ version (2) ‖ length of the plaintext (2).
    const aad = Buffer.alloc(13);
    aad.writeBigUInt64BE(BigInt(sequence));
    r.header.copy(aad, 8, 0, 3);
    aad.writeUInt16BE(sealed.length - TAG, 11);
    const keyName = `TLS 1.2 key block (${r.from} write key)`;
    const plaintext = aeadOpen(aead.cipher, key, nonce, aad, sealed, `record ${sequence} under the ${keyName}`);
    if (typeof plaintext === 'string') return { error: plaintext };
    return { plaintext, contentType: r.header[0]!, key: keyName, sequence };
  }

  function open13(r: CapturedRecord, side: Side, h: Hellos): Opened {
    const aead = TLS13_SUITES[h.suite];
    if (!aead) return { error: `cipher suite ${cipherSuiteName(h.suite)} is not one of the TLS 1.3 suites this module reads` };
    if (side.phase === 'KeyUpdate') return { error: `the ${r.from} changed keys with a KeyUpdate (RFC 8446 §4.6.3), which this module does not follow` };
    const label = `${r.from.toUpperCase()}_${side.phase}`;
    side.keys ??= (() => {
      const s = secret(label, h.clientRandom);
      if (typeof s === 'string') return s;
      return { key: expandLabel(aead.hash, s, 'key', aead.keyLength), iv: expandLabel(aead.hash, s, 'iv', 12) };
    })();
    if (typeof side.keys === 'string') return { error: side.keys };
    const sequence = side.sequence++;
    // The additional data is the record header itself (RFC 8446 §5.2).
    const inner = aeadOpen(aead.cipher, side.keys.key, nonceFor(side.keys.iv, sequence), r.header, r.fragment, `record ${sequence} under ${label}`);
    if (typeof inner === 'string') return { error: inner };
    // TLSInnerPlaintext (§5.2): content ‖ real content type (1 byte) ‖ zero padding. The type is the last non-zero byte.
    let end = inner.length;
    while (end > 0 && inner[end - 1] === 0) end--;
    if (end === 0) return { error: `record ${sequence} under ${label} holds only padding, no content type (RFC 8446 §5.4)` };
    const contentType = inner[end - 1]!;
    const plaintext = inner.subarray(0, end - 1);
    if (contentType === 22) followHandshake(side, plaintext);
    return { plaintext, contentType, key: label, sequence };
  }

  /** TLS 1.3: after a side's Finished (type 20) its next record uses its application secret, from sequence 0. */
  function followHandshake(side: Side, bytes: Buffer): void {
    side.handshake = Buffer.concat([side.handshake, bytes]);
    // Handshake message: type (1) ‖ length (3) ‖ body. A key change never falls inside a record (§5.1).
    while (side.handshake.length >= 4 && side.handshake.length >= 4 + side.handshake.readUIntBE(1, 3)) {
      const type = side.handshake[0]!;
      side.handshake = side.handshake.subarray(4 + side.handshake.readUIntBE(1, 3));
      const next = type === 20 && side.phase === 'HANDSHAKE_TRAFFIC_SECRET' ? 'TRAFFIC_SECRET_0' : type === 24 ? 'KeyUpdate' : undefined;
      if (next) Object.assign(side, { phase: next, keys: undefined, sequence: 0 });
    }
  }

  return records.map((r) => {
    try {
      return open(r);
    } catch (err) {
      return { error: `unexpected: ${(err as Error).message}` }; // a last guard: bad input is an answer, not a crash
    }
  });
}
