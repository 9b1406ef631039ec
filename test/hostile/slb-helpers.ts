// Small clients for the SLB's hostile tests: raw bytes over TLS, openssl s_client, bounded waits.
import { spawn } from 'node:child_process';
import tls from 'node:tls';
import type { Shop } from '../shop-fixture.ts';

export const SHOP = 'www.geektime.test';

/** Connect with TLS (modern settings unless given), resolve once the handshake is done. */
export function tlsConnect(shop: Shop, extra: tls.ConnectionOptions & { localAddress?: string } = {}): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: shop.slb.host, port: shop.slb.port, servername: SHOP, ca: shop.rootPem, ...extra });
    socket.once('secureConnect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('closed before the TLS handshake finished')));
  });
}

/** Send raw bytes inside TLS and collect everything until the SLB closes (bounded by `ms`). */
export async function rawOverTls(shop: Shop, bytes: string | Buffer, ms = 5_000): Promise<string> {
  const socket = await tlsConnect(shop);
  return new Promise((resolve, reject) => {
    let got = '';
    const guard = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within ${ms} ms; got so far: ${JSON.stringify(got.slice(0, 300))}`));
    }, ms);
    socket.on('data', (c: Buffer) => (got += c.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(guard);
      resolve(got);
    });
    socket.write(bytes);
  });
}

/** Run `openssl s_client` against host:port with stdin `input`; never longer than 10 s. */
export function sClient(host: string, port: number, caFile: string, args: string[], input = ''): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('openssl', ['s_client', '-connect', `${host}:${port}`, '-servername', SHOP, '-CAfile', caFile, ...args], { timeout: 10_000 });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    child.on('close', (code) => resolve({ code, out }));
    child.stdin.end(input);
  });
}

/** Resolve when `socket` closes, or with 'still open' after `ms`. */
export function closedWithin(socket: { once(event: 'close', l: () => void): unknown }, ms: number): Promise<'closed' | 'still open'> {
  return new Promise((resolve) => {
    const guard = setTimeout(() => resolve('still open'), ms);
    socket.once('close', () => {
      clearTimeout(guard);
      resolve('closed');
    });
  });
}
