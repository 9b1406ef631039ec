// The lab's little internet, as data: which hosts, which networks, which addresses and MACs, which
// routes, how slow each link is. Pure: nothing here touches the machine, so a plan can be printed,
// tested and checked against the machine's own addresses before lab/net-ns/build.ts builds it with
// `ip` and `tc`, one network namespace per host.
//
// The story (seed §6): the phone sends the order to the SLB's public address. It is not on the
// phone's own network, so the phone hands the packet to its default gateway, the mobile carrier's
// PGW, after asking by ARP (RFC 826) for the gateway's MAC. Each router on the way decrements the
// TTL by one (RFC 1812 §5.3.1) and re-addresses the Ethernet frame to the next hop's MAC; the IP
// addresses and ports stay as the phone wrote them.
//
//   phone-north ─ pgw-north ─┐          ┌─ edge-north                  (the CDN's north site)
//   phone-south ─ pgw-south ─┤          ├─ edge-south                  (the CDN's south site)
//                            ├── core ──┼─ [br-cdn] parent, origin     (the CDN's core site)
//   [br-dns] root, tld, ─────┘          └─ shop-router ─ slb ─ [br-apps] app-1, app-2
//            shop-dns, cdn-dns,                 (the shop's data centre)
//            gslb, local-dns
//
// `core` plays the internet: it knows every public network and has no default route (like the
// routers of the internet's "default-free zone"), so a packet to an address nobody announces gets
// an ICMP Net Unreachable at once instead of wandering. [br-…] is a switch: where several hosts
// share a network, a Linux bridge joins their cables inside the namespace of the router on that
// network (for the app servers, the SLB's), and the router's address sits on the bridge.
//
// Addresses come only from ranges that are never routed on the internet, so nothing of the lab can
// be mistaken for a real host:
//   RFC 6598  100.64.0.0/10   shared address space: what a carrier gives phones behind its CGNAT
//   RFC 5737  192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24   documentation: the public servers
//   RFC 2544  198.18.0.0/15   benchmarking: links between routers, the shop's private subnet
// The machine running the lab may use one of them itself (a test VM on 192.0.2.0/24, a VPN on
// 100.64.0.0/10): planFor() checks and moves the lab's networks out of the way.
import { contains, formatIpv4, parseCidr, parseIpv4, type Cidr } from '../../servers/net/ipv4.ts';
import { netWords } from './words/index.ts';

// ─────────────────────────────────────────── names ──────────────────────────────────────────

/**
 * Every namespace of the lab starts with this prefix ("bol" for buy-online-lab, the package's
 * name), so `net down` finds the leftovers of any earlier run and touches nothing else.
 */
export const COMMON_PREFIX = 'bol-';

/**
 * A run's id is the pid of the process that owns the network, then optional letters to tell apart
 * several networks of one process (tests): "4711", "4711b". `net down` reads the pid back to leave
 * a lab that is still running alone.
 */
export function runPrefix(runId: string): string {
  if (!/^\d+[a-z]*$/.test(runId)) throw new Error(`a run id is a pid with optional letters after it (4711, 4711b), not "${runId}"`);
  return `${COMMON_PREFIX}${runId}-`;
}

/** The run a namespace (or /etc/netns directory) of the lab belongs to, and its owner's pid; undefined for any other name. */
export function runOf(name: string): { prefix: string; pid: number } | undefined {
  if (!name.startsWith(COMMON_PREFIX)) return undefined;
  const m = /^(\d+)[a-z]*-/.exec(name.slice(COMMON_PREFIX.length));
  return m ? { prefix: COMMON_PREFIX + m[0], pid: Number(m[1]) } : undefined;
}

/** The names today's loopback lab gives its roles (lab/topology.ts): each gets a host of its own here. */
export const ROLE_NAMES = ['root', 'tld', 'shop-dns', 'cdn-dns', 'gslb', 'local-dns', 'origin', 'parent', 'edge-north', 'edge-south', 'app-1', 'app-2', 'slb'] as const;
export type RoleName = (typeof ROLE_NAMES)[number];
export type Region = 'north' | 'south';

// ──────────────────────────────────────────── links ─────────────────────────────────────────

/** What a link stands for, which decides its delay. */
export type LinkKind = 'radio' | 'backbone' | 'transit' | 'dns' | 'cdn-edge' | 'cdn-core' | 'dc';

