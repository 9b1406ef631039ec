// The order's packet layer by layer (seed §6): the subnet arithmetic, the /proc parsers on fixed
// text, describeLayers on a fixed machine, and on Linux for a real loopback connection.
import fs from 'node:fs';
import net from 'node:net';
import type os from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { cidrDecision, parseIpv4, toBinary } from '../servers/net/ipv4.ts';
import {
  defaultGateway,
  describeLayers as layerFacts,
  interfaceOwning,
  lookupRoute,
  parseArpTable,
  parseIpRouteGet,
  parseRouteTable,
  type LayersInput,
  type SystemNet,
} from '../lab/layers.ts';
import { words } from '../lab/story/words/index.ts';

// The facts, with their English words beside them: the walk's lines, and each field's value as shown.
const en = words('en').layers;
function describeLayers(...args: Parameters<typeof layerFacts>) {
  const facts = layerFacts(...args);
  const layers = facts.layers.map((l) => ({ ...l, fields: l.fields.map((f) => ({ ...f, value: en.fieldValue(f.value) })) }));
  return { ...facts, layers, lines: en.walkLines(facts) };
}

describe('the CIDR decision, in binary as the seed shows it', () => {
  it('192.168.1.10/24 → 192.168.1.20: same subnet, deliver directly', () => {
    const d = cidrDecision('192.168.1.10', '192.168.1.20', '255.255.255.0');
    expect(d).toMatchObject({ prefix: 24, srcNetwork: '192.168.1.0', dstNetwork: '192.168.1.0', sameSubnet: true });
    expect(d.lines.join('\n')).toContain('11000000.10101000.00000001.00001010'); // 192.168.1.10
    expect(d.lines.join('\n')).toContain('11000000.10101000.00000001.00010100'); // 192.168.1.20
    expect(d.lines.join('\n')).toContain('11111111.11111111.11111111.00000000'); // the mask
    expect(d.lines.at(-1)).toBe('192.168.1.0 = 192.168.1.0: same subnet 192.168.1.0/24, deliver directly, no gateway');
  });

  it('192.168.1.10/24 → 10.0.0.1: different networks, via the gateway', () => {
    const d = cidrDecision('192.168.1.10', '10.0.0.1', 24);
    expect(d).toMatchObject({ mask: '255.255.255.0', srcNetwork: '192.168.1.0', dstNetwork: '10.0.0.0', sameSubnet: false });
    expect(d.lines).toContainEqual(expect.stringMatching(/^= 10\.0\.0\.0\s+00001010\.00000000\.00000000\.00000000\s+destination network$/));
    expect(d.lines.at(-1)).toBe('192.168.1.0 ≠ 10.0.0.0: 10.0.0.1 is outside 192.168.1.0/24, send it to the default gateway');
  });

  it('the lab: 127.10.1.10 and 127.0.0.80 are both inside 127.0.0.0/8', () => {
    const d = cidrDecision('127.10.1.10', '127.0.0.80', '255.0.0.0');
    expect(d).toMatchObject({ prefix: 8, srcNetwork: '127.0.0.0', dstNetwork: '127.0.0.0', sameSubnet: true });
  });

  it('refuses what is not an address or a contiguous mask', () => {
    expect(() => cidrDecision('192.168.1.300', '10.0.0.1', 24)).toThrow(/not an IPv4 address/);
    expect(() => cidrDecision('192.168.1.1', '10.0.0.1', '255.0.255.0')).toThrow(/not a contiguous netmask/);
    expect(toBinary(parseIpv4('255.255.255.255'))).toBe('11111111.11111111.11111111.11111111');
  });
});

// /proc/net/route as printed by a little-endian kernel: default via 192.168.1.1 on wlan0.
const ROUTE_SAMPLE = `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0
wlan0\t0001A8C0\t00000000\t0001\t0\t0\t600\t00FFFFFF\t0\t0\t0
docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
eth1\t00000000\t010010AC\t0003\t0\t0\t700\t00000000\t0\t0\t0
`;

const ARP_SAMPLE = `IP address       HW type     Flags       HW address            Mask     Device
192.168.1.1      0x1         0x2         a4:2b:b0:12:34:56     *        wlan0
192.168.1.77     0x1         0x0         00:00:00:00:00:00     *        wlan0
172.17.0.2       0x1         0x2         02:42:ac:11:00:02     *        docker0
`;

