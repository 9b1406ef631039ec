// The lab's certificate chain, checked the way a user would: with openssl, with file modes,
// with a real TLS handshake, and by watching what ensureChain remakes.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  chainFiles,
  ensureChain,
  issueIntermediate,
  issueLeaf,
  makeRootCa,
  CDN_DNS_NAMES,
  SHOP_DNS_NAMES,
  SHOP_IP_ADDRESSES,
  type ChainFiles,
} from '../certs/chain.ts';
import { describeChain, splitPem } from '../certs/describe.ts';
import { certsCommand } from '../certs/cli.ts';

function freshDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'lab-certs-'));
}

/** Run `openssl verify`; returns its output and whether it exited 0. */
function opensslVerify(root: string, intermediate: string, leaf: string, purpose?: string) {
  const args = ['verify', '-CAfile', root, '-untrusted', intermediate, ...(purpose ? ['-purpose', purpose] : []), leaf];
  try {
    return { ok: true, output: execFileSync('openssl', args, { encoding: 'utf8', stdio: 'pipe' }) };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

const HAVE_OPENSSL = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

function x509Text(file: string): string {
  return execFileSync('openssl', ['x509', '-in', file, '-noout', '-text'], { encoding: 'utf8' });
}

/** The hex key id printed after an extension's heading in `openssl x509 -text`. */
function keyIdAfter(text: string, heading: string): string {
  const after = text.slice(text.indexOf(heading) + heading.length);
  return after.match(/[0-9A-F]{2}(?::[0-9A-F]{2})+/)![0];
}

function fingerprint(file: string): string {
  return new X509Certificate(fs.readFileSync(file)).fingerprint256;
}

function fingerprints(files: ChainFiles) {
  return {
    root: fingerprint(files.rootCert),
    intermediate: fingerprint(files.intermediateCert),
    leaf: fingerprint(files.leafCert),
    cdn: fingerprint(files.cdnCert),
  };
}

function mode(file: string): number {
  return fs.statSync(file).mode & 0o777;
}

describe('a fresh chain', () => {
  const dir = freshDir();
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const { files, made } = ensureChain({ dir });

  it('is made on first use, every link: root, intermediate, the shop\'s leaf and the CDN\'s', () => {
    expect(made).toEqual(['root', 'intermediate', 'leaf', 'cdn']);
    for (const file of Object.values(chainFiles(dir))) expect(fs.existsSync(file)).toBe(true);
  });

  it('passes openssl verify, also for the sslserver purpose', () => {
    const plain = opensslVerify(files.rootCert, files.intermediateCert, files.leafCert);
    expect(plain.output).toContain(`${files.leafCert}: OK`);
    expect(plain.ok).toBe(true);
    const server = opensslVerify(files.rootCert, files.intermediateCert, files.leafCert, 'sslserver');
    expect(server.output).toContain(`${files.leafCert}: OK`);
  });

  it('has a self-signed root CA', () => {
    const text = x509Text(files.rootCert);
    expect(text).toMatch(/Basic Constraints: critical\s+CA:TRUE\s/);
    expect(text).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(text).toContain('Issuer: O = Buy-Online Networking Lab, CN = Geektime Lab Root CA');
    expect(text).toContain('Subject: O = Buy-Online Networking Lab, CN = Geektime Lab Root CA');
    expect(text).toContain('Signature Algorithm: sha256WithRSAEncryption');
    const root = new X509Certificate(fs.readFileSync(files.rootCert));
    expect(root.verify(root.publicKey)).toBe(true);
  });

  it('has an intermediate CA limited to pathlen 0, signed by the root', () => {
    const text = x509Text(files.intermediateCert);
    expect(text).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    expect(text).toContain('Issuer: O = Buy-Online Networking Lab, CN = Geektime Lab Root CA');
    expect(text).toContain('Signature Algorithm: sha256WithRSAEncryption');
    const rootText = x509Text(files.rootCert);
    expect(keyIdAfter(text, 'Authority Key Identifier')).toBe(keyIdAfter(rootText, 'Subject Key Identifier'));
  });

  it('has a server leaf naming the shop and the SLB addresses', () => {
    const text = x509Text(files.leafCert);
    expect(text).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toMatch(/Key Usage: critical\s+Digital Signature, Key Encipherment/);
    expect(text).toContain('TLS Web Server Authentication');
    expect(text).toContain('DNS:www.geektime.test');
    expect(text).toContain('DNS:geektime.test');
    expect(text).toContain('IP Address:127.0.0.80');
    expect(text).toContain('IP Address:0:0:0:0:0:0:0:1'); // ::1
    expect(text).toContain('Subject: O = Buy-Online Networking Lab, CN = www.geektime.test');
    expect(text).toContain('Signature Algorithm: sha256WithRSAEncryption');
    const intermediateText = x509Text(files.intermediateCert);
    expect(keyIdAfter(text, 'Authority Key Identifier')).toBe(keyIdAfter(intermediateText, 'Subject Key Identifier'));
  });

  it.skipIf(!HAVE_OPENSSL)('has a CDN leaf that passes openssl verify, also for sslserver (openssl on PATH)', () => {
    for (const purpose of [undefined, 'sslserver']) {
      const result = opensslVerify(files.rootCert, files.intermediateCert, files.cdnCert, purpose);
      expect(result.output).toContain(`${files.cdnCert}: OK`);
      expect(result.ok).toBe(true);
    }
  });

  it('has a CDN leaf naming exactly static.geektime.test, issued by the same intermediate', () => {
    const cdn = new X509Certificate(fs.readFileSync(files.cdnCert));
    const intermediate = new X509Certificate(fs.readFileSync(files.intermediateCert));
    // RFC 6125: the name is in the SAN; no IP address, no shop name (the edges are not the shop).
    expect(cdn.subjectAltName).toBe('DNS:static.geektime.test');
    expect(CDN_DNS_NAMES).toEqual(['static.geektime.test']);
    expect(cdn.checkHost('static.geektime.test', { subject: 'never' })).toBe('static.geektime.test');
    expect(cdn.checkHost('www.geektime.test', { subject: 'never' })).toBeUndefined();
    expect(cdn.checkIssued(intermediate) && cdn.verify(intermediate.publicKey)).toBe(true);
    expect(cdn.ca).toBe(false);
    expect(cdn.keyUsage).toContain('1.3.6.1.5.5.7.3.1'); // extKeyUsage serverAuth
    // a key of its own: the edges never hold the SLB's
    expect(cdn.publicKey.export({ type: 'spki', format: 'pem' })).not.toBe(
      new X509Certificate(fs.readFileSync(files.leafCert)).publicKey.export({ type: 'spki', format: 'pem' }),
    );
    const daysLeft = (Date.parse(cdn.validTo) - Date.now()) / 86_400_000;
    expect(daysLeft).toBeGreaterThan(89);
    expect(daysLeft).toBeLessThanOrEqual(90);
  });

  it('has serial numbers of 16 bytes that are positive and minimal', () => {
    for (const file of [files.rootCert, files.intermediateCert, files.leafCert, files.cdnCert]) {
      const serial = new X509Certificate(fs.readFileSync(file)).serialNumber;
      expect(serial).toMatch(/^[0-9A-F]{32}$/);
      expect(parseInt(serial.slice(0, 2), 16)).toBeGreaterThanOrEqual(0x01);
      expect(parseInt(serial.slice(0, 2), 16)).toBeLessThanOrEqual(0x7f);
    }
  });

  it('writes chain.crt as leaf then intermediate', () => {
    const pems = splitPem(fs.readFileSync(files.fullChain, 'utf8'));
    expect(pems).toEqual([fs.readFileSync(files.leafCert, 'utf8'), fs.readFileSync(files.intermediateCert, 'utf8')]);
  });

  it('writes cdn-chain.crt as the CDN leaf then intermediate', () => {
    const pems = splitPem(fs.readFileSync(files.cdnChain, 'utf8'));
    expect(pems).toEqual([fs.readFileSync(files.cdnCert, 'utf8'), fs.readFileSync(files.intermediateCert, 'utf8')]);
  });

  it('keeps private keys owner-only (0600) and certificates 0644', () => {
    for (const key of [files.rootKey, files.intermediateKey, files.leafKey, files.cdnKey]) expect(mode(key)).toBe(0o600);
    for (const cert of [files.rootCert, files.intermediateCert, files.leafCert, files.fullChain, files.cdnCert, files.cdnChain]) expect(mode(cert)).toBe(0o644);
  });

  it('serves a real TLS handshake, classic RSA key exchange included', async () => {
    const server = tls.createServer({
      key: fs.readFileSync(files.leafKey),
      cert: fs.readFileSync(files.fullChain),
    });
    server.on('secureConnection', (socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      for (const classic of [true, false]) {
        const cipher = await new Promise<string>((resolve, reject) => {
          const socket = tls.connect({
            host: '127.0.0.1',
            port,
            servername: 'www.geektime.test',
            ca: fs.readFileSync(files.rootCert), // trusts only the lab's root
            ...(classic ? { maxVersion: 'TLSv1.2' as const, ciphers: 'AES128-GCM-SHA256' } : {}),
          }, () => {
            resolve(socket.getCipher().standardName);
            socket.end();
          });
          socket.on('error', reject);
        });
        expect(cipher).toMatch(classic ? /^TLS_RSA_WITH_AES_128_GCM_SHA256$/ : /^TLS_AES_/);
      }
    } finally {
      server.close();
    }
  });

  it('serves static.geektime.test over TLS with the CDN chain, and a client checking the name accepts it', async () => {
    const server = tls.createServer({ key: fs.readFileSync(files.cdnKey), cert: fs.readFileSync(files.cdnChain) });
    server.on('secureConnection', (socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const connect = (servername: string) =>
      new Promise<string>((resolve) => {
        const socket = tls.connect({ host: '127.0.0.1', port, servername, ca: fs.readFileSync(files.rootCert) }, () => {
          resolve('ok');
          socket.end();
        });
        socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      });
    try {
      expect(await connect('static.geektime.test')).toBe('ok');
      expect(await connect('www.geektime.test')).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    } finally {
      server.close();
    }
  });
});

describe('ensureChain on an existing chain', () => {
  const dir = freshDir();
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const files = ensureChain({ dir }).files;

  it('reuses everything on the second call', () => {
    const before = fingerprints(files);
    const again = ensureChain({ dir });
    expect(again.made).toEqual([]);
    expect(again.reasons).toEqual([]);
    expect(fingerprints(files)).toEqual(before);
  });

  it('remakes only the leaf when leaf.crt is deleted', () => {
    const before = fingerprints(files);
    fs.rmSync(files.leafCert);
    const result = ensureChain({ dir });
    expect(result.made).toEqual(['leaf']);
    expect(result.reasons).toEqual(['leaf: leaf.crt is missing']);
    const after = fingerprints(files);
    expect(after.root).toBe(before.root);
    expect(after.intermediate).toBe(before.intermediate);
    expect(after.cdn).toBe(before.cdn);
    expect(opensslVerify(files.rootCert, files.intermediateCert, files.leafCert).ok).toBe(true);
  });

  it('remakes only the CDN leaf when cdn.key is deleted, and cdn-chain.crt with it', () => {
    const before = fingerprints(files);
    fs.rmSync(files.cdnKey);
    const result = ensureChain({ dir });
    expect(result.made).toEqual(['cdn']);
    expect(result.reasons).toEqual(['cdn: cdn.key is missing']);
    const after = fingerprints(files);
    expect(after.leaf).toBe(before.leaf);
    expect(after.cdn).not.toBe(before.cdn);
    expect(mode(files.cdnKey)).toBe(0o600);
    expect(splitPem(fs.readFileSync(files.cdnChain, 'utf8'))[0]).toBe(fs.readFileSync(files.cdnCert, 'utf8'));
  });

  it('remakes a CDN leaf that does not name static.geektime.test (the shop\'s leaf put in its place)', () => {
    fs.copyFileSync(files.leafCert, files.cdnCert);
    fs.copyFileSync(files.leafKey, files.cdnKey);
    const result = ensureChain({ dir });
    expect(result.made).toEqual(['cdn']);
    expect(result.reasons).toEqual(['cdn: does not cover DNS:static.geektime.test']);
    expect(new X509Certificate(fs.readFileSync(files.cdnCert)).subjectAltName).toBe('DNS:static.geektime.test');
  });

  it('remakes a CDN leaf that expires in 2 days, by the same 14-day rule', () => {
    const soon = issueLeaf({
      issuerCertPem: fs.readFileSync(files.intermediateCert, 'utf8'),
      issuerKeyPem: fs.readFileSync(files.intermediateKey, 'utf8'),
      dnsNames: CDN_DNS_NAMES,
      ipAddresses: [],
      notAfter: new Date(Date.now() + 2 * 24 * 3600 * 1000),
    });
    fs.writeFileSync(files.cdnCert, soon.certPem);
    fs.writeFileSync(files.cdnKey, soon.keyPem);
    const result = ensureChain({ dir });
    expect(result.made).toEqual(['cdn']);
    expect(result.reasons[0]).toMatch(/^cdn: expires in [12] days? \(threshold 14\)$/);
  });

  it('remakes a leaf that expires in 2 days, saying so', () => {
    const soon = issueLeaf({
      issuerCertPem: fs.readFileSync(files.intermediateCert, 'utf8'),
      issuerKeyPem: fs.readFileSync(files.intermediateKey, 'utf8'),
      dnsNames: SHOP_DNS_NAMES,
      ipAddresses: SHOP_IP_ADDRESSES,
      notAfter: new Date(Date.now() + 2 * 24 * 3600 * 1000),
    });
    fs.writeFileSync(files.leafCert, soon.certPem);
    fs.writeFileSync(files.leafKey, soon.keyPem);
    const shortLived = fingerprint(files.leafCert);

    const result = ensureChain({ dir });
    expect(result.made).toEqual(['leaf']);
    expect(result.reasons[0]).toMatch(/^leaf: expires in [12] days? \(threshold 14\)$/);
    expect(fingerprint(files.leafCert)).not.toBe(shortLived);
    const daysLeft = (Date.parse(new X509Certificate(fs.readFileSync(files.leafCert)).validTo) - Date.now()) / 86_400_000;
    expect(daysLeft).toBeGreaterThan(89);
  });

  it('remakes the leaf when asked for a name it does not cover', () => {
    const result = ensureChain({ dir, dnsNames: [...SHOP_DNS_NAMES, 'shop.geektime.test'] });
    expect(result.made).toEqual(['leaf']);
    expect(result.reasons[0]).toContain('DNS:shop.geektime.test');
    expect(x509Text(files.leafCert)).toContain('DNS:shop.geektime.test');
    // A leaf that covers more than asked is still fine.
    expect(ensureChain({ dir }).made).toEqual([]);
  });

  it('remakes the leaf when its key does not match', () => {
    fs.writeFileSync(files.leafKey, makeRootCa().keyPem); // any other key
    const result = ensureChain({ dir });
    expect(result.made).toEqual(['leaf']);
    expect(result.reasons[0]).toMatch(/key does not match/);
  });

  it('remakes the intermediate and both leaves when intermediate.crt is garbage', () => {
    const before = fingerprints(files);
    fs.writeFileSync(files.intermediateCert, 'not a certificate\n');
    const result = ensureChain({ dir });
    expect(result.made).toEqual(['intermediate', 'leaf', 'cdn']);
    expect(result.reasons[0]).toMatch(/^intermediate: .*cannot be parsed/);
    expect(result.reasons.slice(1)).toEqual(['leaf: the intermediate was remade', 'cdn: the intermediate was remade']);
    expect(fingerprint(files.rootCert)).toBe(before.root);
    expect(opensslVerify(files.rootCert, files.intermediateCert, files.leafCert, 'sslserver').ok).toBe(true);
    expect(opensslVerify(files.rootCert, files.intermediateCert, files.cdnCert, 'sslserver').ok).toBe(true);
  });

  it('remakes a leaf signed by some other intermediate', () => {
    const otherRoot = makeRootCa();
    const otherIntermediate = issueIntermediate({ issuerCertPem: otherRoot.certPem, issuerKeyPem: otherRoot.keyPem });
    const stranger = issueLeaf({
      issuerCertPem: otherIntermediate.certPem,
      issuerKeyPem: otherIntermediate.keyPem,
      dnsNames: SHOP_DNS_NAMES,
      ipAddresses: SHOP_IP_ADDRESSES,
    });
    fs.writeFileSync(files.leafCert, stranger.certPem);
    fs.writeFileSync(files.leafKey, stranger.keyPem);
    const result = ensureChain({ dir });
    expect(result.made).toEqual(['leaf']);
    expect(result.reasons).toEqual(['leaf: not signed by the current intermediate']);
  });

  it('renew: true remakes every link, and keys end up 0600 even over a 0644 file', () => {
    const before = fingerprints(files);
    for (const key of [files.rootKey, files.intermediateKey, files.leafKey, files.cdnKey]) fs.chmodSync(key, 0o644);
    const result = ensureChain({ dir, renew: true });
    expect(result.made).toEqual(['root', 'intermediate', 'leaf', 'cdn']);
    expect(result.reasons).toEqual(['root: renewal requested', 'intermediate: renewal requested', 'leaf: renewal requested', 'cdn: renewal requested']);
    const after = fingerprints(files);
    expect(after.root).not.toBe(before.root);
    expect(after.intermediate).not.toBe(before.intermediate);
    expect(after.leaf).not.toBe(before.leaf);
    expect(after.cdn).not.toBe(before.cdn);
    for (const key of [files.rootKey, files.intermediateKey, files.leafKey, files.cdnKey]) expect(mode(key)).toBe(0o600);
    expect(opensslVerify(files.rootCert, files.intermediateCert, files.leafCert, 'sslserver').ok).toBe(true);
  });

  it('tightens a reused key that was made world-readable', () => {
    fs.chmodSync(files.leafKey, 0o644);
    fs.chmodSync(files.cdnKey, 0o640);
    expect(ensureChain({ dir }).made).toEqual([]);
    expect(mode(files.leafKey)).toBe(0o600);
    expect(mode(files.cdnKey)).toBe(0o600);
  });

  it('remakes everything below a root that expires within 30 days', () => {
    const in20Days = new Date(Date.now() + 20 * 24 * 3600 * 1000);
    const almostExpired = makeRootCa({ now: addYearsBack(in20Days, 10) });
    fs.writeFileSync(files.rootCert, almostExpired.certPem);
    fs.writeFileSync(files.rootKey, almostExpired.keyPem);
    const result = ensureChain({ dir });
    expect(result.made).toEqual(['root', 'intermediate', 'leaf', 'cdn']);
    expect(result.reasons[0]).toMatch(/^root: expires in 1[89] days \(threshold 30\)$/);
    expect(result.reasons.slice(1)).toEqual(['intermediate: the root was remade', 'leaf: the intermediate was remade', 'cdn: the intermediate was remade']);
  });
});

/** A date `years` before `date`, so a 10-year root made then expires at `date`. */
function addYearsBack(date: Date, years: number): Date {
  const earlier = new Date(date);
  earlier.setUTCFullYear(earlier.getUTCFullYear() - years);
  return earlier;
}

describe('a leaf from a different intermediate', () => {
  const dir = freshDir();
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const { files } = ensureChain({ dir });
  const otherRoot = makeRootCa();
  const otherIntermediate = issueIntermediate({ issuerCertPem: otherRoot.certPem, issuerKeyPem: otherRoot.keyPem });
  const stranger = issueLeaf({
    issuerCertPem: otherIntermediate.certPem,
    issuerKeyPem: otherIntermediate.keyPem,
    dnsNames: SHOP_DNS_NAMES,
    ipAddresses: SHOP_IP_ADDRESSES,
  });
  const strangerFile = path.join(dir, 'stranger.crt');
  fs.writeFileSync(strangerFile, stranger.certPem);

  it('fails openssl verify against the lab root and intermediate', () => {
    const result = opensslVerify(files.rootCert, files.intermediateCert, strangerFile);
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/unable to get local issuer certificate/);
  });

  it('is reported as broken by describeChain', () => {
    const text = describeChain(
      [stranger.certPem, fs.readFileSync(files.intermediateCert, 'utf8')],
      fs.readFileSync(files.rootCert, 'utf8'),
    );
    expect(text).toMatch(/✗ #1 leaf \(CN=www\.geektime\.test\) was NOT issued by #2 intermediate/);
    expect(text).toContain('Result: the chain is BROKEN');
  });
});

describe('describeChain and the certs command', () => {
  const dir = freshDir();
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const { files } = ensureChain({ dir });
  const read = (file: string) => fs.readFileSync(file, 'utf8');

  it('names each subject and says which key signed which', () => {
    const text = describeChain(splitPem(read(files.fullChain)), read(files.rootCert));
    expect(text).toContain('#1 leaf: CN=www.geektime.test');
    expect(text).toContain('#2 intermediate: CN=Geektime Lab Intermediate CA');
    expect(text).toContain('trusted root: CN=Geektime Lab Root CA');
    expect(text).toContain('subjectAltName:   DNS:www.geektime.test, DNS:geektime.test, IP:127.0.0.80, IP:127.0.0.1, IP:::1');
    expect(text).toContain('basicConstraints: CA:TRUE, pathlen:0 (critical)');
    expect(text).toContain('signed with:      sha256WithRSAEncryption');
    expect(text).toContain(`SHA-256 fingerprint: ${fingerprint(files.leafCert)}`);
    expect(text).toMatch(
      /✓ #1 leaf \(CN=www\.geektime\.test\) ← signed by → #2 intermediate \(CN=Geektime Lab Intermediate CA\): signature verified with the intermediate's public key \(AKI = issuer SKI = [0-9A-F:]+…\)/,
    );
    expect(text).toMatch(
      /✓ #2 intermediate \(CN=Geektime Lab Intermediate CA\) ← signed by → trusted root \(CN=Geektime Lab Root CA\): signature verified with the root's public key/,
    );
    expect(text).toContain('Result: every link verifies up to the trusted root');
  });

  it('says the top is self-signed when no trusted root is given', () => {
    const text = describeChain([read(files.leafCert), read(files.intermediateCert), read(files.rootCert)]);
    expect(text).toContain('#3 root (CN=Geektime Lab Root CA) is self-signed');
  });

  it('certs command prints the chain and the openssl commands to check it', async () => {
    const out: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void out.push(args.join(' ')));
    try {
      expect(await certsCommand(['--dir', dir])).toBe(0);
    } finally {
      log.mockRestore();
    }
    const text = out.join('\n');
    expect(text).toMatch(/root +reused/);
    expect(text).toContain('#1 leaf: CN=www.geektime.test');
    expect(text).toContain(`openssl verify -CAfile ${files.rootCert} -untrusted ${files.intermediateCert} ${files.leafCert}`);
    expect(text).toContain(`-purpose sslserver ${files.leafCert}`);
    expect(text).toMatch(/cdn +reused/);
    expect(text).toContain(`-purpose sslserver ${files.cdnCert}`);
  });

  it('certs command rejects an unknown option with exit code 2', async () => {
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(await certsCommand(['--bogus'])).toBe(2);
      expect(err.mock.calls.join(' ')).toContain('usage:');
    } finally {
      err.mockRestore();
    }
  });
});
