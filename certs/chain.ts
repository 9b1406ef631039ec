// The lab's own certificate chain: root CA → intermediate CA → two leaves, the shop's SLB and
// the CDN's edges.
//
// A browser trusts a server because it can walk a chain of signatures from the server's
// certificate up to a root it already has. The lab builds that chain itself, the way a real
// CA would, so the TLS step can show every link with real values:
//
//   root.crt          self-signed, kept by the client as its trust anchor
//   intermediate.crt  signed by the root; signs server certificates
//   leaf.crt          signed by the intermediate; names www.geektime.test and the SLB's IPs
//   chain.crt         leaf + intermediate: what the server sends in its Certificate message
//   cdn.crt           signed by the same intermediate; names static.geektime.test, the name a
//                     browser asks the CDN's edges for (a real CDN serves the shop's pictures over
//                     HTTPS with a certificate for the shop's name, so an https page can show them)
//   cdn-chain.crt     cdn.crt + intermediate: what the edges send
//
// Certificates are built with node-forge; every check of an existing file is done with Node's
// own X509Certificate (OpenSSL), so a mistake in one library is caught by the other.
import crypto, { X509Certificate, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import forge from 'node-forge';

export const SHOP_DNS_NAMES = ['www.geektime.test', 'geektime.test'];
export const SHOP_IP_ADDRESSES = ['127.0.0.80', '127.0.0.1', '::1']; // the SLB's addresses
/** The CDN's leaf: the one name browsers ask the edges for, and no addresses. The GSLB hands out a
 *  different edge per region, so an address would be wrong for half the clients; clients match the
 *  name in the URL against the SAN's DNS names (RFC 9110 §4.3.4, RFC 6125 §6.4.4; RFC 9525, which
 *  replaces RFC 6125, no longer looks at the CN at all). */
export const CDN_DNS_NAMES = ['static.geektime.test'];

const ORGANIZATION = 'Buy-Online Networking Lab';
const ROOT_CN = 'Geektime Lab Root CA';
const INTERMEDIATE_CN = 'Geektime Lab Intermediate CA';

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;

// Remake a certificate while it still works, not after clients start failing.
const CA_MIN_DAYS_LEFT = 30;
const LEAF_MIN_DAYS_LEFT = 14;
const LEAF_DEFAULT_DAYS = 90; // what public CAs issue today

// ───────────────────────────────────────────── files ──────────────────────────────────────

export interface ChainFiles {
  dir: string;
  rootCert: string;
  rootKey: string;
  intermediateCert: string;
  intermediateKey: string;
  leafCert: string;
  leafKey: string;
  /** leaf PEM then intermediate PEM */
  fullChain: string;
  /** The CDN edges' own leaf (static.geektime.test) and its key. */
  cdnCert: string;
  cdnKey: string;
  /** cdn leaf PEM then intermediate PEM */
  cdnChain: string;
}

export function chainFiles(dir: string): ChainFiles {
  const at = (name: string) => path.join(dir, name);
  return {
    dir,
    rootCert: at('root.crt'),
    rootKey: at('root.key'),
    intermediateCert: at('intermediate.crt'),
    intermediateKey: at('intermediate.key'),
    leafCert: at('leaf.crt'),
    leafKey: at('leaf.key'),
    fullChain: at('chain.crt'),
    cdnCert: at('cdn.crt'),
    cdnKey: at('cdn.key'),
    cdnChain: at('cdn-chain.crt'),
  };
}

// ───────────────────────────────────── making certificates ────────────────────────────────

interface PemPair {
  certPem: string;
  keyPem: string;
}

/** 16 random bytes. The first byte is 0x01..0x7f: DER integers are signed and minimal, so a
 *  first byte ≥ 0x80 would make the serial negative and a leading 0x00 would be non-minimal
 *  (OpenSSL rejects both). */
function randomSerialHex(): string {
  const bytes = crypto.randomBytes(16);
  bytes[0] = (bytes[0]! % 0x7f) + 1;
  return bytes.toString('hex');
}

function addYears(date: Date, years: number): Date {
  const later = new Date(date);
  later.setUTCFullYear(later.getUTCFullYear() + years);
  return later;
}

/** The fields every certificate shares: a fresh key pair, serial, validity and subject. */
function startCertificate(commonName: string, notBefore: Date, notAfter: Date) {
  // 2048-bit RSA: RSA because classic mode's key exchange encrypts the pre-master secret with
  // the server's public key, which only RSA can do. (forge uses Node's native keygen here.)
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = randomSerialHex();
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  cert.setSubject([
    { name: 'organizationName', value: ORGANIZATION },
    { name: 'commonName', value: commonName },
  ]);
  return { cert, keys };
}

/** The issuer's key identifier, copied into the child's authorityKeyIdentifier so a client can
 *  pick the right issuer key. forge pitfall: `authorityKeyIdentifier: { keyIdentifier: true }`
 *  would put the child's OWN key id there. */
function keyIdentifierOf(issuerCert: forge.pki.Certificate): string {
  const ski = issuerCert.getExtension('subjectKeyIdentifier') as
    | { subjectKeyIdentifier?: string }
    | undefined;
  return ski?.subjectKeyIdentifier
    ? forge.util.hexToBytes(ski.subjectKeyIdentifier)
    : issuerCert.generateSubjectKeyIdentifier().getBytes();
}

/** forge writes PEM with CRLF line ends; files on a Unix lab read better with LF. */
function lf(pem: string): string {
  return pem.replace(/\r\n/g, '\n');
}

/** Sign with SHA-256: forge defaults to SHA-1, which Node/OpenSSL 3 refuse. */
function signAndExport(
  cert: forge.pki.Certificate,
  signingKey: forge.pki.rsa.PrivateKey,
  ownKey: forge.pki.rsa.PrivateKey,
): PemPair {
  cert.sign(signingKey, forge.md.sha256.create());
  return { certPem: lf(forge.pki.certificateToPem(cert)), keyPem: lf(forge.pki.privateKeyToPem(ownKey)) };
}

/** A self-signed root CA, valid for 10 years. */
export function makeRootCa(opts: { commonName?: string; now?: Date } = {}): PemPair {
  const now = opts.now ?? new Date();
  const notBefore = new Date(now.getTime() - HOUR_MS); // tolerate clocks that run a bit behind
  const { cert, keys } = startCertificate(opts.commonName ?? ROOT_CN, notBefore, addYears(now, 10));
  cert.setIssuer(cert.subject.attributes); // self-signed: issuer = subject
  cert.setExtensions([
    { name: 'basicConstraints', critical: true, cA: true },
    { name: 'keyUsage', critical: true, keyCertSign: true, cRLSign: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  return signAndExport(cert, keys.privateKey, keys.privateKey);
}

/** An intermediate CA signed by the root, valid for 5 years. pathlen 0: it may sign servers,
 *  not further CAs. Real roots stay offline; intermediates do the daily signing. */
export function issueIntermediate(opts: {
  issuerCertPem: string;
  issuerKeyPem: string;
  commonName?: string;
  now?: Date;
}): PemPair {
  const now = opts.now ?? new Date();
  const issuerCert = forge.pki.certificateFromPem(opts.issuerCertPem);
  const issuerKey = forge.pki.privateKeyFromPem(opts.issuerKeyPem);
  const notBefore = new Date(now.getTime() - HOUR_MS);
  const { cert, keys } = startCertificate(opts.commonName ?? INTERMEDIATE_CN, notBefore, addYears(now, 5));
  cert.setIssuer(issuerCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', critical: true, cA: true, pathLenConstraint: 0 },
    { name: 'keyUsage', critical: true, keyCertSign: true, cRLSign: true },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: keyIdentifierOf(issuerCert) },
  ]);
  return signAndExport(cert, issuerKey, keys.privateKey);
}

/** The server's own certificate, signed by the intermediate; 90 days unless told otherwise. */
export function issueLeaf(opts: {
  issuerCertPem: string;
  issuerKeyPem: string;
  dnsNames: string[];
  ipAddresses: string[];
  notBefore?: Date;
  notAfter?: Date;
  now?: Date;
}): PemPair {
  const now = opts.now ?? new Date();
  const commonName = opts.dnsNames[0] ?? opts.ipAddresses[0];
  if (commonName === undefined) throw new Error('a leaf certificate needs at least one DNS name or IP address');
  const issuerCert = forge.pki.certificateFromPem(opts.issuerCertPem);
  const issuerKey = forge.pki.privateKeyFromPem(opts.issuerKeyPem);
  const notBefore = opts.notBefore ?? new Date(now.getTime() - HOUR_MS);
  const notAfter = opts.notAfter ?? new Date(now.getTime() + LEAF_DEFAULT_DAYS * DAY_MS);
  const { cert, keys } = startCertificate(commonName, notBefore, notAfter);
  cert.setIssuer(issuerCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', critical: true, cA: false },
    // digitalSignature for ECDHE (modern mode) and keyEncipherment for RSA key exchange
    // (classic mode: the client encrypts the pre-master secret with this key). RFC 5246 §7.4.2
    // requires it; OpenSSL does not check, stricter clients do.
    { name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true },
    // Clients match the host name against the SAN, not the CN (RFC 6125).
    {
      name: 'subjectAltName',
      altNames: [
        ...opts.dnsNames.map((value) => ({ type: 2, value })), // dNSName
        ...opts.ipAddresses.map((ip) => ({ type: 7, ip })), // iPAddress, v4 or v6
      ],
    },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: keyIdentifierOf(issuerCert) },
  ]);
  return signAndExport(cert, issuerKey, keys.privateKey);
}

