// Reading a TLS handshake from the bytes on the wire (RFC 5246 for TLS 1.2, RFC 8446 for TLS 1.3).
//
// TLS cuts everything it sends into records. Each record starts with a 5-byte header:
//
//   content type (1)   20 change_cipher_spec, 21 alert, 22 handshake, 23 application_data
//   legacy version (2) 03 01 … 03 03; TLS 1.3 still writes 03 03 here so old middleboxes pass it
//   length (2)         of the payload that follows, at most 2^14 bytes plus the cipher's overhead
//
// Handshake records carry handshake messages, each with its own 4-byte header (type, 24-bit length).
// A message may be split over several records and a record may hold several messages, and TCP
// may split anything anywhere: so the decoder keeps what it has not used yet and answers with whole
// messages only. Feed it chunks in any sizes; the events come out the same.
//
// What can be read depends on the version. In TLS 1.2 everything up to each side's
// ChangeCipherSpec is plaintext: hellos, certificates, the key exchange. In TLS 1.3 only the two
// hellos are; everything after ServerHello travels encrypted inside application_data records, so
// the certificate, the signature and the Finished messages are invisible to an observer.
//
// Read in this order: the names (numbers → IANA names), the event types, a byte reader, the
// decoders of each handshake message, then the stream decoder that ties them together, and the
// one-line description used for narration.
import { X509Certificate } from 'node:crypto';

export type Direction = 'client→server' | 'server→client';

// ── Names ──────────────────────────────────────────────────────────────────────────────────

const CONTENT_TYPES: Record<number, string> = {
  20: 'change_cipher_spec',
  21: 'alert',
  22: 'handshake',
  23: 'application_data',
  24: 'heartbeat',
};

const VERSIONS: Record<number, string> = {
  0x0300: 'SSL 3.0',
  0x0301: 'TLS 1.0',
  0x0302: 'TLS 1.1',
  0x0303: 'TLS 1.2',
  0x0304: 'TLS 1.3',
};

const HANDSHAKE_TYPES: Record<number, string> = {
  0: 'HelloRequest',
  1: 'ClientHello',
  2: 'ServerHello',
  4: 'NewSessionTicket',
  5: 'EndOfEarlyData',
  8: 'EncryptedExtensions',
  11: 'Certificate',
  12: 'ServerKeyExchange',
  13: 'CertificateRequest',
  14: 'ServerHelloDone',
  15: 'CertificateVerify',
  16: 'ClientKeyExchange',
  20: 'Finished',
  22: 'CertificateStatus',
  24: 'KeyUpdate',
  254: 'MessageHash',
};

/** Cipher suites (IANA TLS registry): the ones browsers, curl and OpenSSL offer today, and the seed's. */
const CIPHER_SUITES: Record<number, string> = {
  // TLS 1.3: the suite names only the record cipher and hash; the key exchange is negotiated apart.
  0x1301: 'TLS_AES_128_GCM_SHA256',
  0x1302: 'TLS_AES_256_GCM_SHA384',
  0x1303: 'TLS_CHACHA20_POLY1305_SHA256',
  0x1304: 'TLS_AES_128_CCM_SHA256',
  0x1305: 'TLS_AES_128_CCM_8_SHA256',
  // TLS 1.2 with ephemeral (EC)DH: forward secret.
  0xc02b: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  0xc02c: 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  0xc02f: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  0xc030: 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
  0xcca8: 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
  0xcca9: 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
  0xccaa: 'TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
  0x009e: 'TLS_DHE_RSA_WITH_AES_128_GCM_SHA256',
  0x009f: 'TLS_DHE_RSA_WITH_AES_256_GCM_SHA384',
  0xc023: 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256',
  0xc024: 'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384',
  0xc027: 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256',
  0xc028: 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384',
  0xc009: 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA',
  0xc00a: 'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA',
  0xc013: 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA',
  0xc014: 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA',
  0x0067: 'TLS_DHE_RSA_WITH_AES_128_CBC_SHA256',
  0x006b: 'TLS_DHE_RSA_WITH_AES_256_CBC_SHA256',
  0x0033: 'TLS_DHE_RSA_WITH_AES_128_CBC_SHA',
  0x0039: 'TLS_DHE_RSA_WITH_AES_256_CBC_SHA',
  // TLS 1.2 with RSA key exchange: the seed's handshake, no forward secrecy.
  0x009c: 'TLS_RSA_WITH_AES_128_GCM_SHA256',
  0x009d: 'TLS_RSA_WITH_AES_256_GCM_SHA384',
  0x003c: 'TLS_RSA_WITH_AES_128_CBC_SHA256',
  0x003d: 'TLS_RSA_WITH_AES_256_CBC_SHA256',
  0x002f: 'TLS_RSA_WITH_AES_128_CBC_SHA',
  0x0035: 'TLS_RSA_WITH_AES_256_CBC_SHA',
  0x000a: 'TLS_RSA_WITH_3DES_EDE_CBC_SHA',
  // Signals dressed as suites.
  0x00ff: 'TLS_EMPTY_RENEGOTIATION_INFO_SCSV',
  0x5600: 'TLS_FALLBACK_SCSV',
};

