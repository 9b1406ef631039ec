// The lab's network of namespaces: the plan on paper (everywhere), then built for real (Linux, root).
//
// The real tests build whole networks, each with a prefix of its own (this worker's pid and a
// letter), and remove them in afterAll and in finally blocks, failing or not. They also pass when
// the runner itself sits in a namespace with nothing but lo:
//   ip netns add nst1; ip netns exec nst1 ip link set lo up
//   ip netns exec nst1 npx vitest run test/net-ns.test.ts; ip netns del nst1
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contains, parseCidr, parseIpv4 } from '../servers/net/ipv4.ts';
import { planRoles } from '../lab/topology.ts';
import {
  COMMON_PREFIX,
  DEFAULT_DELAYS_MS,
  RESERVED,
  ROLE_NAMES,
  hostClaims,
  overlaps,
  planFor,
  planNetwork,
  routeLookup,
  runOf,
  runPrefix,
  tracePath,
  linkRoundTripMs,
  type HostTables,
  type NetPlan,
} from '../lab/net-ns/plan.ts';
import { buildNetwork, canBuild, createCommands, NETNS_ETC, readHostTables, teardownNetwork, teardownNetworkSync, type BuiltNetwork } from '../lab/net-ns/build.ts';
import { cleanup, freshLabDir, killGroup, labCli, run, startLabCommand, TSX } from './lab-process.ts';

const plan = planNetwork({ runId: '4711' });
const inReserved = (cidr: string) => {
  const c = parseCidr(cidr);
  return RESERVED.some((r) => contains(parseCidr(r.cidr), c.network, c.prefix));
};
const addressed = (p: NetPlan) => p.hosts.flatMap((h) => h.interfaces.filter((i) => i.address).map((i) => ({ host: h.name, ...i })));
/** Hosts the internet reaches: all but those on the SLB's private subnet. */
const publicHosts = (p: NetPlan) => p.hosts.filter((h) => !h.interfaces.some((i) => i.network === 'shop-apps' && h.name !== 'slb'));

/** `ip -j addr` and `ip -j route` as a machine might print them. */
function tables(addrs: Array<[ifname: string, cidr: string]>, routes: object[] = []): HostTables {
  return {
    addrs: [
      { ifname: 'lo', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }, { family: 'inet6', local: '::1', prefixlen: 128 }] },
      ...addrs.map(([ifname, cidr]) => ({ ifname, addr_info: [{ family: 'inet', local: cidr.split('/')[0], prefixlen: Number(cidr.split('/')[1]) }] })),
    ],
    routes,
  };
}

