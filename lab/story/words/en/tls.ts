// Step 2's TLS in words: each message of the handshake on one line, the session the phone got
// (version, cipher, the chain it verified), and the three randoms (classic) or the key exchange
// that leaves nothing to recover (modern). From facts alone, so the trace renders them again.
import type { MasterSecretFailureFacts, ModernKeyExchange } from '../../../master-secret.ts';
import { HYBRID_GROUPS } from '../../../tls-groups.ts';
import type { TlsEventFacts } from '../../../tls-decoder.ts';
import type { ChainCert, ChainCheck, ChainStep } from '../../../../client/chain-check.ts';
import type { MasterSecretFacts, TlsSessionFacts } from '../../facts.ts';

const short = (hex: string) => (hex.length > 16 ? `${hex.slice(0, 16)}…` : hex);

function listOf(names: string[], max = 4): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} (+${names.length - max} more)`;
}

/** One line per message, e.g. "client→server ClientHello: version TLS 1.2, random 5f1c…, …". */
export function tlsMessageLine(e: TlsEventFacts): string {
  return `${e.direction} ${tlsEventName(e.name)}: ${details(e)} [${e.length} bytes at offset ${e.offset}]`;
}

/** The decoder's name of a message or record, as a reader sees it (English: the decoder's own). */
export function tlsEventName(name: string): string {
  return name;
}

function details(e: TlsEventFacts): string {
  switch (e.type) {
    case 'ClientHello': {
      const h = e.fields;
      const parts = [
        `version ${h.legacyVersionName}${h.supportedVersions ? ` (supported_versions: ${h.supportedVersions.join(', ')})` : ''}`,
        `random ${h.random}`,
        `${h.cipherSuites.length} cipher suite(s): ${listOf(h.cipherSuites.map((s) => s.name))}`,
      ];
      if (h.serverName) parts.push(`SNI ${h.serverName}`);
      if (h.keyShares) parts.push(`key_share ${h.keyShares.map((k) => k.group).join(', ')}`);
      if (h.alpn) parts.push(`ALPN ${h.alpn.join(', ')}`);
      parts.push(h.extendedMasterSecret ? 'offers extended_master_secret' : 'no extended_master_secret');
      return parts.join(', ');
    }
    case 'ServerHello': {
      const h = e.fields;
      if (h.helloRetryRequest) return `the server wants another key_share: ${h.keyShare?.group ?? '?'} (random is RFC 8446's fixed HelloRetryRequest value)`;
      const parts = [`${h.versionName}`, `chose ${h.cipherSuite.name}`, `random ${h.random}`];
      if (h.downgradeSentinel) parts.push(`random ends in "DOWNGRD": this server could do TLS 1.3 but agreed to ${h.downgradeSentinel}`);
      if (h.keyShare) parts.push(`key_share ${h.keyShare.group}`);
      if (h.version !== 0x0304) parts.push(h.extendedMasterSecret ? 'extended_master_secret on' : 'no extended_master_secret');
      return parts.join(', ');
    }
    case 'Certificate':
      return `${e.fields.certificates.length} certificate(s): ${e.fields.certificates
        .map((c) => (c.error ? `unreadable (${c.error})` : `"${c.commonName ?? c.subject}" issued by "${/CN=([^,]+)/.exec(c.issuer)?.[1] ?? c.issuer}"`))
        .join(', then ')}`;
    case 'ServerKeyExchange':
      return `${e.fields.keyExchange}${e.fields.group ? ` on ${e.fields.group}` : ''}${e.fields.publicKeyLength ? `, ${e.fields.publicKeyLength}-byte public key` : ''}${e.fields.signatureAlgorithm ? `, signed ${e.fields.signatureAlgorithm}` : ''}`;
    case 'ServerHelloDone':
      return "the server has said all it will; the client's turn";
    case 'ClientKeyExchange':
      return e.fields.encryptedPreMaster
        ? `pre-master secret encrypted with the server's RSA public key: ${e.fields.encryptedPreMaster.length / 2} bytes (${short(e.fields.encryptedPreMaster)})`
        : `${e.fields.keyExchange} public key${e.fields.publicKeyLength ? `, ${e.fields.publicKeyLength} bytes` : ''}`;
    case 'NewSessionTicket':
      return `a ${e.fields.ticketLength}-byte ticket, valid ${e.fields.lifetimeHintSeconds} s`;
    case 'Handshake':
      return `${e.fields.bodyLength} bytes`;
    case 'ChangeCipherSpec':
      return e.fields.middleboxCompatibility ? 'sent only to look like TLS 1.2 to middleboxes' : 'from the next record on, this side encrypts';
    case 'Alert':
      return `${e.fields.levelName} ${e.fields.descriptionName}`;
    case 'ApplicationData':
      return `${e.fields.bytes} bytes of ciphertext${e.fields.probablyTicket ? ' (probably a NewSessionTicket: in TLS 1.3 they look like application data)' : ''}`;
    case 'EncryptedHandshake':
    case 'EncryptedAlert':
    case 'Heartbeat':
      return `${e.fields.bytes} bytes of ciphertext`;
    case 'Undecodable':
      return `${e.fields.reason} (first bytes ${e.fields.preview})`;
  }
}

