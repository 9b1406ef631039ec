// Fault switches for the workshop: break one thing on purpose, see what a user notices, mend it.
//
//   npm run lab -- faults                 every fault, what it breaks, and whether it is on
//   npm run lab -- fault slow-origin on   switch one on in the running lab (`off` mends it)
//
// FAULTS below is the one catalogue. A fault is one of three kinds:
//   - 'stop'  a role goes down: the supervisor stops it, and `off` starts it again on its port;
//   - 'spec'  a pure change of some roles' specs (lab/roles.ts), say the origin gets a delay. up.ts
//             builds every spec through withFaults(), which applies the faults that are on, so
//             restarting the role applies the change; `off` restarts it again with the spec of
//             before: the same ports, the same certificates;
//   - 'link'  tc netem on the phone's radio link: ns mode only (on loopback there is no link).
// The servers know nothing of faults: they get small, general options (a delay, a failing health
// endpoint, which certificate files to serve, a region map, which name server a delegation names).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import zlib from 'node:zlib';
import { brokenChainFiles, ensureBrokenChains, chainFiles, type BrokenChainFiles, type ChainFiles } from '../certs/chain.ts';
import { NAME_SERVERS } from '../servers/dns/lab-zones.ts';
import type { NetPlan } from './net-ns/plan.ts';
import type { RoleSpec } from './roles.ts';
import { control } from './control.ts';
import { readState, statePath, type LabState } from './state.ts';
import type { RoleControl, RoleRecord } from './supervisor.ts';

/** Where a spec change finds the certificate files it serves instead. */
export interface FaultContext {
  chain: ChainFiles;
  broken: BrokenChainFiles;
}

export function faultContext(certDir: string): FaultContext {
  return { chain: chainFiles(certDir), broken: brokenChainFiles(certDir) };
}

type SpecOf<K extends RoleSpec['kind']> = Extract<RoleSpec, { kind: K }>;
type Change = (spec: RoleSpec, ctx: FaultContext) => RoleSpec;

/** A change that applies to one kind of role and leaves every other spec as it is. */
function change<K extends RoleSpec['kind']>(kind: K, f: (spec: SpecOf<K>, ctx: FaultContext) => SpecOf<K>): Change {
  return (spec, ctx) => (spec.kind === kind ? f(spec as SpecOf<K>, ctx) : spec);
}

interface Common {
  /** What it breaks, in one line. */
  breaks: string;
  /** The roles it acts on. */
  roles: string[];
  /** What a user sees, and with which command. */
  see: string;
  /**
   * Roles restarted as well, on and off, to empty a cache, as if every TTL had run out: the local
   * DNS would otherwise answer from its cache (the shop's names for 10 minutes, its delegation for
   * two days), which is real and worth seeing, but hides the fault.
   */
  flush?: string[];
}
export type Fault =
  | (Common & { how: 'stop' })
  | (Common & {
      how: 'spec';
      change: Change;
      /** Faults of one group change the same thing (the SLB's certificate): one at a time. */
      group?: string;
      /** Files the change needs, made before it is applied. */
      prepare?: (certDir: string) => void;
    })
  | (Common & { how: 'link'; netem: string });

/** How long slow-origin makes the origin wait: longer than a person waits calmly, shorter than the caches' 10 s upstream timeout. */
export const SLOW_ORIGIN_MS = 3_000;
/** link-delay: a bad mobile link's round trip is several hundred ms. */
export const LINK_DELAY_MS = 400;
/** link-loss: enough lost segments to see TCP retransmit. */
export const LINK_LOSS_PERCENT = 10;

const certificate = (pick: (ctx: FaultContext) => { certFile: string; keyFile: string }) =>
  change('slb', (spec, ctx) => ({ ...spec, ...pick(ctx) }));

