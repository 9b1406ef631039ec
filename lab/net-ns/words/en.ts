// The lab's namespace network in words (English): the plan as a table, what was built and how fast,
// how to run a command on a host, what teardown removed, and the `net` command's own lines. The
// plan and the builder hand over facts (lab/net-ns/plan.ts, build.ts); the sentences live here only.
import { columns } from '../../text-width.ts';
import type { BuiltNetwork, NetDown, Teardown } from '../build.ts';
import { interfaceRows, tracePath, type LinkKind, type NetPlan } from '../plan.ts';

/** "sudo npm run lab -- net up": the one line a refusal prints, and what to type instead. */
export function cannotBuildLine(reason: string, command: string): string {
  return `lab: the lab's network of namespaces needs Linux and root (or CAP_NET_ADMIN with CAP_SYS_ADMIN): ${reason}. Run: sudo npm run lab -- ${command}`;
}

/** Why this process may not build the network (lab/net-ns/build.ts canBuild). */
export const cannotBuild = {
  notLinux: (platform: string) => `network namespaces are Linux's, this is ${platform}`,
  lacks: (capabilities: string[]) => `this process lacks ${capabilities.join(' and ')}`,
  mayNotWrite: (dir: string) => `this process may not write ${dir}`,
  noIp: 'the ip command (iproute2) is not installed',
};

/** What the builder says when it cannot go on. */
export const buildErrors = {
  exists: (runId: string, first: string) => `namespaces of run ${runId} exist already (${first}…): \`npm run lab -- net down\` removes what an earlier run left`,
  noNetem: 'this kernel has no netem qdisc (CONFIG_NET_SCH_NETEM)',
  /** A command of the build that failed: which one, which line of its batch, and what it said. */
  commandFailed: (command: string, line: string | undefined, said: string) => `\`${command}\` failed${line ? ` at \`${line}\`` : ''}: ${said || 'no message'}`,
  notInstalled: (command: string) => `${command} is not installed (iproute2)`,
  noSuchLinkKind: (kind: string, kinds: string[]) => `no such kind of link: ${kind} (one of ${kinds.join(', ')})`,
  badDelay: (kind: string, ms: unknown) => `the ${kind} delay must be 0-10000 ms, not ${ms}`,
  badDelaySpec: (spec: string) => `--delay takes KIND=MS, such as radio=30, not "${spec}"`,
};

/** What of this machine's the lab's networks must keep clear of, and what if they cannot. */
export const claims = {
  /** An address of this machine: "192.0.2.2/24 on eth0". */
  address: (cidr: string, device: string) => `${cidr} on ${device}`,
  noRoom: (block: string, preferred: string, fallback: string, claims: string[]) =>
    `no room for the lab's ${block} network: this machine uses ${preferred} and all of ${fallback} (${claims.join('; ')})`,
  overlaps: (network: string, cidr: string, claim: string) => `the lab's ${network} network ${cidr} overlaps ${claim}`,
};

/** Each network of the plan, by name: what it is in the story. */
export const networkWhat = {
  'access-north': "the north phone's mobile network",
  'access-south': "the south phone's mobile network",
  'backbone-north': "the north carrier's uplink to the internet",
  'backbone-south': "the south carrier's uplink to the internet",
  'transit-shop': "the shop's uplink to the internet",
  dns: 'the DNS servers',
  'cdn-north': "the CDN's north site",
  'cdn-south': "the CDN's south site",
  'cdn-core': "the CDN's parent cache and the shop's origin",
  'shop-dc': "the shop's public network: the SLB's VIP",
  'shop-apps': "the shop's private subnet behind the SLB",
};

/** The lab in namespaces: its notes and its refusals. */
export const nsLab = {
  moved: (block: string, from: string, to: string, because: string) => `the ${block} networks moved from ${from} to ${to}: ${because}`,
  noRole: (name: string, roles: string[]) => `no role ${name}: the roles are ${roles.join(', ')}`,
  notRunning: (name: string) => `${name} is not running`,
  stoppedByOperator: 'stopped by the operator',
};

/** One row per interface: host, namespace, interface, address/prefix, MAC, gateway, one-way delay. */
export function planTable(plan: NetPlan): string[] {
  return columns([
    ['host', 'namespace', 'interface', 'address/prefix', 'MAC', 'gateway', 'delay'],
    ...interfaceRows(plan).map((r) => [r.host, r.namespace, r.iface, r.address ?? (r.portOf ? `port of ${r.portOf}` : ''), r.mac, r.gateway ?? '', r.delayMs ? `${r.delayMs} ms` : '']),
  ]);
}

/** Each network: where it is, which reserved range, what it is, its gateway. */
export function networkLines(plan: NetPlan): string[] {
  return columns(
    plan.networks.map((n) => [
      n.name,
      n.cidr,
      n.rfc,
      n.gateway ? `gateway ${n.gateway.address} (${n.gateway.host})` : 'no gateway: reached only through the SLB',
      (networkWhat as Record<string, string | undefined>)[n.name] ?? n.what,
    ]),
  );
}

