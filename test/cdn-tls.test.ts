// The CDN edge over HTTPS: a product page at https://www.geektime.test/ may only show pictures
// fetched over https (a browser upgrades or blocks http ones as mixed content), so the edge serves
// static.geektime.test on a second, TLS port, with the CDN's own leaf (certs/chain.ts cdn.crt).
// Checked the way a browser would see it: only the lab's root trusted, the name checked, the same
// cache behind both ports, and the edge's limits on the TLS port too.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureChain, type ChainFiles } from '../certs/chain.ts';
import { startCache, type CacheOptions, type RunningCache } from '../servers/cdn/cache.ts';
import { startOrigin, type RunningOrigin } from '../servers/cdn/origin.ts';
import { ListenError } from '../servers/net/listen.ts';

const HOST = 'static.geektime.test';
const PICTURE = '/images/phone.png';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdn-tls-'));
let files: ChainFiles;
let rootPem: string;
let origin: RunningOrigin;
beforeAll(async () => {
  files = ensureChain({ dir: path.join(dir, 'certs') }).files;
  rootPem = fs.readFileSync(files.rootCert, 'utf8');
  origin = await startOrigin({ host: '127.0.0.1', port: 0, contentDir: path.join(dir, 'origin'), hostnames: [HOST] });
});
afterAll(async () => {
  await origin?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const close of cleanups.splice(0).reverse()) await close();
});

/** An edge in front of the origin, with https on an ephemeral port. */
async function startEdge(extra: Partial<CacheOptions> = {}): Promise<{ edge: RunningCache; logs: string[] }> {
  const logs: string[] = [];
  const edge = await startCache({
    name: 'edge-north',
    host: '127.0.0.1',
    port: 0,
    upstream: origin.url,
    hostnames: [HOST],
    tls: { cert: fs.readFileSync(files.cdnChain, 'utf8'), key: fs.readFileSync(files.cdnKey, 'utf8'), port: 0 },
    log: (line) => logs.push(line),
    ...extra,
  });
  cleanups.push(() => edge.close());
  return { edge, logs };
}

interface Got {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  protocol: string | null;
}

/** GET over https as a browser would: the lab's root the only trusted CA, the name checked (SNI + SAN). */
function getHttps(port: number, urlPath: string, headers: Record<string, string> = {}): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, servername: HOST, ca: rootPem, path: urlPath, headers: { host: `${HOST}:${port}`, ...headers }, agent: false },
      (res) => {
        const protocol = (res.socket as tls.TLSSocket).getProtocol();
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks), protocol }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function getHttp(port: number, urlPath: string): Promise<Got> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath, headers: { host: HOST }, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks), protocol: null }));
      })
      .on('error', reject);
  });
}

/** Raw bytes over TLS (for requests no client would send); resolves with all that came back. */
function rawTls(port: number, bytes: string | ((socket: tls.TLSSocket) => void)): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const socket = tls.connect({ host: '127.0.0.1', port, servername: HOST, ca: rootPem }, () => {
      if (typeof bytes === 'string') socket.write(bytes);
      else bytes(socket);
    });
    cleanups.push(() => socket.destroy());
    socket.on('data', (d) => (text += d));
    socket.on('error', (err: NodeJS.ErrnoException) => (text ? resolve(text) : reject(err)));
    socket.on('close', () => resolve(text));
  });
}

