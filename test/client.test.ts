// The client's strict verification: each broken link fails with a message that names it,
// and the order is never sent on a connection that did not verify.
import fs from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueLeaf, makeRootCa, issueIntermediate, SHOP_DNS_NAMES, SHOP_IP_ADDRESSES } from '../certs/chain.ts';
import { CertificateError, placeOrder, type PlaceOrderOptions } from '../client/order-client.ts';
import { words } from '../lab/story/words/index.ts';
import { makeChainDir, startShop, type Shop } from './shop-fixture.ts';

const chain = makeChainDir('lab-client-');
const DAY = 86_400_000;
let good: Shop;

function order(shop: Shop, extra: Partial<PlaceOrderOptions> = {}) {
  return placeOrder({ hostname: 'www.geektime.test', address: shop.slb.host, port: shop.slb.classicPort!, rootCaPem: shop.rootPem, mode: 'classic', ...extra });
}

/** Expect a CertificateError and return its message; also check nothing reached the apps. */
async function refusal(shop: Shop, extra: Partial<PlaceOrderOptions> = {}): Promise<CertificateError> {
  const err = await order(shop, extra).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CertificateError);
  expect(shop.store.count).toBe(0);
  return err as CertificateError;
}

beforeAll(async () => {
  good = await startShop(chain);
});
afterAll(async () => {
  await good.close();
  fs.rmSync(chain.dir, { recursive: true, force: true });
});

describe('strict verification', () => {
  it('untrusted root: a client that trusts another root (even one with the same name) refuses, naming the root link', async () => {
    const otherRoot = makeRootCa(); // same subject name as the lab root, different key
    const err = await refusal(good, { rootCaPem: otherRoot.certPem });
    expect(err.message).toContain('intermediate "CN=Geektime Lab Intermediate CA" → root "CN=Geektime Lab Root CA"');
    expect(err.message).toContain('signature does not verify');
    expect(err.message).toContain('Fix:');
  });

  it('untrusted root: a chain from a wholly different CA is refused, naming the issuer it leads to', async () => {
    const strangerRoot = makeRootCa({ commonName: 'Stranger Root CA' });
    const strangerInt = issueIntermediate({ issuerCertPem: strangerRoot.certPem, issuerKeyPem: strangerRoot.keyPem, commonName: 'Stranger Intermediate' });
    const strangerLeaf = issueLeaf({ issuerCertPem: strangerInt.certPem, issuerKeyPem: strangerInt.keyPem, dnsNames: SHOP_DNS_NAMES, ipAddresses: SHOP_IP_ADDRESSES });
    const stranger = await startShop(chain, { cert: strangerLeaf.certPem + strangerInt.certPem, key: strangerLeaf.keyPem });
    try {
      const err = await refusal(stranger);
      expect(err.code).toBe('UNABLE_TO_GET_ISSUER_CERT_LOCALLY');
      expect(err.message).toContain('Stranger Root CA');
      expect(err.message).toContain('does not trust');
    } finally {
      await stranger.close();
    }
  });

  it('wrong name: asking for another host name fails on the leaf, listing the names it has', async () => {
    const err = await refusal(good, { hostname: 'shop.example.test' });
    expect(err.code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(err.message).toContain('leaf "CN=www.geektime.test"');
    expect(err.message).toContain('does not carry the name the client asked for (shop.example.test)');
    expect(err.message).toContain('DNS:www.geektime.test');
  });

  it('missing intermediate: a server that sends only its leaf is refused, and the message says the intermediate is missing', async () => {
    const leafOnly = await startShop(chain, { cert: fs.readFileSync(chain.files.leafCert, 'utf8') });
    try {
      const err = await refusal(leafOnly);
      expect(err.code).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY/);
      expect(err.message).toContain('the intermediate is missing');
      expect(err.message).toContain('chain.crt, not leaf.crt');
    } finally {
      await leafOnly.close();
    }
  });

  it('expired leaf: refused, with the date it expired', async () => {
    const now = Date.now();
    const expired = issueLeaf({
      issuerCertPem: fs.readFileSync(chain.files.intermediateCert, 'utf8'),
      issuerKeyPem: fs.readFileSync(chain.files.intermediateKey, 'utf8'),
      dnsNames: SHOP_DNS_NAMES,
      ipAddresses: SHOP_IP_ADDRESSES,
      notBefore: new Date(now - 30 * DAY),
      notAfter: new Date(now - 2 * DAY),
    });
    const stale = await startShop(chain, { cert: expired.certPem + fs.readFileSync(chain.files.intermediateCert, 'utf8'), key: expired.keyPem });
    try {
      const err = await refusal(stale);
      expect(err.code).toBe('CERT_HAS_EXPIRED');
      expect(err.message).toMatch(/leaf "CN=www\.geektime\.test": it expired on \d{4}-\d\d-\d\dT.* \(2 days ago\)/);
    } finally {
      await stale.close();
    }
  });

  it('the good chain still works after all that, and every step of its walk is checked', async () => {
    const result = await order(good);
    expect(result.status).toBe(201);
    expect(result.tls.chain.map((s) => s.ok)).not.toContain(false);
    expect(result.tls.chain.map((s) => words().tls.chainDetail(s.check)).join('\n')).toContain('carries the name the client asked for: www.geektime.test');
  });
});

describe('other failures', () => {
  it('nothing listening: says so and how to start the lab', async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    await expect(order(good, { port })).rejects.toThrow(`nothing listens on 127.0.0.1:${port} (connection refused): is the lab up?`);
  });
});
