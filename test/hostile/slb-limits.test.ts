// Listener limits on the SLB: how many connections one address may hold, and how long a
// connection may take to say something useful, through TLS.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import type tls from 'node:tls';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { placeOrder } from '../../client/order-client.ts';
import { makeChainDir, startShop, type Shop } from '../shop-fixture.ts';
import { closedWithin, SHOP, tlsConnect } from './slb-helpers.ts';

const chain = makeChainDir('lab-slb-limits-');
let shop: Shop | undefined;
const open: Array<net.Socket | tls.TLSSocket> = [];
afterEach(async () => {
  for (const s of open.splice(0)) s.destroy();
  await shop?.close();
  shop = undefined;
});
afterAll(() => fs.rmSync(chain.dir, { recursive: true, force: true }));

const order = (s: Shop) => placeOrder({ hostname: SHOP, address: s.slb.host, port: s.slb.port, rootCaPem: s.rootPem, mode: 'modern' });
const linux = os.platform() === 'linux'; // every 127/8 address is local there

describe('connections per client', () => {
  it.skipIf(!linux)('refuses connection N+1 from one address at accept, while another address still gets its handshake', async () => {
    shop = await startShop(chain, { limits: { maxPerClient: 3, maxConnections: 100 } });
    const s = shop;
    for (let i = 0; i < 3; i++) open.push(await tlsConnect(s, { localAddress: '127.0.0.1' }));
    // The fourth from 127.0.0.1 is closed before any TLS byte comes back.
    const fourth = await tlsConnect(s, { localAddress: '127.0.0.1' }).then(
      (sock) => (open.push(sock), 'handshake done'),
      (err: Error) => err.message,
    );
    expect(fourth).not.toBe('handshake done');
    expect(fourth).toMatch(/ECONNRESET|socket disconnected|closed before/);
    // 127.0.0.2 is another client: it has its own allowance.
    open.push(await tlsConnect(s, { localAddress: '127.0.0.2' }));
    expect(s.slbLog.some((l) => /refused 1 connection\(s\): 127\.0\.0\.1 holds 3, the per-client cap is 3/.test(l)), s.slbLog.join('\n')).toBe(true);
    // When one of the three goes, 127.0.0.1 may connect again (the SLB sees the close a moment later).
    const first = open.shift()!;
    const gone = closedWithin(first, 1_000);
    first.end();
    await gone;
    let again = 'refused';
    for (let attempt = 0; attempt < 20 && again !== 'handshake done'; attempt++) {
      again = await tlsConnect(s, { localAddress: '127.0.0.1' }).then(
        (sock) => (open.push(sock), 'handshake done'),
        async () => (await new Promise((r) => setTimeout(r, 50)), 'refused'),
      );
    }
    expect(again).toBe('handshake done');
  });

  it('caps the total over all clients too', async () => {
    shop = await startShop(chain, { limits: { maxPerClient: 100, maxConnections: 2 } });
    const s = shop;
    open.push(await tlsConnect(s), await tlsConnect(s));
    await expect(tlsConnect(s)).rejects.toThrow(/ECONNRESET|socket disconnected|closed before/);
  });
});

describe('slow clients, after the TLS handshake', () => {
  it('headers trickled one line at a time are cut at headersMs from the first byte (408), however steady the trickle', async () => {
    shop = await startShop(chain, { timeouts: { headersMs: 600 } });
    const socket = await tlsConnect(shop);
    open.push(socket);
    let answer = '';
    socket.on('data', (c: Buffer) => (answer += c));
    socket.on('error', () => {});
    const started = Date.now();
    socket.write(`GET / HTTP/1.1\r\nHost: ${SHOP}\r\n`);
    // A header line every 100 ms: the socket is never idle for long, the request never completes.
    const trickle = setInterval(() => socket.writable && socket.write(`X-Slow-${Date.now()}: 1\r\n`), 100);
    try {
      expect(await closedWithin(socket, 5_000)).toBe('closed');
    } finally {
      clearInterval(trickle);
    }
    const ms = Date.now() - started;
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(ms).toBeGreaterThanOrEqual(500);
    expect(ms).toBeLessThan(3_000); // headersMs plus one check interval, with room for a busy CI
    await expect(order(shop)).resolves.toMatchObject({ status: 201 });
  });

  it('lets go of a slow client that never reads its 408: the connection is not held half-closed', async () => {
    const s = (shop = await startShop(chain, { timeouts: { headersMs: 600 } }));
    const sockets = await Promise.all([1, 2, 3].map(() => tlsConnect(s)));
    open.push(...sockets);
    const trickle = setInterval(() => {
      for (const socket of sockets) if (socket.writable) socket.write('X');
    }, 100);
    for (const socket of sockets) {
      socket.on('error', () => {});
      socket.pause(); // never reads: the 408 and the server's FIN stay unread
      socket.write(`GET / HTTP/1.1\r\nHost: ${SHOP}\r\n`);
    }
    try {
      expect(s.slb.connections()).toBe(3);
      const deadline = Date.now() + 6_000;
      while (s.slb.connections() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(s.slb.connections()).toBe(0);
    } finally {
      clearInterval(trickle);
    }
  });

  it('a TLS handshake trickled a byte at a time is cut at handshakeMs', async () => {
    shop = await startShop(chain, { timeouts: { handshakeMs: 600 } });
    const socket = net.connect(shop.slb.port, shop.slb.host);
    open.push(socket);
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    // A handshake record header promising 512 bytes, then one byte every 100 ms.
    socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]));
    const started = Date.now();
    const trickle = setInterval(() => socket.writable && socket.write(Buffer.from([0x01])), 100);
    try {
      expect(await closedWithin(socket, 5_000)).toBe('closed');
    } finally {
      clearInterval(trickle);
    }
    expect(Date.now() - started).toBeLessThan(3_000);
    await expect(order(shop)).resolves.toMatchObject({ status: 201 });
  });

  it('an idle keep-alive connection is closed after idleMs', async () => {
    shop = await startShop(chain, { timeouts: { idleMs: 400 } });
    const socket = await tlsConnect(shop);
    open.push(socket);
    let answer = '';
    socket.on('data', (c: Buffer) => (answer += c));
    socket.write(`GET /nothing-here HTTP/1.1\r\nHost: ${SHOP}\r\n\r\n`);
    const answered = Date.now();
    expect(await closedWithin(socket, 5_000)).toBe('closed');
    expect(answer).toMatch(/^HTTP\/1\.1 404/);
    expect(answer).toMatch(/keep-alive/i);
    const ms = Date.now() - answered;
    expect(answer).toMatch(/Keep-Alive: timeout=0/i); // 400 ms, rounded down to whole seconds
    // Node 20 closes 1 s after the advertised timeout; 1.5 s more is room for a busy CI.
    expect(ms).toBeGreaterThanOrEqual(350);
    expect(ms).toBeLessThan(400 + 1_000 + 1_500);
  });
});