const EXTENSIONS: Record<number, string> = {
  0: 'server_name',
  1: 'max_fragment_length',
  5: 'status_request',
  10: 'supported_groups',
  11: 'ec_point_formats',
  13: 'signature_algorithms',
  14: 'use_srtp',
  15: 'heartbeat',
  16: 'application_layer_protocol_negotiation',
  18: 'signed_certificate_timestamp',
  21: 'padding',
  22: 'encrypt_then_mac',
  23: 'extended_master_secret',
  27: 'compress_certificate',
  28: 'record_size_limit',
  35: 'session_ticket',
  41: 'pre_shared_key',
  42: 'early_data',
  43: 'supported_versions',
  44: 'cookie',
  45: 'psk_key_exchange_modes',
  47: 'certificate_authorities',
  49: 'post_handshake_auth',
  50: 'signature_algorithms_cert',
  51: 'key_share',
  0xff01: 'renegotiation_info',
};

/** Named groups for (EC)DHE key exchange. */
const GROUPS: Record<number, string> = {
  23: 'secp256r1',
  24: 'secp384r1',
  25: 'secp521r1',
  29: 'x25519',
  30: 'x448',
  256: 'ffdhe2048',
  257: 'ffdhe3072',
  258: 'ffdhe4096',
  259: 'ffdhe6144',
  260: 'ffdhe8192',
  0x11ec: 'X25519MLKEM768',
  0x6399: 'X25519Kyber768Draft00',
};

const SIGNATURE_SCHEMES: Record<number, string> = {
  0x0401: 'rsa_pkcs1_sha256',
  0x0501: 'rsa_pkcs1_sha384',
  0x0601: 'rsa_pkcs1_sha512',
  0x0403: 'ecdsa_secp256r1_sha256',
  0x0503: 'ecdsa_secp384r1_sha384',
  0x0603: 'ecdsa_secp521r1_sha512',
  0x0804: 'rsa_pss_rsae_sha256',
  0x0805: 'rsa_pss_rsae_sha384',
  0x0806: 'rsa_pss_rsae_sha512',
  0x0807: 'ed25519',
  0x0808: 'ed448',
  0x0809: 'rsa_pss_pss_sha256',
  0x080a: 'rsa_pss_pss_sha384',
  0x080b: 'rsa_pss_pss_sha512',
  0x0201: 'rsa_pkcs1_sha1',
  0x0203: 'ecdsa_sha1',
  0x0301: 'rsa_pkcs1_sha224',
  0x0303: 'ecdsa_sha224',
  0x0402: 'dsa_sha256',
  0x0502: 'dsa_sha384',
  0x0602: 'dsa_sha512',
  0x0302: 'dsa_sha224',
  0x0202: 'dsa_sha1',
};

const ALERT_DESCRIPTIONS: Record<number, string> = {
  0: 'close_notify',
  10: 'unexpected_message',
  20: 'bad_record_mac',
  21: 'decryption_failed',
  22: 'record_overflow',
  40: 'handshake_failure',
  42: 'bad_certificate',
  43: 'unsupported_certificate',
  44: 'certificate_revoked',
  45: 'certificate_expired',
  46: 'certificate_unknown',
  47: 'illegal_parameter',
  48: 'unknown_ca',
  49: 'access_denied',
  50: 'decode_error',
  51: 'decrypt_error',
  70: 'protocol_version',
  71: 'insufficient_security',
  80: 'internal_error',
  86: 'inappropriate_fallback',
  90: 'user_canceled',
  100: 'no_renegotiation',
  109: 'missing_extension',
  110: 'unsupported_extension',
  112: 'unrecognized_name',
  113: 'bad_certificate_status_response',
  115: 'unknown_psk_identity',
  116: 'certificate_required',
  120: 'no_application_protocol',
};

const hex16 = (n: number) => `0x${n.toString(16).padStart(4, '0')}`;
/** RFC 8701: clients sprinkle reserved values like 0x0a0a so servers learn to ignore unknown ones. */
const isGrease = (n: number) => (n & 0x0f0f) === 0x0a0a && n >> 8 === (n & 0xff);
function nameIn(table: Record<number, string>, id: number): string {
  return table[id] ?? (isGrease(id) ? `GREASE ${hex16(id)}` : hex16(id));
}

export const versionName = (v: number) => VERSIONS[v] ?? hex16(v);
export const contentTypeName = (t: number) => CONTENT_TYPES[t] ?? `content type ${t}`;
export const handshakeTypeName = (t: number) => HANDSHAKE_TYPES[t] ?? `handshake type ${t}`;
export const cipherSuiteName = (id: number) => nameIn(CIPHER_SUITES, id);
export const groupName = (id: number) => nameIn(GROUPS, id);
export const extensionName = (id: number) => nameIn(EXTENSIONS, id);
export const signatureSchemeName = (id: number) => nameIn(SIGNATURE_SCHEMES, id);
export const alertName = (id: number) => ALERT_DESCRIPTIONS[id] ?? `alert ${id}`;

/** RFC 8446 §4.1.3: a ServerHello with this random is really a HelloRetryRequest (SHA-256 of "HelloRetryRequest"). */
export const HELLO_RETRY_REQUEST_RANDOM = 'cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c';
/** RFC 8446 §4.1.3: a TLS 1.3-capable server that agrees to less ends its random with "DOWNGRD" + 01 (TLS 1.2) or 00. */
const DOWNGRADE_TLS12 = '444f574e47524401';
const DOWNGRADE_TLS11 = '444f574e47524400';