export function tlsSessionLines(t: TlsSessionFacts): string[] {
  const kx =
    t.keyExchange.kind === 'rsa'
      ? "RSA (the client encrypted the pre-master secret with the server's public key)"
      : t.keyExchange.kind === 'unknown'
        ? 'not known (Node reports no key, and the lab does not know this suite)'
        : t.keyExchange.group
          ? `${t.keyExchange.group} (ephemeral, forward secret)`
          : 'an ephemeral key (forward secret; this Node does not say which group)';
  return [
    `TLS   ${t.protocol}, cipher ${t.cipher.standardName} (OpenSSL: ${t.cipher.name}), key exchange ${kx}`,
    'Chain the client verified, trusting only the lab root:',
    ...t.chain.map((step) => `  ${step.ok ? '✓' : '✗'} ${chainLink(step.link)}: ${chainDetail(step.check)}`),
  ];
}

function certLabel(c: ChainCert): string {
  return `${c.role === 'certificate' ? `certificate #${c.index}` : c.role} ${c.name}`;
}

/** `leaf "CN=…" → intermediate "CN=…"`, or one certificate alone. */
export function chainLink(link: ChainStep['link']): string {
  if (!link.parent) return certLabel(link.cert);
  return `${certLabel(link.cert)} → ${link.parent === 'unknown' ? '?' : certLabel(link.parent)}`;
}

/** What a step of the walk checked, or found wrong (said of the certificate). */
export function chainDetail(c: ChainCheck): string {
  switch (c.kind) {
    case 'trusted-root':
      return `this is the root CA the client trusts (SHA-256 ${c.sha256}…); the walk ends here`;
    case 'foreign-root':
      return `is a self-signed root, but not the one this client trusts (${c.trusted}, SHA-256 ${c.trustedSha256}…; this one is ${c.sha256}…)`;
    case 'issuer-missing':
      return `was issued by ${c.issuer}, but the server sent no certificate for that issuer and the client trusts only ${c.trusted}: the intermediate is missing`;
    case 'issuer-untrusted':
      return `was issued by ${c.issuer}, which is neither the next certificate the server sent nor a root this client trusts (it trusts only ${c.trusted})`;
    case 'signature-mismatch':
      return `names ${c.parent} as its issuer, but its signature does not verify with that certificate's public key: a different CA with the same name signed it`;
    case 'signed-by':
      return `issuer name matches, and the signature verifies with ${c.parent}'s public key`;
    case 'expired':
      return `expired on ${c.validTo} (${c.days} day${c.days === 1 ? '' : 's'} ago)`;
    case 'not-yet-valid':
      return `is not valid before ${c.validFrom}`;
    case 'valid':
      return `valid from ${c.validFrom} to ${c.validTo}`;
    case 'name-matches':
      return `carries the name the client asked for: ${c.hostname}`;
    case 'name-mismatch':
      return `does not carry the name the client asked for (${c.hostname}); it is for ${c.names}`;
  }
}

