// Who listens where (see shared/DESIGN.md, "Default topology").
//
// On Linux every address in 127.0.0.0/8 is local, so each role gets its own address and a capture
// shows who talks to whom by IP alone. Elsewhere (macOS has only 127.0.0.1 unless aliased) every
// role shares 127.0.0.1 and is told apart by port.
import { lang, type Lang } from './lang.ts';
import { upWords } from './words/up.ts';
import { roleWhat } from './story/words/en/roles.ts'; // the state's words are English: state.json is data
import fs from 'node:fs';
import os from 'node:os';
import { STATIC_HOST } from '../servers/dns/lab-zones.ts';
import type { RoleState } from './state.ts';

export type Addressing = 'per-role' | 'single';
export type Region = 'north' | 'south';

export interface RolePlan {
  name: string;
  /** What the role is, in the story's words. */
  what: string;
  host: string;
  /** Ports to try in order: a standard port first where this process may bind it, then a high one. */
  ports: number[];
  /** The standard port this role skipped because this process may not bind it (it says so). */
  unprivileged?: { standard: number; instead: number };
  protocol: 'https' | 'http' | 'dns';
  /** A second listener on the same address for HTTPS (the CDN's edges): its ports, the same way. */
  tls?: { ports: number[]; unprivileged?: { standard: number; instead: number } };
}

export interface TopologyOptions {
  addressing?: Addressing;
  /** Every role on port 0 (any free port): for tests and for running beside another lab. */
  ephemeral?: boolean;
  slbPort?: number;
  /** May this process bind the port? (canBindPort; tests pass their own.) */
  canBind?: (port: number) => boolean;
}

export function defaultAddressing(): Addressing {
  return os.platform() === 'linux' ? 'per-role' : 'single';
}