/** How a TLS 1.2 suite agrees on keys: from its name (TLS 1.3 suites leave it to key_share). */
export function keyExchangeOf(suiteName: string): 'RSA' | 'ECDHE' | 'DHE' | 'TLS 1.3' | 'unknown' {
  if (/^TLS_(AES|CHACHA20)_/.test(suiteName)) return 'TLS 1.3';
  if (suiteName.startsWith('TLS_RSA_WITH_')) return 'RSA';
  if (suiteName.startsWith('TLS_ECDHE_')) return 'ECDHE';
  if (suiteName.startsWith('TLS_DHE_')) return 'DHE';
  return 'unknown';
}

// ── What the decoder reports ───────────────────────────────────────────────────────────────

export interface RecordHeader {
  contentType: number;
  contentTypeName: string;
  version: number;
  versionName: string;
  /** Payload length, without the 5-byte header. */
  length: number;
  /** Where the header starts in this direction's byte stream. */
  offset: number;
}

export interface Extension {
  id: number;
  name: string;
  /** Bytes of extension data. */
  length: number;
  /** What it says, in short ("www.geektime.test", "x25519, secp256r1"), when the decoder knows the extension. */
  summary?: string;
}

export interface Suite {
  id: number;
  name: string;
}

export interface ClientHello {
  legacyVersion: number;
  legacyVersionName: string;
  /** 32 bytes, hex: the client's random, one of the three inputs of the TLS 1.2 master secret. */
  random: string;
  sessionId: string;
  cipherSuites: Suite[];
  compressionMethods: number[];
  extensions: Extension[];
  /** SNI: the site the client asks for, in plaintext even in TLS 1.3. */
  serverName?: string;
  /** supported_versions: present when the client can do TLS 1.3. */
  supportedVersions?: string[];
  supportedGroups?: string[];
  /** key_share: the (EC)DHE public keys the client already sent, one per group. */
  keyShares?: { group: string; keyLength: number }[];
  signatureAlgorithms?: string[];
  alpn?: string[];
  extendedMasterSecret: boolean;
  sessionTicket: boolean;
}

export interface ServerHello {
  legacyVersion: number;
  legacyVersionName: string;
  /** The version really agreed on: supported_versions if present (TLS 1.3), else legacy_version. */
  version: number;
  versionName: string;
  random: string;
  /** A TLS 1.3 server asking the client to try again with another key_share group. */
  helloRetryRequest: boolean;
  /** Set when the random ends in RFC 8446's "DOWNGRD" marker: this server could have done TLS 1.3. */
  downgradeSentinel?: 'TLS 1.2' | 'TLS 1.1 or older';
  sessionId: string;
  cipherSuite: Suite;
  compressionMethod: number;
  extensions: Extension[];
  /** TLS 1.3: the group chosen and the server's public key (in a HelloRetryRequest, the group only). */
  keyShare?: { group: string; groupId: number; keyLength?: number };
  extendedMasterSecret: boolean;
  sessionTicket: boolean;
  alpn?: string;
}

export interface CertificateInfo {
  subject: string;
  issuer: string;
  commonName?: string;
  validFrom?: string;
  validTo?: string;
  serialNumber?: string;
  /** The certificate exactly as sent (DER). */
  der: Buffer;
  /** Set when Node could not parse the DER. */
  error?: string;
}

export interface ServerKeyExchange {
  keyExchange: string;
  group?: string;
  publicKeyLength?: number;
  signatureAlgorithm?: string;
  signatureLength?: number;
}

export interface ClientKeyExchange {
  keyExchange: 'RSA' | 'ECDHE' | 'DHE' | 'unknown';
  /** RSA key exchange: the 48-byte pre-master secret, encrypted with the server's public key (hex, like the randoms). */
  encryptedPreMaster?: string;
  /** (EC)DHE: the client's ephemeral public key. */
  publicKeyLength?: number;
  /** The message body as sent (without the 4-byte handshake header). */
  raw: Buffer;
}

interface EventBase {
  direction: Direction;
  /** Where this message starts in its direction's byte stream (the record header, or for a
   *  handshake message its own 4-byte header) and how many bytes it takes there. */
  offset: number;
  length: number;
  /** The record it came in (for a handshake message split over records: the last one). */
  record: RecordHeader;
  /** Human name, e.g. "ClientHello", "encrypted handshake message (Finished)". */
  name: string;
  /** True when the content could not be read on the wire. */
  encrypted: boolean;
}

export type TlsEvent = EventBase &
  (
    | { type: 'ClientHello'; fields: ClientHello }
    | { type: 'ServerHello'; fields: ServerHello }
    | { type: 'Certificate'; fields: { certificates: CertificateInfo[] } }
    | { type: 'ServerKeyExchange'; fields: ServerKeyExchange }
    | { type: 'ServerHelloDone'; fields: Record<string, never> }
    | { type: 'ClientKeyExchange'; fields: ClientKeyExchange }
    | { type: 'NewSessionTicket'; fields: { lifetimeHintSeconds: number; ticketLength: number } }
    | { type: 'Handshake'; fields: { handshakeType: number; handshakeTypeName: string; bodyLength: number } }
    | { type: 'ChangeCipherSpec'; fields: { middleboxCompatibility: boolean } }
    | { type: 'Alert'; fields: { level: number; levelName: string; description: number; descriptionName: string } }
    | { type: 'EncryptedHandshake'; fields: { bytes: number; contains: string } }
    | { type: 'EncryptedAlert'; fields: { bytes: number } }
    | { type: 'ApplicationData'; fields: { bytes: number; note?: string; probablyTicket?: boolean } }
    | { type: 'Heartbeat'; fields: { bytes: number } }
    | { type: 'Undecodable'; fields: { reason: string; preview: string } }
  );