/** For a broken step: what to do about it. */
export function chainFix(c: ChainCheck): string | undefined {
  switch (c.kind) {
    case 'foreign-root':
      return 'the server belongs to another PKI, or the client was given the wrong root CA file';
    case 'issuer-missing':
      return 'the server must send its intermediate certificate together with its leaf (chain.crt, not leaf.crt)';
    case 'issuer-untrusted':
      return 'the chain leads to a CA the client does not trust: use the right root CA, or have the server send a chain that ends at it';
    case 'signature-mismatch':
      return c.parentIsTrustedRoot
        ? 'the client trusts another root of the same name: give it the lab root that issued this chain'
        : 'the server sends a mismatched chain: reissue or resend the right intermediate';
    case 'expired':
      return 'renew it (for the lab: npm run lab -- certs --renew)';
    case 'not-yet-valid':
      return "check this machine's clock, or reissue it";
    case 'name-mismatch':
      return `connect with one of the certificate's names, or issue a certificate that includes ${c.hostname}`;
    default:
      return undefined;
  }
}

/** The client's refusal: the code OpenSSL gave, and which link broke and what to do (the CertificateError's message). */
export function certificateRefusal(code: string, broken: ChainStep | undefined): string {
  if (!broken) return `TLS certificate check failed (${code})`;
  const fix = chainFix(broken.check);
  return `TLS certificate check failed (${code}) at ${chainLink(broken.link)}: it ${chainDetail(broken.check)}.${fix ? ` Fix: ${fix}.` : ''}`;
}

export function masterSecretLines(m: MasterSecretFacts): string[] {
  return [
    "The three randoms (seed §5): client random, server random, and the pre-master secret the phone sent encrypted with the SLB's public key.",
    `    client random  ${m.clientRandom}`,
    `    server random  ${m.serverRandom}`,
    `    pre-master     ${m.preMaster}  (decrypted with the SLB's private key, which the lab owns)`,
    `    master secret  ${m.master}  = PRF(pre-master, "master secret", client random ‖ server random)`,
    `    = the key log's CLIENT_RANDOM line ${m.keyLogLine}: the same secret, computed independently on both sides.`,
  ];
}

/** Modern mode: the group, and why neither a capture nor the SLB's private key gives a key (forward secrecy). */
export function modernKeyExchangeLines(k: ModernKeyExchange): string[] {
  const hybrid = HYBRID_GROUPS[k.group];
  const how = hybrid
    ? `The key exchange was a hybrid of two, so that breaking one is not enough: ${hybrid.ecdh} elliptic-curve Diffie-Hellman, and ` +
      `${hybrid.kem}, a post-quantum key encapsulation (FIPS 203) meant to hold even against a future quantum computer that would ` +
      `break elliptic curves. The client sent a ${k.clientPublicKeyBytes ?? '?'}-byte key share in its ClientHello (key_share: its ` +
      `${hybrid.kem} public key and its ${hybrid.ecdh} public key) and the server answered with ${k.serverPublicKeyBytes ?? '?'} bytes in ` +
      `the ServerHello (a ${hybrid.kem} ciphertext that only the client's private key opens, and its own ${hybrid.ecdh} public key). ` +
      'Both ends got the same two shared secrets and fed both into TLS 1.3\'s key schedule, which derives every key; no secret, '
    : `The key exchange was ephemeral elliptic-curve Diffie-Hellman on ${k.group}: the client sent a ` +
      `${k.clientPublicKeyBytes ?? '?'}-byte public key in its ClientHello (key_share) and the server answered with its own ` +
      `${k.serverPublicKeyBytes ?? '?'}-byte public key in the ServerHello. Each side combined its own private key with the other's ` +
      `public key and got the same shared secret, from which TLS 1.3's key schedule derives every key; no secret, `;
  return [
    `Key exchange: ${k.group} (${hybrid ? `hybrid: ${hybrid.ecdh} ECDHE + ${hybrid.kem}` : 'ECDHE'}), cipher ${k.cipherSuite}.`,
    `    ${how}` +
      `encrypted or not, crosses the wire. The private keys were made for this one connection, never left the two ends, ` +
      `and are thrown away after the handshake. The SLB's RSA key only signed the handshake (CertificateVerify); it ` +
      `decrypts nothing. So a capture, even together with the SLB's private key, holds nothing from which a key can be ` +
      `recovered, now or later: that is forward secrecy. ` +
      (k.keyLogLabels.length
        ? `The key log has ${k.keyLogLabels.length} lines for this client random (${k.keyLogLabels.join(', ')}) only because the SLB ` +
          'wrote its own secrets there on purpose (SSLKEYLOGFILE); nothing on the wire lets anyone derive, or even check, them.'
        : 'A key log would hold *_TRAFFIC_SECRET lines only because an endpoint wrote its own secrets there on purpose; ' +
          'nothing on the wire lets anyone derive, or even check, them.'),
  ];
}