export const FAULTS = {
  'edge-down': {
    how: 'stop',
    roles: ['edge-north'],
    breaks: 'the north edge cache stops: the GSLB sends north phones to the south edge',
    see: "the GSLB's health checks fail twice in a row (servers/net/health.ts), then it answers 127.0.0.22 for the north: `dig -b 127.10.1.10 geektime.gslb.cdn.test` at the GSLB; resolvers keep the old answer up to its TTL (30 s)",
  },
  'origin-down': {
    how: 'stop',
    roles: ['origin'],
    breaks: "the origin stops: the caches serve what they hold, and a miss gets the parent's 502",
    see: 'a cached picture is still a HIT; an uncached one gets 502 "bad gateway" naming the refused connection; a stale copy is served only where its rules say stale-if-error (RFC 5861 §4)',
  },
  'slow-origin': {
    how: 'spec',
    roles: ['origin'],
    change: change('origin', (spec) => ({ ...spec, delayMs: SLOW_ORIGIN_MS })),
    breaks: `the origin answers every request ${SLOW_ORIGIN_MS / 1000} s late: every cache miss is slow, hits are not`,
    see: 'curl -w "%{time_total}" a picture with a new query string (a miss) vs. one already cached (a HIT)',
  },
  'app-down': {
    how: 'stop',
    roles: ['app-1'],
    breaks: 'app server app-1 stops: the SLB sends every order to app-2',
    see: 'orders answer X-Served-By: app-2; a refused connection takes app-1 out at once (passive check), before its health checks do',
  },
  'slb-health-failing': {
    how: 'spec',
    roles: ['app-1'],
    change: change('app', (spec) => ({ ...spec, healthz: 'failing' })),
    breaks: "app-1's /healthz answers 503 while it still takes orders: the SLB takes it out after 2 failed checks",
    see: 'curl app-1/healthz → 503, a POST straight to app-1 → 201, yet orders through the SLB all land on app-2 (rise 2 / fall 2, servers/slb-health.ts)',
  },
  'expired-leaf': {
    how: 'spec',
    roles: ['slb'],
    group: 'the SLB certificate',
    prepare: (certDir) => ensureBrokenChains(certDir),
    change: certificate((ctx) => ({ certFile: ctx.broken.expiredChain, keyFile: ctx.broken.expiredKey })),
    breaks: "the SLB serves a leaf whose notAfter has passed (RFC 5280 §4.1.2.5)",
    see: 'curl: "SSL certificate problem: certificate has expired" (exit 60); openssl s_client: "verify error:num=10:certificate has expired"',
  },
  'missing-intermediate': {
    how: 'spec',
    roles: ['slb'],
    group: 'the SLB certificate',
    change: certificate((ctx) => ({ certFile: ctx.chain.leafCert, keyFile: ctx.chain.leafKey })),
    breaks: 'the SLB sends its leaf without the intermediate: clients cannot link it to the root they trust (RFC 8446 §4.4.2)',
    see: 'curl: "SSL certificate problem: unable to get local issuer certificate" (exit 60); openssl s_client shows a chain of one',
  },
  'wrong-san': {
    how: 'spec',
    roles: ['slb'],
    group: 'the SLB certificate',
    prepare: (certDir) => ensureBrokenChains(certDir),
    change: certificate((ctx) => ({ certFile: ctx.broken.wrongNameChain, keyFile: ctx.broken.wrongNameKey })),
    breaks: "the SLB serves a valid leaf for another name (shop.other.test): no SAN matches www.geektime.test (RFC 6125 §6)",
    see: `curl: "SSL: no alternative certificate subject name matches target host name 'www.geektime.test'" (exit 60)`,
  },
  'gslb-misconfigured': {
    how: 'spec',
    roles: ['gslb'],
    // The region map (subnet → region) with the north's subnet filed under the south: a typo in a
    // real GSLB's geo map does exactly this, and every health check still passes.
    change: change('gslb', (spec) => {
      const north = spec.regions.find((r) => r.name === 'north')?.subnets ?? [];
      return {
        ...spec,
        regions: spec.regions.map((r) => (r.name === 'north' ? { ...r, subnets: [] } : r.name === 'south' ? { ...r, subnets: [...r.subnets, ...north] } : r)),
      };
    }),
    breaks: "the GSLB's region map files the north's subnet under the south: north phones get the far edge, all checks green",
    see: "`dig -b 127.10.1.10 geektime.gslb.cdn.test` at the GSLB answers 127.0.0.22; its TXT answer says why (region south, by subnet)",
  },
  'dns-down': {
    how: 'stop',
    roles: ['shop-dns'],
    flush: ['local-dns'],
    breaks: "the shop's authoritative DNS stops: the local DNS cannot resolve geektime.test and answers SERVFAIL",
    see: 'dig www.geektime.test at the local DNS: status SERVFAIL, with the Extended DNS Error "No Reachable Authority" (RFC 8914 §4.23)',
  },
  'lame-delegation': {
    how: 'spec',
    roles: ['tld'],
    flush: ['local-dns'],
    // The TLD's NS record for geektime.test names the CDN's name server, which does not serve the
    // zone and says REFUSED: a lame delegation (RFC 1912 §2.8), the classic stale NS record.
    change: change('authoritative', (spec) => ({ ...spec, delegations: { ...spec.delegations, shop: NAME_SERVERS.cdn } })),
    breaks: `the TLD delegates geektime.test to ${NAME_SERVERS.cdn}, which is not authoritative for it: the local DNS answers SERVFAIL`,
    see: `dig +norec www.geektime.test at the TLD: "geektime.test. NS ${NAME_SERVERS.cdn}."; at that server: status REFUSED, no AA`,
  },
  'link-loss': {
    how: 'link',
    roles: ['phone-north'],
    netem: `loss ${LINK_LOSS_PERCENT}%`,
    breaks: `the north phone's radio link drops ${LINK_LOSS_PERCENT}% of packets each way, so about ${Math.round(100 * (1 - (1 - LINK_LOSS_PERCENT / 100) ** 2))}% of round trips lose one (tc netem, ns mode only)`,
    see: 'TCP retransmissions in the capture, DNS retries, slow pages',
  },
  'link-delay': {
    how: 'link',
    roles: ['phone-north'],
    netem: `delay ${LINK_DELAY_MS}ms`,
    breaks: `the north phone's radio link waits ${LINK_DELAY_MS} ms more each way (tc netem, ns mode only)`,
    see: 'ping and the TCP handshake take 2×; every DNS step and TLS round trip adds it',
  },
} satisfies Record<string, Fault>;

