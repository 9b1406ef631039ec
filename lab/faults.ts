// Fault switches for the workshop: break one thing on purpose, see what a user notices, mend it.
//
//   npm run lab -- faults                 every fault, what it breaks, and whether it is on
//   npm run lab -- fault slow-origin on   switch one on in the running lab (`off` mends it)
//
// FAULTS below is the one list (what each breaks and what a user then sees are words, in both
// languages: lab/words/{en,zh}/faults.ts, keyed by the same names). A fault is one of three kinds:
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
import { lang, type Lang } from './lang.ts';
import { columns } from './text-width.ts';
import { upWords } from './words/up.ts';
import { faultWords, type FaultFacts } from './words/faults.ts';
import { cliWords } from './words/cli.ts';

type FaultWords = ReturnType<typeof faultWords>;

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
  /** The roles it acts on. (What it breaks, and what a user sees, are words: lab/words/faults.ts.) */
  roles: string[];
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
      group?: keyof FaultWords['groups'];
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
  },
  'origin-down': {
    how: 'stop',
    roles: ['origin'],
  },
  'slow-origin': {
    how: 'spec',
    roles: ['origin'],
    change: change('origin', (spec) => ({ ...spec, delayMs: SLOW_ORIGIN_MS })),
  },
  'app-down': {
    how: 'stop',
    roles: ['app-1'],
  },
  'slb-health-failing': {
    how: 'spec',
    roles: ['app-1'],
    change: change('app', (spec) => ({ ...spec, healthz: 'failing' })),
  },
  'expired-leaf': {
    how: 'spec',
    roles: ['slb'],
    group: 'slb-certificate',
    prepare: (certDir) => ensureBrokenChains(certDir),
    change: certificate((ctx) => ({ certFile: ctx.broken.expiredChain, keyFile: ctx.broken.expiredKey })),
  },
  'missing-intermediate': {
    how: 'spec',
    roles: ['slb'],
    group: 'slb-certificate',
    change: certificate((ctx) => ({ certFile: ctx.chain.leafCert, keyFile: ctx.chain.leafKey })),
  },
  'wrong-san': {
    how: 'spec',
    roles: ['slb'],
    group: 'slb-certificate',
    prepare: (certDir) => ensureBrokenChains(certDir),
    change: certificate((ctx) => ({ certFile: ctx.broken.wrongNameChain, keyFile: ctx.broken.wrongNameKey })),
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
  },
  'dns-down': {
    how: 'stop',
    roles: ['shop-dns'],
    flush: ['local-dns'],
  },
  'lame-delegation': {
    how: 'spec',
    roles: ['tld'],
    flush: ['local-dns'],
    // The TLD's NS record for geektime.test names the CDN's name server, which does not serve the
    // zone and says REFUSED: a lame delegation (RFC 1912 §2.8), the classic stale NS record.
    change: change('authoritative', (spec) => ({ ...spec, delegations: { ...spec.delegations, shop: NAME_SERVERS.cdn } })),
  },
  'link-loss': {
    how: 'link',
    roles: ['phone-north'],
    netem: `loss ${LINK_LOSS_PERCENT}%`,
  },
  'link-delay': {
    how: 'link',
    roles: ['phone-north'],
    netem: `delay ${LINK_DELAY_MS}ms`,
  },
} satisfies Record<string, Fault>;

export type FaultName = keyof typeof FAULTS;
export const FAULT_NAMES = Object.keys(FAULTS) as FaultName[];

/** The values the faults' descriptions quote. */
const FACTS: FaultFacts = {
  slowOriginSeconds: SLOW_ORIGIN_MS / 1000,
  linkDelayMs: LINK_DELAY_MS,
  linkLossPercent: LINK_LOSS_PERCENT,
  roundTripLossPercent: Math.round(100 * (1 - (1 - LINK_LOSS_PERCENT / 100) ** 2)),
  cdnNameServer: NAME_SERVERS.cdn,
};

