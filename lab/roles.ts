// Every role of the lab as plain data (a RoleSpec) and one function that starts a role from it.
// The same spec starts a role inside the `lab` process (loopback mode, under the supervisor) or as
// a process of its own inside its host's network namespace (ns mode: lab/role-host.ts), so the two
// modes cannot configure a role differently. Specs are JSON: no functions, no open files.
import fs from 'node:fs';
import type { OrderStore } from '../servers/order-store.ts';
import type { RunningOrderServer } from '../servers/order-service.ts';
import type { RunningSlb } from '../servers/slb.ts';
import type { RunningDnsServer } from '../servers/dns/dns-server.ts';
import type { Delegations, DnsAddresses } from '../servers/dns/lab-zones.ts';
import type { RunningOrigin } from '../servers/cdn/origin.ts';
import type { RunningCache } from '../servers/cdn/cache.ts';
import type { EdgeConfig, RegionConfig, RunningGslb } from '../servers/dns/gslb.ts';
import type { RunningResolver } from '../servers/dns/resolver.ts';
import { contains, isIpv4, parseCidr, parseIpv4 } from '../servers/net/ipv4.ts';
import type { BackendConfig } from '../servers/slb-health.ts';
import type { SlbTlsMode } from '../servers/net/tls-modes.ts';

interface Base {
  name: string;
  host: string;
  port: number;
}

/** root, tld, shop-dns, cdn-dns: one zone of the lab's DNS tree, built from the servers' addresses. */
export interface AuthoritativeSpec extends Base {
  kind: 'authoritative';
  zone: 'root' | 'tld' | 'shop' | 'cdn';
  addresses: DnsAddresses;
  /** The TLD's delegations: which name server each names (default: the zone's own). */
  delegations?: Delegations;
}
export interface GslbSpec extends Base {
  kind: 'gslb';
  edges: EdgeConfig[];
  regions: RegionConfig[];
  defaultRegion: string;
  healthCheckFrom?: string;
}
export interface ResolverSpec extends Base {
  kind: 'resolver';
  rootHints: Array<{ name: string; address: string }>;
  /** The port of each name server by name (referrals carry addresses, never ports); 53 if absent. */
  nsPorts: Record<string, number>;
  /** Who may ask it, as CIDR blocks besides loopback (the phones' networks in ns mode). */
  clientSubnets?: string[];
  walkLog?: string;
}
export interface OriginSpec extends Base {
  kind: 'origin';
  contentDir: string;
  /** Answer content this much later (health checks are never slowed). */
  delayMs?: number;
}
export interface CacheSpec extends Base {
  kind: 'cache';
  upstream: string;
  maxHeaderBytes: number;
  purgeToken: string;
  /** An edge's HTTPS port too: the CDN leaf (cdn-chain.crt) and its key, read when the role starts. */
  tls?: { certFile: string; keyFile: string; port: number };
}
export interface AppSpec extends Base {
  kind: 'app';
  orderLog: string;
  trustedProxies: string[];
  /** The product page at /, its pictures from this CDN origin (https://static.geektime.test[:port]). */
  cdn?: string;
  /** What GET /healthz says (default 'ok'); 'failing' answers 503 while orders are still served. */
  healthz?: 'ok' | 'failing';
}
export interface SlbSpec extends Base {
  kind: 'slb';
  certFile: string;
  keyFile: string;
  serverNames: string[];
  backends: BackendConfig[];
  tls: SlbTlsMode;
  classicPort?: number;
  keyLogFile: string;
  healthCheckFrom?: string;
}

export type RoleSpec = AuthoritativeSpec | GslbSpec | ResolverSpec | OriginSpec | CacheSpec | AppSpec | SlbSpec;

/** The events each kind of role emits that the walkthrough reads (a role process sends these, and only these, to the lab). */
export const OBSERVED: Partial<Record<RoleSpec['kind'], string[]>> = {
  gslb: ['decision'],
  resolver: ['resolved'],
  slb: ['accept', 'request'],
  origin: ['request'],
};