/**
 * One-way delays in milliseconds, like the real distances of the story. Each is added in both
 * directions, so a round trip over a link takes twice its delay.
 */
export const DEFAULT_DELAYS_MS: Record<LinkKind, number> = {
  radio: 20, // the phone's radio link to the carrier: air interface and scheduling, the slowest hop
  backbone: 5, // the carrier's backbone, from its PGW to where it meets the internet
  transit: 10, // across the internet to the shop's data centre
  dns: 5, // to each DNS server
  'cdn-edge': 2, // a CDN puts its edges close to the carriers
  'cdn-core': 10, // its parent cache and the shop's origin sit further in
  dc: 1, // inside the shop's data centre
};

// ───────────────────────────────────────── the plan ─────────────────────────────────────────

export interface Interface {
  /** At most 15 characters: the kernel's IFNAMSIZ is 16 with the closing NUL. */
  name: string;
  kind: 'veth' | 'bridge';
  /** Locally administered, derived from the address (see macFor): the same in every run. */
  mac: string;
  /** A switch port (a veth plugged into a bridge) has no address of its own. */
  address?: string;
  prefix?: number;
  /** The network the address is on. */
  network?: string;
  /** A veth's other end. */
  peer?: { host: string; interface: string };
  /** The bridge this veth is plugged into. */
  master?: string;
  /** One-way delay added to what leaves through this interface (netem), in ms. */
  delayMs?: number;
}

export interface Route {
  /** "default" or a network in CIDR form. */
  to: string;
  via: string;
  dev: string;
  /** The host that owns `via`: the next hop. */
  viaHost: string;
}

export interface Host {
  name: string;
  /** The network namespace the host lives in: the run's prefix and its name. */
  namespace: string;
  /** A router forwards packets that are not its own (ip_forward=1); a host does not. */
  kind: 'host' | 'router';
  what: string;
  role?: RoleName;
  interfaces: Interface[];
  /** Static routes, the default route first; connected networks come from the addresses. */
  routes: Route[];
}

export interface Network {
  name: string;
  cidr: string;
  rfc: 'RFC 6598' | 'RFC 5737' | 'RFC 2544';
  what: string;
  /** The default gateway of the hosts on it; absent where the network leads nowhere (the app servers'). */
  gateway?: { host: string; address: string };
  /** Where several hosts share the network: the bridge that joins them. */
  bridge?: { host: string; interface: string };
  /** Every host on it, with its address. */
  members: { host: string; interface: string; address: string }[];
}

/** One veth pair: a cable with one end in each of two namespaces. */
export interface Link {
  name: string;
  kind: LinkKind;
  network: string;
  delayMs: number;
  a: { host: string; interface: string };
  b: { host: string; interface: string };
}

/** An address block the plan moved because the machine uses part of the preferred one. */
export interface Moved {
  block: BlockName;
  from: string;
  to: string;
  because: string;
}

export interface NetPlan {
  commonPrefix: string;
  runId: string;
  /** Every namespace of this run starts with it. */
  prefix: string;
  hosts: Host[];
  networks: Network[];
  links: Link[];
  /** Each role of the story: the host it runs in and the address it listens on. */
  roles: Record<RoleName, { host: string; namespace: string; address: string }>;
  /** The two phones: the client of the story in each region. */
  phones: Record<Region, { host: string; namespace: string; address: string; prefix: number; network: string; gateway: string }>;
  /** The lab's resolver, written into every namespace's /etc/netns/NAME/resolv.conf. */
  nameserver: string;
  delaysMs: Record<LinkKind, number>;
  moved: Moved[];
}

// ─────────────────────────────────────── address blocks ─────────────────────────────────────

/** The only ranges the lab takes addresses from: none of them is ever routed on the internet. */
export const RESERVED: ReadonlyArray<{ cidr: string; rfc: Network['rfc']; what: string }> = [
  { cidr: '100.64.0.0/10', rfc: 'RFC 6598', what: 'shared address space (carrier-grade NAT)' },
  { cidr: '192.0.2.0/24', rfc: 'RFC 5737', what: 'documentation (TEST-NET-1)' },
  { cidr: '198.51.100.0/24', rfc: 'RFC 5737', what: 'documentation (TEST-NET-2)' },
  { cidr: '203.0.113.0/24', rfc: 'RFC 5737', what: 'documentation (TEST-NET-3)' },
  { cidr: '198.18.0.0/15', rfc: 'RFC 2544', what: 'benchmarking' },
];

