// TCP states from the kernel's socket table: the parser on fixed text everywhere, and on Linux the
// states of real connections (LISTEN, ESTABLISHED on both ends, FIN_WAIT2 / TIME_WAIT after close).
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  decodeProcEndpoint,
  formatSs,
  listeningSockets,
  observable,
  parseProcNetTcp,
  tcpSocketState,
  watchConnection,
  type TcpSocketInfo,
} from '../lab/tcp-states.ts';
import { words } from '../lab/story/words/index.ts';

// As a little-endian x86 kernel prints them.
const TCP_SAMPLE = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 5000007F:20FB 00000000:0000 0A 00000000:00000002 00:00000000 00000000  1000        0 81924 1 0000000000000000 100 0 0 10 0
   1: 0A010A7F:9C4F 5000007F:20FB 01 0000001D:00000000 00:00000000 00000000  1000        0 81926 1 0000000000000000 20 4 30 10 -1
   2: 5000007F:20FB 0A010A7F:9C4F 01 00000000:000000F7 00:00000000 00000000  1000        0 81927 1 0000000000000000 20 4 30 10 -1
   3: 0100007F:9E8E 0100007F:46A0 06 00000000:00000000 03:000014D3 00000000     0        0 0 3 0000000000000000
`;
const TCP6_SAMPLE = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 5555 1 0000000000000000 100 0 0 10 0
   1: 0000000000000000FFFF00005000007F:20FB 0000000000000000FFFF00000A010A7F:9C4F 08 00000000:00000000 00:00000000 00000000  1000        0 5556 1 0000000000000000 20 4 30 10 -1
   2: 000080FE00000000FF00FC00010000FE:08AE 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 86665 1 00000000a366f075 100 0 0 10 0
`;

describe('parsing /proc/net/tcp and /proc/net/tcp6', () => {
  it('decodes little-endian hex addresses and plain hex ports', () => {
    expect(decodeProcEndpoint('0100007F:1F90', 'LE')).toEqual({ address: '127.0.0.1', port: 8080 });
    expect(decodeProcEndpoint('0A010A7F:9C4F', 'LE')).toEqual({ address: '127.10.1.10', port: 40015 });
    // A big-endian kernel prints the bytes in network order.
    expect(decodeProcEndpoint('7F000001:1F90', 'BE')).toEqual({ address: '127.0.0.1', port: 8080 });
  });

  it('reads state, queues, timer, uid and inode of each IPv4 socket', () => {
    const [listener, client, serverEnd, timeWait] = parseProcNetTcp(TCP_SAMPLE, 4, 'LE');
    expect(listener).toMatchObject({ family: 4, local: { address: '127.0.0.80', port: 8443 }, remote: { address: '0.0.0.0', port: 0 }, state: 'LISTEN', stateCode: 0x0a, rxQueue: 2, uid: 1000, inode: 81924 });
    expect(client).toMatchObject({ local: { address: '127.10.1.10', port: 40015 }, remote: { address: '127.0.0.80', port: 8443 }, state: 'ESTABLISHED', txQueue: 29 });
    expect(serverEnd).toMatchObject({ state: 'ESTABLISHED', rxQueue: 247 });
    expect(timeWait).toMatchObject({ state: 'TIME_WAIT', timer: 'TIME_WAIT', uid: 0, inode: 0 });
    expect(timeWait!.timerSeconds).toBeCloseTo(53.31, 2); // 0x14D3 = 5331 ticks of 1/100 s
  });

  it('reads IPv6 sockets: ::1, IPv4-mapped addresses and link-local ones', () => {
    const [loopback, mapped, linkLocal] = parseProcNetTcp(TCP6_SAMPLE, 6, 'LE');
    expect(loopback).toMatchObject({ family: 6, local: { address: '::1', port: 8080 }, remote: { address: '::', port: 0 }, state: 'LISTEN' });
    expect(mapped).toMatchObject({ local: { address: '::ffff:127.0.0.80', port: 8443 }, remote: { address: '::ffff:127.10.1.10', port: 40015 }, state: 'CLOSE_WAIT' });
    expect(linkLocal!.local).toEqual({ address: 'fe80::fc:ff:fe00:1', port: 2222 }); // a line copied from a real kernel
  });

  it('finds a socket by 4-tuple, by local end, and the listeners of a port', () => {
    const table: TcpSocketInfo[] = [...parseProcNetTcp(TCP_SAMPLE, 4, 'LE'), ...parseProcNetTcp(TCP6_SAMPLE, 6, 'LE')];
    const slb = { address: '127.0.0.80', port: 8443 };
    const phone = { address: '127.10.1.10', port: 40015 };
    expect(tcpSocketState(phone, slb, table)?.state).toBe('ESTABLISHED');
    expect(tcpSocketState(slb, phone, table)?.inode).toBe(81927); // the IPv4 one comes first
    expect(tcpSocketState(slb, undefined, table)?.state).toBe('LISTEN'); // without a peer: the listener
    expect(tcpSocketState({ address: '::1', port: 8080 }, undefined, table)?.inode).toBe(5555);
    // An IPv4-mapped address on a dual-stack socket matches the plain IPv4 address.
    const mappedOnly = parseProcNetTcp(TCP6_SAMPLE, 6, 'LE');
    expect(tcpSocketState(slb, phone, mappedOnly)?.state).toBe('CLOSE_WAIT');
    expect(listeningSockets(8443, table).map((s) => s.inode)).toEqual([81924]);
    expect(listeningSockets(9999, table)).toEqual([]);
  });

  it('formats a socket like ss', () => {
    const [listener, client, , timeWait] = parseProcNetTcp(TCP_SAMPLE, 4, 'LE');
    expect(formatSs(listener!)).toMatch(/^LISTEN\s+2\s+0\s+127\.0\.0\.80:8443\s+0\.0\.0\.0:\*\s+uid:1000 ino:81924$/);
    expect(formatSs(client!)).toMatch(/^ESTAB\s+0\s+29\s+127\.10\.1\.10:40015\s+127\.0\.0\.80:8443/);
    expect(formatSs(timeWait!)).toContain('timer:(TIME_WAIT,53.3s)');
    const [v6] = parseProcNetTcp(TCP6_SAMPLE, 6, 'LE');
    expect(formatSs(v6!)).toMatch(/\[::1\]:8080\s+\[::\]:\*/);
  });
});