/** What each kind of spec starts. */
export interface RunningRoles {
  authoritative: RunningDnsServer;
  gslb: RunningGslb;
  resolver: RunningResolver;
  origin: RunningOrigin;
  cache: RunningCache;
  app: RunningOrderServer;
  slb: RunningSlb;
}
export type RunningRole = RunningRoles[keyof RunningRoles];

export interface StartContext {
  log: (line: string) => void;
  /** The app servers' order store: shared by both apps in one process; a process of its own opens its own. */
  store?: (file: string) => OrderStore;
}

export async function startRole<S extends RoleSpec>(spec: S, ctx: StartContext): Promise<RunningRoles[S['kind']]>;
export async function startRole(spec: RoleSpec, ctx: StartContext): Promise<RunningRole> {
  const { name, host, port } = spec;
  const log = ctx.log;
  // Each kind loads only its own server's code: a role in a process of its own starts faster.
  switch (spec.kind) {
    case 'authoritative': {
      const [{ startAuthoritative }, { labZones }] = await Promise.all([import('../servers/dns/authoritative.ts'), import('../servers/dns/lab-zones.ts')]);
      return startAuthoritative({ name, host, port, zones: [labZones(spec.addresses, spec.delegations)[spec.zone]], log });
    }
    case 'gslb': {
      const { startGslb } = await import('../servers/dns/gslb.ts');
      return startGslb({ name, host, port, edges: spec.edges, regions: spec.regions, defaultRegion: spec.defaultRegion, healthCheckFrom: spec.healthCheckFrom, log });
    }
    case 'resolver': {
      const { isLoopback, startResolver } = await import('../servers/dns/resolver.ts');
      const subnets = (spec.clientSubnets ?? []).map(parseCidr);
      return startResolver({
        name,
        host,
        port,
        rootHints: spec.rootHints,
        portOf: (nsName) => spec.nsPorts[nsName] ?? 53,
        walkLog: spec.walkLog,
        // Loopback always (dig on this host); the phones' networks when they are real ones.
        ...(subnets.length && { allowClients: (address: string) => isLoopback(address) || (isIpv4(address) && subnets.some((s) => contains(s, parseIpv4(address)))) }),
        log,
      });
    }
    case 'origin': {
      const [{ startOrigin }, { STATIC_HOST }] = await Promise.all([import('../servers/cdn/origin.ts'), import('../servers/dns/lab-zones.ts')]);
      return startOrigin({ name, host, port, contentDir: spec.contentDir, hostnames: [STATIC_HOST], ...(spec.delayMs && { slowMs: spec.delayMs }), log });
    }
    case 'cache': {
      const [{ startCache }, { STATIC_HOST }] = await Promise.all([import('../servers/cdn/cache.ts'), import('../servers/dns/lab-zones.ts')]);
      const tls = spec.tls && { cert: fs.readFileSync(spec.tls.certFile, 'utf8'), key: fs.readFileSync(spec.tls.keyFile, 'utf8'), port: spec.tls.port };
      return startCache({ name, host, port, upstream: spec.upstream, hostnames: [STATIC_HOST], maxHeaderBytes: spec.maxHeaderBytes, purgeToken: spec.purgeToken, tls, log });
    }
    case 'app': {
      const [{ startOrderServer }, { OrderStore }] = await Promise.all([import('../servers/order-service.ts'), import('../servers/order-store.ts')]);
      const store = (ctx.store ?? ((file) => OrderStore.open(file, { log })))(spec.orderLog);
      // Only the SLB's X-Forwarded-For is believed (it is the SLB that connects to the apps).
      return startOrderServer({ name, store, host, port, log, trustedProxies: spec.trustedProxies, ...(spec.cdn && { page: { cdn: spec.cdn } }), ...(spec.healthz && { healthz: spec.healthz }) });
    }
    case 'slb': {
      const { startSlb } = await import('../servers/slb.ts');
      return startSlb({
        name,
        host,
        port,
        cert: fs.readFileSync(spec.certFile, 'utf8'),
        key: fs.readFileSync(spec.keyFile, 'utf8'),
        serverNames: spec.serverNames,
        backends: spec.backends,
        tls: spec.tls,
        classicPort: spec.classicPort,
        keyLogFile: spec.keyLogFile,
        healthCheckFrom: spec.healthCheckFrom,
        log,
      });
    }
  }
}