/** Why the three randoms could not be checked against the key log (MasterSecretError's message). */
export function masterSecretFailure(f: MasterSecretFailureFacts): string {
  switch (f.kind) {
    case 'no-hello':
      return `the connection's bytes hold no ${f.missing}, so there are no randoms to start from`;
    case 'tls13':
      return `this connection is TLS 1.3 (${f.suite}): there is no pre-master secret on the wire to recover; see modernKeyExchange`;
    case 'no-client-key-exchange':
      return "the connection's bytes hold no ClientKeyExchange (did the handshake finish? was the session resumed?)";
    case 'ephemeral':
      return `the server chose ${f.suite}: its ClientKeyExchange carries an ephemeral ${f.keyExchange} public key, not an encrypted pre-master, so the server's private key cannot recover anything`;
    case 'undecryptable':
      return `could not decrypt the ${f.bytes}-byte ClientKeyExchange with this private key (${f.error}): is it the key of the certificate the SLB sent?`;
    case 'bad-pre-master':
      return `the decrypted pre-master is ${f.bytes} bytes starting ${f.startsWith}; a real one is 48 bytes starting with the client's version ${f.wantVersion}`;
    case 'extended-master-secret':
      return (
        'extended master secret (RFC 7627) was negotiated: both hellos carry extended_master_secret, so both ends computed ' +
        'master = PRF(pre-master, "extended master secret", hash of the handshake messages) and the textbook formula ' +
        "(client random ‖ server random) does not apply. The lab's classic mode switches EMS off (SSL_OP_NO_EXTENDED_MASTER_SECRET) on both ends."
      );
    case 'no-key-log':
      return `no CLIENT_RANDOM line for client random ${f.clientRandom}: the key log ${f.keyLogFile} does not exist`;
    case 'no-key-log-line':
      return (
        `no CLIENT_RANDOM line for client random ${f.clientRandom} in ${f.keyLogFile} (it has ${f.lines} CLIENT_RANDOM line(s)): ` +
        'was this key log written by the SLB that served this connection, and was the line removed?'
      );
    case 'key-log-mismatch':
      return (
        `the key log does not match: for client random ${f.clientRandom}, line ${f.lineNumber} of ${f.keyLogFile} says the master secret is ` +
        `${f.logged}, but the three randoms give ${f.computed}. The key log line has been tampered with, ` +
        'or it is not the log of the server that did this handshake.'
      );
    case 'not-tls13':
      return `this connection is ${f.versionName} with ${f.suite}, not TLS 1.3 with a key_share: use checkMasterSecret`;
  }
}