export type FaultName = keyof typeof FAULTS;
export const FAULT_NAMES = Object.keys(FAULTS) as FaultName[];

export function isFaultName(name: string): name is FaultName {
  return Object.hasOwn(FAULTS, name);
}

/** The fault by name, or an error that lists every name. */
export function faultNamed(name: string): Fault {
  if (!isFaultName(name)) throw new Error(`no fault "${name}"; the faults are: ${FAULT_NAMES.join(', ')}`);
  return FAULTS[name];
}

/** The spec with every fault that is on applied to it, in the catalogue's order. A pure function. */
export function withFaults<S extends RoleSpec>(spec: S, on: ReadonlySet<string>, ctx: FaultContext): S {
  let out: RoleSpec = spec;
  for (const name of FAULT_NAMES) {
    const fault: Fault = FAULTS[name];
    if (on.has(name) && fault.how === 'spec' && fault.roles.includes(spec.name)) out = fault.change(out, ctx);
  }
  return out as S;
}

/** Why a link fault cannot be applied to a loopback lab: one line. */
export function linkFaultRefusal(name: string, netem: NetemSupport = netemSupport()): string {
  const kernel = netem === 'absent' ? ', and this kernel has no netem qdisc either (CONFIG_NET_SCH_NETEM is not set)' : '';
  return `${name} needs the lab in ns mode (sudo npm run lab -- up --net ns), where the phone's radio link is a real veth that tc netem can slow; this lab runs on loopback, which has no such link${kernel}`;
}

export type NetemSupport = 'present' | 'absent' | 'unknown';