/** The reserved range a network lies in. */
export function reservedRangeOf(cidr: string): (typeof RESERVED)[number] | undefined {
  const c = parseCidr(cidr);
  return RESERVED.find((r) => contains(parseCidr(r.cidr), c.network, c.prefix));
}

/**
 * The plan takes its networks from six blocks. Each has a preferred place and, if the machine
 * already uses part of it, other places in a reserved range to move to: a shifted plan.
 */
export type BlockName = 'carrier' | 'links' | 'apps' | 'dns' | 'cdn' | 'shop';

const BLOCKS: Record<BlockName, { preferred: string; fallback: string; size: number }> = {
  // Phones: the carriers' shared address space, the /16 at its start, then the next /16s.
  carrier: { preferred: '100.64.0.0/16', fallback: '100.64.0.0/10', size: 16 },
  // Router-to-router links and the shop's private subnet: benchmarking space.
  links: { preferred: '198.18.0.0/24', fallback: '198.18.0.0/15', size: 24 },
  apps: { preferred: '198.18.1.0/24', fallback: '198.18.0.0/15', size: 24 },
  // The public servers: the three documentation networks; if one is taken, the upper half of the
  // benchmarking range stands in for it.
  dns: { preferred: '192.0.2.0/24', fallback: '198.19.0.0/16', size: 24 },
  cdn: { preferred: '198.51.100.0/24', fallback: '198.19.0.0/16', size: 24 },
  shop: { preferred: '203.0.113.0/24', fallback: '198.19.0.0/16', size: 24 },
};

/** Something of the machine's that the lab's networks must not overlap: an address's network or a route. */
export interface Claim {
  cidr: string;
  /** What it is, for the person reading: "192.0.2.2/24 on eth0", "route 10.0.0.0/8 via 192.0.2.1 dev eth0". */
  what: string;
}

function overlap(a: Cidr, b: Cidr): boolean {
  return contains(a, b.network, b.prefix) || contains(b, a.network, a.prefix);
}

/**
 * Where the block goes: the preferred place if nothing claims it, else the first free one of its
 * fallback range that is no other block's preferred place (a block that moves displaces no other).
 */
function placeBlock(name: BlockName, avoid: readonly Claim[], taken: readonly Cidr[]): { cidr: Cidr; moved?: Moved } {
  const block = BLOCKS[name];
  const preferred = parseCidr(block.preferred);
  const blocker = (c: Cidr) => avoid.find((claim) => overlap(c, parseCidr(claim.cidr)));
  const free = (c: Cidr) => !blocker(c) && !taken.some((t) => overlap(c, t));
  if (free(preferred)) return { cidr: preferred };
  const othersPreferred = (Object.keys(BLOCKS) as BlockName[]).filter((b) => b !== name).map((b) => parseCidr(BLOCKS[b].preferred));
  const range = parseCidr(block.fallback);
  const step = 2 ** (32 - block.size);
  for (let n = range.network; n < range.network + 2 ** (32 - range.prefix); n += step) {
    const candidate = parseCidr(`${formatIpv4(n)}/${block.size}`);
    if (free(candidate) && !othersPreferred.some((p) => overlap(candidate, p))) {
      return { cidr: candidate, moved: { block: name, from: preferred.cidr, to: candidate.cidr, because: blocker(preferred)!.what } };
    }
  }
  throw new Error(netWords().claims.noRoom(name, block.preferred, block.fallback, avoid.map((c) => c.what)));
}

// ──────────────────────────────────────── the topology ──────────────────────────────────────

/**
 * One network of the story. `at` is its place inside its block; each host keeps the last number
 * it has on loopback in today's lab (127.0.0.21 → .21 of its network), counted from the network's
 * start. `side` is the router's end: its address is the members' gateway, unless `gateway` is false.
 */
interface NetworkSpec {
  name: string;
  block: BlockName;
  at: string;
  kind: LinkKind;
  what: string;
  side: { host: string; n: number; bridge?: string };
  members: Array<{ host: string; n: number }>;
  gateway?: false;
}

