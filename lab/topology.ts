// Who listens where (see shared/DESIGN.md, "Default topology").
//
// On Linux every address in 127.0.0.0/8 is local, so each role gets its own address and a capture
// shows who talks to whom by IP alone. Elsewhere (macOS has only 127.0.0.1 unless aliased) every
// role shares 127.0.0.1 and is told apart by port.
import fs from 'node:fs';
import os from 'node:os';

export type Addressing = 'per-role' | 'single';
export type Region = 'north' | 'south';

export interface RolePlan {
  name: string;
  /** What the role is, in the story's words. */
  what: string;
  host: string;
  /** Ports to try in order; the first that can be bound wins (443, then 8443 for the SLB). */
  ports: number[];
  protocol: 'https' | 'http';
}

export interface TopologyOptions {
  addressing?: Addressing;
  /** Every role on port 0 (any free port): for tests and for running beside another lab. */
  ephemeral?: boolean;
  slbPort?: number;
}

export function defaultAddressing(): Addressing {
  return os.platform() === 'linux' ? 'per-role' : 'single';
}

/** Can this process bind ports below 1024? Root, or a lowered unprivileged port start. */
export function canBindPrivilegedPorts(): boolean {
  if (os.platform() === 'win32') return true;
  if (process.getuid?.() === 0) return true;
  try {
    const start = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8'));
    return start <= 443;
  } catch {
    return false;
  }
}

export function planRoles(opts: TopologyOptions = {}): RolePlan[] {
  const addressing = opts.addressing ?? defaultAddressing();
  const perRole = addressing === 'per-role';
  const at = (address: string) => (perRole ? address : '127.0.0.1');
  const port = (...wanted: number[]) => (opts.ephemeral ? [0] : wanted);
  const slbPorts = opts.slbPort !== undefined ? [opts.slbPort] : port(...(canBindPrivilegedPorts() ? [443, 8443] : [8443]));

  return [
    { name: 'app-1', what: 'app server: POST /purchaseOrder', host: at('127.0.0.81'), ports: port(perRole ? 8080 : 8081), protocol: 'http' },
    { name: 'app-2', what: 'app server: POST /purchaseOrder', host: at('127.0.0.82'), ports: port(perRole ? 8080 : 8082), protocol: 'http' },
    { name: 'slb', what: 'TLS-terminating load balancer (the shop\'s VIP)', host: at('127.0.0.80'), ports: slbPorts, protocol: 'https' },
  ];
}

/** The phone's own address in its region: a real source address on Linux, 127.0.0.1 elsewhere. */
export function clientAddress(region: Region, addressing: Addressing = defaultAddressing()): string | undefined {
  if (addressing !== 'per-role') return undefined;
  return region === 'north' ? '127.10.1.10' : '127.10.2.10';
}

export const SHOP_HOST = 'www.geektime.test';