/** Does this kernel have the netem qdisc? Loaded, built in or as a module (from the kernel's config). */
export function netemSupport(): NetemSupport {
  if (fs.existsSync('/sys/module/sch_netem')) return 'present';
  const release = os.release();
  for (const file of [`/boot/config-${release}`, '/proc/config.gz']) {
    try {
      const raw = fs.readFileSync(file);
      const text = (file.endsWith('.gz') ? zlib.gunzipSync(raw) : raw).toString('utf8');
      if (/^CONFIG_NET_SCH_NETEM=[ym]$/m.test(text)) return 'present';
      if (/^# CONFIG_NET_SCH_NETEM is not set$/m.test(text)) return 'absent';
    } catch {
      // not there: try the next
    }
  }
  try {
    if (fs.readdirSync(`/lib/modules/${release}/kernel/net/sched`).some((f) => f.startsWith('sch_netem.ko'))) return 'present';
  } catch {
    // no modules folder
  }
  return 'unknown';
}

// ── Switching faults in the running lab (loopback mode: the supervisor restarts roles) ─────────────

export interface FaultReply {
  done: string;
  faults: FaultName[];
}

/**
 * The faults that are on, and the switch that turns one on or off. up.ts owns one; the control
 * socket's {cmd:'fault'} calls set(). `on` is what withFaults() consults when a role starts.
 */
export class FaultSwitches {
  readonly on = new Set<FaultName>();
  /** Switches one after another: two at once could restart the same role twice over. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly supervisor: RoleControl,
    private readonly certDir: string,
    /** Called after every change (up.ts rewrites state.json with the list). */
    private readonly changed: () => void,
  ) {}

  list(): FaultName[] {
    return FAULT_NAMES.filter((n) => this.on.has(n));
  }

  set(name: string, on: boolean): Promise<FaultReply> {
    const next = this.queue.then(() => this.apply(name, on));
    this.queue = next.catch(() => {});
    return next;
  }

  /** Before the roles start (the walkthrough's --fault): spec faults only change the first specs. */
  preset(name: string): void {
    const fault = faultNamed(name);
    if (fault.how === 'link') throw new Error(linkFaultRefusal(name));
    this.checkGroup(name as FaultName, fault);
    if (fault.how === 'spec') fault.prepare?.(this.certDir);
    this.on.add(name as FaultName);
  }

  /** After the first start: what preset() left to do (stop the roles of 'stop' faults). */
  async afterStart(): Promise<void> {
    for (const name of this.list()) {
      const fault: Fault = FAULTS[name];
      if (fault.how === 'stop') for (const role of fault.roles) await this.supervisor.stop(role, `stopped by the fault ${name}`);
    }
  }

  private checkGroup(name: FaultName, fault: Fault): void {
    if (fault.how !== 'spec' || !fault.group) return;
    const other = this.list().find((n) => n !== name && (FAULTS[n] as Fault).how === 'spec' && (FAULTS[n] as { group?: string }).group === fault.group);
    if (other) throw new Error(`${name} and ${other} both change ${fault.group}: switch ${other} off first (npm run lab -- fault ${other} off)`);
  }

  private async apply(name: string, on: boolean): Promise<FaultReply> {
    const fault = faultNamed(name);
    const key = name as FaultName;
    if (fault.how === 'link') throw new Error(linkFaultRefusal(name));
    if (this.on.has(key) === on) return { done: `${name} is already ${on ? 'on' : 'off'}: nothing done`, faults: this.list() };
    if (on) this.checkGroup(key, fault);
    const did: string[] = [];
    if (fault.how === 'stop') {
      if (on) {
        this.on.add(key);
        for (const role of fault.roles) did.push(describe(await this.supervisor.stop(role, `stopped by the fault ${name}`), 'stopped'));
      } else {
        this.on.delete(key);
        for (const role of fault.roles) did.push(describe(await this.checked(role), 'started again'));
      }
    } else {
      if (on) fault.prepare?.(this.certDir);
      if (on) this.on.add(key);
      else this.on.delete(key);
      for (const role of fault.roles) {
        // A role that is not up (stopped by the operator or by another fault) gets the new spec
        // when it next starts: restarting it here would bring it back against their wish.
        const status = this.supervisor.status().find((r) => r.name === role)?.status;
        if (status !== 'up') {
          did.push(`${role} is ${status ?? 'unknown'}: it gets the change when it starts again`);
          continue;
        }
        try {
          did.push(describe(await this.checked(role), on ? 'restarted with the change' : 'restarted as before'));
        } catch (err) {
          // The changed spec would not start: put the role back as it was and say why.
          if (on) this.on.delete(key);
          else this.on.add(key);
          await this.supervisor.restart(role).catch(() => {});
          this.changed();
          throw new Error(`${name} ${on ? 'on' : 'off'} failed, ${role} is back as it was: ${(err as Error).message}`);
        }
      }
    }
    for (const role of fault.flush ?? []) did.push(describe(await this.checked(role), 'restarted with an empty cache'));
    this.changed();
    const what = on ? `${name} is on: ${fault.breaks}` : `${name} is off: back as before`;
    return { done: `${what}\n  ${did.join('\n  ')}${on ? `\n  see: ${fault.see}` : ''}`, faults: this.list() };
  }

  /** Restart a role and make sure it came up. */
  private async checked(role: string): Promise<RoleRecord> {
    const record = await this.supervisor.restart(role);
    if (record.status !== 'up') throw new Error(`${role} did not come up: ${record.reason ?? record.status}`);
    return record;
  }
}