/** May this process bind `port`? Above 1023 always; below, as root or with a lowered unprivileged port start. */
export function canBindPort(port: number): boolean {
  if (port >= 1024 || os.platform() === 'win32') return true;
  if (process.getuid?.() === 0) return true;
  try {
    return Number(fs.readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8')) <= port;
  } catch {
    return false;
  }
}

/** A role as the lab's words know it (lab/story/words/en/roles.ts). */
type RoleKey = keyof typeof roleWhat;

// name, per-role address, protocol, standard port, high port (per-role), port on a single address
const ROLES: Array<[RoleKey, string, RolePlan['protocol'], number, number, number]> = [
  ['root', '127.0.0.10', 'dns', 53, 8053, 8054],
  ['tld', '127.0.0.11', 'dns', 53, 8053, 8055],
  ['shop-dns', '127.0.0.12', 'dns', 53, 8053, 8056],
  ['cdn-dns', '127.0.0.13', 'dns', 53, 8053, 8057],
  ['gslb', '127.0.0.14', 'dns', 53, 8053, 8058],
  ['local-dns', '127.0.0.53', 'dns', 53, 8053, 8053],
  ['origin', '127.0.0.40', 'http', 80, 8080, 8094],
  ['parent', '127.0.0.30', 'http', 80, 8080, 8093],
  ['edge-north', '127.0.0.21', 'http', 80, 8080, 8091],
  ['edge-south', '127.0.0.22', 'http', 80, 8080, 8092],
  ['app-1', '127.0.0.81', 'http', 8080, 8080, 8081],
  ['app-2', '127.0.0.82', 'http', 8080, 8080, 8082],
  ['slb', '127.0.0.80', 'https', 443, 8443, 8443],
];

// The edges also serve HTTPS for static.geektime.test, as real CDNs do: a product page loaded over
// https may only show pictures fetched over https. Standard port, high port (per-role: each edge
// has its own address, so 8443 is free there), port on a single address (8443 is the SLB's there).
const TLS_PORTS: Record<string, [number, number, number]> = {
  'edge-north': [443, 8443, 8444],
  'edge-south': [443, 8443, 8445],
};

export function planRoles(opts: TopologyOptions = {}): RolePlan[] {
  const addressing = opts.addressing ?? defaultAddressing();
  const perRole = addressing === 'per-role';
  const canBind = opts.canBind ?? canBindPort;
  /** The ports one listener tries, in order, and the standard port it skips without privilege. */
  const portsFor = (standard: number, high: number, single: number): Pick<RolePlan, 'ports' | 'unprivileged'> => {
    if (opts.ephemeral) return { ports: [0] };
    if (!perRole) return { ports: [single] };
    if (canBind(standard)) return { ports: [...new Set([standard, high])] };
    return { ports: [high], unprivileged: { standard, instead: high } };
  };
  return ROLES.map(([name, address, protocol, standard, high, single]) => {
    const listener = name === 'slb' && opts.slbPort !== undefined ? { ports: [opts.slbPort] } : portsFor(standard, high, single);
    const tls = TLS_PORTS[name];
    return { name, what: roleWhat[name], host: perRole ? address : '127.0.0.1', ...listener, protocol, ...(tls && { tls: portsFor(...tls) }) };
  });
}

/**
 * state.json's entry for an edge's HTTPS port: another listener of the same role (`partOf`), as
 * `slb-classic` is the SLB's, so whatever counts roles (DNS servers, edges, the GSLB's choice)
 * still counts the edge once. Its URL is the one a browser uses on an https page.
 */
export function edgeTlsRole(edge: RoleState, port: number): RoleState {
  return {
    name: `${edge.name}-tls`,
    partOf: edge.name,
    what: roleWhat[`${edge.name}-tls` as RoleKey] ?? roleWhat['edge-north-tls'],
    host: edge.host,
    port,
    protocol: 'https',
    url: `https://${STATIC_HOST}${port === 443 ? '' : `:${port}`}/`,
    ...(edge.namespace !== undefined && { namespace: edge.namespace }),
    ...(edge.pid !== undefined && { pid: edge.pid }),
  };
}

/** The CDN's edge caches the GSLB chooses between: one per region, each near its clients. */
export const EDGE_REGIONS: Array<{ edge: string; region: Region; subnet: string; nearest: string[] }> = [
  { edge: 'edge-north', region: 'north', subnet: '127.10.1.0/24', nearest: ['edge-north', 'edge-south'] },
  { edge: 'edge-south', region: 'south', subnet: '127.10.2.0/24', nearest: ['edge-south', 'edge-north'] },
];

/** The phone's own address in its region: a real source address on Linux, 127.0.0.1 elsewhere. */
export function clientAddress(region: Region, addressing: Addressing | 'namespaces' = defaultAddressing()): string | undefined {
  if (addressing !== 'per-role') return undefined; // ns mode: the phone is a namespace of its own (state.net.phones)
  return region === 'north' ? '127.10.1.10' : '127.10.2.10';
}

/**
 * Health checks leave from addresses of their own (the GSLB's to the edges, the SLB's to the app
 * servers), so a capture filter can leave them out of the story: `not host 127.0.0.114 and not
 * host 127.0.0.180`. On one shared address there is nothing to tell them apart by.
 */
const HEALTH_CHECK_SOURCES = { gslb: '127.0.0.114', slb: '127.0.0.180' } as const;

export function healthCheckSource(role: keyof typeof HEALTH_CHECK_SOURCES, addressing: Addressing = defaultAddressing()): string | undefined {
  return addressing === 'per-role' ? HEALTH_CHECK_SOURCES[role] : undefined;
}

export const SHOP_HOST = 'www.geektime.test';

/**
 * One line per standard port the lab could not use for lack of privilege, naming the roles that
 * moved, where to, and how to get the standard port: the README promises the lab says so.
 */
export function unprivilegedNotes(plans: RolePlan[], l: Lang = lang()): string[] {
  const said = upWords(l);
  const moved = new Map<number, { instead: number; roles: string[] }>();
  const listeners = plans.flatMap((p) => [{ name: p.name, unprivileged: p.unprivileged }, { name: said.httpsOf(p.name), unprivileged: p.tls?.unprivileged }]);
  for (const p of listeners) {
    if (!p.unprivileged) continue;
    const entry = moved.get(p.unprivileged.standard) ?? { instead: p.unprivileged.instead, roles: [] };
    entry.roles.push(p.name);
    moved.set(p.unprivileged.standard, entry);
  }
  return [...moved].map(([standard, { instead, roles }]) => said.portsMoved(standard, roles, instead));
}
