// The seed's "three randoms", checked with the real values of one connection.
//
// Classic mode (TLS 1.2, RSA key exchange, RFC 5246):
//   1. ClientHello carries the client random, ServerHello the server random (both in plaintext).
//   2. The client picks a third secret, the 48-byte pre-master (its version, then 46 random bytes),
//      encrypts it with the public key in the server's certificate and sends it in ClientKeyExchange.
//   3. Both ends compute master = PRF(pre-master, "master secret", client random ‖ server random).
// The lab owns the SLB's private key, so it can do what only the SLB should be able to: decrypt the
// pre-master from the captured bytes, recompute the master secret, and compare it with the line the
// SLB wrote to its key log. They must be equal. That is also the lesson: whoever gets the server's
// private key later can decrypt every recorded session. RSA key exchange has no forward secrecy.
//
// Modern mode (TLS 1.3) has nothing to recover: see modernKeyExchange at the end.
import crypto from 'node:crypto';
import fs from 'node:fs';
import forge from 'node-forge';
import { parseKeyLog } from './observe/keylog.ts';
import { prfSha256 } from './tls12-prf.ts';
import type { TlsEvent } from './tls-decoder.ts';
import { words } from './story/words/index.ts';

export type MasterSecretFailure =
  | 'incomplete-handshake'
  | 'not-classic'
  | 'bad-pre-master'
  | 'extended-master-secret'
  | 'no-key-log-line'
  | 'key-log-mismatch';

/**
 * Why the check failed, with the values that say so (facts: the words are in
 * lab/story/words/<lang>/tls.ts, masterSecretFailure).
 */
export type MasterSecretFailureFacts =
  | { kind: 'no-hello'; missing: 'ClientHello' | 'ServerHello' | 'ClientHello and ServerHello' }
  | { kind: 'tls13'; suite: string }
  | { kind: 'no-client-key-exchange' }
  | { kind: 'ephemeral'; suite: string; keyExchange: string }
  | { kind: 'undecryptable'; bytes: number; error: string }
  | { kind: 'bad-pre-master'; bytes: number; startsWith: string; wantVersion: string }
  | { kind: 'extended-master-secret' }
  | { kind: 'no-key-log'; clientRandom: string; keyLogFile: string }
  | { kind: 'no-key-log-line'; clientRandom: string; keyLogFile: string; lines: number }
  | { kind: 'key-log-mismatch'; clientRandom: string; keyLogFile: string; lineNumber: number; logged: string; computed: string }
  | { kind: 'not-tls13'; versionName: string; suite: string };

const REASON: Record<MasterSecretFailureFacts['kind'], MasterSecretFailure> = {
  'no-hello': 'incomplete-handshake',
  'no-client-key-exchange': 'incomplete-handshake',
  tls13: 'not-classic',
  ephemeral: 'not-classic',
  'not-tls13': 'not-classic',
  undecryptable: 'bad-pre-master',
  'bad-pre-master': 'bad-pre-master',
  'extended-master-secret': 'extended-master-secret',
  'no-key-log': 'no-key-log-line',
  'no-key-log-line': 'no-key-log-line',
  'key-log-mismatch': 'key-log-mismatch',
};

/** The check failed: `reason` says which way, `facts` with which values, the message says it in the learner's language. */
export class MasterSecretError extends Error {
  readonly reason: MasterSecretFailure;
  constructor(
    readonly facts: MasterSecretFailureFacts,
    readonly computed: { preMaster?: Buffer; master?: Buffer; keyLogMaster?: Buffer } = {},
  ) {
    super(words().tls.masterSecretFailure(facts));
    this.reason = REASON[facts.kind];
    this.name = 'MasterSecretError';
  }
}

// ── The TLS 1.2 PRF (RFC 5246 §5): lab/tls12-prf.ts ───────────────────────────────────────

export { pSha256, prfSha256 } from './tls12-prf.ts';

/** RFC 5246 §8.1: master_secret = PRF(pre_master_secret, "master secret", client random ‖ server random)[0..47]. */
export function masterSecretFrom(preMaster: Buffer, clientRandom: Buffer, serverRandom: Buffer): Buffer {
  return prfSha256(preMaster, 'master secret', Buffer.concat([clientRandom, serverRandom]), 48);
}

// ── The pre-master, from the ClientKeyExchange ─────────────────────────────────────────────

/**
 * Decrypt the ClientKeyExchange (RSAES-PKCS1-v1_5) with the server's private key.
 *
 * Node 20 refuses crypto.privateDecrypt with RSA_PKCS1_PADDING (CVE-2023-46809, "Marvin"): a
 * server that decrypts attacker-chosen PKCS#1 v1.5 ciphertexts and leaks, by timing, whether the
 * padding was right becomes a decryption oracle (Bleichenbacher's attack). OpenSSL's TLS code
 * guards against that itself. Here there is no attacker and no oracle: the lab decrypts one
 * ciphertext it captured, offline, with its own key. So it uses node-forge's plain implementation.
 */
