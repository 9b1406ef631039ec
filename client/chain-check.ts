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
import { chainWords } from './words/order-chain.ts';

export interface ChainStep {
  ok: boolean;
  /** Which link or certificate, e.g. `leaf "CN=www.geektime.test" → intermediate "CN=…"`. */
  link: string;
  /** What was checked, or what is wrong. */
  detail: string;
  /** For a broken step: what to do about it. */
  fix?: string;
}

export function shortName(cert: X509Certificate): string {
  const cn = /CN=([^\n]+)/.exec(cert.subject)?.[1];
  return cn ? `"CN=${cn}"` : `"${cert.subject.replace(/\n/g, ', ')}"`;
}

function label(cert: X509Certificate, index: number, trustedRoot: X509Certificate): string {
  const w = chainWords();
  if (cert.fingerprint256 === trustedRoot.fingerprint256) return `${w.root} ${shortName(cert)}`;
  return `${[w.leaf, w.intermediate][index] ?? w.certificate(index)} ${shortName(cert)}`;
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
  const w = chainWords();
  const steps: ChainStep[] = [];
  const certs = [...presented];
  // If the trusted root is not among them, it is the anchor the walk must reach.
  if (!certs.some((c) => c.fingerprint256 === trustedRoot.fingerprint256)) certs.push(trustedRoot);

  // 1. The links, child → parent.
  for (let i = 0; i < certs.length; i++) {
    const child = certs[i]!;
    const childLabel = label(child, i, trustedRoot);
    if (child.fingerprint256 === trustedRoot.fingerprint256) {
      steps.push({ ok: true, link: childLabel, detail: w.trustedRoot(keyId(child)) });
      break;
    }
    if (isSelfSigned(child)) {
      steps.push({
        ok: false,
        link: childLabel,
        detail: w.otherRoot(shortName(trustedRoot), keyId(trustedRoot), keyId(child)),
        fix: w.otherRootFix,
      });
      break;
    }
    const parent = certs[i + 1]!;
    const parentLabel = label(parent, i + 1, trustedRoot);
    const parentIsTheAnchor = parent === trustedRoot && !presented.includes(trustedRoot);
    // A CA of the same name but another key is not "missing": it is the wrong CA, and only the
    // signature check below can tell (OpenSSL's checkIssued also compares the key identifiers).
    const sameName = child.issuer === parent.subject;
    if (!child.checkIssued(parent) && !sameName) {
      // The parent in hand is not this certificate's issuer: which link is missing?
      const issuer = `"${child.issuer.replace(/\n/g, ', ')}"`;
      if (parentIsTheAnchor && !child.ca) {
        steps.push({
          ok: false,
          link: `${childLabel} → ?`,
          detail: w.noIntermediate(issuer, shortName(trustedRoot)),
          fix: w.noIntermediateFix,
        });
      } else {
        steps.push({
          ok: false,
          link: `${childLabel} → ?`,
          detail: w.unknownIssuer(issuer, shortName(trustedRoot)),
          fix: w.unknownIssuerFix,
        });
      }
      break;
    }
    if (!child.verify(parent.publicKey)) {
      steps.push({
        ok: false,
        link: `${childLabel} → ${parentLabel}`,
        detail: w.badSignature(shortName(parent)),
        fix: parent === trustedRoot ? w.badSignatureRootFix : w.badSignatureFix,
      });
      break;
    }
    steps.push({
      ok: true,
      link: `${childLabel} → ${parentLabel}`,
      detail: w.linkOk(shortName(parent)),
    });
  }

  // 2. Dates, for every certificate in the chain.
  certs.forEach((cert, i) => {
    const from = new Date(cert.validFrom);
    const to = new Date(cert.validTo);
    const certLabel = label(cert, i, trustedRoot);
    if (now > to) {
      const days = Math.floor((now.getTime() - to.getTime()) / 86_400_000);
      steps.push({ ok: false, link: certLabel, detail: w.expired(to.toISOString(), days), fix: w.expiredFix });
    } else if (now < from) {
      steps.push({ ok: false, link: certLabel, detail: w.notYetValid(from.toISOString()), fix: w.notYetValidFix });
    } else {
      steps.push({ ok: true, link: certLabel, detail: w.valid(from.toISOString().slice(0, 10), to.toISOString().slice(0, 10)) });
    }
  });

  // 3. The name the client asked for, in the leaf's subjectAltName.
  const leaf = certs[0]!;
  const matched = isIP(hostname) ? leaf.checkIP(hostname) : leaf.checkHost(hostname);
  steps.push(
    matched
      ? { ok: true, link: label(leaf, 0, trustedRoot), detail: w.nameOk(hostname) }
      : {
          ok: false,
          link: label(leaf, 0, trustedRoot),
          detail: w.nameWrong(hostname, leaf.subjectAltName ?? leaf.subject),
          fix: w.nameWrongFix(hostname),
        },
  );
  return steps;
}