describe('the plan', () => {
  it('takes every address from RFC 5737, RFC 2544 or RFC 6598, and says which', () => {
    for (const n of plan.networks) {
      expect(inReserved(n.cidr), n.cidr).toBe(true);
      const range = RESERVED.find((r) => contains(parseCidr(r.cidr), parseCidr(n.cidr).network, parseCidr(n.cidr).prefix))!;
      expect(n.rfc).toBe(range.rfc);
    }
    for (const i of addressed(plan)) expect(inReserved(`${i.address}/32`), `${i.host} ${i.name} ${i.address}`).toBe(true);
    expect(plan.phones.north.network).toBe('100.64.1.0/24'); // RFC 6598: as a carrier's CGNAT gives phones
    expect(plan.roles.slb.address).toBe('203.0.113.80'); // the VIP on a public-looking address
  });

  it('gives no two interfaces the same address or MAC; every MAC is locally administered unicast', () => {
    const all = plan.hosts.flatMap((h) => h.interfaces);
    const addresses = all.flatMap((i) => (i.address ? [i.address] : []));
    expect(new Set(addresses).size).toBe(addresses.length);
    expect(new Set(all.map((i) => i.mac)).size).toBe(all.length);
    for (const i of all) {
      const first = parseInt(i.mac.slice(0, 2), 16);
      expect(first & 0b11, i.mac).toBe(0b10); // IEEE 802: local bit set, multicast bit clear
    }
    // An address sits in its network, and is neither the network's nor its broadcast address.
    for (const i of addressed(plan)) {
      const n = plan.networks.find((x) => x.name === i.network)!;
      const c = parseCidr(n.cidr);
      const a = parseIpv4(i.address!);
      expect(contains(c, a)).toBe(true);
      expect(a).not.toBe(c.network);
      expect(a).not.toBe(c.network + 2 ** (32 - c.prefix) - 1);
    }
  });

  it('names interfaces in at most 15 characters, each once per host; namespaces carry the run prefix', () => {
    for (const h of plan.hosts) {
      expect(h.namespace).toBe(`bol-4711-${h.name}`);
      const names = h.interfaces.map((i) => i.name);
      expect(new Set(names).size).toBe(names.length);
      for (const name of names) expect(name.length, name).toBeLessThanOrEqual(15);
    }
  });

  it('routes every public host to every other, hop by hop through its gateway, and back', () => {
    const hosts = publicHosts(plan);
    for (const from of hosts) {
      for (const to of hosts) {
        if (from === to) continue;
        for (const i of to.interfaces.filter((x) => x.address && x.network !== 'shop-apps')) {
          const path = tracePath(plan, from.name, i.address!);
          expect(path.arrived, `${from.name} → ${to.name} ${i.address}: stopped at ${path.at}, ${path.reason}`).toBe(true);
          // The first hop of a host that is not on the destination's network is its default gateway.
          const own = from.interfaces.some((x) => x.network === i.network);
          if (from.kind === 'host' && !own) expect(path.hops[0]!.nextHop).toBe(from.routes.find((r) => r.to === 'default')!.via);
        }
      }
    }
  });

  it('puts a router between everybody: the phone reaches the SLB through three, each taking one off the TTL', () => {
    const path = tracePath(plan, 'phone-north', plan.roles.slb.address);
    expect(path.hops.map((h) => h.host)).toEqual(['phone-north', 'pgw-north', 'core', 'shop-router']);
    expect(path.routers).toBe(3);
    // Every pair of public hosts not on one network has at least one router between them.
    for (const from of publicHosts(plan).filter((h) => h.kind === 'host')) {
      for (const role of ROLE_NAMES.filter((r) => r !== 'app-1' && r !== 'app-2')) {
        const to = plan.roles[role];
        if (to.host === from.name) continue;
        const sameNetwork = from.interfaces.some((i) => routeLookup(from, to.address)?.dev === i.name && !routeLookup(from, to.address)?.via);
        if (!sameNetwork) expect(tracePath(plan, from.name, to.address).routers, `${from.name} → ${role}`).toBeGreaterThanOrEqual(1);
      }
    }
  });

  it('keeps the app servers behind the SLB: they reach it, nothing outside reaches them, and the SLB forwards nothing', () => {
    for (const app of ['app-1', 'app-2'] as const) {
      const back = plan.hosts.find((h) => h.name === 'slb')!.interfaces.find((i) => i.name === 'br-apps')!.address!;
      expect(tracePath(plan, app, back).arrived).toBe(true);
      expect(tracePath(plan, 'slb', plan.roles[app].address).arrived).toBe(true);
      const fromPhone = tracePath(plan, 'phone-north', plan.roles[app].address);
      expect(fromPhone).toMatchObject({ arrived: false, at: 'core', reason: 'no route (Net Unreachable)' });
      expect(tracePath(plan, app, plan.phones.north.address)).toMatchObject({ arrived: false, at: app });
    }
    expect(plan.hosts.find((h) => h.name === 'slb')!.kind).toBe('host');
  });

  it('has the core router know every public network and no default route (nothing leaves the lab)', () => {
    const core = plan.hosts.find((h) => h.name === 'core')!;
    expect(core.routes.some((r) => r.to === 'default')).toBe(false);
    expect(routeLookup(core, '8.8.8.8')).toBeUndefined();
    expect(tracePath(plan, 'phone-north', '8.8.8.8')).toMatchObject({ arrived: false, at: 'core' });
  });

  it('has a host and an address for every role of today\'s lab, and both phones', () => {
    const loopbackRoles = planRoles({ addressing: 'per-role', canBind: () => true }).map((r) => r.name);
    expect([...ROLE_NAMES].sort()).toEqual([...loopbackRoles].sort());
    for (const role of ROLE_NAMES) {
      const r = plan.roles[role];
      const h = plan.hosts.find((x) => x.name === r.host)!;
      expect(h.role).toBe(role);
      expect(h.interfaces.some((i) => i.address === r.address)).toBe(true);
    }
    expect(plan.phones.south).toMatchObject({ host: 'phone-south', address: '100.64.2.10', prefix: 24, gateway: '100.64.2.1' });
    expect(plan.nameserver).toBe(plan.roles['local-dns'].address);
  });

  it('delays each link by its kind, the radio link slowest, and takes other delays', () => {
    const radio = plan.links.find((l) => l.network === 'access-north')!;
    expect(radio.delayMs).toBe(DEFAULT_DELAYS_MS.radio);
    expect(Math.max(...plan.links.map((l) => l.delayMs))).toBe(DEFAULT_DELAYS_MS.radio);
    const slow = planNetwork({ runId: '1', delaysMs: { radio: 50, dc: 0 } });
    expect(slow.links.find((l) => l.network === 'access-north')!.delayMs).toBe(50);
    expect(slow.hosts.find((h) => h.name === 'slb')!.interfaces[0]!.delayMs).toBeUndefined(); // 0 ms: no netem at all
    expect(() => planNetwork({ delaysMs: { warp: 1 } as never })).toThrow(/no such kind of link: warp/);
    expect(() => planNetwork({ delaysMs: { radio: -1 } })).toThrow(/0-10000 ms/);
  });

  it('adds up the round trip cable by cable, through a bridge too (measured in a VM with netem: see the closing note of issue 10)', () => {
    const d = DEFAULT_DELAYS_MS;
    // phone → PGW (radio) → core (backbone) → shop router (transit) → SLB (dc)
    expect(linkRoundTripMs(plan, 'phone-north', plan.roles.slb.address)).toBe(2 * (d.radio + d.backbone + d.transit + d.dc));
    // The DNS servers share a network joined by a bridge: the last hop is the cable to the resolver's host.
    expect(linkRoundTripMs(plan, 'phone-north', plan.roles['local-dns'].address)).toBe(2 * (d.radio + d.backbone + d.dns));
    expect(linkRoundTripMs(plan, 'phone-north', plan.roles.origin.address)).toBe(2 * (d.radio + d.backbone + d['cdn-core']));
  });

  it('is the same plan every time (MACs included), and creates every cable between two lab namespaces', () => {
    expect(planNetwork({ runId: '4711' })).toEqual(plan);
    for (const line of createCommands(plan).filter((l) => l.startsWith('link add'))) {
      const namespaces = [...line.matchAll(/ netns (\S+)/g)].map((m) => m[1]!);
      expect(namespaces.length, line).toBe(line.includes(' type veth ') ? 2 : 1);
      for (const ns of namespaces) expect(ns.startsWith(plan.prefix), line).toBe(true);
    }
  });

  it('names runs by the owner pid, and tells the lab\'s names from everybody else\'s', () => {
    expect(runPrefix('4711')).toBe(`${COMMON_PREFIX}4711-`);
    expect(() => runPrefix('x; rm -rf /')).toThrow(/pid/);
    expect(runOf('bol-4711b-phone-north')).toEqual({ prefix: 'bol-4711b-', pid: 4711 });
    for (const other of ['w1', 'cifresh', 'dnsf1', 'bol-', 'bol-abc-x', 'bolt-1-x']) expect(runOf(other), other).toBeUndefined();
  });
});

