// Building a plan (lab/net-ns/plan.ts) with the commands a network engineer types: `ip` and `tc`
// from iproute2, run with execFile (no shell), each failure named by its command and line.
//
// A network namespace is a copy of the kernel's network stack: its own interfaces, addresses,
// routing table, ARP cache, sockets and sysctls. A veth pair is a cable: what goes in one end comes
// out of the other, and the two ends may sit in different namespaces. A bridge is a switch.
//
// The build, in four steps:
//   1. One `ip -batch` in the namespace we run in: every namespace, every cable, every switch.
//      Each `link add` names the namespace of both ends, so the kernel creates them there: no
//      interface of the lab is ever in our own namespace, and nothing of the lab can reach the
//      machine's own network or be reached from it.
//   2. Per namespace, one `ip -n NS -batch`: ports into switches, links up, addresses, routes.
//   3. Forwarding on in the routers, off in the hosts: `ip netns exec NS sysctl` where a
//      namespace did not start that way.
//   4. Per namespace, one `tc -n NS -batch`: a netem delay on every interface of a slow link.
// Then /etc/netns/NS/resolv.conf, which `ip netns exec` mounts over /etc/resolv.conf, points every
// host at the lab's local DNS. Every namespace costs at least one process of `ip` (a namespace is
// entered by a process, and Node cannot enter one), so the steps run for all namespaces at once.
//
// Tearing down is deleting the namespaces: the kernel removes their interfaces (a veth goes with
// either end) and the qdiscs on them.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isAlive } from '../state.ts';
import { COMMON_PREFIX, runOf, type Host, type HostTables, type NetPlan } from './plan.ts';
import { netWords } from './words/index.ts';

/** Where `ip netns exec NS` finds files to mount over /etc (iproute2's NETNS_ETC_DIR). */
export const NETNS_ETC = '/etc/netns';

// ─────────────────────────────────────── running commands ───────────────────────────────────

/** A command that failed: which one, which line of its batch, and what it said. */
export class NetCommandError extends Error {
  constructor(
    readonly command: string,
    readonly stderr: string,
    readonly failedLine?: string,
  ) {
    super(netWords().buildErrors.commandFailed(command, failedLine, stderr.trim().split('\n').filter((l) => !/^Command failed /.test(l)).join(' ')));
    this.name = 'NetCommandError';
  }
}

const COMMAND_TIMEOUT_MS = 20_000;

/** The line of a batch that failed: iproute2 says "Command failed -:N". */
function failedLine(stderr: string, input?: string): string | undefined {
  const n = /Command failed -:(\d+)/.exec(stderr)?.[1];
  return n && input ? input.split('\n')[Number(n) - 1] : undefined;
}

function run(cmd: string, args: string[], input?: string): Promise<string> {
  const command = [cmd, ...args].join(' ');
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: COMMAND_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? netWords().buildErrors.notInstalled(cmd) : stderr || err.message;
      reject(new NetCommandError(command, why, failedLine(stderr, input)));
    });
    child.stdin?.on('error', () => {}); // a command that fails early closes its stdin: the exit says why
    child.stdin?.end(input ?? '');
  });
}

