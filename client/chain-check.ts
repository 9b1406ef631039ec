// Walking a certificate chain the way the phone does (seed §5): from the leaf the server sent,
// up through the intermediate, to a root CA the client already trusts. Each link is two checks:
// the child names the parent as its issuer, and the child's signature verifies with the parent's
// public key. Then every certificate must be within its dates, and the leaf must carry the name
// the client asked for.
//
// OpenSSL does the real verification inside the TLS handshake. This walk repeats it in the open,
// with Node's X509Certificate, so a learner sees each step, and so that when OpenSSL refuses a
// chain with a terse code (UNABLE_TO_GET_ISSUER_CERT_LOCALLY) the client can say which link broke.
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';

/** A certificate as the walk names it: its place in the chain, and its subject in short ("CN=…" in quotes). */
export interface ChainCert {
  /** `certificate` for one past the intermediate (its place is `index`, 0 = the leaf). */
  role: 'leaf' | 'intermediate' | 'root' | 'certificate';
  index: number;
  name: string;
}

/**
 * What one step checked, and what it found: facts only (names, fingerprints, dates); the words
 * for them, and for what to do about a broken one, are in lab/story/words/<lang>/tls.ts.
 */
export type ChainCheck =
  /** The walk reached the root the client trusts. */
  | { kind: 'trusted-root'; sha256: string }
  /** A self-signed root, but another one than the client trusts. */
  | { kind: 'foreign-root'; trusted: string; trustedSha256: string; sha256: string }
  /** Issued by a CA the server did not send and the client does not hold: the intermediate is missing. */
  | { kind: 'issuer-missing'; issuer: string; trusted: string }
  /** Issued by a CA that is neither the next certificate nor the trusted root. */
  | { kind: 'issuer-untrusted'; issuer: string; trusted: string }
  /** The issuer's name matches, its key does not verify the signature. */
  | { kind: 'signature-mismatch'; parent: string; parentIsTrustedRoot: boolean }
  /** The issuer's name matches and its key verifies the signature. */
  | { kind: 'signed-by'; parent: string }
  /** ISO time, and whole days since. */
  | { kind: 'expired'; validTo: string; days: number }
  | { kind: 'not-yet-valid'; validFrom: string }
  /** Dates as YYYY-MM-DD. */
  | { kind: 'valid'; validFrom: string; validTo: string }
  | { kind: 'name-matches'; hostname: string }
  /** `names`: the certificate's subjectAltName (or subject) as it reads. */
  | { kind: 'name-mismatch'; hostname: string; names: string };

export interface ChainStep {
  ok: boolean;
  /** Which link or certificate: one certificate, or a child and its parent (`unknown`: no certificate in hand for it). */
  link: { cert: ChainCert; parent?: ChainCert | 'unknown' };
  check: ChainCheck;
}

const ROLE = ['leaf', 'intermediate'] as const;

export function shortName(cert: X509Certificate): string {
  const cn = /CN=([^\n]+)/.exec(cert.subject)?.[1];
  return cn ? `"CN=${cn}"` : `"${cert.subject.replace(/\n/g, ', ')}"`;
}

function label(cert: X509Certificate, index: number, trustedRoot: X509Certificate): ChainCert {
  const role = cert.fingerprint256 === trustedRoot.fingerprint256 ? 'root' : (ROLE[index] ?? 'certificate');
  return { role, index, name: shortName(cert) };
}

function isSelfSigned(cert: X509Certificate): boolean {
  return cert.checkIssued(cert) && cert.verify(cert.publicKey);
}

function keyId(cert: X509Certificate): string {
  return cert.fingerprint256.slice(0, 23);
}

/**
 * Walk `presented` (leaf first, as the server sent them or as OpenSSL built the chain) up to
 * `trustedRoot`. Returns every step; the first one with ok=false is the broken link.
 */
export function walkChain(
  presented: X509Certificate[],
  trustedRoot: X509Certificate,
  hostname: string,
  now: Date = new Date(),
): ChainStep[] {
  const steps: ChainStep[] = [];
  const certs = [...presented];
  // If the trusted root is not among them, it is the anchor the walk must reach.
  if (!certs.some((c) => c.fingerprint256 === trustedRoot.fingerprint256)) certs.push(trustedRoot);

  // 1. The links, child → parent.
  for (let i = 0; i < certs.length; i++) {
    const child = certs[i]!;
    const cert = label(child, i, trustedRoot);
    if (child.fingerprint256 === trustedRoot.fingerprint256) {
      steps.push({ ok: true, link: { cert }, check: { kind: 'trusted-root', sha256: keyId(child) } });
      break;
    }
    if (isSelfSigned(child)) {
      const check = { kind: 'foreign-root', trusted: shortName(trustedRoot), trustedSha256: keyId(trustedRoot), sha256: keyId(child) } as const;
      steps.push({ ok: false, link: { cert }, check });
      break;
    }
    const parent = certs[i + 1]!;
    const parentCert = label(parent, i + 1, trustedRoot);
    const parentIsTheAnchor = parent === trustedRoot && !presented.includes(trustedRoot);
    // A CA of the same name but another key is not "missing": it is the wrong CA, and only the
    // signature check below can tell (OpenSSL's checkIssued also compares the key identifiers).
    const sameName = child.issuer === parent.subject;
    if (!child.checkIssued(parent) && !sameName) {
      // The parent in hand is not this certificate's issuer: which link is missing?
      const issuer = `"${child.issuer.replace(/\n/g, ', ')}"`;
      const kind = parentIsTheAnchor && !child.ca ? 'issuer-missing' : 'issuer-untrusted';
      steps.push({ ok: false, link: { cert, parent: 'unknown' }, check: { kind, issuer, trusted: shortName(trustedRoot) } });
      break;
    }
    const link = { cert, parent: parentCert };
    if (!child.verify(parent.publicKey)) {
      steps.push({ ok: false, link, check: { kind: 'signature-mismatch', parent: shortName(parent), parentIsTrustedRoot: parent === trustedRoot } });
      break;
    }
    steps.push({ ok: true, link, check: { kind: 'signed-by', parent: shortName(parent) } });
  }

  // 2. Dates, for every certificate in the chain.
  certs.forEach((c, i) => {
    const from = new Date(c.validFrom);
    const to = new Date(c.validTo);
    const link = { cert: label(c, i, trustedRoot) };
    if (now > to) {
      const days = Math.floor((now.getTime() - to.getTime()) / 86_400_000);
      steps.push({ ok: false, link, check: { kind: 'expired', validTo: to.toISOString(), days } });
    } else if (now < from) {
      steps.push({ ok: false, link, check: { kind: 'not-yet-valid', validFrom: from.toISOString() } });
    } else {
      steps.push({ ok: true, link, check: { kind: 'valid', validFrom: from.toISOString().slice(0, 10), validTo: to.toISOString().slice(0, 10) } });
    }
  });

  // 3. The name the client asked for, in the leaf's subjectAltName.
  const leaf = certs[0]!;
  const matched = isIP(hostname) ? leaf.checkIP(hostname) : leaf.checkHost(hostname);
  const link = { cert: label(leaf, 0, trustedRoot) };
  steps.push(
    matched
      ? { ok: true, link, check: { kind: 'name-matches', hostname } }
      : { ok: false, link, check: { kind: 'name-mismatch', hostname, names: leaf.subjectAltName ?? leaf.subject } },
  );
  return steps;
}