const NETWORKS: NetworkSpec[] = [
  // The phones' access networks: each phone alone with its carrier's PGW, which hands it its address.
  { name: 'access-north', block: 'carrier', at: '0.0.1.0/24', kind: 'radio', what: "the north phone's mobile network", side: { host: 'pgw-north', n: 1 }, members: [{ host: 'phone-north', n: 10 }] },
  { name: 'access-south', block: 'carrier', at: '0.0.2.0/24', kind: 'radio', what: "the south phone's mobile network", side: { host: 'pgw-south', n: 1 }, members: [{ host: 'phone-south', n: 10 }] },
  // Point-to-point links between routers: a /30 holds exactly two addresses.
  { name: 'backbone-north', block: 'links', at: '0.0.0.0/30', kind: 'backbone', what: "the north carrier's uplink to the internet", side: { host: 'core', n: 1 }, members: [{ host: 'pgw-north', n: 2 }] },
  { name: 'backbone-south', block: 'links', at: '0.0.0.4/30', kind: 'backbone', what: "the south carrier's uplink to the internet", side: { host: 'core', n: 1 }, members: [{ host: 'pgw-south', n: 2 }] },
  { name: 'transit-shop', block: 'links', at: '0.0.0.8/30', kind: 'transit', what: "the shop's uplink to the internet", side: { host: 'core', n: 1 }, members: [{ host: 'shop-router', n: 2 }] },
  // The DNS servers: one switch, six hosts.
  {
    name: 'dns',
    block: 'dns',
    at: '0.0.0.0/24',
    kind: 'dns',
    what: 'the DNS servers',
    side: { host: 'core', n: 1, bridge: 'br-dns' },
    members: [
      { host: 'root', n: 10 },
      { host: 'tld', n: 11 },
      { host: 'shop-dns', n: 12 },
      { host: 'cdn-dns', n: 13 },
      { host: 'gslb', n: 14 },
      { host: 'local-dns', n: 53 },
    ],
  },
  // The CDN's block in quarters: a site per region, and the core site with the parent and the origin.
  { name: 'cdn-north', block: 'cdn', at: '0.0.0.0/26', kind: 'cdn-edge', what: "the CDN's north site", side: { host: 'core', n: 1 }, members: [{ host: 'edge-north', n: 21 }] },
  { name: 'cdn-south', block: 'cdn', at: '0.0.0.64/26', kind: 'cdn-edge', what: "the CDN's south site", side: { host: 'core', n: 1 }, members: [{ host: 'edge-south', n: 22 }] },
  {
    name: 'cdn-core',
    block: 'cdn',
    at: '0.0.0.128/26',
    kind: 'cdn-core',
    what: "the CDN's parent cache and the shop's origin",
    side: { host: 'core', n: 1, bridge: 'br-cdn' },
    members: [
      { host: 'parent', n: 30 },
      { host: 'origin', n: 40 },
    ],
  },
  // The shop's data centre, as real ones are built: a border router, then the load balancer with
  // one arm on each side. Its public arm holds the VIP on the shop's public network; its private
  // arm is on the app servers' subnet. The SLB is a full proxy (it ends the phone's TCP and TLS
  // and opens connections of its own to an app server), so it forwards no packets: the app
  // servers' subnet is routed nowhere, and nothing outside can reach them but through the SLB.
  // (A real one would use RFC 1918 space such as 10.0.0.0/8 there; the lab keeps to ranges that
  // cannot clash with the machine's own private networks.)
  { name: 'shop-dc', block: 'shop', at: '0.0.0.0/24', kind: 'dc', what: "the shop's public network: the SLB's VIP", side: { host: 'shop-router', n: 1 }, members: [{ host: 'slb', n: 80 }] },
  {
    name: 'shop-apps',
    block: 'apps',
    at: '0.0.0.0/24',
    kind: 'dc',
    what: "the shop's private subnet behind the SLB",
    side: { host: 'slb', n: 1, bridge: 'br-apps' },
    members: [
      { host: 'app-1', n: 81 },
      { host: 'app-2', n: 82 },
    ],
    gateway: false,
  },
];

/** Static routes: the routers' default routes, and the core's routes to networks behind other routers. */
const STATIC_ROUTES: Array<{ router: string; to: string | 'default'; via: string }> = [
  { router: 'pgw-north', to: 'default', via: 'core' },
  { router: 'pgw-south', to: 'default', via: 'core' },
  { router: 'shop-router', to: 'default', via: 'core' },
  // The internet routes the carriers' shared space here only because the lab has no CGNAT: a real
  // PGW translates the phone's 100.64.x.x address to a public one (RFC 6598 §7). Without that, the
  // SLB and the GSLB see the phone's own address, which the story needs.
  { router: 'core', to: 'access-north', via: 'pgw-north' },
  { router: 'core', to: 'access-south', via: 'pgw-south' },
  { router: 'core', to: 'shop-dc', via: 'shop-router' },
];

