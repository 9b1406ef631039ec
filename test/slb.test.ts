// The SLB: TLS modes, forwarding, health checks, failure handling and bad input, over real sockets.
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { placeOrder, SEED_ORDER, type PlaceOrderOptions } from '../client/order-client.ts';
import { decodeRecording } from '../lab/observe/tls-recorder.ts';
import { tlsSessionFacts } from '../lab/story/facts.ts';
import { words } from '../lab/story/words/index.ts';
import { once, makeChainDir, rawRequest, startShop, type Shop } from './shop-fixture.ts';

const chain = makeChainDir('lab-slb-');
let shop: Shop;

/** Place the seed's order; classic (the default here) goes to the SLB's classic port. */
function orderVia(s: Shop, extra: Partial<PlaceOrderOptions> = {}) {
  const mode = extra.mode ?? 'classic';
  return placeOrder({
    hostname: 'www.geektime.test',
    address: s.slb.host,
    port: mode === 'classic' ? (s.slb.classicPort ?? s.slb.port) : s.slb.port,
    rootCaPem: s.rootPem,
    mode,
    ...extra,
  });
}

beforeAll(async () => {
  shop = await startShop(chain);
});
afterAll(async () => {
  await shop.close();
  fs.rmSync(chain.dir, { recursive: true, force: true });
});

describe('TLS modes', () => {
  it('classic mode negotiates TLS 1.2 with RSA key exchange (no ephemeral key), and the key log gets its CLIENT_RANDOM', async () => {
    const keyLog = `${chain.dir}/keylog.txt`;
    const before = fs.existsSync(keyLog) ? fs.readFileSync(keyLog, 'utf8').split('\n').filter((l) => l.startsWith('CLIENT_RANDOM ')).length : 0;
    const result = await orderVia(shop, { mode: 'classic' });
    expect(result.status).toBe(201);
    expect(result.tls.protocol).toBe('TLSv1.2');
    expect(result.tls.cipher.standardName).toBe('TLS_RSA_WITH_AES_128_GCM_SHA256');
    expect(result.tls.ephemeralKey).toEqual({}); // RSA key exchange: no (EC)DHE key at all
    expect(tlsSessionFacts(result).keyExchange).toEqual({ kind: 'rsa' });
    await shop.slb.flushKeyLog();
    const lines = fs.readFileSync(keyLog, 'utf8').split('\n').filter((l) => l.startsWith('CLIENT_RANDOM '));
    expect(lines.length).toBe(before + 1);
    expect(lines.at(-1)).toMatch(/^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}$/);
  });

  it('modern mode negotiates TLS 1.3 with an ephemeral ECDHE key, and the story names its group on every Node', async () => {
    const result = await orderVia(shop, { mode: 'modern', record: true });
    expect(result.status).toBe(201);
    expect(result.tls.protocol).toBe('TLSv1.3');
    expect(result.tls.cipher.standardName).toMatch(/^TLS_AES_|^TLS_CHACHA20/);
    // On the wire: the ServerHello's key_share, x25519 (OpenSSL 3.0) or the hybrid X25519MLKEM768 (3.5).
    const group = decodeRecording(result.wire!.chunks).keyShareGroup;
    expect(group).toMatch(/X25519/i);
    // Node 20 reports it as ECDH, 24 and later as TLSGroup; Node 22 (OpenSSL 3.5) reports nothing
    // for the hybrid. Either way the session is ephemeral, never RSA, and the wire names the group.
    const key = result.tls.ephemeralKey as { type?: string; name?: string };
    if (key.type) expect(key).toMatchObject({ type: expect.stringMatching(/^(ECDH|TLSGroup)$/), name: expect.stringMatching(new RegExp(`^${group}$`, 'i')) });
    expect(tlsSessionFacts(result).keyExchange).toEqual(key.type ? { kind: 'ephemeral', group: key.name } : { kind: 'ephemeral' });
    expect(words('en').tls.tlsSessionLines(tlsSessionFacts(result))[0]).toMatch(/key exchange (X25519\S* \(ephemeral, forward secret\)|an ephemeral key \(forward secret; this Node does not say which group\))$/);
  });

  it('sends leaf + intermediate, and the client walks them to the trusted root', async () => {
    const result = await orderVia(shop);
    expect(result.tls.chain.every((s) => s.ok)).toBe(true);
    const links = result.tls.chain.map((s) => words().tls.chainLink(s.link)).join('\n');
    expect(links).toContain('leaf "CN=www.geektime.test" → intermediate "CN=Geektime Lab Intermediate CA"');
    expect(links).toContain('intermediate "CN=Geektime Lab Intermediate CA" → root "CN=Geektime Lab Root CA"');
  });

  it('a classic-only SLB refuses a TLS 1.3-only client, and a modern-only SLB refuses the classic client', async () => {
    const classicOnly = await startShop(chain, { tls: 'classic' });
    const modernOnly = await startShop(chain, { tls: 'modern' });
    try {
      await expect(orderVia(classicOnly, { mode: 'modern' })).rejects.toThrow(/TLS handshake .* failed/);
      await expect(orderVia(modernOnly, { mode: 'classic' })).rejects.toThrow(/TLS handshake .* failed/);
      expect((await orderVia(classicOnly, { mode: 'classic' })).status).toBe(201);
    } finally {
      await classicOnly.close();
      await modernOnly.close();
    }
  });
});