function runSync(cmd: string, args: string[], input?: string): string {
  try {
    return execFileSync(cmd, args, { input: input ?? '', timeout: COMMAND_TIMEOUT_MS, stdio: ['pipe', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new NetCommandError([cmd, ...args].join(' '), e.stderr || e.message, failedLine(e.stderr ?? '', input));
  }
}

/** `ip [options] -batch -` with one command per line. */
const ipBatch = (options: string[], lines: string[]) => run('ip', [...options, '-batch', '-'], lines.join('\n') + '\n');

// ────────────────────────────────────────── privilege ───────────────────────────────────────

export type BuildCheck = { ok: true } | { ok: false; reason: string };

/**
 * May this process build the network? Namespaces are Linux's. `ip netns add` mounts the new
 * namespace under /run/netns (CAP_SYS_ADMIN); links, addresses and qdiscs need CAP_NET_ADMIN; the
 * resolver files go under /etc/netns. Root has all of it.
 */
export function canBuild(): BuildCheck {
  const w = netWords().cannotBuild;
  if (os.platform() !== 'linux') return { ok: false, reason: w.notLinux(os.platform()) };
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1];
  const caps = capEff ? BigInt(`0x${capEff}`) : 0n;
  const missing = ([['CAP_NET_ADMIN', 12n], ['CAP_SYS_ADMIN', 21n]] as const).filter(([, bit]) => !((caps >> bit) & 1n)).map(([name]) => name);
  if (missing.length) return { ok: false, reason: w.lacks(missing) };
  try {
    fs.accessSync(fs.existsSync(NETNS_ETC) ? NETNS_ETC : '/etc', fs.constants.W_OK);
  } catch {
    return { ok: false, reason: w.mayNotWrite(NETNS_ETC) };
  }
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    return { ok: false, reason: w.noIp };
  }
  return { ok: true };
}

// ──────────────────────────────────── the machine's tables ──────────────────────────────────

/** This namespace's addresses and routes (every table: a VPN's routes may live outside main). No privilege needed. */
export async function readHostTables(): Promise<HostTables> {
  const [addrs, routes] = await Promise.all([run('ip', ['-j', 'addr']), run('ip', ['-j', '-4', 'route', 'show', 'table', 'all'])]);
  return { addrs: JSON.parse(addrs || '[]'), routes: JSON.parse(routes || '[]') };
}

// ───────────────────────────────────────── the commands ─────────────────────────────────────

/** Step 1, for `ip -batch` in our own namespace: the namespaces, the cables between them, the switches. */
export function createCommands(plan: NetPlan): string[] {
  const ns = (host: string) => plan.hosts.find((h) => h.name === host)!.namespace;
  const lines = plan.hosts.map((h) => `netns add ${h.namespace}`);
  for (const h of plan.hosts) {
    for (const i of h.interfaces) {
      if (i.kind === 'bridge') {
        // A plain switch: without multicast snooping it joins no group of its own, so it sends no
        // IGMP or MLD reports of its own into the captures.
        lines.push(`link add ${i.name} netns ${h.namespace} address ${i.mac} type bridge mcast_snooping 0`);
      }
    }
  }
  for (const link of plan.links) {
    const end = (e: { host: string; interface: string }) => plan.hosts.find((h) => h.name === e.host)!.interfaces.find((i) => i.name === e.interface)!;
    lines.push(`link add ${link.a.interface} netns ${ns(link.a.host)} address ${end(link.a).mac} type veth peer name ${link.b.interface} netns ${ns(link.b.host)} address ${end(link.b).mac}`);
  }
  return lines;
}

/**
 * Step 2, for `ip -n NS -batch`: inside one namespace. `addrgenmode none` before a link comes up
 * keeps IPv6 quiet (no link-local address, so no duplicate address detection, router
 * solicitations or MLD reports): the story is IPv4, and the captures should hold only the story.
 * The last line reports whether the namespace forwards: see step 3.
 */
export function configCommands(h: Host): string[] {
  const lines = ['link set dev lo up'];
  for (const i of h.interfaces) lines.push(`link set dev ${i.name} addrgenmode none`);
  for (const i of h.interfaces) if (i.master) lines.push(`link set dev ${i.name} master ${i.master}`);
  for (const i of h.interfaces) lines.push(`link set dev ${i.name} up`);
  for (const i of h.interfaces) if (i.address) lines.push(`addr add ${i.address}/${i.prefix} dev ${i.name}`);
  for (const r of h.routes) lines.push(`route add ${r.to} via ${r.via} dev ${r.dev}`);
  lines.push(`netconf show dev ${h.interfaces[0]!.name}`);
  return lines;
}

/**
 * Step 3: a router forwards (RFC 1812), a host does not. A new namespace copies its IPv4 settings
 * from the machine's (net.core.devconf_inherit_init_net=0, the default), so on a machine that
 * forwards (Docker sets ip_forward=1) every host would forward too, the SLB between the internet
 * and the app servers among them: those hosts are switched back.
 */
export function forwardingCommand(h: Host, on: boolean): string {
  return `netns exec ${h.namespace} sysctl -qw net.ipv4.ip_forward=${on ? 1 : 0}`;
}

/** Step 4, for `tc -n NS -batch`: netem delays what leaves by an interface; both ends of a cable get it, so both directions wait. */
export function delayCommands(h: Host): string[] {
  return h.interfaces.filter((i) => i.delayMs).map((i) => `qdisc add dev ${i.name} root netem delay ${i.delayMs}ms`);
}

/** The whole build as a shell script a reader could type: what `net plan --commands` prints. */
export function buildScript(plan: NetPlan): string[] {
  return [
    ...createCommands(plan).map((l) => `ip ${l}`),
    ...plan.hosts.flatMap((h) => configCommands(h).map((l) => `ip -n ${h.namespace} ${l}`)),
    ...plan.hosts.map((h) => `ip ${forwardingCommand(h, h.kind === 'router')}`),
    ...plan.hosts.flatMap((h) => delayCommands(h).map((l) => `tc -n ${h.namespace} ${l}`)),
    ...plan.hosts.map((h) => `mkdir -p ${NETNS_ETC}/${h.namespace} && echo 'nameserver ${plan.nameserver}' > ${NETNS_ETC}/${h.namespace}/resolv.conf`),
  ];
}

// ─────────────────────────────────────────── build ──────────────────────────────────────────

export interface BuiltNetwork {
  plan: NetPlan;
  /** How long each step took, and the whole build, in ms. */
  ms: { create: number; config: number; forwarding: number; delays: number; resolvers: number; total: number };
  /** Whether the links really have their delays: a kernel without the netem qdisc cannot. */
  delays: { applied: true } | { applied: false; reason: string };
}

/** Build the plan. On any failure, remove what was built, then throw the failure. */
export async function buildNetwork(plan: NetPlan): Promise<BuiltNetwork> {
  const existing = (await listNamespaces()).filter((n) => n.startsWith(plan.prefix));
  if (existing.length) throw new Error(netWords().buildErrors.exists(plan.runId, existing[0]!));
  const t0 = performance.now();
  let mark = t0;
  /** Milliseconds since the last lap. */
  const lap = () => {
    const now = performance.now();
    const ms = Math.round(now - mark);
    mark = now;
    return ms;
  };
  try {
    await ipBatch([], createCommands(plan));
    const create = lap();
    const reports = await Promise.all(plan.hosts.map((h) => ipBatch(['-n', h.namespace], configCommands(h))));
    const config = lap();
    // netconf's line: "inet eth0 forwarding on rp_filter off …"
    const forwards = (report: string) => /^inet \S+ forwarding on/m.test(report);
    const wrong = plan.hosts.filter((h, i) => (h.kind === 'router') !== forwards(reports[i]!));
    if (wrong.length) await ipBatch([], wrong.map((h) => forwardingCommand(h, h.kind === 'router')));
    const forwarding = lap();
    const delays = await addDelays(plan);
    const delaysMs = lap();
    for (const h of plan.hosts) {
      fs.mkdirSync(path.join(NETNS_ETC, h.namespace), { recursive: true });
      fs.writeFileSync(path.join(NETNS_ETC, h.namespace, 'resolv.conf'), `# the lab's local DNS (local-dns), run ${plan.runId}\nnameserver ${plan.nameserver}\n`);
    }
    const resolvers = lap();
    return { plan, ms: { create, config, forwarding, delays: delaysMs, resolvers, total: Math.round(performance.now() - t0) }, delays };
  } catch (err) {
    try {
      await teardownNetwork(plan.prefix);
    } catch {
      // the build's own failure is the one to report
    }
    throw err;
  }
}

/**
 * netem is a module some kernels lack (CONFIG_NET_SCH_NETEM is off in some VM kernels): then the
 * links stay as fast as the machine, and we say so. The first namespace tells; the others follow.
 */
async function addDelays(plan: NetPlan): Promise<BuiltNetwork['delays']> {
  const tc = (h: Host) => run('tc', ['-n', h.namespace, '-batch', '-'], delayCommands(h).join('\n') + '\n');
  const [first, ...rest] = plan.hosts.filter((h) => delayCommands(h).length);
  if (!first) return { applied: true };
  try {
    await tc(first);
  } catch (err) {
    if (err instanceof NetCommandError && /qdisc kind is unknown/.test(err.stderr)) {
      return { applied: false, reason: netWords().buildErrors.noNetem };
    }
    throw err;
  }
  await Promise.all(rest.map(tc));
  return { applied: true };
}

// ───────────────────────────────────────── teardown ─────────────────────────────────────────

// Two forms, the same steps: teardownNetwork for the normal path, asynchronous so the process
// stays responsive while `ip` works (tsx, for one, kills a child that does not acknowledge a
// signal within 30 ms); teardownNetworkSync for a process's 'exit' hook, where nothing
// asynchronous runs any more.

/** The lab's namespaces among the names `ip -j netns list` prints. */
function labNamesIn(netnsList: string): string[] {
  const out = netnsList.trim();
  return out ? (JSON.parse(out) as { name: string }[]).map((n) => n.name).filter((n) => n.startsWith(COMMON_PREFIX)) : [];
}
const listNamespaces = async () => labNamesIn(await run('ip', ['-j', 'netns', 'list']));
const listNamespacesSync = () => labNamesIn(runSync('ip', ['-j', 'netns', 'list']));

const pidsInput = (namespaces: string[]) => namespaces.map((n) => `netns pids ${n}`).join('\n') + '\n';
const deleteInput = (namespaces: string[]) => namespaces.map((n) => `netns del ${n}`).join('\n') + '\n';

function checkPrefix(prefix: string): void {
  if (!prefix.startsWith(COMMON_PREFIX) || prefix.length <= COMMON_PREFIX.length) throw new Error(`not a prefix of the lab's: "${prefix}"`);
}

/**
 * A namespace lives on while a process is inside it (a role after a crash, a learner's shell),
 * and so do its interfaces: kill whatever `ip netns pids` still finds there.
 */
function killAll(pidsOutput: string): number[] {
  const killed: number[] = [];
  for (const pid of pidsOutput.split(/\s+/).filter(Boolean).map(Number)) {
    if (pid === process.pid) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      // gone already
    }
  }
  return killed;
}