/** The routers' static routes (a host's one route, its default gateway, is in the table). */
export function routeLines(plan: NetPlan): string[] {
  return columns(
    plan.hosts
      .filter((h) => h.kind === 'router')
      .flatMap((h) => h.routes.map((r, n) => [n === 0 ? h.name : '', `${r.to} via ${r.via} dev ${r.dev}`, `(${r.viaHost})`])),
  );
}

/** Why a block of the plan is not where the plan prefers it. */
export function movedLines(plan: NetPlan): string[] {
  return plan.moved.map((m) => `The ${m.block} block moved from ${m.from} to ${m.to}: this machine has ${m.because}.`);
}

function delayList(delays: Record<LinkKind, number>): string {
  return Object.entries(delays)
    .map(([kind, ms]) => `${kind} ${ms} ms`)
    .join(', ');
}

/** What was built, how long each step took, and whether the links really wait. */
export function builtLines(built: BuiltNetwork): string[] {
  const { plan, ms } = built;
  const routers = plan.hosts.filter((h) => h.kind === 'router').length;
  const switches = plan.hosts.flatMap((h) => h.interfaces.filter((i) => i.kind === 'bridge')).length;
  return [
    `Built ${plan.hosts.length} namespaces (${plan.hosts.length - routers} hosts, ${routers} routers), ${plan.links.length} cables and ${switches} switches in ${ms.total} ms ` +
      `(namespaces and cables ${ms.create}, addresses and routes ${ms.config}, forwarding ${ms.forwarding}, delays ${ms.delays}, resolvers ${ms.resolvers}).`,
    built.delays.applied
      ? `One-way delays: ${delayList(plan.delaysMs)} (a round trip over a link takes twice its delay).`
      : `No delays: ${built.delays.reason}, so the links are as fast as this machine; the plan's (${delayList(plan.delaysMs)}) are not in effect.`,
  ];
}

/** How to use the network with everyday tools: `ip netns exec NS …` runs any command on a host. */
export function howToLines(plan: NetPlan): string[] {
  const phone = plan.phones.north;
  const vip = plan.roles.slb.address;
  const pgw = plan.hosts.find((h) => h.name === 'pgw-north')!;
  const pgwToPhone = pgw.interfaces.find((i) => i.peer?.host === phone.host)!.name;
  const routers = tracePath(plan, phone.host, vip).routers;
  return [
    `Run a command on a host: ip netns exec <namespace> <command>. For example:`,
    `  ip netns exec ${phone.namespace} ip route get ${vip}     # the phone's decision: not on its network, so via its gateway`,
    `  ip netns exec ${phone.namespace} ping -c 3 ${vip}        # the SLB's VIP, ${routers} routers away: replies arrive with TTL ${64 - routers}`,
    `  ip -n ${phone.namespace} neigh                               # the phone's ARP cache (RFC 826), after some traffic`,
    `  ip netns exec ${pgw.namespace} tcpdump -eni ${pgwToPhone}      # the phone's link as its gateway sees it, MACs included`,
    `  ip netns exec ${phone.namespace} bash                        # a shell on the phone (exit to leave)`,
    `Every namespace's resolver is ${plan.nameserver} (local-dns; it answers once the roles run there).`,
  ];
}

export function teardownLine(t: Teardown): string {
  const killed = t.killed.length ? `, stopped ${t.killed.length} process${t.killed.length === 1 ? '' : 'es'} still inside (${t.killed.join(', ')})` : '';
  return `Removed ${t.namespaces.length} namespaces and ${t.dirs.length} resolver directories (${t.prefix}*)${killed} in ${t.ms} ms.`;
}

export function netDownLines(down: NetDown): string[] {
  if (!down.removed.length && !down.running.length) return ['Nothing to remove: no namespace and no /etc/netns directory of the lab is left.'];
  return [
    ...down.removed.map(teardownLine),
    ...down.running.map(
      (r) => `Left ${r.prefix}* alone: its process ${r.pid} still runs (stop it with Ctrl-C there, or remove it anyway: npm run lab -- net down --all).`,
    ),
  ];
}

/** `npm run lab -- net …`: its usage and its own lines. */
export const cli = {
  usage: `usage: npm run lab -- net <up|down|plan> [options]

  up     build the network, print it, stay until Ctrl-C, then remove it   [--delay KIND=MS ...]
  down   remove what earlier runs left (runs whose process is gone)        [--all: running ones too]
  plan   print the plan, build nothing (no privilege needed)               [--json] [--commands] [--delay KIND=MS ...]

  KIND is one of radio, backbone, transit, dns, cdn-edge, cdn-core, dc; MS the one-way delay in ms.`,
  unknownCommand: (sub: string) => `lab net: unknown command "${sub}"`,
  networks: 'Networks:',
  hosts: 'Hosts:',
  routes: "Routers' routes (besides the networks they are on):",
  isUp: 'The network is up. Press Ctrl-C to remove it.',
  removing: (signal: string) => `${signal}: removing the network...`,
  unchecked: (platform: string) => `Not checked against this machine's addresses (${platform}: no ip command).`,
  nothingBuilt: (runId: string) => `Nothing is built. The namespaces' names carry the id of the process that builds them (here ${runId}).`,
  buildIt: 'Build it: sudo npm run lab -- net up    The commands it runs: npm run lab -- net plan --commands',
};