export type TlsEventType = TlsEvent['type'];

/** The part of an event that depends on the message alone. */
type Message<E = TlsEvent> = E extends TlsEvent ? Pick<E, 'type' | 'name' | 'fields'> : never;

// ── Reading bytes ──────────────────────────────────────────────────────────────────────────

class Truncated extends Error {}

/** A cursor over one message. Every read checks the length first: malformed input throws
 *  Truncated, which the stream decoder turns into an 'Undecodable' event. */
class Reader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}
  get remaining(): number {
    return this.buf.length - this.pos;
  }
  bytes(n: number): Buffer {
    if (n > this.remaining) throw new Truncated(`needs ${n} bytes at offset ${this.pos}, has ${this.remaining}`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  u8 = () => this.bytes(1).readUInt8(0);
  u16 = () => this.bytes(2).readUInt16BE(0);
  u24 = () => this.bytes(3).readUIntBE(0, 3);
  /** TLS's length-prefixed vectors: opaque x<0..2^8-1>, <0..2^16-1>, <0..2^24-1>. */
  vec8 = () => new Reader(this.bytes(this.u8()));
  vec16 = () => new Reader(this.bytes(this.u16()));
  vec24 = () => new Reader(this.bytes(this.u24()));
  rest = () => this.bytes(this.remaining);
  /** A vector of 16-bit values (cipher suites, groups, signature schemes). */
  u16List(): number[] {
    const out: number[] = [];
    while (this.remaining >= 2) out.push(this.u16());
    if (this.remaining) throw new Truncated('odd length in a list of 16-bit values');
    return out;
  }
}

// ── Hellos and their extensions ────────────────────────────────────────────────────────────

interface RawExtension {
  id: number;
  data: Buffer;
}

function readExtensions(r: Reader): RawExtension[] {
  if (r.remaining === 0) return []; // very old clients send none at all
  const list = r.vec16();
  const out: RawExtension[] = [];
  while (list.remaining) out.push({ id: list.u16(), data: list.vec16().rest() });
  return out;
}

function decodeClientHello(body: Buffer): ClientHello {
  const r = new Reader(body);
  const legacyVersion = r.u16();
  const random = r.bytes(32).toString('hex');
  const sessionId = r.vec8().rest().toString('hex');
  const cipherSuites = r.vec16().u16List().map((id) => ({ id, name: cipherSuiteName(id) }));
  const compressionMethods = [...r.vec8().rest()];
  const hello: ClientHello = {
    legacyVersion,
    legacyVersionName: versionName(legacyVersion),
    random,
    sessionId,
    cipherSuites,
    compressionMethods,
    extensions: [],
    extendedMasterSecret: false,
    sessionTicket: false,
  };
  for (const { id, data } of readExtensions(r)) {
    const e = new Reader(data);
    let summary: string | undefined;
    switch (id) {
      case 0: {
        // server_name: a list of (type, name); type 0 is a DNS host name.
        const list = e.vec16();
        while (list.remaining) {
          const type = list.u8();
          const name = list.vec16().rest().toString('latin1');
          if (type === 0) hello.serverName ??= name;
        }
        summary = hello.serverName;
        break;
      }
      case 10:
        hello.supportedGroups = e.vec16().u16List().map(groupName);
        summary = hello.supportedGroups.join(', ');
        break;
      case 11:
        summary = `${e.vec8().rest().length} format(s)`;
        break;
      case 13:
        hello.signatureAlgorithms = e.vec16().u16List().map(signatureSchemeName);
        summary = hello.signatureAlgorithms.join(', ');
        break;
      case 16:
        hello.alpn = readAlpn(e);
        summary = hello.alpn.join(', ');
        break;
      case 23:
        hello.extendedMasterSecret = true;
        break;
      case 35:
        hello.sessionTicket = true;
        summary = data.length ? `resuming with a ${data.length}-byte ticket` : 'empty: would like a ticket';
        break;
      case 43:
        hello.supportedVersions = e.vec8().u16List().map(versionName);
        summary = hello.supportedVersions.join(', ');
        break;
      case 51: {
        const shares = e.vec16();
        hello.keyShares = [];
        while (shares.remaining) hello.keyShares.push({ group: groupName(shares.u16()), keyLength: shares.vec16().remaining });
        summary = hello.keyShares.map((k) => `${k.group} (${k.keyLength}-byte public key)`).join(', ');
        break;
      }
      case 45:
        summary = [...e.vec8().rest()].map((m) => (m === 1 ? 'psk_dhe_ke' : m === 0 ? 'psk_ke' : String(m))).join(', ');
        break;
    }
    hello.extensions.push({ id, name: extensionName(id), length: data.length, ...(summary !== undefined && { summary }) });
  }
  return hello;
}

function readAlpn(e: Reader): string[] {
  const list = e.vec16();
  const out: string[] = [];
  while (list.remaining) out.push(list.vec8().rest().toString('latin1'));
  return out;
}

function decodeServerHello(body: Buffer): ServerHello {
  const r = new Reader(body);
  const legacyVersion = r.u16();
  const random = r.bytes(32).toString('hex');
  const sessionId = r.vec8().rest().toString('hex');
  const suiteId = r.u16();
  const compressionMethod = r.u8();
  const helloRetryRequest = random === HELLO_RETRY_REQUEST_RANDOM;
  const tail = random.slice(-16);
  const hello: ServerHello = {
    legacyVersion,
    legacyVersionName: versionName(legacyVersion),
    version: legacyVersion,
    versionName: versionName(legacyVersion),
    random,
    helloRetryRequest,
    ...(tail === DOWNGRADE_TLS12 && { downgradeSentinel: 'TLS 1.2' as const }),
    ...(tail === DOWNGRADE_TLS11 && { downgradeSentinel: 'TLS 1.1 or older' as const }),
    sessionId,
    cipherSuite: { id: suiteId, name: cipherSuiteName(suiteId) },
    compressionMethod,
    extensions: [],
    extendedMasterSecret: false,
    sessionTicket: false,
  };
  for (const { id, data } of readExtensions(r)) {
    const e = new Reader(data);
    let summary: string | undefined;
    switch (id) {
      case 43:
        // The server's one choice. This, not legacy_version (always 03 03), says "TLS 1.3".
        hello.version = e.u16();
        hello.versionName = versionName(hello.version);
        summary = hello.versionName;
        break;
      case 51: {
        const groupId = e.u16();
        // A HelloRetryRequest names only the group it wants; a real ServerHello adds its public key.
        hello.keyShare = helloRetryRequest ? { group: groupName(groupId), groupId } : { group: groupName(groupId), groupId, keyLength: e.vec16().remaining };
        summary = hello.keyShare.keyLength === undefined ? `${hello.keyShare.group}, please` : `${hello.keyShare.group} (${hello.keyShare.keyLength}-byte public key)`;
        break;
      }
      case 16:
        hello.alpn = readAlpn(e)[0];
        summary = hello.alpn;
        break;
      case 23:
        hello.extendedMasterSecret = true;
        break;
      case 35:
        hello.sessionTicket = true;
        break;
    }
    hello.extensions.push({ id, name: extensionName(id), length: data.length, ...(summary !== undefined && { summary }) });
  }
  return hello;
}

// ── The server's certificate and key exchange, the client's key exchange ──────────────────

/** TLS 1.2 Certificate: a list of DER certificates, the server's own first, then its issuers. */
function decodeCertificate(body: Buffer): CertificateInfo[] {
  const list = new Reader(body).vec24();
  const out: CertificateInfo[] = [];
  while (list.remaining) {
    const der = Buffer.from(list.vec24().rest()); // a copy: the stream's buffer is reused
    try {
      const cert = new X509Certificate(der);
      out.push({
        subject: cert.subject.replace(/\n/g, ', '),
        issuer: cert.issuer.replace(/\n/g, ', '),
        commonName: /CN=([^\n]+)/.exec(cert.subject)?.[1],
        validFrom: cert.validFrom,
        validTo: cert.validTo,
        serialNumber: cert.serialNumber,
        der,
      });
    } catch (err) {
      out.push({ subject: '?', issuer: '?', der, error: (err as Error).message });
    }
  }
  return out;
}

function decodeServerKeyExchange(body: Buffer, keyExchange: string): ServerKeyExchange {
  const r = new Reader(body);
  const out: ServerKeyExchange = { keyExchange };
  if (keyExchange === 'ECDHE') {
    if (r.u8() !== 3) return out; // only named curves are used in practice
    out.group = groupName(r.u16());
    out.publicKeyLength = r.vec8().remaining;
  } else if (keyExchange === 'DHE') {
    const p = r.vec16().remaining;
    r.vec16(); // g
    out.publicKeyLength = r.vec16().remaining;
    out.group = `${p * 8}-bit finite field`;
  } else return out;
  out.signatureAlgorithm = signatureSchemeName(r.u16());
  out.signatureLength = r.vec16().remaining;
  return out;
}

function decodeClientKeyExchange(body: Buffer, keyExchange: string): ClientKeyExchange {
  const raw = Buffer.from(body);
  const r = new Reader(raw);
  if (keyExchange === 'RSA') {
    // RFC 5246 §7.4.7.1: EncryptedPreMasterSecret, a 2-byte length then RSA ciphertext as long as the key.
    return { keyExchange: 'RSA', encryptedPreMaster: r.vec16().rest().toString('hex'), raw };
  }
  if (keyExchange === 'ECDHE') return { keyExchange: 'ECDHE', publicKeyLength: r.vec8().remaining, raw };
  if (keyExchange === 'DHE') return { keyExchange: 'DHE', publicKeyLength: r.vec16().remaining, raw };
  return { keyExchange: 'unknown', raw };
}

// ── The stream decoder ─────────────────────────────────────────────────────────────────────

const ENCRYPTED_ALERT = 'encrypted alert (at the end of a connection, usually close_notify)';
/** TLS 1.3: the same, recognised by its size inside an application_data record. */
const ENCRYPTED_ALERT_13 = 'encrypted alert (an application_data record of exactly an alert\'s size; at the end of a connection, usually close_notify)';

/** The largest record payload allowed: 2^14 plaintext bytes plus 2048 for the cipher (RFC 5246 §6.2.3). */
const MAX_RECORD = 2 ** 14 + 2048;
/** Refuse to wait for handshake messages bigger than this: a garbage length would otherwise hold memory. */
const MAX_HANDSHAKE_MESSAGE = 256 * 1024;

/** What the decoder remembers about one direction of the connection. */
class DirectionState {
  /** Bytes received but not yet a whole record; `offset` is where pending[0] sits in the stream. */
  pending: Buffer = Buffer.alloc(0);
  offset = 0;
  /** Handshake bytes not yet a whole message, and where each record's share of them came from. */
  handshake: Buffer = Buffer.alloc(0);
  handshakeSegments: { at: number; offset: number }[] = [];
  /** TLS 1.2: after this side's ChangeCipherSpec, its records are encrypted. */
  changedCipherSpec = false;
  encryptedHandshakeRecords = 0;
  encryptedRecords = 0;
  /** TLS 1.3: the records after the handshake (its own encrypted ones counted apart). */
  applicationDataRecords = 0;
  /** Not TLS (or no longer in step with it): the rest of this direction is passed over. */
  lost = false;

  /** Where byte `at` of the pending handshake buffer sits in the stream. */
  handshakeOffset(at: number): number {
    let segment = this.handshakeSegments[0]!;
    for (const s of this.handshakeSegments) if (s.at <= at) segment = s;
    return segment.offset + (at - segment.at);
  }

  /** Forget the first `n` handshake bytes (whole messages, decoded) and renumber what is left. */
  dropHandshake(n: number): void {
    if (n === 0) return;
    const startOffset = this.handshakeOffset(n);
    this.handshake = Buffer.from(this.handshake.subarray(n));
    const later = this.handshakeSegments.filter((s) => s.at > n).map((s) => ({ at: s.at - n, offset: s.offset }));
    this.handshakeSegments = this.handshake.length ? [{ at: 0, offset: startOffset }, ...later] : [];
  }
}

/**
 * Decodes both directions of one TLS connection. Push each chunk as it passes, with its direction,
 * in the order seen; get back the messages completed by that chunk. Never throws on bad input:
 * what cannot be read becomes an 'Undecodable' event.
 */
export class TlsStreamDecoder {
  private readonly sides: Record<Direction, DirectionState> = {
    'client→server': new DirectionState(),
    'server→client': new DirectionState(),
  };
  /** What the ServerHello settled, needed to read what follows it. */
  private serverHello?: ServerHello;
  private tls13 = false;

  push(direction: Direction, chunk: Buffer): TlsEvent[] {
    const side = this.sides[direction];
    if (side.lost || chunk.length === 0) return [];
    side.pending = side.pending.length ? Buffer.concat([side.pending, chunk]) : chunk;
    const events: TlsEvent[] = [];
    while (side.pending.length >= 5 && !side.lost) {
      const header = readRecordHeader(side.pending, side.offset);
      const problem = recordProblem(header);
      if (problem) {
        events.push(this.undecodable(direction, header, problem, side.pending.subarray(0, 5)));
        side.lost = true;
        break;
      }
      if (side.pending.length < 5 + header.length) break; // wait for the rest of this record
      const payload = side.pending.subarray(5, 5 + header.length);
      events.push(...this.record(direction, side, header, payload));
      side.pending = side.pending.subarray(5 + header.length);
      side.offset += 5 + header.length;
    }
    if (side.lost) side.pending = Buffer.alloc(0);
    return events;
  }

  private record(direction: Direction, side: DirectionState, header: RecordHeader, payload: Buffer): TlsEvent[] {
    const base = { direction, offset: header.offset, length: 5 + header.length, record: header };
    switch (header.contentType) {
      case 20: {
        side.changedCipherSpec = true;
        // TLS 1.3 keeps a meaningless ChangeCipherSpec only so middleboxes that expect TLS 1.2 let it pass.
        const middleboxCompatibility = this.tls13;
        const name = middleboxCompatibility ? 'ChangeCipherSpec (TLS 1.3 middlebox compatibility, changes nothing)' : 'ChangeCipherSpec';
        return [{ ...base, type: 'ChangeCipherSpec', name, encrypted: false, fields: { middleboxCompatibility } }];
      }
      case 21: {
        if (this.encryptedAfterCcs(side) || payload.length !== 2) {
          return [{ ...base, type: 'EncryptedAlert', name: ENCRYPTED_ALERT, encrypted: true, fields: { bytes: payload.length } }];
        }
        const level = payload[0]!;
        const description = payload[1]!;
        const levelName = level === 1 ? 'warning' : level === 2 ? 'fatal' : `level ${level}`;
        const fields = { level, levelName, description, descriptionName: alertName(description) };
        return [{ ...base, type: 'Alert', name: 'Alert', encrypted: false, fields }];
      }
      case 22: {
        if (this.encryptedAfterCcs(side)) {
          // TLS 1.2: the first handshake message a side encrypts is its Finished, a MAC over the whole handshake.
          const contains = side.encryptedHandshakeRecords++ === 0 ? 'Finished' : 'a handshake message';
          const name = `encrypted handshake message (${contains})`;
          return [{ ...base, type: 'EncryptedHandshake', name, encrypted: true, fields: { bytes: payload.length, contains } }];
        }
        return this.handshakeRecord(direction, side, header, payload);
      }
      case 23:
        return [this.applicationData(direction, side, base, payload.length)];
      default:
        return [{ ...base, type: 'Heartbeat', name: 'heartbeat', encrypted: this.encryptedAfterCcs(side), fields: { bytes: payload.length } }];
    }
  }

  /** The AEAD tag of the chosen TLS 1.3 suite: 8 bytes for AES_128_CCM_8, else 16. */
  private aeadTagBytes(): number {
    return /CCM_8/.test(this.serverHello?.cipherSuite.name ?? '') ? 8 : 16;
  }

  /** TLS 1.2 encrypts a side's records after its ChangeCipherSpec. TLS 1.3 hides everything in
   *  application_data records instead, so any other record type there is plaintext. */
  private encryptedAfterCcs(side: DirectionState): boolean {
    return !this.tls13 && side.changedCipherSpec;
  }

  /** An application_data record: always encrypted; what it hides depends on where we are. */
  private applicationData(direction: Direction, side: DirectionState, base: Omit<EventBase, 'name' | 'encrypted'>, bytes: number): TlsEvent {
    const event = { ...base, encrypted: true } as const;
    const n = side.encryptedRecords++;
    if (this.tls13) {
      const client = this.sides['client→server'];
      // The server's flight comes before the client can answer it: until the client sends its first
      // encrypted record (its Finished), what the server encrypts is the rest of its handshake. How
      // the four messages are spread over these records (one each, as OpenSSL does, or packed
      // together) is inside the encryption: only the count and the sizes show.
      if (direction === 'server→client' && client.encryptedRecords === 0) {
        const contains = "EncryptedExtensions, Certificate, CertificateVerify and Finished travel in these; which is which can't be read without keys";
        return { ...event, type: 'EncryptedHandshake', name: `encrypted handshake record ${n + 1} of the server's flight (${contains})`, fields: { bytes, contains } };
      }
      if (direction === 'client→server' && n === 0) {
        return { ...event, type: 'EncryptedHandshake', name: 'encrypted (client Finished — not readable on the wire)', fields: { bytes, contains: 'Finished' } };
      }
      // An alert hidden in an application_data record has a size of its own: the 2-byte alert,
      // the 1-byte inner content type, the AEAD tag (RFC 8446 §5.2). At the end of a connection that
      // is close_notify, the same message TLS 1.2 sends as an encrypted alert record.
      if (bytes === 2 + 1 + this.aeadTagBytes()) {
        return { ...event, type: 'EncryptedAlert', name: ENCRYPTED_ALERT_13, fields: { bytes } };
      }
      const note = 'TLS 1.3 also hides NewSessionTicket, KeyUpdate and alerts in application_data records';
      // Right after the handshake an OpenSSL server sends NewSessionTicket messages (two by default,
      // stateful ones even with SSL_OP_NO_TICKET), before it can have answered anything. The client
      // sends its request right behind its Finished, so on the wire the tickets usually come after
      // that request: the server's first two records are the best guess, and still only a guess.
      const serverData = side.applicationDataRecords++;
      const probablyTicket = direction === 'server→client' && (serverData < 2 || client.applicationDataRecords === 0);
      return { ...event, type: 'ApplicationData', name: 'application_data (encrypted)', fields: { bytes, note, ...(probablyTicket && { probablyTicket }) } };
    }
    if (!this.serverHello && direction === 'client→server') {
      return { ...event, type: 'ApplicationData', name: 'application_data before any ServerHello (0-RTT early data, encrypted)', fields: { bytes } };
    }
    return { ...event, type: 'ApplicationData', name: 'application_data (encrypted)', fields: { bytes } };
  }

  /** Collect handshake bytes; decode every message that is now complete. */
  private handshakeRecord(direction: Direction, side: DirectionState, header: RecordHeader, payload: Buffer): TlsEvent[] {
    side.handshakeSegments.push({ at: side.handshake.length, offset: header.offset + 5 });
    side.handshake = Buffer.concat([side.handshake, payload]);
    const events: TlsEvent[] = [];
    let used = 0;
    while (side.handshake.length - used >= 4) {
      const type = side.handshake[used]!;
      const bodyLength = side.handshake.readUIntBE(used + 1, 3);
      if (bodyLength > MAX_HANDSHAKE_MESSAGE) {
        const preview = side.handshake.subarray(used, used + 4);
        const reason = `a handshake message claims ${bodyLength} bytes, more than any real one`;
        events.push(this.undecodable(direction, header, reason, preview, side.handshakeOffset(used)));
        side.lost = true;
        return events;
      }
      if (side.handshake.length - used < 4 + bodyLength) break; // the rest comes in the next record
      const body = side.handshake.subarray(used + 4, used + 4 + bodyLength);
      const base = { direction, offset: side.handshakeOffset(used), length: 4 + bodyLength, record: header, encrypted: false };
      events.push({ ...base, ...this.handshakeMessage(type, body) });
      used += 4 + bodyLength;
    }
    side.dropHandshake(used); // keep only the message still incomplete
    return events;
  }

  /** One whole plaintext handshake message → its event (without direction and offsets). */
  private handshakeMessage(type: number, body: Buffer): Message {
    const typeName = HANDSHAKE_TYPES[type] ?? `handshake type ${type}`;
    const keyExchange = keyExchangeOf(this.serverHello?.cipherSuite.name ?? '');
    try {
      switch (type) {
        case 1:
          return { type: 'ClientHello', name: 'ClientHello', fields: decodeClientHello(body) };
        case 2: {
          const hello = decodeServerHello(body);
          // TLS 1.3 (a HelloRetryRequest says so too): from its ServerHello on, both sides encrypt
          // everything but ChangeCipherSpec, which from now on is only for show.
          this.tls13 = hello.version === 0x0304;
          if (hello.helloRetryRequest) return { type: 'ServerHello', name: 'HelloRetryRequest', fields: hello };
          this.serverHello = hello;
          return { type: 'ServerHello', name: 'ServerHello', fields: hello };
        }
        case 11:
          return { type: 'Certificate', name: 'Certificate', fields: { certificates: decodeCertificate(body) } };
        case 12:
          return { type: 'ServerKeyExchange', name: 'ServerKeyExchange', fields: decodeServerKeyExchange(body, keyExchange) };
        case 14:
          return { type: 'ServerHelloDone', name: 'ServerHelloDone', fields: {} };
        case 16: {
          const kx = keyExchange === 'TLS 1.3' ? 'unknown' : keyExchange;
          return { type: 'ClientKeyExchange', name: 'ClientKeyExchange', fields: decodeClientKeyExchange(body, kx) };
        }
        case 4: {
          const r = new Reader(body);
          const lifetimeHintSeconds = r.bytes(4).readUInt32BE(0);
          return { type: 'NewSessionTicket', name: 'NewSessionTicket', fields: { lifetimeHintSeconds, ticketLength: r.vec16().remaining } };
        }
        default:
          return { type: 'Handshake', name: typeName, fields: { handshakeType: type, handshakeTypeName: typeName, bodyLength: body.length } };
      }
    } catch (err) {
      if (!(err instanceof Truncated) && !(err instanceof RangeError)) throw err;
      const reason = `malformed ${typeName}: ${err.message}`;
      return { type: 'Undecodable', name: `undecodable ${typeName}`, fields: { reason, preview: body.subarray(0, 16).toString('hex') } };
    }
  }

  /** `bytes`: what was looked at and refused (so the event does not depend on how the stream was cut). */
  private undecodable(direction: Direction, header: RecordHeader, reason: string, bytes: Buffer, offset = header.offset): TlsEvent {
    return {
      direction,
      offset,
      length: bytes.length,
      record: header,
      type: 'Undecodable',
      name: 'undecodable bytes (not TLS, or out of step with it)',
      encrypted: false,
      fields: { reason, preview: bytes.toString('hex') },
    };
  }
}

function readRecordHeader(buf: Buffer, offset: number): RecordHeader {
  const contentType = buf[0]!;
  const version = buf.readUInt16BE(1);
  return {
    contentType,
    contentTypeName: CONTENT_TYPES[contentType] ?? `unknown (0x${contentType.toString(16).padStart(2, '0')})`,
    version,
    versionName: versionName(version),
    length: buf.readUInt16BE(3),
    offset,
  };
}

/** Why these 5 bytes cannot be a TLS record header, or undefined if they can. */
function recordProblem(h: RecordHeader): string | undefined {
  const first5 = Buffer.from([h.contentType, h.version >> 8, h.version & 0xff, h.length >> 8, h.length & 0xff]);
  if (!(h.contentType in CONTENT_TYPES)) {
    const text = first5.toString('latin1');
    if (/^[A-Z]{3,}/.test(text)) return `not TLS: the bytes start with "${text}", which looks like plain HTTP`;
    return `not TLS: content type 0x${h.contentType.toString(16).padStart(2, '0')} is none of TLS's (20-24)`;
  }
  if (h.version >> 8 !== 3 || (h.version & 0xff) > 4) return `not TLS: record version ${hex16(h.version)} is none of SSL 3.0 … TLS 1.3`;
  if (h.length > MAX_RECORD) return `not TLS: a record of ${h.length} bytes is longer than TLS allows (${MAX_RECORD})`;
  return undefined;
}

// ── An event without its bytes ─────────────────────────────────────────────────────────────

/**
 * An event as the run's trace keeps it: every decoded field, without the bytes already shown as
 * fields (each certificate's DER, the ClientKeyExchange body). The capture keeps the bytes.
 */
export type TlsEventFacts = TlsEvent extends infer E
  ? E extends { type: 'Certificate' }
    ? Omit<E, 'fields'> & { fields: { certificates: Array<Omit<CertificateInfo, 'der'>> } }
    : E extends { type: 'ClientKeyExchange' }
      ? Omit<E, 'fields'> & { fields: Omit<ClientKeyExchange, 'raw'> }
      : E
  : never;

export function withoutBytes(e: TlsEvent): TlsEventFacts {
  if (e.type === 'Certificate') return { ...e, fields: { certificates: e.fields.certificates.map(({ der: _der, ...c }) => c) } };
  if (e.type === 'ClientKeyExchange') {
    const { raw: _raw, ...fields } = e.fields;
    return { ...e, fields };
  }
  return e;
}