const HOSTS: Array<{ name: string; kind: Host['kind']; what: string; role?: RoleName }> = [
  { name: 'phone-north', kind: 'host', what: 'the shopper\'s phone, north region' },
  { name: 'phone-south', kind: 'host', what: 'the shopper\'s phone, south region' },
  { name: 'pgw-north', kind: 'router', what: "the north carrier's PGW: the phone's gateway" },
  { name: 'pgw-south', kind: 'router', what: "the south carrier's PGW: the phone's gateway" },
  { name: 'core', kind: 'router', what: 'the internet' },
  { name: 'shop-router', kind: 'router', what: "the shop data centre's border router" },
  { name: 'root', kind: 'host', role: 'root', what: 'DNS root server' },
  { name: 'tld', kind: 'host', role: 'tld', what: 'DNS server for test.' },
  { name: 'shop-dns', kind: 'host', role: 'shop-dns', what: "the shop's authoritative DNS" },
  { name: 'cdn-dns', kind: 'host', role: 'cdn-dns', what: "the CDN's authoritative DNS" },
  { name: 'gslb', kind: 'host', role: 'gslb', what: "the CDN's global load balancer" },
  { name: 'local-dns', kind: 'host', role: 'local-dns', what: "the phones' local DNS (recursive)" },
  { name: 'edge-north', kind: 'host', role: 'edge-north', what: 'CDN edge cache, north' },
  { name: 'edge-south', kind: 'host', role: 'edge-south', what: 'CDN edge cache, south' },
  { name: 'parent', kind: 'host', role: 'parent', what: "the CDN's parent cache" },
  { name: 'origin', kind: 'host', role: 'origin', what: "the shop's origin for the CDN" },
  { name: 'slb', kind: 'host', role: 'slb', what: "the shop's load balancer (VIP on eth0)" },
  { name: 'app-1', kind: 'host', role: 'app-1', what: 'app server' },
  { name: 'app-2', kind: 'host', role: 'app-2', what: 'app server' },
];

/**
 * Locally administered unicast MACs (IEEE 802: second bit of the first octet set, first bit clear:
 * 0x02) that spell the interface's IPv4 address, as Docker's 02:42:<address> do: every run gets the
 * same MACs, and a frame in a capture says whose it is. 02:00:… is an interface with that address
 * (a bridge too); 02:01:… is the switch port at the far end of that host's cable.
 */