describe("the plan against the machine's own addresses and routes", () => {
  it('fits a machine on other networks: nothing moves', () => {
    const host = tables([['eth0', '10.0.2.15/24']], [{ dst: 'default', gateway: '10.0.2.2', dev: 'eth0' }, { dst: '10.0.2.0/24', dev: 'eth0' }]);
    expect(overlaps(plan, host)).toEqual([]);
    expect(planFor(host, { runId: '4711' })).toEqual(plan);
  });

  it('moves the DNS network off 192.0.2.0/24 when the machine is on it, and says why', () => {
    const host = tables([['eth0', '192.0.2.2/24']], [{ dst: 'default', gateway: '192.0.2.1', dev: 'eth0' }]);
    expect(overlaps(plan, host)).toEqual([{ network: 'dns', cidr: '192.0.2.0/24', claim: { cidr: '192.0.2.0/24', what: '192.0.2.2/24 on eth0' } }]);
    const shifted = planFor(host, { runId: '4711' });
    expect(overlaps(shifted, host)).toEqual([]);
    expect(shifted.moved).toEqual([{ block: 'dns', from: '192.0.2.0/24', to: '198.19.0.0/24', because: '192.0.2.2/24 on eth0' }]);
    expect(shifted.networks.find((n) => n.name === 'dns')).toMatchObject({ cidr: '198.19.0.0/24', rfc: 'RFC 2544' });
    expect(shifted.roles.root.address).toBe('198.19.0.10'); // the host keeps its number
    expect(shifted.roles.slb.address).toBe('203.0.113.80'); // the rest stays
    expect(tracePath(shifted, 'phone-south', shifted.roles.root.address).arrived).toBe(true);
  });

  it('moves the phones when a VPN routes part of 100.64.0.0/10 (Tailscale does), and the links past a route into 198.18.0.0/24', () => {
    const host = tables(
      [['tailscale0', '100.64.7.9/32']],
      [
        { dst: '100.64.0.0/16', dev: 'tailscale0', table: '52' },
        { dst: '198.18.0.7', dev: 'wg0' }, // a host route: claims one address
        { dst: '198.18.0.0/15', type: 'throw', table: '52' }, // a throw route claims nothing
      ],
    );
    const shifted = planFor(host, { runId: '4711' });
    expect(overlaps(shifted, host)).toEqual([]);
    expect(shifted.phones.north.network).toBe('100.65.1.0/24');
    expect(shifted.networks.find((n) => n.name === 'backbone-north')!.cidr).toBe('198.18.2.0/30');
    expect(shifted.moved.map((m) => m.block)).toEqual(['carrier', 'links']);
    expect(shifted.moved[1]!.because).toBe('route 198.18.0.7 dev wg0');
  });

  it('refuses, naming the conflict, when no place is left', () => {
    const host = tables([], [{ dst: '198.18.0.0/15', gateway: '10.0.0.1', dev: 'eth0' }]);
    expect(() => planFor(host)).toThrow(/no room for the lab's links network: .*route 198\.18\.0\.0\/15 via 10\.0\.0\.1 dev eth0/);
  });

  it('reads only IPv4 claims from ip -j output, and no default route', () => {
    const claims = hostClaims(tables([['eth0', '192.0.2.2/24']], [{ dst: 'default', gateway: '192.0.2.1' }, { dst: 'fe80::/64', dev: 'eth0' }, { dst: '192.0.2.0/24', dev: 'eth0' }]));
    expect(claims.map((c) => c.cidr)).toEqual(['127.0.0.0/8', '192.0.2.0/24', '192.0.2.0/24']);
  });
});

// ─────────────────────────────────────── built for real ─────────────────────────────────────

const check = os.platform() === 'linux' ? canBuild() : ({ ok: false, reason: `not Linux (${os.platform()})` } as const);
const skipped = check.ok ? '' : ` (skipped: ${check.reason}; run the tests as root on Linux)`;

/** `ip …` or any command; resolves with its output, rejects with its stderr. */
function sh(cmd: string, args: string[], timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { encoding: 'utf8', timeout: timeoutMs }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout))),
  );
}
const ipJson = async (args: string[]) => JSON.parse((await sh('ip', ['-j', ...args])) || '[]') as Array<Record<string, unknown>>;
const namespacesNow = async () => (await ipJson(['netns', 'list'])).map((n) => n.name as string);