function removeResolverDirs(prefix: string): string[] {
  const dirs = fs.existsSync(NETNS_ETC) ? fs.readdirSync(NETNS_ETC).filter((d) => d.startsWith(prefix)) : [];
  for (const d of dirs) fs.rmSync(path.join(NETNS_ETC, d), { recursive: true, force: true });
  return dirs;
}

export interface Teardown {
  prefix: string;
  namespaces: string[];
  dirs: string[];
  /** Processes still inside a namespace of the lab (a role after a crash, a learner's shell). */
  killed: number[];
  ms: number;
}

/**
 * Remove every namespace whose name starts with `prefix` (the kernel removes their interfaces and
 * qdiscs with them), and their /etc/netns directories. Idempotent. -force: a line that fails does
 * not keep the other namespaces.
 */
export async function teardownNetwork(prefix: string): Promise<Teardown> {
  checkPrefix(prefix);
  const t0 = performance.now();
  const namespaces = (await listNamespaces()).filter((n) => n.startsWith(prefix));
  const killed = namespaces.length ? killAll(await run('ip', ['-batch', '-'], pidsInput(namespaces))) : [];
  if (namespaces.length) await run('ip', ['-force', '-batch', '-'], deleteInput(namespaces));
  const dirs = removeResolverDirs(prefix);
  return { prefix, namespaces, dirs, killed, ms: Math.round(performance.now() - t0) };
}

