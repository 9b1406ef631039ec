// A small shop for tests: the lab's chain in a temp folder, two app servers sharing one order
// store, and an SLB in front of them, all on 127.0.0.1 with ephemeral ports.
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { ensureChain, type ChainFiles } from '../certs/chain.ts';
import { OrderStore } from '../servers/order-store.ts';
import { startOrderServer, type RunningOrderServer } from '../servers/order-service.ts';
import { startSlb, type RunningSlb, type SlbOptions } from '../servers/slb.ts';

export interface Shop {
  dir: string;
  files: ChainFiles;
  rootPem: string;
  store: OrderStore;
  apps: RunningOrderServer[];
  slb: RunningSlb;
  slbLog: string[];
  /** Start an app again on the port it had (after a test stopped it). */
  restartApp(index: number): Promise<RunningOrderServer>;
  close(): Promise<void>;
}

/** One chain per test file is enough; RSA key generation is the slow part. */
export function makeChainDir(prefix: string): { dir: string; files: ChainFiles } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const { files } = ensureChain({ dir: path.join(dir, 'certs') });
  return { dir, files };
}

export async function startShop(
  chain: { dir: string; files: ChainFiles },
  slbOptions: Partial<SlbOptions> = {},
): Promise<Shop> {
  const { dir, files } = chain;
  const store = OrderStore.open(fs.mkdtempSync(path.join(dir, 'orders-')) + '/orders.jsonl');
  const apps: RunningOrderServer[] = [];
  for (const name of ['app-1', 'app-2']) apps.push(await startOrderServer({ name, store, host: '127.0.0.1', port: 0, trustedProxies: ['127.0.0.1'] }));
  const slbLog: string[] = [];
  const slb = await startSlb({
    host: '127.0.0.1',
    port: 0,
    cert: fs.readFileSync(files.fullChain, 'utf8'),
    key: fs.readFileSync(files.leafKey, 'utf8'),
    serverNames: ['www.geektime.test', 'geektime.test'],
    backends: apps.map((a) => ({ name: a.name, url: a.url })),
    keyLogFile: path.join(dir, 'keylog.txt'),
    healthCheck: { intervalMs: 100, timeoutMs: 500, rise: 2, fall: 2 },
    log: (line) => slbLog.push(line),
    ...slbOptions,
  });
  const shop: Shop = {
    dir,
    files,
    rootPem: fs.readFileSync(files.rootCert, 'utf8'),
    store,
    apps,
    slb,
    slbLog,
    async restartApp(index) {
      const old = apps[index]!;
      apps[index] = await startOrderServer({ name: old.name, store, host: old.host, port: old.port, trustedProxies: ['127.0.0.1'] });
      return apps[index]!;
    },
    async close() {
      await slb.close();
      for (const app of apps) await app.close().catch(() => {});
      store.close();
    },
  };
  return shop;
}

export function once<T>(emitter: NodeJS.EventEmitter, event: string, matches: (value: T) => boolean = () => true): Promise<T> {
  return new Promise((resolve) => {
    const listener = (value: T) => {
      if (!matches(value)) return;
      emitter.off(event, listener);
      resolve(value);
    };
    emitter.on(event, listener);
  });
}

/** A raw HTTPS request, for headers and bodies the order client would never send. */
export function rawRequest(s: Shop, opts: { method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer }) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
    const req = https.request(
      {
        host: s.slb.host,
        port: s.slb.port,
        servername: 'www.geektime.test',
        ca: s.rootPem,
        method: opts.method ?? 'POST',
        path: opts.path ?? '/purchaseOrder',
        headers: { host: `www.geektime.test:${s.slb.port}`, 'content-type': 'application/json', ...opts.headers },
        agent: false,
      },
      (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}