/** Run a small Node program inside a namespace; it prints one JSON line. */
async function nodeIn(namespace: string, program: string, args: string[]): Promise<Record<string, unknown>> {
  return JSON.parse(await sh('ip', ['netns', 'exec', namespace, process.execPath, '-e', program, ...args], 15_000));
}

/**
 * From the phone: a TCP SYN to the VIP's port 9 (nothing listens: the SLB's kernel answers RST),
 * timed; then the lab's traceroute: UDP probes with TTL 1 to 4 to ports 33434…33437, each router
 * on the way answering the probe that dies there with ICMP Time Exceeded (RFC 792), the SLB the
 * last with Port Unreachable. Node cannot read ICMP: the capture sees the answers.
 */
const PHONE_PROBES = `
const net = require('node:net'), dgram = require('node:dgram');
const [host, port] = [process.argv[1], Number(process.argv[2])];
(async () => {
  const t0 = performance.now();
  const tcp = await new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: 5000 });
    s.once('connect', () => { s.destroy(); resolve('connected'); });
    s.once('timeout', () => { s.destroy(); resolve('timeout'); });
    s.once('error', (e) => resolve(e.code));
  });
  const ms = performance.now() - t0;
  const udp = dgram.createSocket('udp4');
  await new Promise((r) => udp.bind(0, r));
  for (let ttl = 1; ttl <= 4; ttl++) {
    udp.setTTL(ttl);
    await new Promise((r) => udp.send('probe', 33433 + ttl, host, r));
    await new Promise((r) => setTimeout(r, 30));
  }
  udp.close();
  console.log(JSON.stringify({ tcp, ms }));
})();`;