// ───────────────────────────────────── reading and writing ────────────────────────────────

/** A certificate and its key as found on disk, parsed by Node (OpenSSL). */
interface Pair extends PemPair {
  cert: X509Certificate;
  key: KeyObject;
}

function parsePair(pems: PemPair): Pair {
  return { ...pems, cert: new X509Certificate(pems.certPem), key: crypto.createPrivateKey(pems.keyPem) };
}

/** The pair on disk, or a sentence saying why it cannot be used. */
function readPair(certFile: string, keyFile: string): Pair | string {
  const pems: Partial<PemPair> = {};
  for (const [file, field] of [[certFile, 'certPem'], [keyFile, 'keyPem']] as const) {
    try {
      pems[field] = fs.readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return code === 'ENOENT'
        ? `${path.basename(file)} is missing`
        : `${path.basename(file)} cannot be read (${code ?? (err as Error).message})`;
    }
  }
  try {
    return parsePair(pems as PemPair);
  } catch (err) {
    return `${path.basename(certFile)} or ${path.basename(keyFile)} cannot be parsed (${(err as Error).message})`;
  }
}

/** Write via a fresh temp file and rename: the new file is born with `mode`, so an old file's
 *  looser mode cannot survive, and a reader never sees half a file. */
function writeFileAtomic(file: string, text: string, mode: number): void {
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  try {
    fs.writeFileSync(tmp, text, { mode, flag: 'wx' });
    fs.chmodSync(tmp, mode); // the umask may have changed the mode we asked for
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

function writePair(certFile: string, keyFile: string, pems: PemPair): Pair {
  writeFileAtomic(keyFile, pems.keyPem, 0o600); // private keys: owner only
  writeFileAtomic(certFile, pems.certPem, 0o644); // certificates are public
  return parsePair(pems);
}

// ───────────────────────────────────── checking what is there ─────────────────────────────

/** Is `child` signed by `issuer`? Names and key ids must match (checkIssued) and the
 *  signature must verify with the issuer's public key. */
function isSignedBy(child: X509Certificate, issuer: X509Certificate): boolean {
  return child.checkIssued(issuer) && child.verify(issuer.publicKey);
}

/** Why `pair` should be remade, or undefined if it is fine. */
function problemWith(
  pair: Pair,
  issuer: { role: 'root' | 'intermediate'; pair: Pair } | 'self',
  minDaysLeft: number,
  now: Date,
): string | undefined {
  if (!pair.cert.checkPrivateKey(pair.key)) return 'the key does not match the certificate';

  const notBefore = Date.parse(pair.cert.validFrom);
  const msLeft = Date.parse(pair.cert.validTo) - now.getTime();
  const daysLeft = Math.floor(msLeft / DAY_MS);
  if (notBefore > now.getTime()) return `not valid until ${new Date(notBefore).toISOString()}`;
  if (msLeft <= 0) return `expired ${-daysLeft} day(s) ago`;
  if (msLeft < minDaysLeft * DAY_MS) return `expires in ${daysLeft} days (threshold ${minDaysLeft})`;

  if (issuer === 'self') {
    if (!isSignedBy(pair.cert, pair.cert)) return 'not self-signed';
  } else if (!isSignedBy(pair.cert, issuer.pair.cert)) {
    return `not signed by the current ${issuer.role}`;
  }
  return undefined;
}

/** The names the leaf lacks, as a sentence, or undefined if it covers them all. */
function missingNames(leaf: X509Certificate, dnsNames: string[], ipAddresses: string[]): string | undefined {
  const missing = [
    // subject 'never': only the SAN counts, as in every modern client
    ...dnsNames.filter((n) => !leaf.checkHost(n, { subject: 'never', wildcards: false })).map((n) => `DNS:${n}`),
    ...ipAddresses.filter((ip) => !leaf.checkIP(ip)).map((ip) => `IP:${ip}`),
  ];
  return missing.length ? `does not cover ${missing.join(', ')}` : undefined;
}

// ───────────────────────────────────── ensureChain ────────────────────────────────────────

export interface EnsureChainOptions {
  dir: string;
  dnsNames?: string[];
  ipAddresses?: string[];
  renew?: boolean;
  now?: Date;
}

export interface EnsureChainResult {
  files: ChainFiles;
  /** what was (re)made this call, in this order; [] = all reused. 'leaf' is the shop's, 'cdn' the edges'. */
  made: Array<'root' | 'intermediate' | 'leaf' | 'cdn'>;
  /** one human sentence per remake, e.g. "leaf: expires in 3 days (threshold 14)" */
  reasons: string[];
}

/** Make the chain on first use and reuse it afterwards; remake any link that is missing,
 *  broken, about to expire or no longer signed by the link above it. Remaking a CA remakes
 *  everything below it, because its old children point at a key that no longer exists. */
export function ensureChain(opts: EnsureChainOptions): EnsureChainResult {
  const now = opts.now ?? new Date();
  const dnsNames = opts.dnsNames ?? SHOP_DNS_NAMES;
  const ipAddresses = opts.ipAddresses ?? SHOP_IP_ADDRESSES;
  const files = chainFiles(opts.dir);
  fs.mkdirSync(files.dir, { recursive: true });

  const made: EnsureChainResult['made'] = [];
  const reasons: string[] = [];

  /** Reuse the pair on disk unless there is a reason to remake it. */
  function reuseOrMake(
    role: EnsureChainResult['made'][number],
    certFile: string,
    keyFile: string,
    forcedReason: string | undefined,
    check: (pair: Pair) => string | undefined,
    make: () => PemPair,
  ): Pair {
    const onDisk = readPair(certFile, keyFile);
    const reason = forcedReason ?? (typeof onDisk === 'string' ? onDisk : check(onDisk));
    if (reason === undefined && typeof onDisk !== 'string') return onDisk;
    made.push(role);
    reasons.push(`${role}: ${reason}`);
    return writePair(certFile, keyFile, make());
  }

  const renewed = opts.renew ? 'renewal requested' : undefined;

  // 1. The root: our trust anchor. It signs itself.
  const root = reuseOrMake('root', files.rootCert, files.rootKey, renewed,
    (pair) => problemWith(pair, 'self', CA_MIN_DAYS_LEFT, now),
    () => makeRootCa({ now }));

  // 2. The intermediate, signed by the root.
  const intermediate = reuseOrMake('intermediate', files.intermediateCert, files.intermediateKey,
    renewed ?? (made.includes('root') ? 'the root was remade' : undefined),
    (pair) => problemWith(pair, { role: 'root', pair: root }, CA_MIN_DAYS_LEFT, now),
    () => issueIntermediate({ issuerCertPem: root.certPem, issuerKeyPem: root.keyPem, now }));

  // 3. The leaf, signed by the intermediate, naming every host and address the SLB answers on.
  const leaf = reuseOrMake('leaf', files.leafCert, files.leafKey,
    renewed ?? (made.includes('intermediate') ? 'the intermediate was remade' : undefined),
    (pair) => problemWith(pair, { role: 'intermediate', pair: intermediate }, LEAF_MIN_DAYS_LEFT, now) ?? missingNames(pair.cert, dnsNames, ipAddresses),
    () => issueLeaf({ issuerCertPem: intermediate.certPem, issuerKeyPem: intermediate.keyPem, dnsNames, ipAddresses, now }));

  // 4. The CDN's leaf, signed by the same intermediate, by the same rules. A real CDN holds a
  //    certificate for the shop's name too (the shop lets it have one: the CNAME into cdn.test
  //    proves the CDN answers for that name), with a key of its own: the edges never hold the SLB's.
  const cdn = reuseOrMake('cdn', files.cdnCert, files.cdnKey,
    renewed ?? (made.includes('intermediate') ? 'the intermediate was remade' : undefined),
    (pair) => problemWith(pair, { role: 'intermediate', pair: intermediate }, LEAF_MIN_DAYS_LEFT, now) ?? missingNames(pair.cert, CDN_DNS_NAMES, []),
    () => issueLeaf({ issuerCertPem: intermediate.certPem, issuerKeyPem: intermediate.keyPem, dnsNames: CDN_DNS_NAMES, ipAddresses: [], now }));

  // 5. What each server sends: its own certificate, then the intermediate. Not the root: the
  //    client must already have it, or the chain proves nothing.
  writeFileAtomic(files.fullChain, leaf.certPem + intermediate.certPem, 0o644);
  writeFileAtomic(files.cdnChain, cdn.certPem + intermediate.certPem, 0o644);

  // A reused key that someone made readable to others is tightened back to owner-only.
  for (const keyFile of [files.rootKey, files.intermediateKey, files.leafKey, files.cdnKey]) {
    if (fs.statSync(keyFile).mode & 0o077) fs.chmodSync(keyFile, 0o600);
  }

  return { files, made, reasons };
}

// ───────────────────────────────────── broken chains (the lab's faults) ───────────────────

/**
 * Certificates made wrong on purpose, for the workshop's certificate faults (lab/faults.ts): the
 * SLB serves one of them and every client must refuse it with its own words. Kept beside the good
 * chain, in faults/, keys 0600 like every key. The third broken chain, "the leaf without the
 * intermediate", needs no new certificate: it is leaf.crt served alone.
 */
export interface BrokenChainFiles {
  dir: string;
  /** A leaf for the shop's names whose notAfter is in the past (RFC 5280 §4.1.2.5), then the intermediate. */
  expiredChain: string;
  expiredKey: string;
  /** A leaf, valid and well signed, for another name only (RFC 6125 §6: the SAN must name the host). */
  wrongNameChain: string;
  wrongNameKey: string;
}

/** The name the wrong-name leaf is for: a real-looking name that is not the shop's. */
export const WRONG_DNS_NAME = 'shop.other.test';

export function brokenChainFiles(certDir: string): BrokenChainFiles {
  const dir = path.join(certDir, 'faults');
  return {
    dir,
    expiredChain: path.join(dir, 'expired-chain.crt'),
    expiredKey: path.join(dir, 'expired.key'),
    wrongNameChain: path.join(dir, 'wrong-name-chain.crt'),
    wrongNameKey: path.join(dir, 'wrong-name.key'),
  };
}

/**
 * Make the broken chains from the lab's own intermediate (ensureChain must have run), or reuse
 * them while the intermediate that signed them is still the current one.
 */
export function ensureBrokenChains(certDir: string, now: Date = new Date()): BrokenChainFiles {
  const good = chainFiles(certDir);
  const out = brokenChainFiles(certDir);
  fs.mkdirSync(out.dir, { recursive: true, mode: 0o700 });
  const intermediatePem = fs.readFileSync(good.intermediateCert, 'utf8');
  const intermediate = new X509Certificate(intermediatePem);
  const issuer = { issuerCertPem: intermediatePem, issuerKeyPem: fs.readFileSync(good.intermediateKey, 'utf8') };
  const make = (chainFile: string, keyFile: string, issue: () => PemPair) => {
    try {
      const leaf = new X509Certificate(fs.readFileSync(chainFile, 'utf8')); // the first certificate of the file
      crypto.createPrivateKey(fs.readFileSync(keyFile, 'utf8'));
      if (isSignedBy(leaf, intermediate)) return;
    } catch {
      // missing or unreadable: make it
    }
    const pair = issue();
    writeFileAtomic(keyFile, pair.keyPem, 0o600);
    writeFileAtomic(chainFile, pair.certPem + intermediatePem, 0o644);
  };
  // Expired yesterday, after the 90 days a leaf lives: everything else about it is right.
  make(out.expiredChain, out.expiredKey, () =>
    issueLeaf({ ...issuer, dnsNames: SHOP_DNS_NAMES, ipAddresses: SHOP_IP_ADDRESSES, notBefore: new Date(now.getTime() - (LEAF_DEFAULT_DAYS + 1) * DAY_MS), notAfter: new Date(now.getTime() - DAY_MS) }));
  // Valid and signed by the lab's intermediate, but for another site's name: no SAN matches.
  make(out.wrongNameChain, out.wrongNameKey, () => issueLeaf({ ...issuer, dnsNames: [WRONG_DNS_NAME], ipAddresses: [], now }));
  return out;
}