function describe(r: RoleRecord, what: string): string {
  return `${r.name} ${what} (${r.status})`;
}

// ── ns mode: link faults with tc netem on the phone's radio link ──────────────────────────────────

/** The north phone's radio link: both of its ends (netem acts on what leaves, so both directions). */
function radioLinkEnds(plan: NetPlan): Array<{ namespace: string; iface: string; delayMs: number }> {
  const phone = plan.phones.north.host;
  const link = plan.links.find((l) => l.kind === 'radio' && (l.a.host === phone || l.b.host === phone));
  if (!link) throw new Error(`the plan has no radio link for ${phone}`);
  return [link.a, link.b].map((end) => ({ namespace: plan.hosts.find((h) => h.name === end.host)!.namespace, iface: end.interface, delayMs: link.delayMs }));
}

function tc(args: string[]): Promise<{ ok: boolean; stderr: string; stdout: string }> {
  return new Promise((resolve) => execFile('tc', args, { encoding: 'utf8', timeout: 5_000 }, (err, stdout, stderr) => resolve({ ok: !err, stdout, stderr: stderr || (err?.message ?? '') })));
}

/**
 * The netem of one end of the radio link: the plan's own delay, 400 ms more while link-delay is on,
 * and the loss while link-loss is on. Both faults are one qdisc, so each switch rebuilds it from
 * both: switching one never undoes the other. '' when there is nothing to add (no qdisc at all).
 */
export function radioNetem(plannedDelayMs: number, on: { delay: boolean; loss: boolean }): string {
  const delay = plannedDelayMs + (on.delay ? LINK_DELAY_MS : 0);
  return [delay > 0 ? `delay ${delay}ms` : '', on.loss ? `loss ${LINK_LOSS_PERCENT}%` : ''].filter(Boolean).join(' ');
}

/** Which link faults a `tc qdisc show` of one end says are on, against the plan's delay there. */
export function linkFaultsShown(qdisc: string, plannedDelayMs: number): { delay: boolean; loss: boolean } {
  const m = /\bdelay ([\d.]+)(us|ms|s)\b/.exec(qdisc);
  const ms = m ? Number(m[1]) * ({ us: 0.001, ms: 1, s: 1000 } as Record<string, number>)[m[2]!]! : 0;
  return { delay: ms >= plannedDelayMs + LINK_DELAY_MS - 0.5, loss: /\bloss\b/.test(qdisc) };
}

