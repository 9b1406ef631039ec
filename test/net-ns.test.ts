// The lab's network of namespaces: the plan on paper (everywhere), then built for real (Linux, root).
import { describe, expect, it } from 'vitest';
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
  type HostTables,
  type NetPlan,
} from '../lab/net-ns/plan.ts';

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

  it('is the same plan every time, MACs included', () => {
    expect(planNetwork({ runId: '4711' })).toEqual(plan);
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
