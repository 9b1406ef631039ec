// DNS over TCP against clients that hold connections (RFC 7766 §6.2): ~20,000 connections dripping a
// byte every few seconds used to exhaust the process's descriptors. Now every DNS role caps its TCP
// connections in total and per client address, closes a connection on which no whole message
// arrives or leaves in time (a trickle does not count), and stops reading a connection with too many
// queries waiting. Real sockets, bounded loads.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startDnsServer, responseTo, Packet, type TcpOptions, type RunningDnsServer } from '../../servers/dns/dns-server.ts';
import { startAuthoritative } from '../../servers/dns/authoritative.ts';
import { labZones } from '../../servers/dns/lab-zones.ts';
import { sendQuery } from '../../servers/dns/query.ts';
import { queryBytes } from '../dns-fuzz.ts';

const HOST = '127.0.5.1';
const ATTACKER = '127.0.5.66';
const BYSTANDER = '127.0.5.7';

const closers: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

function keep<T extends RunningDnsServer>(server: T): T {
  closers.push(() => server.close());
  return server;
}

async function authoritative(extra: TcpOptions = {}): Promise<RunningDnsServer> {
  const zones = labZones({ root: '127.0.5.10', tld: '127.0.5.11', shop: '127.0.5.12', cdn: '127.0.5.13', gslb: '127.0.5.14', slb: '127.0.5.80' });
  return keep(await startAuthoritative({ name: 'shop', host: HOST, port: 0, zones: [zones.shop], ...extra }));
}

/** One DNS message over TCP: its length in two octets, then the message. */
function framed(message: Buffer): Buffer {
  const length = Buffer.alloc(2);
  length.writeUInt16BE(message.length);
  return Buffer.concat([length, message]);
}

function connect(server: RunningDnsServer, localAddress: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: server.host, port: server.port, localAddress }, () => resolve(socket));
    socket.on('error', reject);
    closers.push(() => void socket.destroy());
  });
}

/** Send one query on an open connection: 'answered' if a whole answer comes back, 'closed' if the server closes first. */
function queryOn(socket: net.Socket): Promise<'answered' | 'closed'> {
  return new Promise((resolve) => {
    if (socket.destroyed || !socket.writable) return resolve('closed');
    let got = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) resolve('answered');
    });
    socket.on('error', () => resolve('closed'));
    socket.on('close', () => resolve('closed'));
    socket.write(framed(queryBytes('www.geektime.test')), () => {});
  });
}

describe('connection caps', () => {
  it('one address holding 100 connections gets 32 (the per-client cap); another address is still answered', async () => {
    const server = await authoritative(); // the defaults every DNS role gets
    const sockets = await Promise.all(Array.from({ length: 100 }, () => connect(server, ATTACKER).catch(() => undefined)));
    const outcomes = await Promise.all(sockets.map((s) => (s ? queryOn(s) : Promise.resolve('closed' as const))));
    expect(outcomes.filter((o) => o === 'answered')).toHaveLength(32);
    expect(outcomes.filter((o) => o === 'closed')).toHaveLength(68);
    expect(server.tcpConnections.active()).toBe(32);

    const bystander = await sendQuery({ server, name: 'www.geektime.test', type: 'A', tcp: true, localAddress: BYSTANDER });
    expect(bystander.response.answers[0]?.address).toBe('127.0.5.80');
  });

  it('300 idle connections from 10 addresses: at most 100 held (the total cap here); a newcomer still gets in, the idlest make room', async () => {
    const server = await authoritative({ tcpLimits: { maxConnections: 100, maxPerClient: 32 } });
    const addresses = Array.from({ length: 10 }, (_, i) => `127.0.5.${100 + i}`);
    const sockets: Array<net.Socket | undefined> = [];
    for (const address of addresses) sockets.push(...(await Promise.all(Array.from({ length: 30 }, () => connect(server, address).catch(() => undefined)))));
    await new Promise((r) => setTimeout(r, 100)); // let the server see every one of them
    expect(server.tcpConnections.active()).toBeLessThanOrEqual(100);

    const bystander = await sendQuery({ server, name: 'www.geektime.test', type: 'A', tcp: true, localAddress: BYSTANDER });
    expect(bystander.response.answers[0]?.address).toBe('127.0.5.80');

    // Of the 300, only the ones still held answer; the rest were refused or made room.
    const outcomes = await Promise.all(sockets.map((s) => (s ? queryOn(s) : Promise.resolve('closed' as const))));
    expect(outcomes.filter((o) => o === 'answered').length).toBeLessThanOrEqual(100);
    expect(outcomes.filter((o) => o === 'answered').length).toBeGreaterThan(0);
  });
});