describe.skipIf(process.platform === 'linux')('where /proc/net/tcp does not exist', () => {
  it('says what cannot be observed, and why', () => {
    const o = observable();
    expect(o.ok).toBe(false);
    const why = words().tcpStates.kernelStateLines({ server: { address: '127.0.0.1', port: 1 }, observable: o, names: { client: 'the phone', server: 'the SLB' }, path: { kind: 'loopback' }, snapshots: [] });
    expect(why[0]).toMatch(/cannot be observed/);
  });
});

// ---------------------------------------------------------------------------------------------
// Real sockets, read back from the kernel (Linux).

const linux = observable().ok;
const cleanup: Array<() => void> = [];
afterEach(() => {
  while (cleanup.length) cleanup.pop()!();
});

/** A server that answers "pong" to anything and closes when the client does. */
async function pongServer(host: string): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer((s) => {
    s.on('data', () => s.write('pong'));
    s.on('error', () => {});
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, host, resolve));
  cleanup.push(() => server.close());
  return { server, port: (server.address() as net.AddressInfo).port };
}

async function connect(opts: net.NetConnectOpts): Promise<net.Socket> {
  const c = net.connect(opts);
  cleanup.push(() => c.destroy());
  await new Promise((resolve, reject) => c.once('connect', resolve).once('error', reject));
  return c;
}

/** Read the table up to `tries` times, a few ms apart, until `ok` holds. */
async function poll<T>(read: () => T, ok: (v: T) => boolean, tries = 200): Promise<T> {
  let v = read();
  for (let i = 0; i < tries && !ok(v); i++) {
    await new Promise((r) => setTimeout(r, 5));
    v = read();
  }
  return v;
}

