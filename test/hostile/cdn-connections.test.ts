// Connection caps and slowloris on the cache and origin listeners. Every 127/8 address is local on
// Linux, so a second client address is just 127.0.0.2.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCache } from '../../servers/cdn/cache.ts';
import { guardConnections } from '../../servers/net/limits.ts';
import { ensureOriginContent } from '../../servers/cdn/origin-content.ts';
import { startOrigin } from '../../servers/cdn/origin.ts';
import { HOST, startRecordingUpstream, type RecordingUpstream } from './cdn-fixtures.ts';

const contentRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'cdn-conns-'));
let contentDir = '';
let upstream: RecordingUpstream;
beforeAll(async () => {
  contentDir = ensureOriginContent(path.join(contentRoot, 'origin')).dir;
  upstream = await startRecordingUpstream(() => ({ status: 200, headers: {}, body: 'ok' }));
});
afterAll(async () => {
  await upstream.close();
  fs.rmSync(contentRoot, { recursive: true, force: true });
});
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const close of cleanups.splice(0).reverse()) await close();
});

/** A keep-alive connection that has had one answer (so the server surely counts it). */
function heldConnection(port: number, localAddress: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress }, () => socket.write(`GET /healthz HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`));
    cleanups.push(() => socket.destroy());
    socket.once('data', (d) => (/^HTTP\/1\.1 200/.test(d.toString()) ? resolve(socket) : reject(new Error(d.toString()))));
    socket.on('error', reject);
  });
}

/** Connect and ask; resolves with what came back before the connection closed ('' = refused). */
function tryOnce(port: number, localAddress: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress }, () => socket.write(`GET /healthz HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`));
    let text = '';
    socket.on('data', (d) => (text += d));
    socket.on('error', () => {});
    socket.on('close', () => resolve(text));
  });
}

/** Drip a request's headers one byte every 100 ms, forever; resolves with ms until the server closes. */
function slowloris(port: number): Promise<{ ms: number; answer: string }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const text = `GET / HTTP/1.1\r\nHost: ${HOST}\r\nX-Slow: ${'a'.repeat(10_000)}`;
    let i = 0;
    let answer = '';
    const socket = net.connect({ port, host: '127.0.0.1' });
    const timer = setInterval(() => socket.write(text[i++ % text.length]!), 100);
    socket.on('data', (d) => (answer += d));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ ms: Date.now() - started, answer });
    });
    cleanups.push(() => {
      clearInterval(timer);
      socket.destroy();
    });
  });
}

const servers = {
  cache: async (extra: object) => {
    const cache = await startCache({ name: 'edge-north', host: '127.0.0.1', port: 0, upstream: upstream.url, hostnames: [HOST], log: () => {}, ...extra });
    cleanups.push(() => cache.close());
    return cache.port;
  },
  origin: async (extra: object) => {
    const origin = await startOrigin({ host: '127.0.0.1', port: 0, contentDir, ...extra });
    cleanups.push(() => origin.close());
    return origin.port;
  },
};

for (const [kind, start] of Object.entries(servers)) {
  describe(`the ${kind} listener`, () => {
    it('refuses connection N+1 from one address while another address is still served', async () => {
      const port = await start({ connectionLimits: { maxConnections: 100, maxPerClient: 3 } });
      for (let i = 0; i < 3; i++) await heldConnection(port, '127.0.0.1');
      expect(await tryOnce(port, '127.0.0.1')).toBe(''); // closed unread
      expect(await tryOnce(port, '127.0.0.2')).toMatch(/^HTTP\/1\.1 200/);
    });

    it('cuts headers dripped one byte at a time at the absolute headers timeout', async () => {
      const port = await start({ headersTimeoutMs: 600 });
      const { ms } = await slowloris(port);
      expect(ms).toBeGreaterThanOrEqual(550);
      expect(ms).toBeLessThan(2_500); // a dripping client never resets it
    });
  });
}

describe('requests with a body, through an edge', () => {
  it('150 slow POSTs at once: at most 64 upstream connections, one request each, and a GET still gets through', async () => {
    // An upstream that, like a tier, refuses a client address past its cap (here 100), holds each
    // POST 300 ms, and counts the connections open at once and the requests on each.
    const open = new Set<net.Socket>();
    let mostOpen = 0;
    const requestsOn = new Map<net.Socket, number>();
    const server = http.createServer((req, res) => {
      requestsOn.set(req.socket, (requestsOn.get(req.socket) ?? 0) + 1);
      req.resume();
      req.on('end', () => {
        const delay = req.method === 'POST' ? 300 : 0;
        setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store' }).end(`${req.method} ok`), delay);
      });
    });
    guardConnections(server, { maxConnections: 1024, maxPerClient: 100 });
    server.on('connection', (socket) => {
      if (socket.destroyed) return; // refused by the guard
      open.add(socket);
      mostOpen = Math.max(mostOpen, open.size);
      socket.on('close', () => open.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => (server.close(() => resolve()), server.closeAllConnections())));
    const edge = await startCache({ name: 'edge-north', host: '127.0.0.1', port: 0, upstream: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, hostnames: [HOST], log: () => {} });
    cleanups.push(() => edge.close());

    const ask = (method: string, path: string) =>
      new Promise<number>((resolve) => {
        const req = http.request({ host: '127.0.0.1', port: edge.port, method, path, headers: { host: HOST }, agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', () => resolve(0));
        req.end(method === 'POST' ? 'order=1' : undefined);
      });
    const posts = Array.from({ length: 150 }, (_, i) => ask('POST', `/orders/${i}`));
    await new Promise((resolve) => setTimeout(resolve, 150)); // the first POSTs are upstream now
    expect(await ask('GET', '/ok')).toBe(200);
    expect(await Promise.all(posts)).toEqual(Array(150).fill(200));

    expect(mostOpen).toBeLessThanOrEqual(64 + 1); // the POSTs' cap, and the GET's pooled connection
    expect(mostOpen).toBeGreaterThanOrEqual(32); // they did run side by side
    // Still one connection per request with a body: each was closed after its answer.
    const perConnection = [...requestsOn.values()];
    expect(perConnection.filter((n) => n === 1).length).toBeGreaterThanOrEqual(150);
    expect(Math.max(...perConnection)).toBe(1);
  });
});