describe('the kernel tables as text', () => {
  it('parseRouteTable: little-endian hex, flags, prefixes', () => {
    const routes = parseRouteTable(ROUTE_SAMPLE, 'LE');
    expect(routes).toHaveLength(4);
    expect(routes[0]).toMatchObject({ iface: 'wlan0', destination: '0.0.0.0', gateway: '192.168.1.1', mask: '0.0.0.0', prefix: 0, up: true, viaGateway: true, metric: 600 });
    expect(routes[1]).toMatchObject({ destination: '192.168.1.0', gateway: '0.0.0.0', mask: '255.255.255.0', prefix: 24, viaGateway: false });
    expect(routes[2]).toMatchObject({ iface: 'docker0', destination: '172.17.0.0', prefix: 16 });
    // Longest prefix wins; the default route catches the rest.
    expect(lookupRoute(routes, '192.168.1.20')?.prefix).toBe(24);
    expect(lookupRoute(routes, '10.0.0.1')).toMatchObject({ prefix: 0, gateway: '192.168.1.1' });
  });

  it('defaultGateway: the 00000000 route with the lowest metric', () => {
    expect(defaultGateway(ROUTE_SAMPLE)).toEqual({ address: '192.168.1.1', iface: 'wlan0', metric: 600 });
    expect(defaultGateway(ROUTE_SAMPLE.split('\n').filter((l) => !l.includes('0101A8C0')).join('\n'))).toMatchObject({ address: '172.16.0.1', iface: 'eth1' });
    expect(defaultGateway('Iface\tDestination\tGateway\n')).toBeUndefined();
  });

  it('parseArpTable: complete entries carry a MAC, incomplete ones only a placeholder', () => {
    const arp = parseArpTable(ARP_SAMPLE);
    expect(arp).toHaveLength(3);
    expect(arp[0]).toEqual({ address: '192.168.1.1', hwType: 1, flags: 2, mac: 'a4:2b:b0:12:34:56', device: 'wlan0', complete: true });
    expect(arp[1]).toMatchObject({ address: '192.168.1.77', complete: false });
  });

  it('parseIpRouteGet: local, via a gateway, directly', () => {
    expect(parseIpRouteGet('local 127.0.0.80 from 127.10.1.10 dev lo uid 1000 \n    cache <local> \n')).toMatchObject({ type: 'local', dev: 'lo', via: undefined, output: 'local 127.0.0.80 from 127.10.1.10 dev lo uid 1000' });
    expect(parseIpRouteGet('10.0.0.1 via 192.168.1.1 dev wlan0 src 192.168.1.10 uid 1000\n')).toMatchObject({ type: 'unicast', via: '192.168.1.1', dev: 'wlan0', src: '192.168.1.10' });
  });

  it('interfaceOwning: configured on the interface, or inside its subnet', () => {
    const ifs = fakeInterfaces();
    expect(interfaceOwning('192.168.1.10', ifs)).toMatchObject({ name: 'wlan0', exact: true });
    expect(interfaceOwning('127.10.1.10', ifs)).toMatchObject({ name: 'lo', exact: false });
    expect(interfaceOwning('8.8.8.8', ifs)).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------
// describeLayers on a fixed machine: a laptop on Wi-Fi, running the lab on loopback.

function fakeInterfaces(): NodeJS.Dict<os.NetworkInterfaceInfo[]> {
  return {
    lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' }],
    wlan0: [{ address: '192.168.1.10', netmask: '255.255.255.0', family: 'IPv4', mac: 'f0:de:f1:aa:bb:cc', internal: false, cidr: '192.168.1.10/24' }],
  };
}

function fakeSystem(over: Partial<SystemNet> = {}): SystemNet {
  return {
    platform: 'linux',
    interfaces: fakeInterfaces(),
    links: { lo: { flags: 0x9, type: 772, mtu: 65536, virtual: true }, wlan0: { flags: 0x1003, type: 1, mtu: 1500, virtual: false } },
    ephemeralRange: [32768, 60999],
    defaultTtl: 64,
    tcpOptions: { timestamps: true, sack: true, windowScaling: true },
    routeText: ROUTE_SAMPLE,
    arpText: ARP_SAMPLE,
    routeGet: (dst, src) =>
      dst.startsWith('127.')
        ? { command: `ip route get ${dst} from ${src}`, ...parseIpRouteGet(`local ${dst} from ${src} dev lo uid 1000`) }
        : { command: `ip route get ${dst}`, ...parseIpRouteGet(`${dst} via 192.168.1.1 dev wlan0 src 192.168.1.10 uid 1000`) },
    ...over,
  };
}

const REQUEST =
  'POST /purchaseOrder HTTP/1.1\r\nhost: www.geektime.test:8443\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: 117\r\n\r\n' +
  JSON.stringify({ order: { date: '2018-07-01', className: '趣谈网络协议', Author: '刘超', price: '68' } }, null, 1);

const LAB_CONNECTION: LayersInput = {
  local: { address: '127.10.1.10', port: 40015 },
  remote: { address: '127.0.0.80', port: 8443 },
  protocol: 'tcp',
  requestText: REQUEST,
  tls: { protocol: 'TLSv1.2', cipher: 'AES128-GCM-SHA256' },
};

describe('describeLayers on a fixed machine', () => {
  it('each layer from the connection and the machine, with the sources named', () => {
    const { layers, lines, lan } = describeLayers(LAB_CONNECTION, fakeSystem());
    expect(layers.map((l) => l.name)).toEqual(['HTTP', 'TCP', 'IP', 'Routing', 'ARP', 'Ethernet']);
    const field = (layer: string, name: string) => layers.find((l) => l.name === layer)!.fields.find((f) => f.name === name);
    expect(field('HTTP', 'request line')).toEqual({ name: 'request line', value: 'POST /purchaseOrder HTTP/1.1', source: 'connection' });
    expect(field('HTTP', 'request line + headers')!.value).toBe(`${Buffer.byteLength(REQUEST.slice(0, REQUEST.indexOf('\r\n\r\n') + 4))} bytes`);
    expect(field('TCP', 'source port')).toMatchObject({ value: '40015', source: 'connection' });
    expect(field('TCP', 'sequence numbers')!.source).toBe('not observed');
    // lo's MTU is 65536, but an IPv4 packet is at most 65535 bytes: 65535 − 20 − 20, as every SYN on lo says.
    expect(field('TCP', 'MSS')).toEqual({ name: 'MSS', value: '65495', source: 'computed' });
    expect(field('IP', 'TTL')).toMatchObject({ value: '64', source: 'system' });
    expect(field('Routing', 'next hop')!.value).toBe('127.0.0.80 itself, on lo: no gateway');
    expect(field('Ethernet', 'source MAC')).toMatchObject({ value: '00:00:00:00:00:00', source: 'system' });

    const text = lines.join('\n');
    expect(text).toContain('ephemeral, picked by the kernel from 32768–60999');
    expect(text).toContain('tcpdump -i lo -n -S');
    expect(text).toContain('the SYN carries MSS (4), SACK-permitted (2), timestamps (10), NOP + window scale (4): 40 bytes');
    expect(text).toContain('127.10.1.10 is inside 127.0.0.0/8');
    expect(text).toContain('local 127.0.0.80 from 127.10.1.10 dev lo');
    expect(text).toContain('by itself it would have sent 127.0.0.80 to the gateway 192.168.1.1 on wlan0');
    expect(text).toContain('ARP is not used on loopback');
    expect(text).toContain('0x9: UP, LOOPBACK');
    expect(text).toContain('MSS announced in the SYN, computed (RFC 9293 §3.7.1): lo\'s MTU 65536');
    expect(text).toContain('capped at 65535 (the IPv4 Total Length field has 16 bits), − 20 (IP) − 20 (TCP) = 65495 bytes');
    // Without a recorded write the IP length is an estimate, and says so.
    expect(field('IP', 'total length (first data segment, estimate)')!.value).toBe(`${20 + 32 + Buffer.byteLength(REQUEST) + 29} bytes`);
    // 247-byte request in one TLS 1.2 GCM record (+29), one segment: 14 + 20 + 32 + 276.
    expect(text).toContain(`[Ethernet 14][IP 20][TCP 32][TLS record ${Buffer.byteLength(REQUEST) + 29}`);

    // On a LAN this would be: the Wi-Fi interface, its gateway, the gateway's MAC from the ARP cache.
    expect(lan).toMatchObject({ iface: 'wlan0', address: '192.168.1.10', mac: 'f0:de:f1:aa:bb:cc', gateway: { address: '192.168.1.1', mac: 'a4:2b:b0:12:34:56' } });
    expect(lan!.example.decision.sameSubnet).toBe(false);
    expect(text).toContain('On a LAN this would be');
    expect(text).toContain('"who has 192.168.1.1? tell 192.168.1.10"');
    expect(text).toMatch(/destination MAC\s+a4:2b:b0:12:34:56/);
    expect(text).toMatch(/source MAC\s+f0:de:f1:aa:bb:cc/);
    expect(text).toContain('The kernel agrees (ip route get 203.0.113.10, which sends nothing): 203.0.113.10 via 192.168.1.1');
  });

  it('MSS: a route with its own MTU wins over the device; under 65535 nothing is capped', () => {
    const viaTunnel = fakeSystem({ routeGet: (dst, src) => ({ command: `ip route get ${dst} from ${src}`, ...parseIpRouteGet(`local ${dst} from ${src} dev lo uid 1000 mtu 1400`) }) });
    const { layers, lines } = describeLayers(LAB_CONNECTION, viaTunnel);
    expect(layers.find((l) => l.name === 'TCP')!.fields.find((f) => f.name === 'MSS')!.value).toBe('1360');
    expect(lines.join('\n')).toContain("the route's MTU 1400 (ip route get 127.0.0.80 from 127.10.1.10), − 20 (IP) − 20 (TCP) = 1360 bytes");
    expect(parseIpRouteGet('10.0.0.1 via 192.168.1.1 dev wg0 src 10.0.0.2 uid 0 \n    cache mtu 1420').mtu).toBeUndefined(); // only the first line
    expect(parseIpRouteGet('10.0.0.1 dev wg0 src 10.0.0.2 uid 0 mtu 1420').mtu).toBe(1420);
  });

  it('with the client\'s recorded write (TLS 1.3: ChangeCipherSpec and Finished ride with the request), the IP length is that write\'s', () => {
    const records = [{ type: 'ChangeCipherSpec', encrypted: false, bytes: 6 }, { type: 'Finished', encrypted: true, bytes: 74 }, { type: 'application_data', encrypted: false, bytes: 333 }];
    const { layers, lines } = describeLayers({ ...LAB_CONNECTION, tls: { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' }, requestWrite: { bytes: 413, records } }, fakeSystem());
    expect(layers.find((l) => l.name === 'IP')!.fields.find((f) => f.name.startsWith('total length'))).toEqual({ name: 'total length (the segment carrying the request)', value: '465 bytes', source: 'computed' });
    const text = lines.join('\n');
    expect(text).toContain('20 (IP) + 32 (TCP) + 413 (payload) = 465 bytes. The payload is the client\'s one write of 413 bytes, recorded at its socket: ChangeCipherSpec (6 bytes) + Finished (encrypted, 74 bytes) + application_data (333 bytes)');
    expect(text).toContain('[Ethernet 14][IP 20][TCP 32][ChangeCipherSpec (6 bytes)][Finished (encrypted, 74 bytes)][application_data (333 bytes)] = 479 bytes');
    expect(text).not.toContain('estimate');
  });

  it('never invents the gateway MAC the kernel does not have', () => {
    const { lines, lan } = describeLayers(LAB_CONNECTION, fakeSystem({ arpText: ARP_SAMPLE.split('\n').filter((l) => !l.startsWith('192.168.1.1 ')).join('\n') }));
    expect(lan!.gateway!.mac).toBeUndefined();
    expect(lines.join('\n')).toContain('has no complete entry for 192.168.1.1 right now');
    expect(lines.join('\n')).toContain('the lab will not invent a MAC address');
  });

  it('says so when there is no LAN at all, or no gateway', () => {
    const loOnly = describeLayers(LAB_CONNECTION, fakeSystem({ interfaces: { lo: fakeInterfaces().lo } }));
    expect(loOnly.lan).toBeUndefined();
    expect(en.noLanText(loOnly.noLan!)).toMatch(/no non-loopback IPv4 interface/);
    expect(loOnly.lines.join('\n')).toContain('On a LAN: this machine has no non-loopback IPv4 interface');
    const noGateway = describeLayers(LAB_CONNECTION, fakeSystem({ routeText: ROUTE_SAMPLE.split('\n').filter((l) => !l.includes('\t00000000\t0')).join('\n') }));
    expect(noGateway.lines.join('\n')).toContain('/proc/net/route has no default route (destination 00000000)');
  });

  it('a connection that really leaves through wlan0 (the lab spread over machines): ARP for the next hop, real MACs', () => {
    const sameLan = describeLayers(
      { local: { address: '192.168.1.10', port: 40015 }, remote: { address: '192.168.1.1', port: 8443 }, requestBytes: 300 },
      fakeSystem({ routeGet: (dst) => ({ command: `ip route get ${dst}`, ...parseIpRouteGet(`${dst} dev wlan0 src 192.168.1.10 uid 1000`) }) }),
    );
    const text = sameLan.lines.join('\n');
    expect(sameLan.lan).toBeUndefined(); // no need for a hypothetical: this one is real
    expect(text).toContain('"who has 192.168.1.1? tell 192.168.1.10"');
    expect(text).toContain('192.168.1.1 is at a4:2b:b0:12:34:56 on wlan0');
    expect(text).toMatch(/destination MAC\s+a4:2b:b0:12:34:56/);
    expect(text).toMatch(/source MAC\s+f0:de:f1:aa:bb:cc/);
    expect(text).not.toContain('ARP is not used on loopback');
    const farAway = describeLayers(
      { local: { address: '192.168.1.10', port: 40015 }, remote: { address: '10.0.0.1', port: 8443 } },
      fakeSystem({ arpText: undefined }),
    );
    expect(farAway.lines.join('\n')).toContain('needs the MAC of the next hop 192.168.1.1 (the gateway)');
    expect(farAway.lines.join('\n')).toContain('the lab will not invent one');
  });

  it('outside Linux: no /proc, no ip; says what it cannot read', () => {
    const { lines } = describeLayers(LAB_CONNECTION, fakeSystem({
      platform: 'darwin',
      interfaces: { lo0: fakeInterfaces().lo!, en0: fakeInterfaces().wlan0! },
      links: {},
      ephemeralRange: undefined,
      defaultTtl: undefined,
      tcpOptions: undefined,
      routeText: undefined,
      arpText: undefined,
      routeGet: (dst) => ({ command: `ip route get ${dst}`, unavailable: { kind: 'not on this platform', platform: 'darwin' } }),
    }));
    const text = lines.join('\n');
    expect(text).toContain('cannot be read on darwin');
    expect(text).toContain('4-byte null/loopback header');
    expect(text).toContain('On a LAN this would be');
    expect(text).toContain('the routing table cannot be read on darwin (no /proc/net/route; netstat -rn shows it)');
    expect(text).toContain('The kernel could not be asked (ip route get 203.0.113.10: no ip command on darwin)');
    expect(text).not.toContain('02:fc'); // nothing from this test machine leaks in
  });
});

// ---------------------------------------------------------------------------------------------
// A real loopback connection (Linux): the values come from this machine.

const cleanup: Array<() => void> = [];
afterEach(() => {
  while (cleanup.length) cleanup.pop()!();
});

describe.skipIf(process.platform !== 'linux')('describeLayers for a real loopback connection (Linux)', () => {
  it('names lo and 127.0.0.0/8, the TTL and ephemeral range from /proc, zero MACs and no ARP', async () => {
    const server = net.createServer((s) => s.resume());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.80', resolve));
    cleanup.push(() => server.close());
    const client = net.connect({ host: '127.0.0.80', port: (server.address() as net.AddressInfo).port, localAddress: '127.10.1.10' });
    cleanup.push(() => client.destroy());
    await new Promise((resolve) => client.once('connect', resolve));

    const { layers, lines } = describeLayers({
      local: { address: client.localAddress!, port: client.localPort! },
      remote: { address: client.remoteAddress!, port: client.remotePort! },
      protocol: 'tcp',
      requestText: REQUEST,
    });
    const text = lines.join('\n');
    const ttl = fs.readFileSync('/proc/sys/net/ipv4/ip_default_ttl', 'utf8').trim();
    const [low, high] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    expect(text).toContain(`TTL ${ttl}: this kernel's default`);
    expect(text).toContain(`Source port ${client.localPort}: ephemeral, picked by the kernel from ${low}–${high}`);
    expect(text).toContain('127.10.1.10 belongs to lo: lo has 127.0.0.1/8, and 127.10.1.10 is inside 127.0.0.0/8');
    expect(text).toContain('same subnet 127.0.0.0/8');
    expect(text).toContain('ARP is not used on loopback');
    expect(text).toContain('There is no Ethernet on loopback');
    expect(text).toMatch(/destination MAC\s+00:00:00:00:00:00/);
    expect(text).toMatch(/source MAC\s+00:00:00:00:00:00/);
    const routing = layers.find((l) => l.name === 'Routing')!;
    expect(routing.fields.find((f) => f.name === 'next hop')!.value).toMatch(/^127\.0\.0\.80 itself, on lo: no gateway$/);
    // Whatever this machine's LAN looks like, it is either described from its own data or declared absent.
    expect(text).toMatch(/On a LAN( this would be| \(this machine's|: )/);
  });
});