/** The same, synchronously: for 'exit' hooks. */
export function teardownNetworkSync(prefix: string): Teardown {
  checkPrefix(prefix);
  const t0 = performance.now();
  const namespaces = listNamespacesSync().filter((n) => n.startsWith(prefix));
  const killed = namespaces.length ? killAll(runSync('ip', ['-batch', '-'], pidsInput(namespaces))) : [];
  if (namespaces.length) runSync('ip', ['-force', '-batch', '-'], deleteInput(namespaces));
  const dirs = removeResolverDirs(prefix);
  return { prefix, namespaces, dirs, killed, ms: Math.round(performance.now() - t0) };
}

/** Tear the network down when the process exits, however it exits short of SIGKILL. Returns the undo. */
export function removeOnExit(prefix: string): () => void {
  const hook = () => {
    try {
      teardownNetworkSync(prefix);
    } catch (err) {
      process.stderr.write(`lab: could not remove the network ${prefix}*: ${(err as Error).message}\n`);
    }
  };
  process.on('exit', hook);
  return () => process.off('exit', hook);
}

export interface NetDown {
  removed: Teardown[];
  /** Runs whose owning process still runs: left alone unless `all`. */
  running: { prefix: string; pid: number }[];
}

/**
 * Remove what earlier runs left (`npm run lab -- net down`): every run whose owner process is
 * gone, or with `all`, every run. Only names with the lab's common prefix are touched.
 */
export async function netDown(opts: { all?: boolean } = {}): Promise<NetDown> {
  const names = [...(await listNamespaces()), ...(fs.existsSync(NETNS_ETC) ? fs.readdirSync(NETNS_ETC).filter((d) => d.startsWith(COMMON_PREFIX)) : [])];
  const runs = new Map(names.flatMap((n) => {
    const run = runOf(n);
    return run ? [[run.prefix, run.pid] as const] : [];
  }));
  const result: NetDown = { removed: [], running: [] };
  for (const [prefix, pid] of runs) {
    if (!opts.all && isAlive(pid)) result.running.push({ prefix, pid });
    else result.removed.push(await teardownNetwork(prefix));
  }
  return result;
}