export function decryptPreMaster(encryptedPreMaster: Buffer, privateKeyPem: string): Buffer {
  // forge reads PKCS#1 ("RSA PRIVATE KEY"); let Node convert whatever PEM form the key is in.
  const pkcs1 = crypto.createPrivateKey(privateKeyPem).export({ type: 'pkcs1', format: 'pem' }).toString();
  const key = forge.pki.privateKeyFromPem(pkcs1);
  const plain = key.decrypt(encryptedPreMaster.toString('binary'), 'RSAES-PKCS1-V1_5');
  return Buffer.from(plain, 'binary');
}

// ── The key log (NSS format, SSLKEYLOGFILE): lab/observe/keylog.ts ─────────────────────────

export { parseKeyLog, type KeyLogLine } from './observe/keylog.ts';

// ── The check ──────────────────────────────────────────────────────────────────────────────

/** What the check needs from one classic handshake, as read from the wire. */
export interface ClassicHandshake {
  clientRandom: string;
  serverRandom: string;
  /** legacy_version of the ClientHello: the first two bytes of the pre-master must repeat it. */
  clientVersion: number;
  encryptedPreMaster: Buffer;
  /** Both hellos carried extended_master_secret (RFC 7627): the textbook formula does not apply. */
  extendedMasterSecret: boolean;
  cipherSuite: string;
}

/** Pick the inputs out of a connection's decoded events; say plainly why if this is not a classic handshake. */
export function classicHandshakeFrom(events: readonly TlsEvent[]): ClassicHandshake {
  let clientHello: Extract<TlsEvent, { type: 'ClientHello' }> | undefined;
  let serverHello: Extract<TlsEvent, { type: 'ServerHello' }> | undefined;
  let keyExchange: Extract<TlsEvent, { type: 'ClientKeyExchange' }> | undefined;
  for (const e of events) {
    if (e.type === 'ClientHello') clientHello = e; // after a HelloRetryRequest: the second one
    if (e.type === 'ServerHello' && !e.fields.helloRetryRequest) serverHello ??= e;
    if (e.type === 'ClientKeyExchange') keyExchange ??= e;
  }
  if (!clientHello || !serverHello) {
    throw new MasterSecretError({ kind: 'no-hello', missing: clientHello ? 'ServerHello' : 'ClientHello' });
  }
  const suite = serverHello.fields.cipherSuite.name;
  if (serverHello.fields.version === 0x0304) {
    throw new MasterSecretError({ kind: 'tls13', suite });
  }
  if (!keyExchange) throw new MasterSecretError({ kind: 'no-client-key-exchange' });
  if (!keyExchange.fields.encryptedPreMaster) {
    throw new MasterSecretError({ kind: 'ephemeral', suite, keyExchange: keyExchange.fields.keyExchange });
  }
  return {
    clientRandom: clientHello.fields.random,
    serverRandom: serverHello.fields.random,
    clientVersion: clientHello.fields.legacyVersion,
    encryptedPreMaster: Buffer.from(keyExchange.fields.encryptedPreMaster, 'hex'),
    // The server answers extended_master_secret only if the client offered it: its answer decides.
    extendedMasterSecret: serverHello.fields.extendedMasterSecret,
    cipherSuite: suite,
  };
}

export interface MasterSecretInput {
  clientRandom: string;
  serverRandom: string;
  encryptedPreMaster: Buffer;
  /** The SLB's private key (PEM): the lab made it, so the lab may use it. */
  privateKeyPem: string;
  /** The SLB's NSS key log. */
  keyLogFile: string;
  /** Default 0x0303 (TLS 1.2). */
  clientVersion?: number;
  extendedMasterSecret?: boolean;
}

export interface MasterSecretCheck {
  preMaster: Buffer;
  master: Buffer;
  keyLogMaster: Buffer;
  /** Always true when returned: a mismatch throws. */
  matches: boolean;
  keyLogLine: number;
}

/**
 * Recover the pre-master, recompute the master secret from the three randoms, and compare it with
 * the key log. Throws MasterSecretError, loudly, on anything but an exact match.
 */