/** How a TLS handshake with these client settings ends: 'ok' or the error code. */
function handshake(port: number, options: tls.ConnectionOptions): Promise<string> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: HOST, ca: rootPem, ...options }, () => {
      resolve('ok');
      socket.destroy();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

const run = promisify(execFile);
const HAVE_CURL = await run('curl', ['--version']).then(
  () => true,
  () => false,
);

describe('the edge over HTTPS', () => {
  it('serves the picture to a client that trusts only the lab root: MISS, then HIT, TLS 1.2 or newer', async () => {
    const { edge, logs } = await startEdge();
    expect(edge.tlsPort).toBeTypeOf('number');
    expect(edge.tlsPort).not.toBe(edge.port);

    const first = await getHttps(edge.tlsPort!, PICTURE);
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toBe('image/png');
    expect(first.body.subarray(1, 4).toString()).toBe('PNG');
    expect(first.headers['cache-status']).toMatch(/^edge-north; fwd=uri-miss; stored; ttl=\d+$/);
    expect(first.headers['via']).toBe('1.1 edge-north');
    expect(['TLSv1.2', 'TLSv1.3']).toContain(first.protocol);

    const second = await getHttps(edge.tlsPort!, PICTURE);
    expect(second.status).toBe(200);
    expect(second.headers['cache-status']).toMatch(/^edge-north; hit; ttl=\d+$/);
    expect(second.body.equals(first.body)).toBe(true);
    expect(origin.requestCount(PICTURE)).toBeGreaterThanOrEqual(1);

    // The same log lines as over http: nothing in them says which port.
    expect(logs[0]).toMatch(/^edge-north: GET static\.geektime\.test\/images\/phone\.png → 200 MISS \(edge-north → origin\) \d+ bytes \d+ ms$/);
    expect(logs[1]).toMatch(/^edge-north: GET static\.geektime\.test\/images\/phone\.png → 200 HIT \(edge-north\) \d+ bytes \d+ ms$/);
  });

  it('keeps serving http on its own port, from the same store', async () => {
    const { edge } = await startEdge();
    const path_ = '/images/phone-large.png';
    const overTls = await getHttps(edge.tlsPort!, path_);
    expect(overTls.headers['cache-status']).toMatch(/fwd=uri-miss; stored/);
    const overHttp = await getHttp(edge.port, path_);
    expect(overHttp.status).toBe(200);
    expect(overHttp.headers['content-type']).toBe('image/png');
    expect(overHttp.headers['cache-status']).toMatch(/^edge-north; hit; ttl=\d+$/); // one cache, two ports
    expect(overHttp.body.equals(overTls.body)).toBe(true);
  });

  it('presents the CDN leaf (static.geektime.test) and its intermediate, and fails a client asking for another name', async () => {
    const { edge } = await startEdge();
    const chain = await new Promise<unknown[]>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: edge.tlsPort!, servername: HOST, ca: rootPem }, () => {
        const leaf = socket.getPeerCertificate(true);
        resolve([leaf.subject.CN, leaf.subjectaltname, leaf.issuerCertificate.subject.CN]);
        socket.destroy();
      });
      socket.on('error', reject);
    });
    expect(chain).toEqual(['static.geektime.test', 'DNS:static.geektime.test', 'Geektime Lab Intermediate CA']);
    expect(await handshake(edge.tlsPort!, { servername: 'www.geektime.test' })).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(await handshake(edge.tlsPort!, { ca: undefined })).toBe('UNABLE_TO_GET_ISSUER_CERT_LOCALLY'); // the system's CAs do not know the lab root
  });

  it('speaks forward-secret TLS only: TLS 1.1 and RSA key exchange are refused, ECDHE in TLS 1.2 is fine', async () => {
    const { edge, logs } = await startEdge();
    expect(await handshake(edge.tlsPort!, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' })).toBe('ok');
    expect(await handshake(edge.tlsPort!, { maxVersion: 'TLSv1.2', ciphers: 'AES128-GCM-SHA256' })).toMatch(/HANDSHAKE_FAILURE/);
    expect(await handshake(edge.tlsPort!, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' })).toMatch(/ALERT_PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL|NO_PROTOCOLS/);
    // Each failed handshake is said once, in words; the edge serves on.
    await expect.poll(() => logs.filter((l) => / TLS handshake with 127\.0\.0\.1:\d+ failed: /.test(l)).length).toBe(2);
    expect(logs.some((l) => /failed: no shared cipher \(ERR_SSL_NO_SHARED_CIPHER\)$/.test(l))).toBe(true);
    expect((await getHttps(edge.tlsPort!, '/healthz')).status).toBe(200);
  });

  it.skipIf(!HAVE_CURL)('answers curl --cacert root --resolve like a browser would (curl on PATH)', async () => {
    const { edge } = await startEdge();
    const url = `https://${HOST}:${edge.tlsPort}${PICTURE}`;
    const common = ['-sS', '-o', '/dev/null', '-D', '-', '--resolve', `${HOST}:${edge.tlsPort}:127.0.0.1`, '-w', 'tls-verify=%{ssl_verify_result}\n'];
    const first = await run('curl', ['--cacert', files.rootCert, ...common, url]);
    expect(first.stdout).toMatch(/^HTTP\/1\.1 200 OK\r$/m);
    expect(first.stdout).toMatch(/^content-type: image\/png\r$/im);
    expect(first.stdout).toMatch(/^cache-status: edge-north; fwd=uri-miss; stored; ttl=\d+\r$/im);
    expect(first.stdout).toContain('tls-verify=0');
    const second = await run('curl', ['--cacert', files.rootCert, ...common, url]);
    expect(second.stdout).toMatch(/^cache-status: edge-north; hit; ttl=\d+\r$/im);
    // Without the lab's root, curl refuses: exit 60, the certificate cannot be verified.
    const untrusted = await run('curl', [...common, url]).then(
      () => 0,
      (err: { code?: number }) => err.code,
    );
    expect(untrusted).toBe(60);
  });
});

describe("the edge's limits hold on the HTTPS port too", () => {
  it('an oversized header block gets 431, inside TLS', async () => {
    const { edge } = await startEdge();
    const answer = await rawTls(edge.tlsPort!, `GET ${PICTURE} HTTP/1.1\r\nHost: ${HOST}\r\nX-Big: ${'a'.repeat(40 * 1024)}\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
  });

  it('a request whose headers trickle in is cut at the headers deadline with 408', async () => {
    const { edge } = await startEdge({ headersTimeoutMs: 1_000 });
    const started = Date.now();
    const answer = await rawTls(edge.tlsPort!, (socket) => {
      socket.write(`GET ${PICTURE} HTTP/1.1\r\nHost: ${HOST}\r\n`);
      const timer = setInterval(() => socket.write('X'), 100);
      socket.on('close', () => clearInterval(timer));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('a handshake that never finishes is let go at the same deadline', async () => {
    const { edge } = await startEdge({ headersTimeoutMs: 1_000 });
    const started = Date.now();
    const closed = await new Promise<number>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port: edge.tlsPort! }, () => socket.write(Buffer.from([0x16, 0x03, 0x01]))); // the start of a ClientHello, then nothing
      cleanups.push(() => socket.destroy());
      socket.on('error', () => {});
      socket.on('close', () => resolve(Date.now() - started));
    });
    expect(closed).toBeGreaterThanOrEqual(900);
    expect(closed).toBeLessThan(5_000);
  });

  it('pipelined requests are answered one at a time, in order', async () => {
    const { edge } = await startEdge();
    const answer = await rawTls(edge.tlsPort!, `GET /healthz HTTP/1.1\r\nHost: ${HOST}\r\n\r\nGET ${PICTURE} HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\nGET /healthz HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
    const statuses = [...answer.matchAll(/^HTTP\/1\.1 (\d+)/gm)].map((m) => m[1]);
    expect(statuses).toEqual(['200', '200']); // nothing after Connection: close (RFC 9112 §9.6)
  });

  it('http and https connections count against one per-client budget', async () => {
    const { edge, logs } = await startEdge({ connectionLimits: { maxConnections: 1024, maxPerClient: 2 } });
    const held: net.Socket[] = [];
    for (let i = 0; i < 2; i++) {
      const socket = net.connect({ host: '127.0.0.1', port: edge.port });
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.write(`GET /healthz HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
      await new Promise<void>((resolve) => socket.once('data', () => resolve()));
      held.push(socket);
      cleanups.push(() => socket.destroy());
    }
    expect(await handshake(edge.tlsPort!, {})).toBe('ECONNRESET'); // refused at accept, before TLS
    await expect.poll(() => logs.some((l) => /refused 1 connection\(s\): 127\.0\.0\.1 holds 2, the per-client cap is 2/.test(l))).toBe(true);
    expect(logs.some((l) => /TLS handshake/.test(l))).toBe(false); // the refusal is said once, by the limits
    held[0]!.destroy();
    await new Promise((r) => setTimeout(r, 50));
    expect(await handshake(edge.tlsPort!, {})).toBe('ok');
  });
});

describe('starting and stopping both listeners', () => {
  it('close() closes the http and the https port, even with a handshake under way', async () => {
    const { edge } = await startEdge();
    const pending = net.connect({ host: '127.0.0.1', port: edge.tlsPort! });
    pending.on('error', () => {});
    await new Promise<void>((resolve) => pending.once('connect', () => resolve()));
    const started = Date.now();
    await edge.close();
    expect(Date.now() - started).toBeLessThan(1_000);
    for (const port of [edge.port, edge.tlsPort!]) {
      const result = await new Promise<string>((resolve) => {
        const socket = net.connect({ host: '127.0.0.1', port }, () => {
          socket.destroy();
          resolve('connected');
        });
        socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? ''));
      });
      expect(result, `port ${port}`).toBe('ECONNREFUSED');
    }
  });

  it('an https port that is taken stops the start with a line naming it, and frees the http port', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
    const taken = (blocker.address() as net.AddressInfo).port;
    const free = net.createServer();
    await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
    const httpPort = (free.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => free.close(() => resolve()));

    const failed = await startEdge({ port: httpPort, tls: { cert: fs.readFileSync(files.cdnChain, 'utf8'), key: fs.readFileSync(files.cdnKey, 'utf8'), port: taken } }).catch((err: Error) => err);
    expect(failed).toBeInstanceOf(ListenError);
    expect((failed as ListenError).message).toContain(`edge-north (https): 127.0.0.1:${taken} is already in use`);
    expect((failed as ListenError).port).toBe(taken);
    // The http port it had bound is free again: the tier starts whole or not at all.
    const again = net.createServer();
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.listen(httpPort, '127.0.0.1', resolve);
    });
    await new Promise<void>((resolve) => again.close(() => resolve()));
  });

  it('without tls, there is no https port', async () => {
    const edge = await startCache({ name: 'parent', host: '127.0.0.1', port: 0, upstream: origin.url, hostnames: [HOST], log: () => {} });
    cleanups.push(() => edge.close());
    expect(edge.tlsPort).toBeUndefined();
  });
});