/** What the fault breaks, in one line, in the language asked (or the process's). */
export function faultBreaks(name: FaultName, l?: Lang): string {
  return faultWords(l).described[name].breaks(FACTS);
}

/** What a user sees when the fault is on, and with which command. */
export function faultSee(name: FaultName, l?: Lang): string {
  return faultWords(l).described[name].see(FACTS);
}

export function isFaultName(name: string): name is FaultName {
  return Object.hasOwn(FAULTS, name);
}

/** The fault by name, or an error that lists every name. */
export function faultNamed(name: string, l?: Lang): Fault {
  if (!isFaultName(name)) throw new Error(faultWords(l).noFault(name, FAULT_NAMES));
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
export function linkFaultRefusal(name: string, netem: NetemSupport = netemSupport(), l?: Lang): string {
  return faultWords(l).linkNeedsNs(name, netem === 'absent');
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

  /** Switch one; the reply (and an error) in the language asked: the one of whoever asked. */
  set(name: string, on: boolean, l?: Lang): Promise<FaultReply> {
    const next = this.queue.then(() => this.apply(name, on, l));
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
      if (fault.how === 'stop') for (const role of fault.roles) await this.supervisor.stop(role, faultWords().stoppedBy(name));
    }
  }

  private checkGroup(name: FaultName, fault: Fault, l?: Lang): void {
    if (fault.how !== 'spec' || !fault.group) return;
    const other = this.list().find((n) => n !== name && (FAULTS[n] as Fault).how === 'spec' && (FAULTS[n] as { group?: string }).group === fault.group);
    if (other) throw new Error(faultWords(l).bothChange(name, other, faultWords(l).groups[fault.group]));
  }

  private async apply(name: string, on: boolean, l?: Lang): Promise<FaultReply> {
    const said = faultWords(l);
    const fault = faultNamed(name, l);
    const key = name as FaultName;
    if (fault.how === 'link') throw new Error(linkFaultRefusal(name, undefined, l));
    if (this.on.has(key) === on) return { done: said.already(name, on), faults: this.list() };
    if (on) this.checkGroup(key, fault, l);
    const did: string[] = [];
    const describe = (r: RoleRecord, what: string) => said.roleDid(r.name, what, r.status);
    if (fault.how === 'stop') {
      if (on) {
        this.on.add(key);
        // The reason is kept by the lab for whoever asks later: in the lab's own language.
        for (const role of fault.roles) did.push(describe(await this.supervisor.stop(role, faultWords().stoppedBy(name)), said.stopped));
      } else {
        this.on.delete(key);
        for (const role of fault.roles) did.push(describe(await this.checked(role, l), said.startedAgain));
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
          did.push(said.notUp(role, status ?? 'unknown'));
          continue;
        }
        try {
          did.push(describe(await this.checked(role, l), on ? said.restartedWithChange : said.restartedAsBefore));
        } catch (err) {
          // The changed spec would not start: put the role back as it was and say why.
          if (on) this.on.delete(key);
          else this.on.add(key);
          await this.supervisor.restart(role).catch(() => {});
          this.changed();
          throw new Error(said.switchFailed(name, on, role, (err as Error).message));
        }
      }
    }
    for (const role of fault.flush ?? []) did.push(describe(await this.checked(role, l), said.restartedEmptyCache));
    this.changed();
    const what = on ? said.isOn(name, faultBreaks(key, l)) : said.isOff(name);
    return { done: `${what}\n  ${did.join('\n  ')}${on ? `\n  ${said.see(faultSee(key, l))}` : ''}`, faults: this.list() };
  }

  /** Restart a role and make sure it came up. */
  private async checked(role: string, l?: Lang): Promise<RoleRecord> {
    const record = await this.supervisor.restart(role);
    if (record.status !== 'up') throw new Error(faultWords(l).didNotComeUp(role, record.reason ?? record.status));
    return record;
  }
}

// ── ns mode: link faults with tc netem on the phone's radio link ──────────────────────────────────

