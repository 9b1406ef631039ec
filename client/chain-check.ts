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

export interface ChainStep {
  ok: boolean;
  /** Which link or certificate, e.g. `leaf "CN=www.geektime.test" → intermediate "CN=…"`. */
  link: string;
  /** What was checked, or what is wrong. */
  detail: string;
  /** For a broken step: what to do about it. */
  fix?: string;
}

const ROLE = ['leaf', 'intermediate'];

export function shortName(cert: X509Certificate): string {
  const cn = /CN=([^\n]+)/.exec(cert.subject)?.[1];
  return cn ? `"CN=${cn}"` : `"${cert.subject.replace(/\n/g, ', ')}"`;
}

function label(cert: X509Certificate, index: number, trustedRoot: X509Certificate): string {
  if (cert.fingerprint256 === trustedRoot.fingerprint256) return `root ${shortName(cert)}`;
  return `${ROLE[index] ?? `certificate #${index}`} ${shortName(cert)}`;
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
    const childLabel = label(child, i, trustedRoot);
    if (child.fingerprint256 === trustedRoot.fingerprint256) {
      steps.push({ ok: true, link: childLabel, detail: `this is the root CA the client trusts (SHA-256 ${keyId(child)}…); the walk ends here` });
      break;
    }
    if (isSelfSigned(child)) {
      steps.push({
        ok: false,
        link: childLabel,
        detail: `is a self-signed root, but not the one this client trusts (${shortName(trustedRoot)}, SHA-256 ${keyId(trustedRoot)}…; this one is ${keyId(child)}…)`,
        fix: 'the server belongs to another PKI, or the client was given the wrong root CA file',
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
          detail: `was issued by ${issuer}, but the server sent no certificate for that issuer and the client trusts only ${shortName(trustedRoot)}: the intermediate is missing`,
          fix: 'the server must send its intermediate certificate together with its leaf (chain.crt, not leaf.crt)',
        });
      } else {
        steps.push({
          ok: false,
          link: `${childLabel} → ?`,
          detail: `was issued by ${issuer}, which is neither the next certificate the server sent nor a root this client trusts (it trusts only ${shortName(trustedRoot)})`,
          fix: 'the chain leads to a CA the client does not trust: use the right root CA, or have the server send a chain that ends at it',
        });
      }
      break;
    }
    if (!child.verify(parent.publicKey)) {
      steps.push({
        ok: false,
        link: `${childLabel} → ${parentLabel}`,
        detail: `names ${shortName(parent)} as its issuer, but its signature does not verify with that certificate's public key: a different CA with the same name signed it`,
        fix: parent === trustedRoot ? 'the client trusts another root of the same name: give it the lab root that issued this chain' : 'the server sends a mismatched chain: reissue or resend the right intermediate',
      });
      break;
    }
    steps.push({
      ok: true,
      link: `${childLabel} → ${parentLabel}`,
      detail: `issuer name matches, and the signature verifies with ${shortName(parent)}'s public key`,
    });
  }

  // 2. Dates, for every certificate in the chain.
  certs.forEach((cert, i) => {
    const from = new Date(cert.validFrom);
    const to = new Date(cert.validTo);
    const certLabel = label(cert, i, trustedRoot);
    if (now > to) {
      const days = Math.floor((now.getTime() - to.getTime()) / 86_400_000);
      steps.push({ ok: false, link: certLabel, detail: `expired on ${to.toISOString()} (${days} day${days === 1 ? '' : 's'} ago)`, fix: 'renew it (for the lab: npm run lab -- certs --renew)' });
    } else if (now < from) {
      steps.push({ ok: false, link: certLabel, detail: `is not valid before ${from.toISOString()}`, fix: "check this machine's clock, or reissue it" });
    } else {
      steps.push({ ok: true, link: certLabel, detail: `valid from ${from.toISOString().slice(0, 10)} to ${to.toISOString().slice(0, 10)}` });
    }
  });

  // 3. The name the client asked for, in the leaf's subjectAltName.
  const leaf = certs[0]!;
  const matched = isIP(hostname) ? leaf.checkIP(hostname) : leaf.checkHost(hostname);
  steps.push(
    matched
      ? { ok: true, link: label(leaf, 0, trustedRoot), detail: `carries the name the client asked for: ${hostname}` }
      : {
          ok: false,
          link: label(leaf, 0, trustedRoot),
          detail: `does not carry the name the client asked for (${hostname}); it is for ${leaf.subjectAltName ?? leaf.subject}`,
          fix: `connect with one of the certificate's names, or issue a certificate that includes ${hostname}`,
        },
  );
  return steps;
}