export function checkMasterSecret(input: MasterSecretInput): MasterSecretCheck {
  const clientRandom = Buffer.from(input.clientRandom, 'hex');
  const serverRandom = Buffer.from(input.serverRandom, 'hex');
  const clientVersion = input.clientVersion ?? 0x0303;

  // 1. The third random: the pre-master, decrypted with the SLB's private key.
  let preMaster: Buffer;
  try {
    preMaster = decryptPreMaster(input.encryptedPreMaster, input.privateKeyPem);
  } catch (err) {
    throw new MasterSecretError({ kind: 'undecryptable', bytes: input.encryptedPreMaster.length, error: (err as Error).message });
  }
  // RFC 5246 §7.4.7.1: 48 bytes, starting with the version the client offered (a guard against
  // version rollback: an attacker who lowered the version in ClientHello cannot change this).
  const wantVersion = clientVersion.toString(16).padStart(4, '0');
  if (preMaster.length !== 48 || preMaster.subarray(0, 2).toString('hex') !== wantVersion) {
    throw new MasterSecretError({ kind: 'bad-pre-master', bytes: preMaster.length, startsWith: preMaster.subarray(0, 2).toString('hex'), wantVersion }, { preMaster });
  }

  // 2. The textbook formula.
  const master = masterSecretFrom(preMaster, clientRandom, serverRandom);
  if (input.extendedMasterSecret) {
    throw new MasterSecretError({ kind: 'extended-master-secret' }, { preMaster, master });
  }

  // 3. What the SLB wrote down for this client random.
  const keyLogText = fs.existsSync(input.keyLogFile) ? fs.readFileSync(input.keyLogFile, 'utf8') : undefined;
  if (keyLogText === undefined) {
    throw new MasterSecretError({ kind: 'no-key-log', clientRandom: input.clientRandom, keyLogFile: input.keyLogFile }, { preMaster, master });
  }
  const lines = parseKeyLog(keyLogText).filter((l) => l.label === 'CLIENT_RANDOM');
  const line = lines.find((l) => l.clientRandom === input.clientRandom.toLowerCase());
  if (!line) {
    throw new MasterSecretError({ kind: 'no-key-log-line', clientRandom: input.clientRandom, keyLogFile: input.keyLogFile, lines: lines.length }, { preMaster, master });
  }
  const keyLogMaster = Buffer.from(line.secret, 'hex');

  // 4. They must be equal, to the bit.
  if (!keyLogMaster.equals(master)) {
    throw new MasterSecretError(
      { kind: 'key-log-mismatch', clientRandom: input.clientRandom, keyLogFile: input.keyLogFile, lineNumber: line.lineNumber, logged: line.secret, computed: master.toString('hex') },
      { preMaster, master, keyLogMaster },
    );
  }

  return { preMaster, master, keyLogMaster, matches: true, keyLogLine: line.lineNumber };
}

// ── Modern mode: nothing to recover ────────────────────────────────────────────────────────

export interface ModernKeyExchange {
  group: string;
  groupId: number;
  cipherSuite: string;
  /** The groups the client sent public keys for, and the size of the server's. */
  clientKeyShares: string[];
  /** The sizes of the two public keys of the chosen group (key_share in each hello). */
  clientPublicKeyBytes?: number;
  serverPublicKeyBytes?: number;
  /** The labels of this connection's key log lines, if a key log was given. */
  keyLogLabels: string[];
}

/**
 * TLS 1.3: the (EC)DHE group the ServerHello chose, the two public keys' sizes, and the key log's
 * lines for this connection: the facts behind "a capture, even with the server's private key,
 * gives no key" (forward secrecy; the words are in lab/story/words/tls.ts).
 */
export function modernKeyExchange(events: readonly TlsEvent[], keyLogText?: string): ModernKeyExchange {
  let clientHello: Extract<TlsEvent, { type: 'ClientHello' }> | undefined;
  let serverHello: Extract<TlsEvent, { type: 'ServerHello' }> | undefined;
  for (const e of events) {
    if (e.type === 'ClientHello') clientHello = e; // after a HelloRetryRequest: the second one
    if (e.type === 'ServerHello' && !e.fields.helloRetryRequest) serverHello ??= e;
  }
  if (!clientHello || !serverHello) {
    throw new MasterSecretError({ kind: 'no-hello', missing: !clientHello && !serverHello ? 'ClientHello and ServerHello' : clientHello ? 'ServerHello' : 'ClientHello' });
  }
  const share = serverHello.fields.keyShare;
  if (serverHello.fields.version !== 0x0304 || !share) {
    throw new MasterSecretError({ kind: 'not-tls13', versionName: serverHello.fields.versionName, suite: serverHello.fields.cipherSuite.name });
  }
  const clientKeyShares = clientHello.fields.keyShares?.map((k) => k.group) ?? [];
  const random = clientHello.fields.random;
  const keyLogLabels = keyLogText ? parseKeyLog(keyLogText).filter((l) => l.clientRandom === random).map((l) => l.label) : [];
  const clientShare = clientHello.fields.keyShares?.find((k) => k.group === share.group);

  return {
    group: share.group,
    groupId: share.groupId,
    cipherSuite: serverHello.fields.cipherSuite.name,
    clientKeyShares,
    ...(clientShare?.keyLength !== undefined && { clientPublicKeyBytes: clientShare.keyLength }),
    ...(share.keyLength !== undefined && { serverPublicKeyBytes: share.keyLength }),
    keyLogLabels,
  };
}