describe('forwarding', () => {
  it('appends the real client address to X-Forwarded-For, never trusting the one the client sent, and sets Proto and Host', async () => {
    const res = await rawRequest(shop, { headers: { 'x-forwarded-for': '6.6.6.6' }, body: JSON.stringify(SEED_ORDER) });
    expect(res.status).toBe(201);
    const forwarded = JSON.parse(res.body).forwarded;
    expect(forwarded.for).toBe('6.6.6.6, 127.0.0.1'); // the SLB's own observation is the last entry
    expect(forwarded.proto).toBe('https');
    expect(forwarded.host).toBe(`www.geektime.test:${shop.slb.port}`);
    expect(res.headers['via']).toBe('1.1 slb');
  });

  it('spreads orders over both app servers (round robin)', async () => {
    const servedBy = new Set<string>();
    for (let i = 0; i < 4; i++) servedBy.add(String((await orderVia(shop)).headers['x-served-by']));
    expect(servedBy).toEqual(new Set(['app-1', 'app-2']));
  });

  it('passes the app’s own errors through: bad JSON → 400, wrong type → 415', async () => {
    const bad = await rawRequest(shop, { body: '{"order": ' });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error).toBe('malformed JSON');
    const wrongType = await rawRequest(shop, { headers: { 'content-type': 'text/plain' }, body: 'hello' });
    expect(wrongType.status).toBe(415);
  });

  it('reads an order back with its capability, and its log never shows the token', async () => {
    const placed = await rawRequest(shop, { body: JSON.stringify({ order: { date: '2018-07-01', className: '趣谈网络协议', Author: '刘超', price: '68' } }) });
    expect(placed.status).toBe(201);
    const location = String(placed.headers.location);
    const token = /token=([\w-]+)/.exec(location)![1]!;
    const read = await rawRequest(shop, { method: 'GET', path: location, body: undefined });
    expect(read.status).toBe(200);
    const line = shop.slbLog.find((l) => l.includes(`GET ${location.split('?')[0]}`));
    expect(line).toMatch(/\?token=… → app-[12] 200/);
    expect(shop.slbLog.join('\n')).not.toContain(token);
  });

  it('answers 421 for a host it does not serve, and for a Host that differs from the SNI name', async () => {
    const other = await rawRequest(shop, { headers: { host: 'evil.test' }, body: JSON.stringify(SEED_ORDER) });
    expect(other.status).toBe(421);
    expect(JSON.parse(other.body).reason).toContain('not evil.test');
    const mismatch = await rawRequest(shop, { headers: { host: 'geektime.test' }, body: JSON.stringify(SEED_ORDER) });
    expect(mismatch.status).toBe(421);
    expect(JSON.parse(mismatch.body).reason).toContain('SNI');
  });

  it('tells a missing Host from a malformed one', async () => {
    // Raw over TLS: https.request would not send a broken Host, and HTTP/1.1 without one is
    // refused by Node itself before the SLB sees it; HTTP/1.0 may leave it out.
    const ask = (head: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = tls.connect({ host: shop.slb.host, port: shop.slb.port, servername: 'www.geektime.test', ca: shop.rootPem }, () => {
          socket.write(`${head}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
        });
        let got = '';
        socket.on('data', (c) => (got += c));
        socket.on('error', reject);
        socket.on('close', () => resolve(got));
      });
    const body = (answer: string) => JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));

    const missing = await ask('GET /healthz HTTP/1.0');
    expect(missing).toMatch(/^HTTP\/1\.1 400 /);
    expect(body(missing).error).toBe('missing Host');

    for (const value of ['www.geektime.test:abc', 'www.geektime.test:443:1', 'www.geektime.test]']) {
      const malformed = await ask(`GET /healthz HTTP/1.1\r\nHost: ${value}`);
      expect(malformed, value).toMatch(/^HTTP\/1\.1 400 /);
      expect(body(malformed), value).toMatchObject({ error: 'malformed Host header', reason: expect.stringContaining(JSON.stringify(value)) });
    }
  });

  it('refuses a body over its limit with 413 before any app sees it', async () => {
    const small = await startShop(chain, { maxBodyBytes: 1000 });
    try {
      const res = await rawRequest(small, { body: 'x'.repeat(5000) });
      expect(res.status).toBe(413);
      expect(JSON.parse(res.body).reason).toContain('1000 bytes');
      expect(small.store.count).toBe(0);
    } finally {
      await small.close();
    }
  });
});

describe('health and failures', () => {
  let own: Shop;
  afterEach(async () => {
    await own?.close();
  });

  it('one app down: orders still succeed, the health check takes it out, and puts it back when it returns', async () => {
    own = await startShop(chain);
    const down = once(own.slb.events, 'down', (b: { name: string }) => b.name === 'app-1');
    await own.apps[0]!.close();
    for (let i = 0; i < 4; i++) {
      const r = await orderVia(own);
      expect(r.status).toBe(201);
      expect(r.headers['x-served-by']).toBe('app-2');
    }
    await down;
    expect(own.slb.backends[0]!.up).toBe(false);

    const up = once(own.slb.events, 'up', (b: { name: string }) => b.name === 'app-1');
    await own.restartApp(0);
    await up;
    const servedBy = new Set<string>();
    for (let i = 0; i < 4; i++) servedBy.add(String((await orderVia(own)).headers['x-served-by']));
    expect(servedBy.has('app-1')).toBe(true);
  });

  it('all apps down: 503 naming each app and why', async () => {
    own = await startShop(chain);
    for (const app of own.apps) await app.close();
    const r = await orderVia(own);
    expect(r.status).toBe(503);
    const reason = (r.body as { reason: string }).reason;
    expect(reason).toContain('app-1 down');
    expect(reason).toContain('app-2 down');
  });

  it('never sends a POST twice once it may have reached an app: 502, and the other app never sees it', async () => {
    // An app that reads the request and then drops the connection without answering.
    let seen = 0;
    const dropper = net.createServer((socket) => {
      socket.once('data', (chunk: Buffer) => {
        if (chunk.toString().startsWith('POST ')) seen++; // not the health checker's GET
        socket.destroy();
      });
    });
    await new Promise<void>((resolve) => dropper.listen(0, '127.0.0.1', resolve));
    own = await startShop(chain);
    await own.slb.close();
    const { startSlb } = await import('../servers/slb.ts');
    const slbLog: string[] = [];
    own.slb = await startSlb({
      host: '127.0.0.1',
      port: 0,
      cert: fs.readFileSync(chain.files.fullChain, 'utf8'),
      key: fs.readFileSync(chain.files.leafKey, 'utf8'),
      serverNames: ['www.geektime.test'],
      backends: [
        { name: 'dropper', url: `http://127.0.0.1:${(dropper.address() as net.AddressInfo).port}` },
        { name: 'app-2', url: own.apps[1]!.url },
      ],
      healthCheck: { intervalMs: 60_000 }, // keep the checker out of the way: only the order matters
      log: (l) => slbLog.push(l),
    });
    try {
      const r = await orderVia(own, { idempotencyKey: 'retry-me' });
      expect(r.status).toBe(502);
      expect((r.body as { reason: string }).reason).toMatch(/may have reached dropper.*Idempotency-Key/);
      expect(seen).toBe(1);
      expect(own.store.count).toBe(0);
    } finally {
      dropper.close();
    }
  });

  it('closes a client that is too slow to send its headers (408), and keeps serving others', async () => {
    own = await startShop(chain, { timeouts: { headersMs: 300 } });
    const socket = tls.connect({ host: own.slb.host, port: own.slb.port, servername: 'www.geektime.test', ca: own.rootPem });
    await new Promise((resolve) => socket.once('secureConnect', resolve));
    socket.write('POST /purchaseOrder HTTP/1.1\r\nHost: www.geektime.test\r\n'); // ...and never the rest
    let answer = '';
    socket.on('data', (c) => (answer += c));
    await new Promise((resolve) => socket.once('close', resolve));
    expect(answer).toContain('408');
    expect((await orderVia(own)).status).toBe(201);
  });
});

