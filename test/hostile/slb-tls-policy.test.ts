// What the SLB's listeners agree to: the shop's port only forward-secret key exchanges, the
// classic port only the seed's RSA key exchange, and neither a renegotiation the client asks for.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { placeOrder } from '../../client/order-client.ts';
import { makeChainDir, startShop, type Shop } from '../shop-fixture.ts';
import { SHOP, sClient, tlsConnect } from './slb-helpers.ts';

const chain = makeChainDir('lab-slb-tls-');
let shop: Shop;
beforeAll(async () => {
  shop = await startShop(chain); // the default: tls 'both'
});
afterAll(async () => {
  await shop.close();
  fs.rmSync(chain.dir, { recursive: true, force: true });
});

const cipherOf = (out: string) => /Cipher is (\S+)/.exec(out)?.[1];

describe("the shop's port (default 'both' mode): forward secrecy only", () => {
  it('refuses a TLS 1.2 client that offers only RSA key exchange (the seed suite, and others): no shared cipher', async () => {
    for (const cipher of ['AES128-GCM-SHA256', 'AES256-GCM-SHA384:AES128-SHA256:AES256-SHA']) {
      const r = await sClient(shop.slb.host, shop.slb.port, chain.files.rootCert, ['-tls1_2', '-cipher', cipher]);
      expect(r.code, r.out).not.toBe(0);
      expect(r.out).toMatch(/handshake failure/);
      expect(cipherOf(r.out) ?? '(NONE)').toBe('(NONE)');
    }
    expect(shop.slbLog.some((l) => /TLS handshake with .* failed: .*no shared cipher/.test(l)), shop.slbLog.join('\n')).toBe(true);
  });

  it('accepts TLS 1.2 with ECDHE (the default choice of a TLS 1.2 client), and TLS 1.3', async () => {
    const ecdhe = await sClient(shop.slb.host, shop.slb.port, chain.files.rootCert, ['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256']);
    expect(cipherOf(ecdhe.out), ecdhe.out).toBe('ECDHE-RSA-AES128-GCM-SHA256');
    expect(ecdhe.out).toContain('Verify return code: 0 (ok)');
    const any12 = await sClient(shop.slb.host, shop.slb.port, chain.files.rootCert, ['-tls1_2']);
    expect(cipherOf(any12.out), any12.out).toMatch(/^ECDHE-RSA-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/);
    const v13 = await sClient(shop.slb.host, shop.slb.port, chain.files.rootCert, ['-tls1_3']);
    expect(v13.out).toMatch(/New, TLSv1\.3, Cipher is TLS_/);
  });

  it('the classic order client is told to use the classic port', async () => {
    const err = await placeOrder({ hostname: SHOP, address: shop.slb.host, port: shop.slb.port, rootCaPem: shop.rootPem, mode: 'classic' }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/handshake/);
  });
});

describe('the classic port: the seed’s handshake, and nothing else', () => {
  it('accepts `openssl s_client -tls1_2 -cipher AES128-GCM-SHA256`: RSA key exchange, no extended master secret', async () => {
    expect(shop.slb.classicPort).toBeTypeOf('number');
    expect(shop.slb.classicPort).not.toBe(shop.slb.port);
    const r = await sClient(shop.slb.host, shop.slb.classicPort!, chain.files.rootCert, ['-tls1_2', '-cipher', 'AES128-GCM-SHA256']);
    expect(cipherOf(r.out), r.out).toBe('AES128-GCM-SHA256');
    expect(r.out).toContain('Verify return code: 0 (ok)');
    expect(r.out).toContain('Extended master secret: no');
    const order = await placeOrder({ hostname: SHOP, address: shop.slb.host, port: shop.slb.classicPort!, rootCaPem: shop.rootPem, mode: 'classic' });
    expect(order.status).toBe(201);
    expect(order.tls.cipher.standardName).toBe('TLS_RSA_WITH_AES_128_GCM_SHA256');
  });

  it('refuses TLS 1.3 and ECDHE there: it is a demonstration, not a second front door', async () => {
    const v13 = await sClient(shop.slb.host, shop.slb.classicPort!, chain.files.rootCert, ['-tls1_3']);
    expect(v13.code, v13.out).not.toBe(0);
    const ecdhe = await sClient(shop.slb.host, shop.slb.classicPort!, chain.files.rootCert, ['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256']);
    expect(cipherOf(ecdhe.out) ?? '(NONE)', ecdhe.out).toBe('(NONE)');
  });
});

describe('client-initiated renegotiation (TLS 1.2) is refused on both ports', () => {
  /** Handshake with TLS 1.2, ask to renegotiate; resolve with the error the client ends up with. */
  async function renegotiate(port: number, extra: object): Promise<string> {
    const socket = await tlsConnect(shop, { port, maxVersion: 'TLSv1.2', ...extra });
    return new Promise((resolve) => {
      const guard = setTimeout(() => resolve('no answer within 5 s'), 5_000);
      const done = (what: string) => {
        clearTimeout(guard);
        socket.destroy();
        resolve(what);
      };
      socket.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
      socket.renegotiate({ rejectUnauthorized: true }, (err) => done(err ? (err as NodeJS.ErrnoException).code ?? err.message : 'renegotiated'));
    });
  }

  it('answers a renegotiating ClientHello with no_renegotiation (RFC 5746 §4.2), and keeps serving others', async () => {
    expect(await renegotiate(shop.slb.port, {})).toBe('ERR_SSL_NO_RENEGOTIATION');
    expect(await renegotiate(shop.slb.classicPort!, { ciphers: 'AES128-GCM-SHA256' })).toBe('ERR_SSL_NO_RENEGOTIATION');
    const order = await placeOrder({ hostname: SHOP, address: shop.slb.host, port: shop.slb.port, rootCaPem: shop.rootPem, mode: 'modern' });
    expect(order.status).toBe(201);
  });

  it('openssl s_client’s "R" (renegotiate) gets no new handshake either', async () => {
    // s_client reads "R" from stdin and sends a new ClientHello; the SLB's refusal ends the session.
    const r = await sClient(shop.slb.host, shop.slb.classicPort!, chain.files.rootCert, ['-tls1_2', '-cipher', 'AES128-GCM-SHA256'], 'R\n');
    expect(r.out, r.out).toMatch(/RENEGOTIATING/);
    expect(r.out).toMatch(/no renegotiation/);
  });
});