/** The north phone's radio link: both of its ends (netem acts on what leaves, so both directions). */
function radioLinkEnds(plan: NetPlan): Array<{ namespace: string; iface: string; delayMs: number }> {
  const phone = plan.phones.north.host;
  const link = plan.links.find((l) => l.kind === 'radio' && (l.a.host === phone || l.b.host === phone));
  if (!link) throw new Error(faultWords().noRadioLink(phone));
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
  const said = faultWords();
  const ends = radioLinkEnds(state.net!);
  for (const end of ends) {
    const now = linkFaultsShown((await tc(['-n', end.namespace, 'qdisc', 'show', 'dev', end.iface])).stdout, end.delayMs);
    const netem = radioNetem(end.delayMs, { ...now, [name === 'link-delay' ? 'delay' : 'loss']: on });
    const args = netem ? ['-n', end.namespace, 'qdisc', 'replace', 'dev', end.iface, 'root', 'netem', ...netem.split(' ')] : ['-n', end.namespace, 'qdisc', 'del', 'dev', end.iface, 'root'];
    const result = await tc(args);
    if (/qdisc kind is unknown|Unknown qdisc/i.test(result.stderr)) {
      throw new Error(said.noNetem(name, name === 'link-delay'));
    }
    if (!result.ok && !(netem === '' && /No such file|Cannot delete/i.test(result.stderr))) throw new Error(said.tcFailed(name, args.join(' '), result.stderr.trim()));
  }
  return on ? `${said.isOn(name, faultBreaks(name))}\n  ${said.see(faultSee(name))}` : said.linkOff(name, name !== 'link-delay');
}

/** In ns mode, is a link fault on? Read from the kernel, both ends: the qdiscs are the truth. */
async function linkFaultIsOn(state: LabState, name: FaultName): Promise<boolean> {
  const shown = await Promise.all(radioLinkEnds(state.net!).map(async (end) => linkFaultsShown((await tc(['-n', end.namespace, 'qdisc', 'show', 'dev', end.iface])).stdout, end.delayMs)));
  return shown.every((s) => (name === 'link-loss' ? s.loss : s.delay));
}

// ── The commands ─────────────────────────────────────────────────────────────────────────────

/** `npm run lab -- faults`: every fault, what it breaks, and whether it is on in the running lab. */
export async function faultsCommand(argv: string[]): Promise<number> {
  if (argv.length) throw new Error(cliWords().noArguments('faults', argv));
  const said = faultWords();
  let state: LabState | undefined;
  let note = '';
  try {
    state = readState();
  } catch {
    note = said.noLab(statePath());
  }
  const on = new Set<string>(state?.faults ?? []);
  if (state?.addressing === 'namespaces') for (const name of FAULT_NAMES) if (FAULTS[name].how === 'link' && (await linkFaultIsOn(state, name))) on.add(name);
  // Columns by display width (lab/text-width.ts): a Chinese word takes two columns.
  const rows = FAULT_NAMES.map((name) => [name, on.has(name) ? said.on : said.off, faultBreaks(name)]);
  for (const row of columns(rows)) console.log(`  ${row}`);
  if (note) console.log(note);
  console.log(said.switchOne);
  return 0;
}

/** `npm run lab -- fault NAME on|off`: switch one fault in the running lab. */
export async function faultCommand(argv: string[]): Promise<number> {
  const [name, action] = argv;
  if (!name || (action !== 'on' && action !== 'off') || argv.length !== 2) throw new Error(faultWords().usage(FAULT_NAMES));
  const fault = faultNamed(name);
  const state = readState();
  if (state.addressing === 'namespaces' && fault.how === 'link') {
    console.log(await setLinkFault(state, name as FaultName, action === 'on'));
    return 0;
  }
  if (fault.how === 'link') throw new Error(linkFaultRefusal(name));
  if (!state.control) throw new Error(upWords().noControlSocket(state.pid));
  const reply = await control(state.control, { cmd: 'fault', name, on: action === 'on', lang: lang() }, 30_000);
  if (!reply.ok) throw new Error(reply.error);
  console.log(reply.done ?? `${name} ${action}`);
  return 0;
}
