// Explain a certificate chain in words: what each certificate says, and who signed whom.
//
// This is the walk a TLS client makes after the server's Certificate message: start at the
// leaf, check that the next certificate up signed it, and so on until reaching a root the
// client already trusts. Fields are read with Node's X509Certificate plus node-forge for the
// extensions Node does not expose; every signature is checked by Node (OpenSSL), not by the
// library that made the certificates.
import crypto, { X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import type { Lang } from '../lab/lang.ts';
import { padEndWidth } from '../lab/text-width.ts';
import { certsWords } from './words/certs.ts';

type Words = ReturnType<typeof certsWords>;

/** "subject:          value": the label padded by display width (a Chinese label is wider). */
function field(w: Words, label: string, value: string): string {
  return `${padEndWidth(label, w.labelWidth)} ${value}`;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Split a PEM bundle (such as chain.crt) into one PEM string per certificate. */
export function splitPem(text: string): string[] {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => block.replace(/\r\n/g, '\n') + '\n');
}

// ───────────────────────────────────── small formatters ───────────────────────────────────

/** "0a1b2c" → "0A:1B:2C", how openssl and browsers print identifiers. */
function colonHex(hex: string): string {
  return (hex.toUpperCase().match(/../g) ?? []).join(':');
}

/** The first `bytes` bytes, then an ellipsis: enough to compare by eye. */
function shortHex(hex: string, bytes = 8): string {
  return colonHex(hex.slice(0, bytes * 2)) + (hex.length > bytes * 2 ? '…' : '');
}

/** Node prints names one attribute per line ("O=...\nCN=..."); put them on one line. */
function oneLine(name: string): string {
  return name.split('\n').join(', ');
}

function commonName(cert: X509Certificate): string {
  const cn = cert.subject.split('\n').find((attr) => attr.startsWith('CN='));
  return cn ?? oneLine(cert.subject);
}

function isSelfSigned(cert: X509Certificate): boolean {
  return cert.checkIssued(cert) && cert.verify(cert.publicKey);
}

/** What the certificate is for, judged from its own fields. */
function roleOf(cert: X509Certificate): 'leaf' | 'intermediate' | 'root' {
  if (!cert.ca) return 'leaf';
  return isSelfSigned(cert) ? 'root' : 'intermediate';
}

// ───────────────────────────────────── extensions ─────────────────────────────────────────

interface Extensions {
  signatureAlgorithm?: string;
  lines: string[];
  ski?: string; // hex
  aki?: string; // hex
}

/** Key usage bits in the order RFC 5280 numbers them. */
const KEY_USAGE_BITS = [
  'digitalSignature', 'nonRepudiation', 'keyEncipherment', 'dataEncipherment',
  'keyAgreement', 'keyCertSign', 'cRLSign', 'encipherOnly', 'decipherOnly',
];

const EXT_KEY_USAGE_NAMES: Record<string, string> = {
  serverAuth: 'serverAuth (TLS Web Server Authentication)',
  clientAuth: 'clientAuth (TLS Web Client Authentication)',
};

/** forge decodes most extensions but leaves authorityKeyIdentifier as raw DER:
 *  SEQUENCE { [0] keyIdentifier OPTIONAL, ... }. */
function authorityKeyId(extnValue: string): string | undefined {
  const seq = forge.asn1.fromDer(extnValue);
  const parts = Array.isArray(seq.value) ? seq.value : [];
  const keyId = parts.find((p) => p.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && p.type === 0);
  return keyId && typeof keyId.value === 'string' ? forge.util.bytesToHex(keyId.value) : undefined;
}

/** The extensions a learner should look at, one line each. */
function readExtensions(pem: string, w: Words): Extensions {
  let cert: forge.pki.Certificate;
  try {
    cert = forge.pki.certificateFromPem(pem);
  } catch (err) {
    // forge reads RSA certificates only; the lab's chain is RSA, a stranger's might not be.
    return { lines: [field(w, w.label.extensions, w.notDecoded((err as Error).message))] };
  }
  const out: Extensions = { lines: [], signatureAlgorithm: forge.pki.oids[cert.siginfo.algorithmOid] };
  const critical = (e: { critical?: boolean }) => (e.critical ? w.critical : '');
  // The extensions' own names, as X.509 and openssl spell them, in every language.
  const ext = (name: string, value: string) => field(w, `${name}:`, value);

  for (const e of cert.extensions as Array<Record<string, any>>) {
    switch (e.name) {
      case 'basicConstraints': {
        const pathLen = 'pathLenConstraint' in e ? `, pathlen:${e.pathLenConstraint}` : '';
        out.lines.push(ext('basicConstraints', `CA:${e.cA ? 'TRUE' : 'FALSE'}${pathLen}${critical(e)}`));
        break;
      }
      case 'keyUsage':
        out.lines.push(ext('keyUsage', `${KEY_USAGE_BITS.filter((bit) => e[bit]).join(', ')}${critical(e)}`));
        break;
      case 'extKeyUsage': {
        const purposes = Object.keys(e).filter((k) => e[k] === true && k !== 'critical');
        out.lines.push(ext('extKeyUsage', `${purposes.map((p) => EXT_KEY_USAGE_NAMES[p] ?? p).join(', ')}${critical(e)}`));
        break;
      }
      case 'subjectAltName': {
        const names = (e.altNames as Array<{ type: number; value: string; ip?: string }>).map((n) =>
          n.type === 2 ? `DNS:${n.value}` : n.type === 7 ? `IP:${n.ip}` : `type${n.type}:${n.value}`);
        out.lines.push(ext('subjectAltName', `${names.join(', ')}${critical(e)}`));
        break;
      }
      case 'subjectKeyIdentifier':
        out.ski = e.subjectKeyIdentifier as string;
        out.lines.push(field(w, w.label.ski, colonHex(out.ski)));
        break;
      case 'authorityKeyIdentifier':
        out.aki = authorityKeyId(e.value as string);
        out.lines.push(field(w, w.label.aki, out.aki ? colonHex(out.aki) : w.noKeyId));
        break;
      default:
        out.lines.push(`${e.name ?? e.id}:${critical(e)}${w.present}`);
    }
  }
  return out;
}

// ───────────────────────────────────── one certificate ────────────────────────────────────

interface Described {
  cert: X509Certificate;
  label: string; // "#1 leaf"
  ext: Extensions;
}

function describeOne(pem: string, label: string, w: Words): { described: Described; text: string[] } {
  const cert = new X509Certificate(pem);
  const ext = readExtensions(pem, w);
  const daysLeft = Math.floor((Date.parse(cert.validTo) - Date.now()) / DAY_MS);
  const key = cert.publicKey;
  const keyDetails = key.asymmetricKeyDetails;
  const spki = key.export({ type: 'spki', format: 'der' });
  const spkiHash = crypto.createHash('sha256').update(spki).digest('hex');

  const text = [
    w.heading(label, commonName(cert)),
    `  ${field(w, w.label.subject, oneLine(cert.subject))}`,
    `  ${field(w, w.label.issuer, oneLine(cert.issuer))}`,
    `  ${field(w, w.label.serial, colonHex(cert.serialNumber))}`,
    `  ${field(w, w.label.valid, w.validity(cert.validFrom, cert.validTo, daysLeft))}`,
    `  ${field(w, w.label.publicKey, w.publicKey(key.asymmetricKeyType?.toUpperCase() ?? '', keyDetails?.modulusLength, keyDetails?.namedCurve, shortHex(spkiHash)))}`,
    ...(ext.signatureAlgorithm ? [`  ${field(w, w.label.signedWith, ext.signatureAlgorithm)}`] : []),
    `  ${field(w, w.label.fingerprint, cert.fingerprint256)}`,
    ...ext.lines.map((line) => `  ${line}`),
  ];
  return { described: { cert, label, ext }, text };
}

// ───────────────────────────────────── the links ──────────────────────────────────────────

/** One link of the walk: did `parent` sign `child`? */
function describeLink(child: Described, parent: Described, w: Words): { ok: boolean; text: string } {
  const who = (d: Described) => w.named(d.label, commonName(d.cert));
  if (!child.cert.checkIssued(parent.cert)) return { ok: false, text: w.notIssued(who(child), who(parent)) };
  if (!child.cert.verify(parent.cert.publicKey)) return { ok: false, text: w.badSignature(who(child), who(parent)) };
  const keyIds =
    child.ext.aki && parent.ext.ski
      ? child.ext.aki === parent.ext.ski
        ? w.keyIdsMatch(shortHex(child.ext.aki))
        : w.keyIdsDiffer(shortHex(child.ext.aki), shortHex(parent.ext.ski))
      : '';
  return { ok: true, text: w.signed(who(child), who(parent), w.role[roleOf(parent.cert)], keyIds) };
}

/**
 * The text a learner reads: each certificate, numbered from the leaf, then each link of the
 * chain, then where the chain ends: at the trusted root (if given) or at a self-signed top.
 */
export function describeChain(certPems: string[], trustedRootPem?: string, l?: Lang): string {
  const w = certsWords(l);
  if (certPems.length === 0) return w.none;
  const lines: string[] = [];

  const chain = certPems.map((pem, i) => {
    const { described, text } = describeOne(pem, w.numbered(i + 1, w.role[roleOf(new X509Certificate(pem))]), w);
    lines.push(...text, '');
    return described;
  });

  // The trusted root is not sent by the server: the client already has it. Show it too, unless
  // the bundle already ends with it.
  const top = chain[chain.length - 1]!;
  let anchor: Described | undefined;
  if (trustedRootPem) {
    const rootCert = new X509Certificate(trustedRootPem);
    if (rootCert.fingerprint256 === top.cert.fingerprint256) {
      anchor = top;
    } else {
      const { described, text } = describeOne(trustedRootPem, w.trustedRoot, w);
      lines.push(...text.slice(0, 1).map((line) => `${line}${w.notSent}`), ...text.slice(1), '');
      anchor = described;
    }
  }

  lines.push(w.walkHead);
  const links: Array<{ ok: boolean; text: string }> = [];
  for (let i = 0; i + 1 < chain.length; i++) links.push(describeLink(chain[i]!, chain[i + 1]!, w));
  if (anchor && anchor !== top) links.push(describeLink(top, anchor, w));
  lines.push(...links.map((link) => `  ${link.text}`));
  if (anchor === top) lines.push(`  ${w.topIsRoot(top.label)}`);

  if (anchor) {
    const anchorIsRoot = isSelfSigned(anchor.cert);
    const who = w.named(anchor.label, commonName(anchor.cert));
    lines.push(`  ${anchorIsRoot ? w.anchorSelfSigned(who) : w.anchorNotRoot(who)}`);
    const intact = anchorIsRoot && links.every((link) => link.ok);
    lines.push(intact ? w.intact : w.broken);
  } else if (isSelfSigned(top.cert)) {
    lines.push(`  ${w.endsSelfSigned(w.named(top.label, commonName(top.cert)))}`);
  } else {
    lines.push(`  ${w.endsUnknown(top.label, oneLine(top.cert.issuer))}`);
  }
  return lines.join('\n');
}