/** tcpdump inside a namespace, writing a file; stop() ends it (SIGINT) and waits until the file is closed. */
async function captureIn(namespace: string, dev: string, file: string): Promise<{ stop(): Promise<void> }> {
  const child: ChildProcess = spawn('ip', ['netns', 'exec', namespace, 'tcpdump', '-i', dev, '-n', '--immediate-mode', '-U', '-Z', 'root', '-w', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tcpdump in ${namespace} did not start: ${stderr}`)), 10_000);
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d;
      if (stderr.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', () => reject(new Error(`tcpdump in ${namespace} ended: ${stderr}`)));
  });
  return {
    async stop() {
      child.kill('SIGINT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      child.kill('SIGKILL');
    },
  };
}

const FIELDS = ['frame.number', 'eth.src', 'eth.dst', 'arp.opcode', 'arp.src.hw_mac', 'arp.src.proto_ipv4', 'arp.dst.proto_ipv4', 'ip.src', 'ip.dst', 'ip.ttl', 'tcp.srcport', 'tcp.dstport', 'tcp.flags.syn', 'tcp.flags.ack', 'tcp.flags.reset', 'icmp.type', 'icmp.code', 'udp.dstport'] as const;
type Frame = Record<(typeof FIELDS)[number], string>;

/** Each frame's fields as tshark reads them (for an ICMP error, ip.* and udp.* list the outer header first). */
async function frames(file: string): Promise<Frame[]> {
  const out = await sh('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=f', ...FIELDS.flatMap((f) => ['-e', f])]);
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => Object.fromEntries(line.split('\t').map((v, i) => [FIELDS[i], v])) as Frame);
}

/** The same test's networks, removed in afterAll whatever happened. */
const built: string[] = [];
let letter = 0;
async function buildOne(opts: { delaysMs?: Record<string, number> } = {}): Promise<BuiltNetwork> {
  const runId = `${process.pid}${String.fromCharCode(97 + letter++)}`;
  const plan = planFor(await readHostTables(), { runId, ...opts });
  built.push(plan.prefix);
  return buildNetwork(plan);
}

describe.skipIf(!check.ok)(`the network, built${skipped}`, () => {
  let net: BuiltNetwork;
  let ownLinksBefore: Array<Record<string, unknown>>;
  let dir: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'net-ns-'));
    ownLinksBefore = await ipJson(['link']);
    net = await buildOne();
  }, 30_000);

  afterAll(async () => {
    for (const prefix of built) await teardownNetwork(prefix);
    await cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('makes every namespace, and not one interface of the lab in ours: the lab cannot reach this machine nor be reached', async () => {
    const plan = net.plan;
    const names = await namespacesNow();
    for (const h of plan.hosts) expect(names).toContain(h.namespace);
    const own = await ipJson(['link']);
    expect(own.map((l) => l.ifname)).toEqual(ownLinksBefore.map((l) => l.ifname));
    const labMacs = new Set(plan.hosts.flatMap((h) => h.interfaces.map((i) => i.mac)));
    for (const l of own) expect(labMacs.has(l.address as string), `${l.ifname} ${l.address}`).toBe(false);
    // The core knows no way out: not to the internet, not to any address of this machine.
    const ours = hostClaims({ addrs: await ipJson(['addr']), routes: [] }).filter((c) => !c.cidr.startsWith('127.'));
    for (const to of ['8.8.8.8', ...ours.map((c) => c.cidr.split('/')[0]!)]) {
      await expect(sh('ip', ['-n', `${plan.prefix}core`, 'route', 'get', to])).rejects.toThrow(/unreachable/i);
    }
  });

  it('configures each namespace as planned: addresses, MACs, default routes, forwarding on routers only, the lab resolver', async () => {
    const plan = net.plan;
    for (const h of plan.hosts) {
      const links = await ipJson(['-n', h.namespace, 'addr']);
      for (const i of h.interfaces) {
        const link = links.find((l) => l.ifname === i.name);
        expect(link, `${h.name} ${i.name}`).toBeDefined();
        expect(link!.address).toBe(i.mac);
        expect(link!.operstate === 'UP' || i.kind === 'bridge', `${h.name} ${i.name} ${link!.operstate}`).toBe(true);
        const inet = (link!.addr_info as Array<{ family: string; local: string; prefixlen: number }>).filter((a) => a.family === 'inet');
        expect(inet.map((a) => `${a.local}/${a.prefixlen}`)).toEqual(i.address ? [`${i.address}/${i.prefix}`] : []);
        // No IPv6 address of any kind: the captures hold only the IPv4 story.
        expect((link!.addr_info as Array<{ family: string }>).some((a) => a.family === 'inet6')).toBe(false);
      }
      const routes = await ipJson(['-n', h.namespace, 'route']);
      for (const r of h.routes) expect(routes, `${h.name} ${r.to}`).toContainEqual(expect.objectContaining({ dst: r.to, gateway: r.via, dev: r.dev }));
      const forwarding = (await sh('ip', ['netns', 'exec', h.namespace, 'cat', '/proc/sys/net/ipv4/ip_forward'])).trim();
      expect(forwarding, h.name).toBe(h.kind === 'router' ? '1' : '0');
      expect(fs.readFileSync(path.join(NETNS_ETC, h.namespace, 'resolv.conf'), 'utf8')).toMatch(new RegExp(`^nameserver ${plan.nameserver.replaceAll('.', '\\.')}$`, 'm'));
    }
    const phone = plan.phones.north;
    expect(await sh('ip', ['netns', 'exec', phone.namespace, 'cat', '/etc/resolv.conf'])).toContain(`nameserver ${plan.nameserver}`);
    // The kernel's own decision agrees with the plan's: the VIP is not on the phone's network, so via the gateway.
    const [route] = await ipJson(['-n', phone.namespace, 'route', 'get', plan.roles.slb.address]);
    expect(route).toMatchObject({ dst: plan.roles.slb.address, gateway: phone.gateway, dev: 'eth0', prefsrc: phone.address });
  });

  it.skipIf(!onPathSync('tcpdump') || !onPathSync('tshark'))(
    "§6 for real: the phone ARPs for its gateway, sends to the gateway's MAC with TTL 64, each router takes one off, the SLB sees the same packet from the border router's MAC (tcpdump and tshark on PATH)",
    { timeout: 30_000 },
    async () => {
      const plan = net.plan;
      const phone = plan.phones.north;
      const vip = plan.roles.slb.address;
      const phoneHost = plan.hosts.find((h) => h.name === phone.host)!;
      const gatewayMac = plan.hosts.find((h) => h.name === 'pgw-north')!.interfaces.find((i) => i.address === phone.gateway)!.mac;
      const slbEth0 = plan.hosts.find((h) => h.name === 'slb')!.interfaces.find((i) => i.address === vip)!;
      const borderMac = plan.hosts.find((h) => h.name === 'shop-router')!.interfaces.find((i) => i.name === 'to-slb')!.mac;
      const path = tracePath(plan, phone.host, vip);

      const phoneCap = await captureIn(phone.namespace, 'eth0', `${dir}/phone.pcap`);
      const slbCap = await captureIn(`${plan.prefix}slb`, 'eth0', `${dir}/slb.pcap`);
      let probe: Record<string, unknown>;
      try {
        probe = await nodeIn(phone.namespace, PHONE_PROBES, [vip, '9']);
        await new Promise((r) => setTimeout(r, 300)); // the last ICMP answers on their way
      } finally {
        await phoneCap.stop();
        await slbCap.stop();
      }
      expect(probe.tcp).toBe('ECONNREFUSED'); // the SLB's kernel answered: reached

      const atPhone = await frames(`${dir}/phone.pcap`);
      // ARP (RFC 826): who has the gateway's address? Asked by broadcast, answered with its MAC.
      const request = atPhone.find((f) => f['arp.opcode'] === '1')!;
      expect(request).toMatchObject({ 'eth.src': phoneHost.interfaces[0]!.mac, 'eth.dst': 'ff:ff:ff:ff:ff:ff', 'arp.src.proto_ipv4': phone.address, 'arp.dst.proto_ipv4': phone.gateway });
      const reply = atPhone.find((f) => f['arp.opcode'] === '2' && f['arp.src.proto_ipv4'] === phone.gateway)!;
      expect(reply).toMatchObject({ 'eth.src': gatewayMac, 'eth.dst': phoneHost.interfaces[0]!.mac, 'arp.src.hw_mac': gatewayMac });
      // The SYN: to the VIP's IP address, in a frame to the gateway's MAC, TTL 64 as it leaves.
      const syn = atPhone.find((f) => f['tcp.flags.syn'] === '1' && f['tcp.flags.ack'] === '0')!;
      expect(syn).toMatchObject({ 'eth.src': phoneHost.interfaces[0]!.mac, 'eth.dst': gatewayMac, 'ip.src': phone.address, 'ip.dst': vip, 'ip.ttl': '64' });
      expect(Number(request['frame.number'])).toBeLessThan(Number(reply['frame.number']));
      expect(Number(reply['frame.number'])).toBeLessThan(Number(syn['frame.number']));
      // The RST comes back through the same routers: 64 less one each (RFC 1812 §5.3.1).
      const rst = atPhone.find((f) => f['tcp.flags.reset'] === '1')!;
      expect(rst).toMatchObject({ 'ip.src': vip, 'ip.ttl': String(64 - path.routers), 'eth.src': gatewayMac });
      // The lab's traceroute: probe n dies at the n-th router, which says so from its address facing the phone.
      const timeExceeded = atPhone.filter((f) => f['icmp.type'] === '11').map((f) => [f['udp.dstport'], f['ip.src'].split(',')[0]]);
      const routers = path.hops.slice(0, path.routers);
      expect(routers.map((h) => h.nextHost)).toEqual(['pgw-north', 'core', 'shop-router']);
      expect(timeExceeded).toEqual(routers.map((h, n) => [String(33434 + n), h.nextHop]));
      expect(atPhone.some((f) => f['icmp.type'] === '3' && f['icmp.code'] === '3' && f['ip.src'].startsWith(vip))).toBe(true);

      // The same SYN on the SLB's link: same addresses and ports; other MACs; TTL lower by the routers.
      const atSlb = await frames(`${dir}/slb.pcap`);
      const synThere = atSlb.find((f) => f['tcp.flags.syn'] === '1' && f['tcp.flags.ack'] === '0' && f['tcp.srcport'] === syn['tcp.srcport'])!;
      expect(synThere).toMatchObject({ 'ip.src': phone.address, 'ip.dst': vip, 'tcp.dstport': '9', 'ip.ttl': String(64 - path.routers), 'eth.src': borderMac, 'eth.dst': slbEth0.mac });

      // The phone's ARP cache keeps the gateway's MAC.
      const neigh = await ipJson(['-n', phone.namespace, 'neigh']);
      expect(neigh).toContainEqual(expect.objectContaining({ dst: phone.gateway, dev: 'eth0', lladdr: gatewayMac }));
    },
  );

  it('delays for real: a round trip from the phone to the VIP takes at least twice the one-way delays of its path', { timeout: 20_000 }, async (ctx) => {
    if (!net.delays.applied) return ctx.skip(net.delays.reason);
    const plan = net.plan;
    const path = tracePath(plan, plan.phones.north.host, plan.roles.slb.address);
    const oneWay = path.hops.reduce((sum, hop) => sum + (plan.hosts.find((h) => h.name === hop.host)!.interfaces.find((i) => i.name === hop.dev)!.delayMs ?? 0), 0);
    expect(oneWay).toBe(DEFAULT_DELAYS_MS.radio + DEFAULT_DELAYS_MS.backbone + DEFAULT_DELAYS_MS.transit + DEFAULT_DELAYS_MS.dc);
    // SYN out, RST back: one round trip (the first one, with ARP on every link, takes longer still).
    // A lower bound only: a busy machine may take longer, never shorter.
    const probe = await nodeIn(plan.phones.north.namespace, PHONE_PROBES, [plan.roles.slb.address, '9']);
    expect(probe.tcp).toBe('ECONNREFUSED');
    expect(probe.ms as number).toBeGreaterThanOrEqual(2 * oneWay);
  });

  it('keeps the app servers behind the SLB: the SLB reaches them, the phone gets Net Unreachable from the core at once', { timeout: 20_000 }, async () => {
    const plan = net.plan;
    const app = plan.roles['app-1'].address;
    const connect = `const s = require('node:net').connect({ host: process.argv[1], port: 9, timeout: 5000 });
      const t0 = performance.now();
      s.once('connect', () => { s.destroy(); console.log(JSON.stringify({ r: 'connected' })); });
      s.once('timeout', () => { s.destroy(); console.log(JSON.stringify({ r: 'timeout' })); });
      s.once('error', (e) => console.log(JSON.stringify({ r: e.code, ms: performance.now() - t0 })));`;
    expect(await nodeIn(`${plan.prefix}slb`, connect, [app])).toMatchObject({ r: 'ECONNREFUSED' });
    const fromPhone = await nodeIn(plan.phones.north.namespace, connect, [app]);
    expect(fromPhone.r).toBe('ENETUNREACH');
    await expect(sh('ip', ['-n', `${plan.prefix}core`, 'route', 'get', app])).rejects.toThrow(/unreachable/i);
  });

  it('tears down everything, twice over (idempotent): no namespace, no /etc/netns directory', async () => {
    const other = await buildOne();
    const prefix = other.plan.prefix;
    const removed = await teardownNetwork(prefix);
    expect(removed.namespaces).toHaveLength(other.plan.hosts.length);
    expect(removed.dirs).toHaveLength(other.plan.hosts.length);
    expect((await namespacesNow()).filter((n) => n.startsWith(prefix))).toEqual([]);
    expect(fs.readdirSync(NETNS_ETC).filter((d) => d.startsWith(prefix))).toEqual([]);
    expect(await teardownNetwork(prefix)).toMatchObject({ namespaces: [], dirs: [], killed: [] });
    expect(teardownNetworkSync(prefix)).toMatchObject({ namespaces: [], dirs: [], killed: [] });
    // The first network is untouched.
    expect((await namespacesNow()).filter((n) => n.startsWith(net.plan.prefix))).toHaveLength(net.plan.hosts.length);
  }, 30_000);

  it('refuses to build over namespaces of the same run', async () => {
    await expect(buildNetwork(net.plan)).rejects.toThrow(/exist already.*net down/);
    expect((await namespacesNow()).filter((n) => n.startsWith(net.plan.prefix))).toHaveLength(net.plan.hosts.length);
  });
});

describe.skipIf(!check.ok)(`npm run lab -- net up, and net down after a SIGKILL${skipped}`, () => {
  afterAll(async () => {
    await cleanup();
  });

  /** Start `net up`, wait until it says the network is up, and read its run's prefix from what it printed. */
  async function netUp(): Promise<{ up: ReturnType<typeof startLabCommand>; prefix: string }> {
    const up = startLabCommand(freshLabDir(), ['net', 'up']);
    await up.waitForStdout('The network is up.', 20_000);
    const prefix = /\b(bol-\d+[a-z]*-)phone-north\b/.exec(up.stdout)?.[1];
    if (!prefix) throw new Error(`no namespace in the output:\n${up.output()}`);
    return { up, prefix };
  }
  const leftovers = async (prefix: string) => [
    ...(await namespacesNow()).filter((n) => n.startsWith(prefix)),
    ...(fs.existsSync(NETNS_ETC) ? fs.readdirSync(NETNS_ETC).filter((d) => d.startsWith(prefix)) : []),
  ];

  // To the whole process group, as a terminal's Ctrl-C does: under tsx the lab gets it twice.
  it.each(['SIGINT', 'SIGTERM'] as const)('up prints the plan and how to use it, and removes everything on %s', { timeout: 40_000 }, async (signal) => {
    const { up, prefix } = await netUp();
    try {
      expect(up.stdout).toMatch(/Built 19 namespaces \(15 hosts, 4 routers\), 18 cables and 3 switches in \d+ ms/);
      expect(up.stdout).toContain(`ip netns exec ${prefix}phone-north`);
      expect(await leftovers(prefix)).toHaveLength(2 * 19);
      process.kill(-up.pid, signal);
      await up.waitForStdout('Removed 19 namespaces and 19 resolver directories', 15_000);
      await up.waitForExit(15_000);
    } finally {
      killGroup(up.child);
      await teardownNetwork(prefix);
    }
    expect(await leftovers(prefix)).toEqual([]);
  });

  it('a crash after the build (an uncaught error) removes the network through the exit hook', { timeout: 40_000 }, async () => {
    const crash = await run(TSX, ['test/fixtures/net-ns-crash.ts'], { timeoutMs: 30_000 });
    const prefix = /^built (bol-\d+x-)$/m.exec(crash.stdout)?.[1];
    expect(prefix, `${crash.stdout}\n${crash.stderr}`).toBeDefined();
    expect(crash.code).toBe(1);
    expect(crash.stderr).toContain('crash on purpose');
    expect(await leftovers(prefix!)).toEqual([]);
  });

  it('after a SIGKILL (no exit hook runs) the namespaces stay, and net down removes them all', { timeout: 40_000 }, async () => {
    const { up, prefix } = await netUp();
    try {
      process.kill(-up.pid, 'SIGKILL');
      await up.waitForExit(10_000);
      expect(await leftovers(prefix)).toHaveLength(2 * 19);
      const down = await labCli(freshLabDir(), ['net', 'down']);
      expect(down.code, down.stderr).toBe(0);
      expect(down.stdout).toContain(`Removed 19 namespaces and 19 resolver directories (${prefix}*)`);
    } finally {
      killGroup(up.child);
      await teardownNetwork(prefix);
    }
    expect(await leftovers(prefix)).toEqual([]);
  });
});

describe.skipIf(os.platform() !== 'linux')('without privilege', () => {
  /** As nobody, with no capabilities, when we are root; as ourselves otherwise. */
  const unprivileged = (args: string[]) =>
    process.getuid?.() === 0
      ? run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--', TSX, 'lab/cli.ts', ...args], { env: { ...process.env, HOME: os.tmpdir() }, timeoutMs: 20_000 })
      : run(TSX, ['lab/cli.ts', ...args], { timeoutMs: 20_000 });

  /**
   * Namespaces that appeared since `before` and belong to no running lab (a name holds its lab's
   * pid: bol-4711-slb). Other test files build networks at the same time; a refused command that
   * had built one anyway would have left it behind when it exited.
   */
  const leftSince = async (before: string[]) =>
    (await namespacesNow()).filter((n) => {
      if (before.includes(n)) return false;
      const pid = Number(/^bol-(\d+)/.exec(n)?.[1]);
      try {
        return !(pid > 0 && process.kill(pid, 0));
      } catch {
        return true; // its lab is gone
      }
    });

  it.skipIf(check.ok && process.getuid?.() !== 0)('net up, --net ns and up --net ns refuse in one line that says how; net plan works', { timeout: 40_000 }, async () => {
    const before = await namespacesNow();
    const up = await unprivileged(['net', 'up']);
    expect(up.code).toBe(1);
    expect(up.stderr.trim().split('\n')).toHaveLength(1);
    expect(up.stderr).toMatch(/^lab: the lab's network of namespaces needs Linux and root .*lacks CAP_NET_ADMIN.*Run: sudo npm run lab -- net up$/m);
    expect(await leftSince(before)).toEqual([]);
    // The story and `up` in ns mode refuse the same way, and the loopback lab stays as it is.
    for (const [args, command] of [[['--net', 'ns'], '--net ns'], [['up', '--net', 'ns'], 'up --net ns']] as const) {
      const refused = await unprivileged([...args]);
      expect(refused.code).toBe(1);
      expect(refused.stderr.trim().split('\n')).toHaveLength(1);
      expect(refused.stderr.trim()).toMatch(/^lab: the lab's network of namespaces needs Linux and root .*lacks CAP_NET_ADMIN/);
      expect(refused.stderr.trim().endsWith(`Run: sudo npm run lab -- ${command}`)).toBe(true);
    }
    expect(await leftSince(before)).toEqual([]);
    const plan = await unprivileged(['net', 'plan']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain('Nothing is built.');
    expect(plan.stdout).toMatch(/phone-north +bol-\d+-phone-north +eth0 +100\.6\d\.1\.10\/24/);
  });
});

function onPathSync(tool: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => {
    try {
      fs.accessSync(path.join(d, tool), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