describe.skipIf(!linux)('states of real connections on loopback (Linux)', () => {
  it('on Linux the table is observable', () => {
    expect(observable()).toEqual({ ok: true });
  });

  it('LISTEN on the server, ESTABLISHED on both ends, then FIN_WAIT2 or TIME_WAIT on the end that closed first', async () => {
    const { port } = await pongServer('127.0.0.1');
    const server = { address: '127.0.0.1', port };
    const listeners = listeningSockets(port);
    expect(listeners).toHaveLength(1);
    expect(listeners[0]).toMatchObject({ state: 'LISTEN', local: server, uid: process.getuid!() });
    expect(listeners[0]!.inode).toBeGreaterThan(0);

    const client = await connect({ host: '127.0.0.1', port });
    const phone = { address: client.localAddress!, port: client.localPort! };
    const clientEnd = await poll(() => tcpSocketState(phone, server), (s) => s?.state === 'ESTABLISHED');
    expect(clientEnd?.state).toBe('ESTABLISHED');
    // The server's end appears once the kernel completes the handshake; accept() need not have run.
    const serverEnd = await poll(() => tcpSocketState(server, phone), (s) => s?.state === 'ESTABLISHED');
    expect(serverEnd?.state).toBe('ESTABLISHED');
    expect(serverEnd!.inode).not.toBe(clientEnd!.inode);

    client.end(); // the client closes first: it sends FIN
    const closing = await poll(() => tcpSocketState(phone, server), (s) => s?.state === 'FIN_WAIT2' || s?.state === 'TIME_WAIT');
    expect(['FIN_WAIT2', 'TIME_WAIT']).toContain(closing?.state);
    expect(formatSs(closing!)).toMatch(/^(FIN-WAIT-2|TIME-WAIT)\s/);
  });

  it('the walkthrough helper: snapshots before connect, after connect, after the answer and after close', async () => {
    const { port } = await pongServer('127.0.0.80');
    const watch = watchConnection({ address: '127.0.0.80', port }, { clientName: 'the phone', serverName: 'the SLB' });
    const before = watch.snapshot('before connect');
    expect(before.observed).toBe(true);
    expect(before.listener?.state).toBe('LISTEN');
    expect(before.client).toBeUndefined();

    const client = await connect({ host: '127.0.0.80', port, localAddress: '127.10.1.10' });
    const after = watch.snapshot('after connect', { address: client.localAddress!, port: client.localPort! });
    expect(after.client?.state).toBe('ESTABLISHED');
    expect(after.client?.local.address).toBe('127.10.1.10');
    const established = await watch.snapshotWhen('server end accepted', (s) => s.serverEnd?.state === 'ESTABLISHED');
    expect(established.serverEnd?.state).toBe('ESTABLISHED');

    client.write('ping');
    await new Promise((r) => client.once('data', r));
    expect(watch.snapshot('after the answer').client?.state).toBe('ESTABLISHED');

    client.end();
    const closed = await watch.snapshotWhen('after close', (s) => s.client?.state === 'TIME_WAIT' || s.client?.state === 'FIN_WAIT2');
    expect(['FIN_WAIT2', 'TIME_WAIT']).toContain(closed.client?.state);

    const story = words().tcpStates.kernelStateLines(watch.facts()).join('\n');
    expect(story).toContain('before connect');
    expect(story).toMatch(/the SLB listens: LISTEN\s+0\s+0\s+127\.0\.0\.80:/);
    expect(story).toContain('the phone: not connected, no port yet, so no row in the table: CLOSED');
    expect(story).toMatch(/the phone's end:\s+ESTAB\s+\d+\s+\d+\s+127\.10\.1\.10:/);
    // Either the handshake was caught (rare) or the narration says it was too fast to see.
    expect(story).toMatch(/SYN_SENT and SYN_RECV were not seen: the first look after connecting .* is taken once connect\(\) has succeeded, that is once the SYN\+ACK has come back, and found ESTABLISHED; .*'s side finishes with the ACK right after, on loopback within microseconds\.|Caught mid-handshake/);
    expect(story).toContain('Per RFC 9293 the phone went CLOSED → SYN-SENT (sent SYN) → ESTABLISHED');
    expect(story).toMatch(/The phone closed first \(active close\).*seen at "after close": (FIN_WAIT2|TIME_WAIT)/);
  });

  it('when the server closes first (as the SLB does after "Connection: close"), its end is the one in TIME_WAIT', async () => {
    const server = net.createServer((s) => s.once('data', () => s.end('bye'))); // answer, and close at once
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => server.close());
    const port = (server.address() as net.AddressInfo).port;
    const watch = watchConnection({ address: '127.0.0.1', port }, { clientName: 'the phone', serverName: 'the SLB' });
    watch.snapshot('before connect');
    const client = net.connect({ host: '127.0.0.1', port }).resume(); // reads, and ends its side when the server's FIN arrives
    cleanup.push(() => client.destroy());
    await new Promise((r) => client.once('connect', r));
    watch.snapshot('after connect', { address: client.localAddress!, port: client.localPort! });
    client.write('order');
    await new Promise((r) => client.once('close', r));
    const closed = await watch.snapshotWhen('after close');
    expect(closed.serverEnd?.state).toBe('TIME_WAIT');
    expect(closed.client).toBeUndefined();
    const story = words().tcpStates.kernelStateLines(watch.facts()).join('\n');
    expect(story).toMatch(/The SLB closed first \(active close\).*seen at "after close": TIME_WAIT/);
    expect(story).toContain("The phone closed second (passive close)");
    expect(story).toMatch(/the kernel's timer says \d+\.\d s left/);
  });

  it('finds the server end of a dual-stack listener in tcp6 as the IPv4 address', async (ctx) => {
    let port: number;
    try {
      ({ port } = await pongServer('::'));
    } catch {
      return ctx.skip(); // no IPv6 in this kernel
    }
    const client = await connect({ host: '127.0.0.1', port });
    const phone = { address: client.localAddress!, port: client.localPort! };
    const listener = listeningSockets(port);
    expect(listener.map((s) => `${s.family} ${s.local.address}`)).toContain('6 ::');
    const serverEnd = await poll(() => tcpSocketState({ address: '127.0.0.1', port }, phone), (s) => s?.state === 'ESTABLISHED');
    expect(serverEnd).toMatchObject({ family: 6, local: { address: '::ffff:127.0.0.1', port }, state: 'ESTABLISHED' });
  });
});
