// Starting every role of the lab, and `npm run lab -- up`, which keeps them running until Ctrl-C.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ensureChain, chainFiles, type EnsureChainResult } from '../certs/chain.ts';
import { OrderStore } from '../servers/order-store.ts';
import { startOrderServer } from '../servers/order-service.ts';
import { startSlb, type RunningSlb } from '../servers/slb.ts';
import { startAuthoritative } from '../servers/dns/authoritative.ts';
import { labZones, NAME_SERVERS, STATIC_HOST } from '../servers/dns/lab-zones.ts';
import { startOrigin, type RunningOrigin } from '../servers/cdn/origin.ts';
import { startCache, type RunningCache } from '../servers/cdn/cache.ts';
import { startGslb, type RunningGslb } from '../servers/dns/gslb.ts';
import { startResolver, type RunningResolver } from '../servers/dns/resolver.ts';
import { ListenError } from '../servers/net/listen.ts';
import { labDir } from './paths.ts';
import { assertNoRunningLab, displayPath, writeState, removeState, type LabState, type RoleState } from './state.ts';
import { planRoles, EDGE_REGIONS, defaultAddressing, SHOP_HOST, type Addressing, type RolePlan } from './topology.ts';
import { parseSlbTlsMode, type SlbTlsMode } from '../servers/net/tls-modes.ts';

export interface LabOptions {
  addressing?: Addressing;
  ephemeral?: boolean;
  slbPort?: number;
  slbTls?: SlbTlsMode;
  /** Where the servers' own log lines go. */
  log?: (line: string) => void;
}

export interface RunningLab {
  state: LabState;
  statePath: string;
  certs: EnsureChainResult;
  slb: RunningSlb;
  gslb: RunningGslb;
  resolver: RunningResolver;
  origin: RunningOrigin;
  caches: RunningCache[];
  /** Notes for the person running it (e.g. "port 443 not allowed, using 8443"). */
  notes: string[];
  stop(): Promise<void>;
}

/**
 * Start the roles in dependency order and write state.json: the DNS tree (root, TLD, the shop's and
 * the CDN's authoritative servers), the GSLB, the local resolver that walks them, then the app
 * servers and the SLB in front of them.
 */