export function macFor(address: string, port = false): string {
  const n = parseIpv4(address);
  const octets = [2, port ? 1 : 0, n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
  return octets.map((o) => o.toString(16).padStart(2, '0')).join(':');
}

export interface PlanOptions {
  /** Whose network this is (default: this process's pid). */
  runId?: string;
  /** One-way delay per kind of link, in ms; the rest keep DEFAULT_DELAYS_MS. */
  delaysMs?: Partial<Record<LinkKind, number>>;
  /** Networks of the machine the plan must not overlap (hostClaims() of `ip -j addr` and `ip -j route`). */
  avoid?: readonly Claim[];
}

/** The plan: every host, interface, address, MAC, route and delay, with nothing built. */
export function planNetwork(opts: PlanOptions = {}): NetPlan {
  const runId = opts.runId ?? String(process.pid);
  const prefix = runPrefix(runId);
  const delaysMs = { ...DEFAULT_DELAYS_MS };
  for (const [kind, ms] of Object.entries(opts.delaysMs ?? {})) {
    if (!(kind in DEFAULT_DELAYS_MS)) throw new Error(netWords().buildErrors.noSuchLinkKind(kind, Object.keys(DEFAULT_DELAYS_MS)));
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > 10_000) throw new Error(netWords().buildErrors.badDelay(kind, ms));
    delaysMs[kind as LinkKind] = ms;
  }

  // Place the blocks, each clear of the machine's networks and of the blocks placed before it.
  const blocks = new Map<BlockName, Cidr>();
  const moved: Moved[] = [];
  for (const name of Object.keys(BLOCKS) as BlockName[]) {
    const placed = placeBlock(name, opts.avoid ?? [], [...blocks.values()]);
    blocks.set(name, placed.cidr);
    if (placed.moved) moved.push(placed.moved);
  }

  const hosts = new Map<string, Host>(
    HOSTS.map((h) => [h.name, { name: h.name, namespace: prefix + h.name, kind: h.kind, what: h.what, ...(h.role && { role: h.role }), interfaces: [], routes: [] }]),
  );
  const host = (name: string) => hosts.get(name) ?? fail(`no host ${name} in the plan`);
  const networks: Network[] = [];
  const links: Link[] = [];

  for (const spec of NETWORKS) {
    const at = parseCidr(spec.at);
    const cidr = parseCidr(`${formatIpv4(blocks.get(spec.block)!.network + at.network)}/${at.prefix}`);
    const addressOf = (n: number) => formatIpv4(cidr.network + n);
    const delayMs = delaysMs[spec.kind];
    const side = host(spec.side.host);
    const sideAddress = addressOf(spec.side.n);
    if (spec.members.length > 1 && !spec.side.bridge) throw new Error(`${spec.name}: several hosts on one network need a bridge`);
    const network: Network = {
      name: spec.name,
      cidr: cidr.cidr,
      rfc: reservedRangeOf(cidr.cidr)!.rfc,
      what: spec.what,
      ...(spec.gateway !== false && { gateway: { host: side.name, address: sideAddress } }),
      members: [],
    };
    if (spec.side.bridge) {
      // A switch: the bridge carries the router's address; every member's cable ends in a port.
      side.interfaces.push({ name: spec.side.bridge, kind: 'bridge', mac: macFor(sideAddress), address: sideAddress, prefix: cidr.prefix, network: spec.name });
      network.bridge = { host: side.name, interface: spec.side.bridge };
    }
    network.members.push({ host: side.name, interface: spec.side.bridge ?? `to-${spec.members[0]!.host}`, address: sideAddress });

    for (const m of spec.members) {
      const member = host(m.host);
      const address = addressOf(m.n);
      // A host's interfaces are eth0, eth1, … as on any Linux machine; a router's or a switch's are
      // named after the host at the other end of the cable.
      const memberIf = member.kind === 'router' ? `to-${side.name}` : `eth${member.interfaces.filter((i) => i.kind === 'veth' && !i.master).length}`;
      const sideIf = `to-${m.host}`;
      member.interfaces.push({ name: memberIf, kind: 'veth', mac: macFor(address), address, prefix: cidr.prefix, network: spec.name, peer: { host: side.name, interface: sideIf }, ...(delayMs > 0 && { delayMs }) });
      side.interfaces.push(
        spec.side.bridge
          ? { name: sideIf, kind: 'veth', mac: macFor(address, true), master: spec.side.bridge, peer: { host: member.name, interface: memberIf }, ...(delayMs > 0 && { delayMs }) }
          : { name: sideIf, kind: 'veth', mac: macFor(sideAddress), address: sideAddress, prefix: cidr.prefix, network: spec.name, peer: { host: member.name, interface: memberIf }, ...(delayMs > 0 && { delayMs }) },
      );
      network.members.push({ host: member.name, interface: memberIf, address });
      links.push({ name: spec.side.bridge ? `${spec.name}/${m.host}` : spec.name, kind: spec.kind, network: spec.name, delayMs, a: { host: member.name, interface: memberIf }, b: { host: side.name, interface: sideIf } });
      // A host's way out is its network's gateway (a router's default routes are in STATIC_ROUTES).
      if (member.kind === 'host' && network.gateway) member.routes.push({ to: 'default', via: sideAddress, dev: memberIf, viaHost: side.name });
    }
    networks.push(network);
  }

  const networkNamed = (name: string) => networks.find((n) => n.name === name) ?? fail(`no network ${name}`);
  for (const r of STATIC_ROUTES) {
    const router = host(r.router);
    // The next hop is the `via` router's address on a network both share.
    const shared = router.interfaces.find((i) => i.network && networkNamed(i.network).members.some((m) => m.host === r.via))
      ?? fail(`${r.router} shares no network with ${r.via}`);
    const via = networkNamed(shared.network!).members.find((m) => m.host === r.via)!.address;
    router.routes.push({ to: r.to === 'default' ? 'default' : networkNamed(r.to).cidr, via, dev: shared.name, viaHost: r.via });
  }

  const addressOfHost = (name: string) => host(name).interfaces.find((i) => i.address && i.kind === 'veth')!.address!;
  const roles = Object.fromEntries(
    ROLE_NAMES.map((role) => {
      const h = [...hosts.values()].find((x) => x.role === role)!;
      return [role, { host: h.name, namespace: h.namespace, address: addressOfHost(h.name) }];
    }),
  ) as NetPlan['roles'];
  const phone = (region: Region) => {
    const h = host(`phone-${region}`);
    const eth0 = h.interfaces[0]!;
    return { host: h.name, namespace: h.namespace, address: eth0.address!, prefix: eth0.prefix!, network: networkNamed(eth0.network!).cidr, gateway: h.routes[0]!.via };
  };

  return {
    commonPrefix: COMMON_PREFIX,
    runId,
    prefix,
    hosts: [...hosts.values()],
    networks,
    links,
    roles,
    phones: { north: phone('north'), south: phone('south') },
    nameserver: roles['local-dns'].address,
    delaysMs,
    moved,
  };
}