describe('making room in a burst', () => {
  it('at the total cap, every connection idle: 16 newcomers at once all get in, each in the place of an idle one', async () => {
    // Answers wait for `open`, so the first 32 connections are busy (nothing to evict) and fill the
    // cap exactly; once answered they are all idle.
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    let asked = 0;
    const server = keep(
      await startDnsServer({
        name: 'gated',
        host: HOST,
        port: 0,
        tcpLimits: { maxConnections: 32, maxPerClient: 32 },
        handle: async (request) => {
          asked++;
          await gate;
          return responseTo(request);
        },
      }),
    );
    // One by one, each busy with its query before the next connects (an idle one would make room).
    const idlers: net.Socket[] = [];
    const firstAnswers: Promise<'answered' | 'closed'>[] = [];
    for (let i = 0; i < 32; i++) {
      const s = await connect(server, `127.0.5.${100 + (i % 4)}`);
      s.on('error', () => {});
      idlers.push(s);
      firstAnswers.push(queryOn(s));
      for (let waited = 0; waited < 5_000 && asked <= i; waited += 5) await new Promise((r) => setTimeout(r, 5));
    }
    open();
    expect(await Promise.all(firstAnswers)).toEqual(new Array(32).fill('answered'));
    expect(server.tcpConnections.active()).toBe(32); // at the cap, all idle

    // The burst: 16 newcomers from 16 addresses, each asking once. The connects go out (net.connect
    // issues them on the next tick), then this process, the server's too, is busy for 200 ms, so
    // the kernel has all 16 queued when the server next looks.
    const pending = Array.from({ length: 16 }, (_, i) => connect(server, `127.0.5.${150 + i}`));
    await new Promise<void>((r) => process.nextTick(r));
    for (const until = Date.now() + 200; Date.now() < until; );
    const newcomers = await Promise.all(pending);
    newcomers.forEach((s) => s.on('error', () => {}));
    const outcomes = await Promise.all(newcomers.map((s) => queryOn(s)));
    expect(outcomes).toEqual(new Array(16).fill('answered'));
    expect(server.tcpConnections.refused()).toBe(0); // nobody turned away...
    expect(server.tcpConnections.active()).toBe(32); // ...still within the cap...
    // ...and the idlest made the room: 16 of the first 32 closed, no more (each sees its close a moment later).
    const evicted = () => idlers.filter((s) => s.destroyed).length;
    for (let waited = 0; waited < 2_000 && evicted() < 16; waited += 10) await new Promise((r) => setTimeout(r, 10));
    expect(evicted()).toBe(16);
    expect(idlers.slice(0, 16).every((s) => s.destroyed)).toBe(true);
  });
});

describe('a deadline that a trickle does not reset', () => {
  it('a client dripping one byte every 100 ms is closed after the idle time (1 s here); one sending whole queries is not', async () => {
    const server = await authoritative({ tcpIdleMs: 1000 });
    const trickle = await connect(server, ATTACKER);
    const closed = new Promise<number>((resolve) => trickle.on('close', () => resolve(Date.now())));
    trickle.on('error', () => {});
    const started = Date.now();
    const message = framed(queryBytes('www.geektime.test'));
    let sent = 0;
    const drip = setInterval(() => {
      if (!trickle.destroyed && sent < message.length - 1) trickle.write(message.subarray(sent, ++sent));
    }, 100);
    closers.push(() => clearInterval(drip));

    // Meanwhile, over one connection, a whole query every 200 ms for 2 s: every one is answered.
    const busy = await connect(server, BYSTANDER);
    let answers = 0;
    let got = Buffer.alloc(0);
    busy.on('data', (chunk) => {
      got = Buffer.concat([got, chunk]);
      while (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) {
        got = got.subarray(2 + got.readUInt16BE(0));
        answers++;
      }
    });
    for (let i = 0; i < 10; i++) {
      busy.write(message);
      await new Promise((r) => setTimeout(r, 200));
    }
    const closedAt = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 5000))]);
    expect(closedAt, 'the trickling connection was never closed').toBeGreaterThan(0);
    expect(closedAt - started).toBeGreaterThanOrEqual(950);
    expect(sent).toBeLessThan(message.length - 1); // it never got to finish its message
    expect(answers).toBe(10);
    expect(busy.destroyed).toBe(false);
  });
});

describe('queries waiting on one connection', () => {
  it('at most tcpMaxPending (4) are read while their answers are pending; the rest wait in TCP, then all are answered', async () => {
    let seen = 0;
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    closers.push(() => release());
    let reachedFour!: () => void;
    const fourSeen = new Promise<void>((r) => (reachedFour = r));
    const server = keep(
      await startDnsServer({
        name: 'slow',
        host: HOST,
        port: 0,
        tcpMaxPending: 4,
        handle: async (request) => {
          if (++seen === 4) reachedFour();
          await released;
          const response = responseTo(request);
          response.answers.push({ name: request.questions[0]!.name, type: Packet.TYPE.A, class: Packet.CLASS.IN, ttl: 60, address: '127.0.5.99' } as never);
          return response;
        },
      }),
    );
    const socket = await connect(server, ATTACKER);
    let answers = 0;
    let got = Buffer.alloc(0);
    const allAnswered = new Promise<void>((done) =>
      socket.on('data', (chunk) => {
        got = Buffer.concat([got, chunk]);
        while (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) {
          got = got.subarray(2 + got.readUInt16BE(0));
          if (++answers === 10) done();
        }
      }),
    );
    // Ten queries in one write: the server has all of them in its first read.
    socket.write(Buffer.concat(Array.from({ length: 10 }, (_, i) => framed(queryBytes(`q${i}.geektime.test`)))));
    await fourSeen;
    await new Promise((r) => setTimeout(r, 200)); // time for any further query to reach the handler
    expect(seen).toBe(4);
    release();
    await allAnswered;
    expect(seen).toBe(10);
  });
});