export async function startLab(opts: LabOptions = {}): Promise<RunningLab> {
  const addressing = opts.addressing ?? defaultAddressing();
  const log = opts.log ?? (() => {});
  const dir = labDir();
  assertNoRunningLab();
  const certs = ensureChain({ dir: path.join(dir, 'certs') });
  const files = chainFiles(path.join(dir, 'certs'));
  const orderLog = path.join(dir, 'orders.jsonl');
  const keyLog = path.join(dir, 'keylog.txt');
  const walkLog = path.join(dir, 'dns-walks.jsonl');
  const notes: string[] = [];
  const stops: Array<() => Promise<void>> = [];
  const roles: RoleState[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  };

  const plans = planRoles({ addressing, ephemeral: opts.ephemeral, slbPort: opts.slbPort });
  const plan = (name: string) => plans.find((p) => p.name === name)!;
  try {
    // ── DNS ───────────────────────────────────────────────────────────────────────────────
    const zones = labZones({
      root: plan('root').host,
      tld: plan('tld').host,
      shop: plan('shop-dns').host,
      cdn: plan('cdn-dns').host,
      gslb: plan('gslb').host,
      slb: plan('slb').host,
    });
    // Referrals carry addresses, never ports. On a real network every name server listens on 53;
    // here some may not, so the resolver is told which port each name server really has.
    const nsPorts = new Map<string, number>();
    const authoritative: Array<[string, typeof zones.root, string]> = [
      ['root', zones.root, NAME_SERVERS.root],
      ['tld', zones.tld, NAME_SERVERS.tld],
      ['shop-dns', zones.shop, NAME_SERVERS.shop],
      ['cdn-dns', zones.cdn, NAME_SERVERS.cdn],
    ];
    for (const [name, zone, nsName] of authoritative) {
      const p = plan(name);
      const server = await withPortFallback(p, notes, (port) => startAuthoritative({ name, host: p.host, port, zones: [zone], log }));
      stops.push(() => server.close());
      nsPorts.set(nsName, server.port);
      roles.push({ name, what: p.what, host: server.host, port: server.port, protocol: 'dns' });
    }

    // ── The CDN: origin ← parent cache ← edge caches, and the GSLB that picks an edge ────────────
    const originPlan = plan('origin');
    const origin = await withPortFallback(originPlan, notes, (port) =>
      startOrigin({ host: originPlan.host, port, contentDir: path.join(dir, 'origin'), hostnames: [STATIC_HOST], log }),
    );
    stops.push(() => origin.close());
    roles.push({ name: 'origin', what: originPlan.what, host: origin.host, port: origin.port, protocol: 'http', url: origin.url });

    const startTier = async (name: string, upstream: string) => {
      const p = plan(name);
      const cache = await withPortFallback(p, notes, (port) => startCache({ name, host: p.host, port, upstream, hostnames: [STATIC_HOST], log }));
      stops.push(() => cache.close());
      roles.push({ name, what: p.what, host: cache.host, port: cache.port, protocol: 'http', url: cache.url });
      return cache;
    };
    const parent = await startTier('parent', origin.url);
    const edges: RunningCache[] = [];
    for (const { edge } of EDGE_REGIONS) edges.push(await startTier(edge, parent.url));

    const gslbPlan = plan('gslb');
    const gslb = await withPortFallback(gslbPlan, notes, (port) =>
      startGslb({
        host: gslbPlan.host,
        port,
        edges: EDGE_REGIONS.map(({ edge, region }, i) => ({ name: edge, region, address: edges[i]!.host, healthUrl: `${edges[i]!.url}/healthz` })),
        regions: EDGE_REGIONS.map(({ region, subnet, nearest }) => ({ name: region, subnets: [subnet], nearest })),
        defaultRegion: 'north',
        log,
      }),
    );
    stops.push(() => gslb.close());
    nsPorts.set(NAME_SERVERS.gslb, gslb.port);
    roles.push({ name: 'gslb', what: gslbPlan.what, host: gslb.host, port: gslb.port, protocol: 'dns' });

    const resolverPlan = plan('local-dns');
    const resolver = await withPortFallback(resolverPlan, notes, (port) =>
      startResolver({
        host: resolverPlan.host,
        port,
        rootHints: [{ name: NAME_SERVERS.root, address: plan('root').host }],
        portOf: (nsName) => nsPorts.get(nsName) ?? 53,
        walkLog,
        log,
      }),
    );
    stops.push(() => resolver.close());
    roles.push({ name: 'local-dns', what: resolverPlan.what, host: resolver.host, port: resolver.port, protocol: 'dns' });

    // ── The order path ────────────────────────────────────────────────────────────────────
    // The two app servers share one order store, as real app servers share one database.
    const store = OrderStore.open(orderLog);
    stops.push(async () => store.close());
    const appUrls: { name: string; url: string }[] = [];
    for (const name of ['app-1', 'app-2']) {
      const p = plan(name);
      const app = await withPortFallback(p, notes, (port) => startOrderServer({ name, store, host: p.host, port, log }));
      stops.push(() => app.close());
      appUrls.push({ name, url: app.url });
      roles.push({ name, what: p.what, host: app.host, port: app.port, protocol: 'http', url: app.url });
    }

    const p = plan('slb');
    const slb = await withPortFallback(p, notes, (port) =>
      startSlb({
        host: p.host,
        port,
        cert: fs.readFileSync(files.fullChain, 'utf8'),
        key: fs.readFileSync(files.leafKey, 'utf8'),
        serverNames: ['www.geektime.test', 'geektime.test'],
        backends: appUrls,
        tls: opts.slbTls ?? 'both',
        // The seed's RSA key exchange gets a port of its own, so the shop's port stays forward secret.
        classicPort: opts.ephemeral ? 0 : SLB_CLASSIC_PORT,
        keyLogFile: keyLog,
        log,
      }),
    );
    stops.push(() => slb.close());
    const slbUrl = `https://${SHOP_HOST}${slb.port === 443 ? '' : `:${slb.port}`}/`;
    roles.push({ name: 'slb', what: p.what, host: slb.host, port: slb.port, protocol: 'https', url: slbUrl });
    if (slb.classicPort !== undefined && slb.classicPort !== slb.port) {
      const what = "the SLB's classic port: only the seed's TLS 1.2 RSA key exchange (no forward secrecy)";
      roles.push({ name: 'slb-classic', what, host: slb.host, port: slb.classicPort, protocol: 'https', url: `https://${SHOP_HOST}:${slb.classicPort}/` });
    }

    const state: LabState = {
      pid: process.pid,
      startedAt: new Date().toISOString(),
      addressing,
      shopHost: SHOP_HOST,
      roles,
      rootCa: files.rootCert,
      intermediateCa: files.intermediateCert,
      keyLog,
      orderLog,
      walkLog,
    };
    const statePath = writeState(state);
    return {
      state,
      statePath,
      certs,
      slb,
      gslb,
      resolver,
      origin,
      caches: [parent, ...edges],
      notes,
      stop: async () => {
        removeState();
        await stopAll();
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/**
 * Try the plan's ports in order. A standard port we may not bind (443 without privilege), or one
 * already taken (127.0.0.53:53 is systemd-resolved's on many Linux desktops), falls back to the
 * role's high port, with a note saying so. A taken high port is an error: the user must choose.
 */
async function withPortFallback<T>(plan: RolePlan, notes: string[], start: (port: number) => Promise<T>): Promise<T> {
  for (const [i, port] of plan.ports.entries()) {
    try {
      return await start(port);
    } catch (err) {
      const next = plan.ports[i + 1];
      if (!(err instanceof ListenError) || next === undefined) throw err;
      if (err.code === 'EACCES') {
        notes.push(
          `${plan.name}: port ${port} needs privilege, so it listens on ${next} instead ` +
            `(for ${port}: run as root, or \`sudo sysctl net.ipv4.ip_unprivileged_port_start=${port}\`)`,
        );
      } else if (err.code === 'EADDRINUSE') {
        notes.push(`${plan.name}: ${plan.host}:${port} is taken by another program, so it listens on ${next} instead`);
      } else throw err;
    }
  }
  throw new Error(`${plan.name}: no port to try`);
}

/** The SLB's classic port (tls 'both'): openssl s_server's default port, familiar from TLS tutorials. */
export const SLB_CLASSIC_PORT = 4433;

/** How to reach the running lab with everyday tools. */
export function howToReach(lab: RunningLab): string[] {
  const slb = lab.state.roles.find((r) => r.name === 'slb')!;
  const classic = lab.state.roles.find((r) => r.name === 'slb-classic') ?? slb;
  const rel = displayPath;
  const portPart = slb.port === 443 ? '' : `:${slb.port}`;
  const body = `'{"order":{"date":"2018-07-01","className":"趣谈网络协议","Author":"刘超","price":"68"}}'`;
  const dns = (name: string) => lab.state.roles.find((r) => r.name === name)!;
  const port = (r: { port: number }) => (r.port === 53 ? '' : ` -p ${r.port}`);
  const phone = lab.state.addressing === 'per-role' ? ' -b 127.10.1.10' : '';
  return [
    `dig @${dns('local-dns').host}${port(dns('local-dns'))}${phone} static.geektime.test        # the phone's question to its local DNS`,
    `dig @${dns('root').host}${port(dns('root'))} +norec www.geektime.test              # the root's referral`,
    `curl --cacert ${rel(lab.state.rootCa)} --resolve ${SHOP_HOST}:${slb.port}:${slb.host} \\`,
    `     -H 'content-type: application/json' -d ${body} https://${SHOP_HOST}${portPart}/purchaseOrder`,
    `openssl s_client -connect ${classic.host}:${classic.port} -servername ${SHOP_HOST} -CAfile ${rel(lab.state.rootCa)} -tls1_2 -cipher AES128-GCM-SHA256`,
    `npm run lab -- order --mode classic      (or --mode modern)`,
    `Wireshark: capture on loopback, filter "tcp.port == ${slb.port}", TLS key log: ${rel(lab.state.keyLog)}`,
  ];
}

export async function upCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'single-address': { type: 'boolean', default: false },
      ephemeral: { type: 'boolean', default: false },
      'slb-port': { type: 'string' },
      tls: { type: 'string', default: 'both' },
      quiet: { type: 'boolean', default: false },
    },
  });
  const tlsChoice = parseSlbTlsMode(values.tls, 'both');
  const lab = await startLab({
    addressing: values['single-address'] ? 'single' : undefined,
    ephemeral: values.ephemeral,
    slbPort: values['slb-port'] !== undefined ? parsePort(values['slb-port'], '--slb-port') : undefined,
    slbTls: tlsChoice,
    log: values.quiet ? undefined : (line) => console.log(`  | ${line}`),
  });

  const made = lab.certs.made.length ? `made ${lab.certs.made.join(', ')}` : 'reused';
  console.log(`Certificates: ${made} (${displayPath(path.dirname(lab.state.rootCa))}/)`);
  for (const note of lab.notes) console.log(`Note: ${note}`);
  console.log(`Roles (${lab.state.addressing === 'per-role' ? 'one loopback address per role' : 'one address, one port per role'}):`);
  for (const r of lab.state.roles) {
    console.log(`  ${r.name.padEnd(9)} ${`${r.protocol}://${r.host}:${r.port}`.padEnd(26)} ${r.what}`);
  }
  console.log('Reach it with:');
  for (const line of howToReach(lab)) console.log(`  ${line}`);
  console.log(`State: ${displayPath(lab.statePath)}`);
  console.log('Lab is up. Press Ctrl-C to stop.');

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  console.log('Stopping...');
  await lab.stop();
  console.log('Lab stopped.');
  return 0;
}

export function parsePort(value: string, flag: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${flag} must be a port number 0-65535, not "${value}"`);
  return port;
}
