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

export type MasterSecretFailure =
  | 'incomplete-handshake'
  | 'not-classic'
  | 'bad-pre-master'
  | 'extended-master-secret'
  | 'no-key-log-line'
  | 'key-log-mismatch';

/** The check failed: `reason` says which way, the message says it in words, with what was computed. */
export class MasterSecretError extends Error {
  constructor(
    readonly reason: MasterSecretFailure,
    message: string,
    readonly computed: { preMaster?: Buffer; master?: Buffer; keyLogMaster?: Buffer } = {},
  ) {
    super(message);
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
    throw new MasterSecretError('incomplete-handshake', `the connection's bytes hold no ${clientHello ? 'ServerHello' : 'ClientHello'}, so there are no randoms to start from`);
  }
  const suite = serverHello.fields.cipherSuite.name;
  if (serverHello.fields.version === 0x0304) {
    throw new MasterSecretError('not-classic', `this connection is TLS 1.3 (${suite}): there is no pre-master secret on the wire to recover; see modernKeyExchange`);
  }
  if (!keyExchange) throw new MasterSecretError('incomplete-handshake', 'the connection\'s bytes hold no ClientKeyExchange (did the handshake finish? was the session resumed?)');
  if (!keyExchange.fields.encryptedPreMaster) {
    throw new MasterSecretError(
      'not-classic',
      `the server chose ${suite}: its ClientKeyExchange carries an ephemeral ${keyExchange.fields.keyExchange} public key, not an encrypted pre-master, so the server's private key cannot recover anything`,
    );
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
    throw new MasterSecretError(
      'bad-pre-master',
      `could not decrypt the ${input.encryptedPreMaster.length}-byte ClientKeyExchange with this private key (${(err as Error).message}): is it the key of the certificate the SLB sent?`,
    );
  }
  // RFC 5246 §7.4.7.1: 48 bytes, starting with the version the client offered (a guard against
  // version rollback: an attacker who lowered the version in ClientHello cannot change this).
  const wantVersion = clientVersion.toString(16).padStart(4, '0');
  if (preMaster.length !== 48 || preMaster.subarray(0, 2).toString('hex') !== wantVersion) {
    throw new MasterSecretError(
      'bad-pre-master',
      `the decrypted pre-master is ${preMaster.length} bytes starting ${preMaster.subarray(0, 2).toString('hex')}; a real one is 48 bytes starting with the client's version ${wantVersion}`,
      { preMaster },
    );
  }

  // 2. The textbook formula.
  const master = masterSecretFrom(preMaster, clientRandom, serverRandom);
  if (input.extendedMasterSecret) {
    throw new MasterSecretError(
      'extended-master-secret',
      'extended master secret (RFC 7627) was negotiated: both hellos carry extended_master_secret, so both ends computed ' +
        'master = PRF(pre-master, "extended master secret", hash of the handshake messages) and the textbook formula ' +
        '(client random ‖ server random) does not apply. The lab\'s classic mode switches EMS off (SSL_OP_NO_EXTENDED_MASTER_SECRET) on both ends.',
      { preMaster, master },
    );
  }

  // 3. What the SLB wrote down for this client random.
  const keyLogText = fs.existsSync(input.keyLogFile) ? fs.readFileSync(input.keyLogFile, 'utf8') : undefined;
  if (keyLogText === undefined) {
    throw new MasterSecretError('no-key-log-line', `no CLIENT_RANDOM line for client random ${input.clientRandom}: the key log ${input.keyLogFile} does not exist`, { preMaster, master });
  }
  const lines = parseKeyLog(keyLogText).filter((l) => l.label === 'CLIENT_RANDOM');
  const line = lines.find((l) => l.clientRandom === input.clientRandom.toLowerCase());
  if (!line) {
    throw new MasterSecretError(
      'no-key-log-line',
      `no CLIENT_RANDOM line for client random ${input.clientRandom} in ${input.keyLogFile} (it has ${lines.length} CLIENT_RANDOM line(s)): ` +
        'was this key log written by the SLB that served this connection, and was the line removed?',
      { preMaster, master },
    );
  }
  const keyLogMaster = Buffer.from(line.secret, 'hex');

  // 4. They must be equal, to the bit.
  if (!keyLogMaster.equals(master)) {
    throw new MasterSecretError(
      'key-log-mismatch',
      `the key log does not match: for client random ${input.clientRandom}, line ${line.lineNumber} of ${input.keyLogFile} says the master secret is ` +
        `${line.secret}, but the three randoms give ${master.toString('hex')}. The key log line has been tampered with, ` +
        'or it is not the log of the server that did this handshake.',
      { preMaster, master, keyLogMaster },
    );
  }

  return { preMaster, master, keyLogMaster, matches: true, keyLogLine: line.lineNumber };
}

// ── Modern mode: nothing to recover ────────────────────────────────────────────────────────

/**
 * A hybrid group (RFC 9794 terms; draft-ietf-tls-ecdhe-mlkem): each key share is an ML-KEM-768
 * part (FIPS 203) followed or preceded by a classical ECDH part. OpenSSL 3.5 (Node 24 and later)
 * offers X25519MLKEM768 first, as Chrome and Firefox do: what a shopper's phone uses today.
 */
export const HYBRID_GROUPS: Readonly<Record<string, { kem: string; ecdh: string }>> = {
  X25519MLKEM768: { kem: 'ML-KEM-768', ecdh: 'x25519' },
  SecP256r1MLKEM768: { kem: 'ML-KEM-768', ecdh: 'secp256r1' },
  SecP384r1MLKEM1024: { kem: 'ML-KEM-1024', ecdh: 'secp384r1' },
};

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
    throw new Error('the connection\'s bytes hold no ClientHello and ServerHello');
  }
  const share = serverHello.fields.keyShare;
  if (serverHello.fields.version !== 0x0304 || !share) {
    throw new Error(`this connection is ${serverHello.fields.versionName} with ${serverHello.fields.cipherSuite.name}, not TLS 1.3 with a key_share: use checkMasterSecret`);
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