describe('closing', () => {
  it('after Connection: close the SLB closes in stages: its close_notify and FIN, then the client\'s, no reset, and the SLB\'s end waits in TIME-WAIT', async () => {
    const { readTcpTable } = await import('../lab/tcp-states.ts');
    // The phone's recorder notes a reset (ECONNRESET) and when the SLB's FIN came.
    let closed = (_hadError: boolean) => {};
    const closedNow = new Promise<boolean>((resolve) => (closed = resolve));
    const result = await orderVia(shop, { record: true, onTcpClose: (hadError) => closed(hadError) });
    expect(result.status).toBe(201);
    expect(await closedNow).toBe(false);
    const wire = result.wire!;
    expect(wire.error).toBeUndefined(); // Node's default close answered the client's close_notify with RST: ECONNRESET
    if (process.platform === 'linux') {
      const slbEnd = readTcpTable().find((s) => s.local.port === shop.slb.classicPort && s.remote.port === result.tcp.localPort);
      expect(slbEnd?.state).toBe('TIME_WAIT'); // the SLB closed first and got the client's FIN: RFC 9293 §3.6
    }
  });

  it('does not wait for a connection that never sent a byte, or one stuck in its handshake', async () => {
    const own = await startShop(chain);
    const connect = async (first?: Buffer) => {
      const socket = net.connect(own.slb.port, own.slb.host);
      socket.on('error', () => {});
      await new Promise((resolve) => socket.once('connect', resolve));
      if (first) socket.write(first);
      return { closed: new Promise((resolve) => socket.once('close', resolve)) };
    };
    const idle = await connect();
    // A handshake record header promising 512 bytes, and only 16 of them: TLS waits for the rest.
    const midHandshake = await connect(Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]), Buffer.alloc(16, 0x01)]));
    await new Promise((resolve) => setTimeout(resolve, 50)); // let the SLB read those bytes

    // The handshake timeout is 10 s; 3 s is a bound, far above what a prompt close takes.
    let guard: NodeJS.Timeout | undefined;
    const tooSlow = new Promise<'too slow'>((resolve) => (guard = setTimeout(() => resolve('too slow'), 3000)));
    try {
      expect(await Promise.race([own.slb.close().then(() => 'closed'), tooSlow])).toBe('closed');
    } finally {
      clearTimeout(guard);
      await own.close();
    }
    await Promise.all([idle.closed, midHandshake.closed]); // and the SLB hung up on both
  });
});

describe('bad bytes on the TLS port', () => {
  function sendRaw(bytes: Buffer | string): Promise<string> {
    return new Promise((resolve) => {
      const socket = net.connect(shop.slb.port, shop.slb.host, () => socket.write(bytes));
      let got = '';
      socket.on('data', (c) => (got += c));
      socket.on('error', () => {});
      socket.on('close', () => resolve(got));
    });
  }

  it('plain HTTP gets a 400 that says this is a TLS port', async () => {
    const answer = await sendRaw('GET / HTTP/1.1\r\nHost: www.geektime.test\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request/);
    expect(answer).toContain('speaks TLS');
  });

  it('garbage, and a broken TLS record, are closed without an answer; the SLB keeps serving', async () => {
    expect(await sendRaw(Buffer.from([0x00, 0xff, 0x13, 0x37]))).toBe('');
    const brokenHello = Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0x10]), Buffer.alloc(16, 0xee)]);
    const answer = await sendRaw(brokenHello);
    expect(answer.startsWith('HTTP')).toBe(false); // at most a TLS alert
    expect(shop.slbLog.some((l) => l.includes('TLS handshake with'))).toBe(true);
    expect((await orderVia(shop)).status).toBe(201);
  });
});
