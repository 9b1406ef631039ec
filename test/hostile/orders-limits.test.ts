// One client holding many connections to an app server: over the per-client cap they are closed
// at once, and other clients are still served.
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { OrderStore } from '../../servers/order-store.ts';
import { startOrderServer } from '../../servers/order-service.ts';
import { tempDir } from './orders-fixture.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** Connect from `localAddress`; resolves once connected. */
function connect(port: number, localAddress: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress }, () => resolve(socket));
    socket.once('error', reject);
    cleanups.push(() => socket.destroy());
  });
}

/** One GET /healthz on the socket: the status line, or 'closed' if the server closed it unanswered. */
function ask(socket: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    socket.on('data', (c) => (got += c));
    socket.once('close', () => resolve(got === '' ? 'closed' : got.split('\r\n')[0]!));
    socket.on('error', () => {});
    socket.write('GET /healthz HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n');
  });
}

describe('app server connection limits', () => {
  it('closes a client\'s connections over its cap at once; another client address is still served', async () => {
    const store = OrderStore.open(path.join(tempDir(cleanups), 'orders.jsonl'));
    cleanups.push(() => store.close());
    const lines: string[] = [];
    const app = await startOrderServer({
      name: 'app-1',
      store,
      host: '127.0.0.1',
      port: 0,
      limits: { maxConnections: 100, maxPerClient: 3 },
      log: (l) => lines.push(l),
    });
    cleanups.push(() => app.close());

    // 127.0.0.1 holds three idle connections (a slowloris would); the fourth is refused.
    const held = await Promise.all([1, 2, 3].map(() => connect(app.port, '127.0.0.1')));
    const fourth = await connect(app.port, '127.0.0.1');
    expect(await ask(fourth)).toBe('closed');
    expect(app.connections.refused()).toBe(1);
    expect(lines).toEqual([expect.stringMatching(/^app-1: refused 1 connection\(s\): 127\.0\.0\.1 holds 3, the per-client cap is 3$/)]);

    // Another address (all of 127/8 is loopback on Linux) is not affected.
    if (process.platform === 'linux') expect(await ask(await connect(app.port, '127.0.0.2'))).toBe('HTTP/1.1 200 OK');

    // When one of the three goes, 127.0.0.1 gets a place again.
    held[0]!.destroy();
    await vi.waitFor(() => expect(app.connections.active()).toBe(2), { timeout: 5_000 });
    expect(await ask(await connect(app.port, '127.0.0.1'))).toBe('HTTP/1.1 200 OK');
  });

  it('keeps idle connections longer than the SLB\'s pool does, and bounds slow requests', async () => {
    const store = OrderStore.open(path.join(tempDir(cleanups), 'orders.jsonl'));
    cleanups.push(() => store.close());
    const app = await startOrderServer({ name: 'app-1', store, host: '127.0.0.1', port: 0 });
    cleanups.push(() => app.close());
    expect(app.server.keepAliveTimeout).toBeGreaterThan(4_000); // the SLB drops pooled connections after 4 s
    expect(app.server.headersTimeout).toBeLessThanOrEqual(app.server.requestTimeout);
    expect(app.server.requestTimeout).toBeGreaterThan(0);
    expect(app.server.requestTimeout).toBeLessThanOrEqual(60_000);
  });
});
