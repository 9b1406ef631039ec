// The lab's namespace network in words: the plan as a table, what was built and how fast, how to
// run a command on a host, what teardown removed. The plan and the builder hand over facts
// (lab/net-ns/plan.ts, build.ts); the sentences live here only.
import type { BuildCheck, BuiltNetwork, NetDown, Teardown } from './build.ts';
import { tracePath, type LinkKind, type NetPlan } from './plan.ts';

/** "sudo npm run lab -- net up": the one line a refusal prints, and what to type instead. */
export function cannotBuildLine(check: Extract<BuildCheck, { ok: false }>, command: string): string {
  return `lab: the lab's network of namespaces needs Linux and root (or CAP_NET_ADMIN with CAP_SYS_ADMIN): ${check.reason}. Run: sudo npm run lab -- ${command}`;
}

/** One row per interface: host, namespace, interface, address/prefix, MAC, gateway, one-way delay. */
export function planTable(plan: NetPlan): string[] {
  const rows: string[][] = [['host', 'namespace', 'interface', 'address/prefix', 'MAC', 'gateway', 'delay']];
  for (const h of plan.hosts) {
    h.interfaces.forEach((i, n) => {
      const gateway = h.routes.find((r) => r.to === 'default' && r.dev === i.name)?.via ?? '';
      const address = i.address ? `${i.address}/${i.prefix}` : i.master ? `port of ${i.master}` : '';
      const delay = i.delayMs ? `${i.delayMs} ms` : '';
      rows.push([n === 0 ? h.name : '', n === 0 ? h.namespace : '', i.name, address, i.mac, gateway, delay]);
    });
  }
  return columns(rows);
}

/** Each network: where it is, which reserved range, what it is, its gateway. */
export function networkLines(plan: NetPlan): string[] {
  return columns(
    plan.networks.map((n) => [
      n.name,
      n.cidr,
      n.rfc,
      n.gateway ? `gateway ${n.gateway.address} (${n.gateway.host})` : 'no gateway: reached only through the SLB',
      n.what,
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

/** Rows padded into columns, trailing spaces trimmed. */
function columns(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => r[c]?.length ?? 0))) ?? [];
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd());
}