/** Switch a link fault in ns mode: netem on both ends of the radio link, the other link fault kept as it is. */
async function setLinkFault(state: LabState, name: FaultName, on: boolean): Promise<string> {
  const fault = FAULTS[name] as Fault & { how: 'link' };
  const ends = radioLinkEnds(state.net!);
  for (const end of ends) {
    const now = linkFaultsShown((await tc(['-n', end.namespace, 'qdisc', 'show', 'dev', end.iface])).stdout, end.delayMs);
    const netem = radioNetem(end.delayMs, { ...now, [name === 'link-delay' ? 'delay' : 'loss']: on });
    const args = netem ? ['-n', end.namespace, 'qdisc', 'replace', 'dev', end.iface, 'root', 'netem', ...netem.split(' ')] : ['-n', end.namespace, 'qdisc', 'del', 'dev', end.iface, 'root'];
    const result = await tc(args);
    if (/qdisc kind is unknown|Unknown qdisc/i.test(result.stderr)) {
      throw new Error(`${name}: this kernel has no netem qdisc (CONFIG_NET_SCH_NETEM is not set), so the phone's link cannot be ${name === 'link-delay' ? 'slowed' : 'made lossy'}`);
    }
    if (!result.ok && !(netem === '' && /No such file|Cannot delete/i.test(result.stderr))) throw new Error(`${name}: tc ${args.join(' ')} failed: ${result.stderr.trim()}`);
  }
  return on ? `${name} is on: ${fault.breaks}\n  see: ${fault.see}` : `${name} is off: the radio link is as planned${name === 'link-delay' ? '' : ' (its delay as before)'}`;
}

/** In ns mode, is a link fault on? Read from the kernel, both ends: the qdiscs are the truth. */
async function linkFaultIsOn(state: LabState, name: FaultName): Promise<boolean> {
  const shown = await Promise.all(radioLinkEnds(state.net!).map(async (end) => linkFaultsShown((await tc(['-n', end.namespace, 'qdisc', 'show', 'dev', end.iface])).stdout, end.delayMs)));
  return shown.every((s) => (name === 'link-loss' ? s.loss : s.delay));
}

// ── The commands ─────────────────────────────────────────────────────────────────────────────

/** `npm run lab -- faults`: every fault, what it breaks, and whether it is on in the running lab. */
export async function faultsCommand(argv: string[]): Promise<number> {
  if (argv.length) throw new Error(`faults takes no arguments (got ${argv.join(' ')})`);
  let state: LabState | undefined;
  let note = '';
  try {
    state = readState();
  } catch {
    note = `(no lab is running from ${statePath()}: every fault is off)`;
  }
  const on = new Set<string>(state?.faults ?? []);
  if (state?.addressing === 'namespaces') for (const name of FAULT_NAMES) if (FAULTS[name].how === 'link' && (await linkFaultIsOn(state, name))) on.add(name);
  const width = Math.max(...FAULT_NAMES.map((n) => n.length));
  for (const name of FAULT_NAMES) {
    const fault: Fault = FAULTS[name];
    console.log(`  ${name.padEnd(width)}  ${on.has(name) ? 'ON ' : 'off'}  ${fault.breaks}`);
  }
  if (note) console.log(note);
  console.log('Switch one: npm run lab -- fault NAME on|off');
  return 0;
}

/** `npm run lab -- fault NAME on|off`: switch one fault in the running lab. */
export async function faultCommand(argv: string[]): Promise<number> {
  const [name, action] = argv;
  if (!name || (action !== 'on' && action !== 'off') || argv.length !== 2) throw new Error(`usage: npm run lab -- fault NAME on|off (the faults: ${FAULT_NAMES.join(', ')})`);
  const fault = faultNamed(name);
  const state = readState();
  if (state.addressing === 'namespaces' && fault.how === 'link') {
    console.log(await setLinkFault(state, name as FaultName, action === 'on'));
    return 0;
  }
  if (fault.how === 'link') throw new Error(linkFaultRefusal(name));
  if (!state.control) throw new Error(`the running lab (process ${state.pid}) has no control socket`);
  const reply = await control(state.control, { cmd: 'fault', name, on: action === 'on' }, 30_000);
  if (!reply.ok) throw new Error(reply.error);
  console.log(reply.done ?? `${name} ${action}`);
  return 0;
}