function fail(message: string): never {
  throw new Error(message);
}

// ──────────────────────────────── the machine's own networks ────────────────────────────────

/** The machine's addresses and routes, as `ip -j addr` and `ip -j route` print them (parsed JSON). */
export interface HostTables {
  addrs: unknown;
  routes: unknown;
}

/**
 * What the machine's own addresses and routes claim. A default route claims nothing (it means
 * "everything else"), nor does a `throw` route (it sends the lookup on to the next table).
 */
export function hostClaims(tables: HostTables): Claim[] {
  const claims: Claim[] = [];
  for (const link of asArray(tables.addrs)) {
    for (const a of asArray((link as { addr_info?: unknown }).addr_info)) {
      const { family, local, prefixlen } = a as { family?: string; local?: string; prefixlen?: number };
      if (family !== 'inet' || !local || prefixlen === undefined) continue;
      claims.push({ cidr: parseCidr(`${local}/${prefixlen}`).cidr, what: netWords().claims.address(`${local}/${prefixlen}`, (link as { ifname?: string }).ifname ?? '?') });
    }
  }
  for (const r of asArray(tables.routes)) {
    const { dst, type, gateway, dev } = r as { dst?: string; type?: string; gateway?: string; dev?: string };
    if (!dst || dst === 'default' || type === 'throw' || dst.includes(':')) continue;
    const cidr = dst.includes('/') ? dst : `${dst}/32`;
    try {
      claims.push({ cidr: parseCidr(cidr).cidr, what: `route ${dst}${type && type !== 'unicast' ? ` (${type})` : ''}${gateway ? ` via ${gateway}` : ''}${dev ? ` dev ${dev}` : ''}` });
    } catch {
      // not IPv4 (a multicast or IPv6 entry): nothing the lab's IPv4 networks can overlap
    }
  }
  return claims;
}

function asArray(x: unknown): unknown[] {
  return Array.isArray(x) ? x : [];
}

export interface Overlap {
  network: string;
  cidr: string;
  claim: Claim;
}

/** The plan's networks that overlap an address or route of the machine's (empty: the plan fits). */
export function overlaps(plan: NetPlan, tables: HostTables): Overlap[] {
  const claims = hostClaims(tables);
  return plan.networks.flatMap((n) =>
    claims.filter((c) => overlap(parseCidr(n.cidr), parseCidr(c.cidr))).map((claim) => ({ network: n.name, cidr: n.cidr, claim })),
  );
}

/** The plan for this machine: the preferred one, or a shifted one clear of every address and route it has. */
export function planFor(tables: HostTables, opts: Omit<PlanOptions, 'avoid'> = {}): NetPlan {
  const plan = planNetwork({ ...opts, avoid: hostClaims(tables) });
  const left = overlaps(plan, tables);
  if (left.length) throw new Error(netWords().claims.overlaps(left[0]!.network, left[0]!.cidr, left[0]!.claim.what));
  return plan;
}

// ────────────────────────────── the kernel's decision, on paper ─────────────────────────────

export interface Hop {
  host: string;
  /** The interface the packet leaves by, and the address it is handed to (the next hop). */
  dev: string;
  nextHop: string;
  /** The host that owns the next hop's address. */
  nextHost: string;
}

export interface PathResult {
  hops: Hop[];
  /** Arrived at the host owning the address, or the host where it stopped and why. */
  arrived: boolean;
  at: string;
  reason?: string;
  /** Routers that forwarded it: each took one off the TTL (RFC 1812 §5.3.1). */
  routers: number;
}


/** One interface as `net plan` lists it (host and namespace on a host's first interface only). */
export interface InterfaceRow {
  host: string;
  namespace: string;
  iface: string;
  /** address/prefix, or for a bridge port the bridge it belongs to. */
  address?: string;
  portOf?: string;
  mac: string;
  /** The default route's next hop through this interface, if it is the one. */
  gateway?: string;
  delayMs?: number;
}

export function interfaceRows(plan: NetPlan): InterfaceRow[] {
  return plan.hosts.flatMap((h) =>
    h.interfaces.map((i, n) => ({
      host: n === 0 ? h.name : '',
      namespace: n === 0 ? h.namespace : '',
      iface: i.name,
      ...(i.address ? { address: `${i.address}/${i.prefix}` } : i.master ? { portOf: i.master } : {}),
      mac: i.mac,
      gateway: h.routes.find((r) => r.to === 'default' && r.dev === i.name)?.via,
      delayMs: i.delayMs || undefined,
    })),
  );
}

/** Which route a host's kernel takes for `to`: the longest matching prefix among its connected networks and its routes. */
export function routeLookup(h: Host, to: string): { dev: string; via?: string; prefix: number } | undefined {
  const dst = parseIpv4(to);
  const candidates: Array<{ dev: string; via?: string; prefix: number }> = [];
  for (const i of h.interfaces) {
    if (i.address && contains(parseCidr(`${i.address}/${i.prefix}`), dst)) candidates.push({ dev: i.name, prefix: i.prefix! });
  }
  for (const r of h.routes) {
    const c = r.to === 'default' ? parseCidr('0.0.0.0/0') : parseCidr(r.to);
    if (contains(c, dst)) candidates.push({ dev: r.dev, via: r.via, prefix: c.prefix });
  }
  return candidates.sort((a, b) => b.prefix - a.prefix)[0];
}

/**
 * Follow a packet from `from` to the address `to` through the plan's routing tables, as the
 * kernels will: look up the route, hand the packet to the next hop on that network, and there
 * either deliver it (it is the host's own address) or, on a router, forward it.
 */
export function tracePath(plan: NetPlan, from: string, to: string): PathResult {
  const byName = new Map(plan.hosts.map((h) => [h.name, h]));
  const owner = (address: string) => plan.hosts.find((h) => h.interfaces.some((i) => i.address === address));
  const hops: Hop[] = [];
  let at = byName.get(from) ?? fail(`no host ${from}`);
  let routers = 0;
  for (let ttl = 64; ttl > 0; ttl--) {
    if (at.interfaces.some((i) => i.address === to)) return { hops, arrived: true, at: at.name, routers };
    const forwarding = hops.length > 0;
    if (forwarding && at.kind !== 'router') return { hops, arrived: false, at: at.name, reason: 'not a router: it does not forward', routers };
    const route = routeLookup(at, to);
    if (!route) return { hops, arrived: false, at: at.name, reason: 'no route (Net Unreachable)', routers };
    const nextHop = route.via ?? to;
    const next = owner(nextHop);
    if (!next) return { hops, arrived: false, at: at.name, reason: `nobody has ${nextHop} (ARP gets no answer)`, routers };
    if (forwarding) routers++;
    hops.push({ host: at.name, dev: route.dev, nextHop, nextHost: next.name });
    at = next;
  }
  return { hops, arrived: false, at: at.name, reason: 'TTL ran out (a routing loop)', routers };
}

/**
 * The round trip the links add between two hosts: twice the one-way delay of each cable on the way
 * as planned. Hop by hop: the cable between a host and its next hop,
 * or, where a bridge in a third host joins them, the two cables through it.
 */
export function linkRoundTripMs(plan: NetPlan, from: string, to: string): number {
  const cable = (a: string, b: string) => plan.links.find((l) => (l.a.host === a && l.b.host === b) || (l.a.host === b && l.b.host === a));
  const oneWay = (a: string, b: string): number => {
    const direct = cable(a, b);
    if (direct) return direct.delayMs;
    const via = plan.hosts.find((x) => cable(a, x.name) && cable(x.name, b));
    return via ? cable(a, via.name)!.delayMs + cable(via.name, b)!.delayMs : 0;
  };
  return 2 * tracePath(plan, from, to).hops.reduce((sum, h) => sum + oneWay(h.host, h.nextHost), 0);
}
