// The order's packet, layer by layer (seed §6), for one real connection.
//
// The seed wraps the POST /purchaseOrder request in a TCP header (ports), an IP header (addresses),
// decides by the subnet mask whether the server is on the same network or behind the default
// gateway, asks ARP for the next hop's MAC address and puts an Ethernet header in front.
//
// The lab's connection runs on loopback, so some of that does not happen at all: there is no
// gateway, no ARP and no wire, and lo's MAC address is all zeros. This module says so plainly,
// shows what did happen with values from the run and from this machine (/proc, /sys,
// os.networkInterfaces(), `ip route get`), and then computes, labelled "on a LAN this would be",
// what the same packet would go through on this machine's real network interface. Nothing is
// invented: what cannot be seen from user space (sequence numbers, a gateway's MAC the kernel does
// not know) is named as such, with where to see it.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import type { Endpoint } from './tcp-states.ts';
import type { WireLayer } from './observe/frame-fields.ts';
// IPv4 arithmetic (addresses, masks, the same-subnet decision in binary) lives in servers/net/ipv4.ts.
import { cidrDecision, networkOf, parseIpv4, parseMask as maskOf, type CidrDecision } from '../servers/net/ipv4.ts';

// ---------------------------------------------------------------------------------------------
// The kernel's tables, as text from /proc.

/** /proc prints IPv4 addresses as native-endian hex words: on x86 "0101A8C0" is 192.168.1.1. */
function procHexToIp(hex: string, endianness: 'LE' | 'BE' = os.endianness()): string {
  const bytes = hex.match(/../g)!.map((b) => parseInt(b, 16));
  return (endianness === 'LE' ? bytes.reverse() : bytes).join('.');
}

export interface RouteEntry {
  iface: string;
  destination: string;
  gateway: string;
  mask: string;
  prefix: number;
  flags: number;
  /** RTF_UP (0x1): the route is usable. */
  up: boolean;
  /** RTF_GATEWAY (0x2): the next hop is a router, not the destination itself. */
  viaGateway: boolean;
  metric: number;
  mtu: number;
}

/** Parse /proc/net/route: the IPv4 main routing table (the local table is not in it). */
export function parseRouteTable(text: string, endianness: 'LE' | 'BE' = os.endianness()): RouteEntry[] {
  const routes: RouteEntry[] = [];
  for (const line of text.split('\n').slice(1)) {
    // Iface Destination Gateway Flags RefCnt Use Metric Mask MTU Window IRTT
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || !/^[0-9A-Fa-f]{8}$/.test(f[1]!)) continue;
    const flags = parseInt(f[3]!, 16);
    const mask = procHexToIp(f[7]!, endianness);
    routes.push({
      iface: f[0]!,
      destination: procHexToIp(f[1]!, endianness),
      gateway: procHexToIp(f[2]!, endianness),
      mask,
      prefix: maskOf(mask).prefix,
      flags,
      up: (flags & 0x1) !== 0,
      viaGateway: (flags & 0x2) !== 0,
      metric: Number(f[6]),
      mtu: Number(f[8] ?? 0),
    });
  }
  return routes;
}

/** The route the main table picks for `dst`: the longest matching prefix, then the lowest metric. */
export function lookupRoute(routes: RouteEntry[], dst: string): RouteEntry | undefined {
  const d = parseIpv4(dst);
  return routes
    .filter((r) => r.up && networkOf(d, r.prefix) === parseIpv4(r.destination))
    .sort((a, b) => b.prefix - a.prefix || a.metric - b.metric)[0];
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

export interface Gateway {
  address: string;
  iface: string;
  metric: number;
}

/** The default gateway: the 0.0.0.0/0 route (Destination 00000000) with the lowest metric. */
export function defaultGateway(routeText: string | undefined = readText('/proc/net/route')): Gateway | undefined {
  if (routeText === undefined) return undefined;
  const best = parseRouteTable(routeText)
    .filter((r) => r.up && r.viaGateway && r.prefix === 0)
    .sort((a, b) => a.metric - b.metric)[0];
  return best && { address: best.gateway, iface: best.iface, metric: best.metric };
}

export interface ArpEntry {
  address: string;
  hwType: number;
  flags: number;
  mac: string;
  device: string;
  /** ATF_COM (0x2): the kernel has the answer; without it the MAC column is a placeholder. */
  complete: boolean;
}

/** Parse /proc/net/arp: the kernel's IPv4 neighbour cache. */
export function parseArpTable(text: string): ArpEntry[] {
  const entries: ArpEntry[] = [];
  for (const line of text.split('\n').slice(1)) {
    // IP address, HW type, Flags, HW address, Mask, Device
    const f = line.trim().split(/\s+/);
    if (f.length < 6 || !net.isIPv4(f[0]!)) continue;
    const flags = parseInt(f[2]!, 16);
    entries.push({ address: f[0]!, hwType: parseInt(f[1]!, 16), flags, mac: f[3]!.toLowerCase(), device: f[5]!, complete: (flags & 0x2) !== 0 });
  }
  return entries;
}

export interface RouteGet {
  command: string;
  /** The kernel's answer, first line: "local 127.0.0.80 from 127.10.1.10 dev lo uid 0". */
  output?: string;
  error?: string;
  type?: string;
  via?: string;
  dev?: string;
  src?: string;
  /** A route's own MTU ("mtu 1400" in the answer), when it has one; else the device's applies. */
  mtu?: number;
}

/** Parse the first line of `ip route get`: "[type] DST [from SRC] [via GW] dev DEV [src SRC] ..." */
export function parseIpRouteGet(text: string): Omit<RouteGet, 'command'> {
  const line = text.split('\n')[0]!.trim();
  const words = line.split(/\s+/);
  const after = (key: string) => {
    const i = words.indexOf(key);
    return i >= 0 ? words[i + 1] : undefined;
  };
  const type = net.isIP(words[0]!) ? 'unicast' : words[0];
  const mtu = after('mtu');
  return { output: line, type, via: after('via'), dev: after('dev'), src: after('src'), ...(mtu !== undefined && /^\d+$/.test(mtu) && { mtu: Number(mtu) }) };
}

/** Ask the kernel which route it would use (sends nothing). Undefined-free: errors are reported. */
function ipRouteGet(dst: string, src?: string): RouteGet {
  const args = ['route', 'get', dst, ...(src ? ['from', src] : [])];
  const command = `ip ${args.join(' ')}`;
  try {
    const out = execFileSync('ip', args, { encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'pipe'] });
    return { command, ...parseIpRouteGet(out) };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    return { command, error: e.code === 'ENOENT' ? 'the ip command is not installed' : (e.stderr || e.message).trim() };
  }
}

// ---------------------------------------------------------------------------------------------
// What this machine tells us

export interface LinkInfo {
  /** /sys/class/net/<if>/flags: IFF_UP 0x1, IFF_LOOPBACK 0x8, IFF_NOARP 0x80 ... */
  flags?: number;
  /** ARPHRD_* hardware type: 1 Ethernet, 772 loopback, 65534 none (tun). */
  type?: number;
  mtu?: number;
  /** The device sits under /sys/devices/virtual: veth, bridge, tun, lo. */
  virtual?: boolean;
}

export interface SystemNet {
  platform: NodeJS.Platform;
  interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]>;
  links: Record<string, LinkInfo>;
  /** /proc/sys/net/ipv4/ip_local_port_range */
  ephemeralRange?: [number, number];
  /** /proc/sys/net/ipv4/ip_default_ttl */
  defaultTtl?: number;
  /** tcp_timestamps, tcp_sack, tcp_window_scaling: which options this kernel puts in a SYN. */
  tcpOptions?: { timestamps: boolean; sack: boolean; windowScaling: boolean };
  /** /proc/net/route and /proc/net/arp as text. */
  routeText?: string;
  arpText?: string;
  /** The kernel's route for a destination (`ip route get`); sends nothing. */
  routeGet: (dst: string, src?: string) => RouteGet;
}

function readNumber(file: string): number | undefined {
  const t = readText(file)?.trim();
  return t === undefined || t === '' ? undefined : Number(t);
}

/** Everything describeLayers needs from this machine, read now. */
export function readSystemNet(): SystemNet {
  const interfaces = os.networkInterfaces();
  const links: Record<string, LinkInfo> = {};
  for (const name of Object.keys(interfaces)) {
    let virtual: boolean | undefined;
    try {
      virtual = fs.realpathSync(`/sys/class/net/${name}`).includes('/devices/virtual/');
    } catch {
      virtual = undefined;
    }
    links[name] = {
      flags: readNumber(`/sys/class/net/${name}/flags`),
      type: readNumber(`/sys/class/net/${name}/type`),
      mtu: readNumber(`/sys/class/net/${name}/mtu`),
      virtual,
    };
  }
  const range = readText('/proc/sys/net/ipv4/ip_local_port_range')?.trim().split(/\s+/).map(Number);
  const ts = readNumber('/proc/sys/net/ipv4/tcp_timestamps');
  const sack = readNumber('/proc/sys/net/ipv4/tcp_sack');
  const ws = readNumber('/proc/sys/net/ipv4/tcp_window_scaling');
  return {
    platform: os.platform(),
    interfaces,
    links,
    ephemeralRange: range?.length === 2 ? [range[0]!, range[1]!] : undefined,
    defaultTtl: readNumber('/proc/sys/net/ipv4/ip_default_ttl'),
    tcpOptions: ts === undefined || sack === undefined || ws === undefined ? undefined : { timestamps: ts > 0, sack: sack > 0, windowScaling: ws > 0 },
    routeText: readText('/proc/net/route'),
    arpText: readText('/proc/net/arp'),
    routeGet: os.platform() === 'linux' ? ipRouteGet : (dst, src) => ({ command: `ip route get ${dst}${src ? ` from ${src}` : ''}`, error: `no ip command on ${os.platform()}` }),
  };
}

export interface OwnedBy {
  name: string;
  info: os.NetworkInterfaceInfo;
  /** True when the address is configured on the interface, false when it only falls in its subnet. */
  exact: boolean;
}

/** The interface an IPv4 address belongs to: configured on it, or else inside its subnet. */
export function interfaceOwning(address: string, interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]>): OwnedBy | undefined {
  const v4 = Object.entries(interfaces).flatMap(([name, infos]) => (infos ?? []).filter((i) => i.family === 'IPv4').map((info) => ({ name, info })));
  const exact = v4.find((i) => i.info.address === address);
  if (exact) return { ...exact, exact: true };
  const inside = v4.find((i) => cidrDecision(i.info.address, address, i.info.netmask).sameSubnet);
  return inside && { ...inside, exact: false };
}

// ---------------------------------------------------------------------------------------------
// The layers

/** Where a value comes from: this connection, this machine, arithmetic, or nowhere we can see. */
export type Source = 'connection' | 'system' | 'computed' | 'not observed' | 'on a LAN';

export interface Field {
  name: string;
  value: string;
  source: Source;
}

export interface Layer {
  name: 'HTTP' | 'TCP' | 'IP' | 'Routing' | 'ARP' | 'Ethernet';
  fields: Field[];
  /** The narration for this layer. */
  lines: string[];
}

export interface LayersInput {
  /** The client's end of the connection, as the socket reports it. */
  local: Endpoint;
  /** The server's end. */
  remote: Endpoint;
  protocol?: 'tcp';
  /** The HTTP request as sent: request line, headers, blank line, body. */
  requestText?: string;
  /** Its length in bytes, when the text is not given. */
  requestBytes?: number;
  /** When the request travelled inside TLS: the negotiated version and OpenSSL cipher name. */
  tls?: { protocol: string | null; cipher?: string };
  /** The client's one write that carried the request, as recorded around its socket: its size and
   *  the TLS records in it (in TLS 1.3 the client's Finished rides in front of the request). */
  requestWrite?: { bytes: number; records: { name: string; bytes: number }[] };
}

/** What this machine's real network interface would do with the same packet. */
export interface LanPicture {
  iface: string;
  address: string;
  netmask: string;
  mac: string;
  virtual?: boolean;
  gateway?: Gateway & { mac?: string };
  /** Why there is no gateway: none in the table, or no table to read. */
  noGateway?: string;
  /** A stand-in server outside the subnet (a documentation address, RFC 5737). */
  example: { dst: string; decision: CidrDecision; kernel: RouteGet };
}

const ARPHRD_ETHER = 1;
/** The largest IPv4 packet: Total Length is a 16-bit field (RFC 791). */
const IPV4_MAX_PACKET = 65535;
const IFF_LOOPBACK = 0x8;
const IFF_NOARP = 0x80;

/** TLS bytes added to one application-data record: header, explicit nonce, AEAD tag. */
function tlsRecordOverhead(tls: NonNullable<LayersInput['tls']>): number | undefined {
  if (tls.protocol === 'TLSv1.3') return 5 + 1 + 16; // header, inner content type, tag
  if (tls.protocol === 'TLSv1.2' && /GCM|CCM(?!8)/.test(tls.cipher ?? '')) return 5 + 8 + 16; // header, explicit nonce, tag
  if (tls.protocol === 'TLSv1.2' && /CHACHA20/.test(tls.cipher ?? '')) return 5 + 16;
  return undefined;
}

/** The options Linux puts in a SYN, given its sysctls (tcp_options_write()): their total size. */
function synOptionBytes(o: NonNullable<SystemNet['tcpOptions']>): { bytes: number; names: string[] } {
  const names = ['MSS (4)'];
  let bytes = 4;
  if (o.timestamps) {
    bytes += 12; // SACK-permitted (2) + timestamps (10), or NOP NOP + timestamps
    names.push(o.sack ? 'SACK-permitted (2)' : 'NOP NOP (2)', 'timestamps (10)');
  } else if (o.sack) {
    bytes += 4;
    names.push('NOP NOP SACK-permitted (4)');
  }
  if (o.windowScaling) {
    bytes += 4;
    names.push('NOP + window scale (4)');
  }
  return { bytes, names };
}

function flagNames(flags: number): string {
  const names: Array<[number, string]> = [[0x1, 'UP'], [0x2, 'BROADCAST'], [IFF_LOOPBACK, 'LOOPBACK'], [IFF_NOARP, 'NOARP'], [0x1000, 'MULTICAST']];
  return names.filter(([bit]) => flags & bit).map(([, name]) => name).join(', ');
}

function macHeaderLines(dst: string, src: string): string[] {
  return [
    `  bytes 0-5   destination MAC  ${dst}`,
    `  bytes 6-11  source MAC       ${src}`,
    `  bytes 12-13 EtherType        0x0800 (IPv4)`,
  ];
}

/** The seed's §6 for one real connection: each layer with values from the run and this machine. */
export function describeLayers(input: LayersInput, sys: SystemNet = readSystemNet()): { layers: Layer[]; lines: string[]; lan?: LanPicture; noLan?: string } {
  if ((input.protocol ?? 'tcp') !== 'tcp') throw new Error(`describeLayers knows TCP only, not ${input.protocol}`);
  const src = input.local.address.replace(/^::ffff:(?=\d+\.)/i, '');
  const dst = input.remote.address.replace(/^::ffff:(?=\d+\.)/i, '');
  if (!net.isIPv4(src) || !net.isIPv4(dst)) {
    // The lab's roles all have IPv4 addresses; say so rather than fail the story.
    return { layers: [], lines: [`This connection is IPv6 (${src} → ${dst}); the layer walk is written for IPv4, the lab's topology.`] };
  }
  const layers: Layer[] = [];

  // --- HTTP: what the application hands to its socket.
  const http: Layer = { name: 'HTTP', fields: [], lines: [] };
  const text = input.requestText;
  const requestBytes = text !== undefined ? Buffer.byteLength(text) : input.requestBytes;
  if (text !== undefined) {
    const end = text.indexOf('\r\n\r\n');
    const headBytes = end >= 0 ? Buffer.byteLength(text.slice(0, end + 4)) : Buffer.byteLength(text);
    const requestLine = text.split('\r\n')[0]!;
    http.fields.push(
      { name: 'request line', value: requestLine, source: 'connection' },
      { name: 'request line + headers', value: `${headBytes} bytes`, source: 'connection' },
      { name: 'body', value: `${Buffer.byteLength(text) - headBytes} bytes`, source: 'connection' },
    );
    http.lines.push(`Request line: ${requestLine}`, `Request line and headers: ${headBytes} bytes up to the blank line; body: ${Buffer.byteLength(text) - headBytes} bytes; ${requestBytes} bytes in all.`);
  } else if (requestBytes !== undefined) {
    http.fields.push({ name: 'request', value: `${requestBytes} bytes`, source: 'connection' });
    http.lines.push(`The request: ${requestBytes} bytes.`);
  }
  const overhead = input.tls ? tlsRecordOverhead(input.tls) : undefined;
  const payload = requestBytes === undefined ? undefined : requestBytes + (overhead ?? 0);
  if (input.tls) {
    http.lines.push(
      overhead !== undefined
        ? `It travels inside TLS (${input.tls.protocol}, ${input.tls.cipher ?? 'cipher unknown'}): sent as one application-data record it is ${requestBytes} + ${overhead} = ${payload} bytes (record header, nonce, tag around the ciphertext). TCP carries those, not the text above.`
        : `It travels inside TLS (${input.tls.protocol}, ${input.tls.cipher ?? 'cipher unknown'}): TCP carries encrypted records, slightly larger than the text above.`,
    );
  }
  http.lines.push('The application writes this into its socket as a byte stream; the kernel does everything below.');
  layers.push(http);

  // --- TCP: ports from the socket; sequence numbers stay in the kernel.
  const tcp: Layer = { name: 'TCP', fields: [], lines: [] };
  const range = sys.ephemeralRange;
  const inRange = range && input.local.port >= range[0] && input.local.port <= range[1];
  tcp.fields.push(
    { name: 'source port', value: String(input.local.port), source: 'connection' },
    { name: 'destination port', value: String(input.remote.port), source: 'connection' },
    { name: 'sequence numbers', value: 'not observable without a capture', source: 'not observed' },
  );
  if (range) tcp.fields.push({ name: 'ephemeral range', value: `${range[0]}-${range[1]}`, source: 'system' });
  tcp.lines.push(
    range
      ? inRange
        ? `Source port ${input.local.port}: ephemeral, picked by the kernel from ${range[0]}–${range[1]} (/proc/sys/net/ipv4/ip_local_port_range); it is in that range.`
        : `Source port ${input.local.port}: outside the ephemeral range ${range[0]}–${range[1]} (/proc/sys/net/ipv4/ip_local_port_range), so the client chose it itself.`
      : `Source port ${input.local.port}: the client's ephemeral port (the range it was drawn from cannot be read on ${sys.platform}).`,
    `Destination port ${input.remote.port}: the port the server listens on. The pair of ports tells each end which socket, and so which application, a segment is for.`,
    `Sequence numbers: not observable here. The kernel picked a random initial sequence number for each direction (RFC 9293 §3.4.1, RFC 6528) and keeps them to itself; a capture shows them: tcpdump -i ${interfaceOwning(src, sys.interfaces)?.name ?? 'any'} -n -S 'host ${dst} and tcp port ${input.remote.port}' (-S prints absolute numbers).`,
  );
  const lo = interfaceOwning(src, sys.interfaces);
  let tcpDataHeader = 20;
  if (sys.tcpOptions) {
    const syn = synOptionBytes(sys.tcpOptions);
    tcpDataHeader = 20 + (sys.tcpOptions.timestamps ? 12 : 0);
    tcp.fields.push({ name: 'header', value: `20 bytes + options: SYN ${20 + syn.bytes}, data segments ${tcpDataHeader}`, source: 'system' });
    tcp.lines.push(
      `Header: 20 bytes plus options. By this kernel's settings (net.ipv4.tcp_timestamps=${+sys.tcpOptions.timestamps}, tcp_sack=${+sys.tcpOptions.sack}, tcp_window_scaling=${+sys.tcpOptions.windowScaling}) the SYN carries ${syn.names.join(', ')}: ${20 + syn.bytes} bytes (the SYN itself shows only in a capture); each data segment then carries ${sys.tcpOptions.timestamps ? 'the 12-byte timestamp option' : 'no options'}: ${tcpDataHeader} bytes.`,
    );
  } else {
    tcp.fields.push({ name: 'header', value: '20 bytes + options', source: 'computed' });
    tcp.lines.push('Header: 20 bytes plus options (typically MSS, SACK-permitted, window scale and timestamps in the SYN; the kernel settings that decide them cannot be read here).');
  }
  // The MSS a SYN announces (RFC 9293 §3.7.1): the largest IP packet the route allows, less the
  // fixed IP and TCP headers. That packet is capped twice: by the MTU (the route's own, else the
  // device's), and by the IPv4 Total Length field, 16 bits, so 65535 bytes. lo's MTU is 65536,
  // so on lo the second cap decides: 65535 − 40 = 65495 (Linux computes it so: ipv4_default_advmss).
  const route = sys.routeGet(dst, src); // also the Routing layer's "kernel's own answer"
  const dev = route.dev && sys.links[route.dev]?.mtu !== undefined ? route.dev : lo?.name;
  const devMtu = dev ? sys.links[dev]?.mtu : undefined;
  const pathMtu = route.mtu ?? devMtu;
  const mss = pathMtu !== undefined ? Math.min(pathMtu, IPV4_MAX_PACKET) - 40 : undefined;
  if (mss !== undefined) {
    const from = route.mtu !== undefined ? `the route's MTU ${route.mtu} (${route.command})` : `${dev}'s MTU ${devMtu} (the route to ${dst} goes out ${dev} and sets no MTU of its own)`;
    const capped = pathMtu! > IPV4_MAX_PACKET ? `, capped at ${IPV4_MAX_PACKET} (the IPv4 Total Length field has 16 bits)` : '';
    tcp.fields.push({ name: 'MSS', value: String(mss), source: 'computed' });
    tcp.lines.push(`MSS announced in the SYN, computed (RFC 9293 §3.7.1): ${from}${capped}, − 20 (IP) − 20 (TCP) = ${mss} bytes.`);
  }
  layers.push(tcp);

  // --- IP: addresses from the socket, TTL from the kernel's default.
  const ip: Layer = { name: 'IP', fields: [], lines: [] };
  ip.fields.push(
    { name: 'source', value: src, source: 'connection' },
    { name: 'destination', value: dst, source: 'connection' },
    { name: 'protocol', value: '6 (TCP)', source: 'computed' },
    { name: 'header', value: '20 bytes', source: 'computed' },
  );
  ip.lines.push(`Source ${src}, destination ${dst}, protocol 6 (TCP), header 20 bytes (version 4, no options).`);
  if (sys.defaultTtl !== undefined) {
    ip.fields.push({ name: 'TTL', value: String(sys.defaultTtl), source: 'system' });
    ip.lines.push(`TTL ${sys.defaultTtl}: this kernel's default (/proc/sys/net/ipv4/ip_default_ttl); each router on the way subtracts one.`);
  } else {
    ip.lines.push(`TTL: the system default, which cannot be read on ${sys.platform} (64 on Linux and macOS, 128 on Windows).`);
  }
  // The segment's payload: the client's real write when it was recorded (in TLS 1.3 the client's
  // Finished rides in the same write as the request), else the request's own record, estimated.
  const segmentPayload = input.requestWrite?.bytes ?? payload;
  const room = mss !== undefined ? mss - (tcpDataHeader - 20) : undefined;
  if (segmentPayload !== undefined) {
    const firstPayload = room !== undefined ? Math.min(segmentPayload, room) : segmentPayload;
    const total = 20 + tcpDataHeader + firstPayload;
    const piece = firstPayload < segmentPayload ? `, the first MSS-sized piece of ${segmentPayload}` : '';
    if (input.requestWrite) {
      const w = input.requestWrite;
      ip.fields.push({ name: 'total length (the segment carrying the request)', value: `${total} bytes`, source: 'computed' });
      ip.lines.push(
        `Total length of the segment carrying the request: 20 (IP) + ${tcpDataHeader} (TCP) + ${firstPayload} (payload${piece}) = ${total} bytes. ` +
          `The payload is the client's one write of ${w.bytes} bytes, recorded at its socket: ${w.records.map((r) => r.name).join(' + ')}. ` +
          `The kernel sends one write as one segment when it fits the MSS and nothing waits ahead of it; a capture shows the segment itself.`,
      );
    } else {
      ip.fields.push({ name: 'total length (first data segment, estimate)', value: `${total} bytes`, source: 'computed' });
      ip.lines.push(
        `Total length of the first data segment, estimated: 20 (IP) + ${tcpDataHeader} (TCP) + ${firstPayload} (payload${piece}) = ${total} bytes, if the request goes out in one write; a capture shows the real split.`,
      );
    }
  }
  layers.push(ip);

  // --- Routing: which interface owns the source, same subnet or not, and the kernel's own answer.
  const routing: Layer = { name: 'Routing', fields: [], lines: [] };
  const routes = sys.routeText !== undefined ? parseRouteTable(sys.routeText) : undefined;
  const isLoopback = (name: string | undefined) => name !== undefined && (((sys.links[name]?.flags ?? 0) & IFF_LOOPBACK) !== 0 || (sys.interfaces[name] ?? []).some((i) => i.internal));
  if (lo) {
    routing.fields.push({ name: 'interface', value: `${lo.name} ${lo.info.cidr}`, source: 'system' });
    routing.lines.push(
      lo.exact
        ? `${src} is configured on ${lo.name} (${lo.info.cidr}).`
        : `${src} belongs to ${lo.name}: ${lo.name} has ${lo.info.cidr}, and ${src} is inside ${cidrDecision(lo.info.address, src, lo.info.netmask).srcNetwork}/${maskOf(lo.info.netmask).prefix}${isLoopback(lo.name) && sys.platform === 'linux' ? ', all of which Linux treats as this machine\'s own addresses' : ''}.`,
    );
    const d = cidrDecision(src, dst, lo.info.netmask);
    routing.fields.push({ name: 'subnet check', value: `${d.srcNetwork}/${d.prefix} vs ${d.dstNetwork}/${d.prefix}: ${d.sameSubnet ? 'same subnet' : 'different subnets'}`, source: 'computed' });
    routing.lines.push(`Same subnet? Each address AND ${lo.name}'s netmask ${lo.info.netmask}:`, ...d.lines.map((l) => `  ${l}`));
  } else {
    routing.lines.push(`No interface of this machine has ${src} or its subnet (os.networkInterfaces()): the subnet check cannot be made with real data.`);
  }
  const kernel = route;
  if (kernel.output) {
    routing.fields.push({ name: 'kernel route', value: kernel.output, source: 'system' });
    routing.lines.push(`The kernel's own answer (${kernel.command}, which sends nothing): ${kernel.output}`);
  } else {
    routing.lines.push(`The kernel's own answer could not be asked (${kernel.command}: ${kernel.error}).`);
  }
  const local = kernel.type === 'local' || (!kernel.output && isLoopback(lo?.name));
  if (local) {
    routing.fields.push({ name: 'next hop', value: `${dst} itself, on ${kernel.dev ?? lo?.name ?? 'lo'}: no gateway`, source: kernel.output ? 'system' : 'computed' });
    const loNet = lo && isLoopback(lo.name) ? `${cidrDecision(lo.info.address, dst, lo.info.netmask).srcNetwork}/${maskOf(lo.info.netmask).prefix}` : undefined;
    routing.lines.push(
      sys.platform === 'linux'
        ? `Next hop: none. ${dst} is an address of this machine: the kernel's local table (ip route show table local)${loNet ? ` holds "local ${loNet} dev ${lo!.name}" and` : ''} is consulted before the main table, so the packet goes to ${kernel.dev ?? lo?.name ?? 'lo'} and straight back up this machine's own stack. No default gateway is involved.`
        : `Next hop: none. ${dst} is on ${lo?.name ?? 'the loopback interface'}: the packet is delivered inside this machine. No default gateway is involved.`,
    );
    if (routes) {
      const main = lookupRoute(routes, dst);
      routing.lines.push(
        `/proc/net/route shows only the main table (${routes.length} route${routes.length === 1 ? '' : 's'})${main ? `; by itself it would have sent ${dst} ${main.viaGateway ? `to the gateway ${main.gateway}` : 'out'} on ${main.iface}, which is why the local table comes first` : `, with no entry for ${dst}`}.`,
      );
    }
  } else if (kernel.output) {
    routing.fields.push({ name: 'next hop', value: kernel.via ? `gateway ${kernel.via} on ${kernel.dev}` : `${dst} directly on ${kernel.dev}`, source: 'system' });
    routing.lines.push(kernel.via ? `Next hop: the gateway ${kernel.via} on ${kernel.dev}.` : `Next hop: ${dst} itself, on ${kernel.dev}.`);
  }
  layers.push(routing);

  // A connection that really leaves through a network card (the lab spread over machines): its
  // next hop, and that hop's MAC from the kernel's ARP cache.
  const wire = !local && lo && !isLoopback(lo.name) ? onTheWire(src, dst, lo, kernel, sys) : undefined;

  // --- On a LAN this would be: for a loopback connection, this machine's real interface.
  const { lan, noLan } = wire ? {} : lanPicture(sys);

  // --- ARP: not on loopback; on a LAN, for the gateway.
  const arp: Layer = { name: 'ARP', fields: [], lines: [] };
  const loName = lo?.name ?? 'lo';
  if (local || isLoopback(lo?.name)) {
    const flags = sys.links[loName]?.flags;
    arp.fields.push({ name: 'ARP on this connection', value: 'not used: loopback', source: 'system' });
    arp.lines.push(
      `ARP is not used on loopback: ${loName} has no other machine to ask${flags !== undefined ? ` (its flags in /sys/class/net/${loName}/flags are 0x${flags.toString(16)}: ${flagNames(flags)}), and Linux gives a loopback device's neighbours nothing to resolve (NUD_NOARP)` : ''}. No ARP packet was sent for this connection.`,
    );
  }
  if (wire) {
    arp.fields.push({ name: 'ARP request', value: wire.nextHop ? `who has ${wire.nextHop}? tell ${src}` : 'no next hop', source: 'computed' });
    arp.fields.push({ name: 'next hop MAC', value: wire.mac ?? "not in the kernel's ARP cache", source: 'system' });
    arp.lines.push(
      wire.nextHop
        ? `${wire.dev} needs the MAC of the next hop ${wire.nextHop}${wire.nextHop === dst ? ' (the server itself: same subnet)' : ' (the gateway)'}; ARP asks, by broadcast: "who has ${wire.nextHop}? tell ${src}".`
        : `No next hop is known for ${dst}: no route to ARP for.`,
      wire.mac
        ? `The kernel's ARP cache (/proc/net/arp) has the answer: ${wire.nextHop} is at ${wire.mac} on ${wire.dev}.`
        : `The kernel's ARP cache (/proc/net/arp) has no complete entry for it right now (it may have expired); the lab will not invent one.`,
    );
  }
  if (lan) {
    const gw = lan.gateway;
    if (gw) {
      arp.fields.push({ name: 'ARP request', value: `who has ${gw.address}? tell ${lan.address}`, source: 'on a LAN' });
      arp.fields.push({ name: 'gateway MAC', value: gw.mac ?? "not in the kernel's ARP cache", source: 'on a LAN' });
      arp.lines.push(
        `On a LAN this would be: ${lan.example.dst} is outside ${lan.example.decision.srcNetwork}/${lan.example.decision.prefix}, so the packet goes to the gateway ${gw.address}, and ${lan.iface} first needs the gateway's MAC. It broadcasts an ARP request (Ethernet to ff:ff:ff:ff:ff:ff, EtherType 0x0806): "who has ${gw.address}? tell ${lan.address}", sender MAC ${lan.mac}.`,
        gw.mac
          ? `  The answer is already in the kernel's ARP cache (/proc/net/arp): ${gw.address} is at ${gw.mac} on ${lan.iface}.`
          : `  The kernel's ARP cache (/proc/net/arp) has no complete entry for ${gw.address} right now: the first packet would wait for the reply, and the lab will not invent a MAC address.`,
      );
    } else {
      arp.lines.push(`On a LAN this would be: a packet to ${lan.example.dst} (outside ${lan.example.decision.srcNetwork}/${lan.example.decision.prefix}) goes to the default gateway, and ${lan.iface} would ARP for the gateway's MAC; but ${lan.noGateway}.`);
    }
  } else if (noLan) {
    arp.lines.push(`On a LAN: ${noLan}`);
  }
  layers.push(arp);

  // --- Ethernet: zeros on lo; on a LAN, the gateway's MAC as destination.
  const eth: Layer = { name: 'Ethernet', fields: [], lines: [] };
  const loMac = lo?.info.mac;
  if (sys.platform === 'linux' && isLoopback(lo?.name)) {
    eth.fields.push(
      { name: 'destination MAC', value: loMac ?? '00:00:00:00:00:00', source: loMac ? 'system' : 'computed' },
      { name: 'source MAC', value: loMac ?? '00:00:00:00:00:00', source: loMac ? 'system' : 'computed' },
      { name: 'EtherType', value: '0x0800 (IPv4)', source: 'computed' },
    );
    eth.lines.push(
      `There is no Ethernet on loopback: no wire, no network card. ${loName}'s MAC address is ${loMac ?? 'all zeros'} (os.networkInterfaces()), and Linux still puts an Ethernet-shaped 14-byte header with zero MACs on lo's frames:`,
      ...macHeaderLines(loMac ?? '00:00:00:00:00:00', loMac ?? '00:00:00:00:00:00'),
      `tcpdump -i lo -e shows exactly that; a capture on "any" shows a Linux cooked (SLL) header instead, and macOS's lo0 a 4-byte null/loopback header. The frame never leaves the kernel: lo hands it straight back to the receive path.`,
    );
  } else if (isLoopback(lo?.name)) {
    eth.fields.push({ name: 'link header', value: 'none: loopback', source: 'computed' });
    eth.lines.push(`There is no Ethernet on loopback (${loName}, MAC ${loMac ?? 'none'}): on ${sys.platform} a capture of ${loName} shows a 4-byte null/loopback header holding only the address family, not MAC addresses.`);
  }
  if (wire) {
    eth.fields.push(
      { name: 'destination MAC', value: wire.mac ?? 'unknown (not in the ARP cache)', source: 'system' },
      { name: 'source MAC', value: lo!.info.mac, source: 'system' },
      { name: 'EtherType', value: '0x0800 (IPv4)', source: 'computed' },
    );
    eth.lines.push(
      `The frame on ${wire.dev} carries the next hop's MAC as destination (the IP header still says ${dst}) and ${wire.dev}'s own MAC as source:`,
      ...macHeaderLines(wire.mac ?? '(whatever ARP answers)', lo!.info.mac),
    );
  }
  if (lan) {
    if (lan.gateway) {
      const dstMac = lan.gateway.mac;
      eth.fields.push(
        { name: 'destination MAC', value: dstMac ?? 'unknown until ARP answers', source: 'on a LAN' },
        { name: 'source MAC', value: lan.mac, source: 'on a LAN' },
      );
      eth.lines.push(
        `On a LAN this would be: the frame ${lan.iface} sends towards ${lan.example.dst} carries the gateway ${lan.gateway.address}'s MAC as destination (the IP header still says ${lan.example.dst}) and ${lan.iface}'s own MAC as source:`,
        ...macHeaderLines(dstMac ?? '(whatever ARP answers)', lan.mac),
      );
    }
  } else if (noLan) {
    eth.lines.push(`On a LAN: ${noLan}`);
  }
  layers.push(eth);

  const lines: string[] = [];
  for (const l of layers) {
    lines.push(`${l.name}:`);
    lines.push(...l.lines.map((x) => `  ${x}`));
  }
  // The whole packet, outermost first, as the seed draws it.
  if (segmentPayload !== undefined && isLoopback(lo?.name)) {
    const link = `${sys.platform === 'linux' ? 'Ethernet' : 'null'} ${sys.platform === 'linux' ? 14 : 4}`;
    const linkBytes = sys.platform === 'linux' ? 14 : 4;
    if (input.requestWrite) {
      const inner = input.requestWrite.records.map((r) => `[${r.name}]`).join('');
      lines.push(`The packet on ${loName}, outermost first (the client's recorded write, sent as one segment): [${link}][IP 20][TCP ${tcpDataHeader}]${inner} = ${linkBytes + 20 + tcpDataHeader + input.requestWrite.bytes} bytes.`);
    } else if (payload !== undefined) {
      const inner = input.tls && overhead !== undefined ? `TLS record ${payload} (HTTP ${requestBytes} inside)` : `HTTP ${payload}`;
      lines.push(`The packet on ${loName}, outermost first (estimate, one segment): [${link}][IP 20][TCP ${tcpDataHeader}][${inner}] = ${linkBytes + 20 + tcpDataHeader + payload} bytes.`);
    }
  }
  if (lan) {
    lines.push(`On a LAN (this machine's ${lan.iface}, not this connection):`);
    lines.push(`  ${lan.iface} ${lan.address}/${maskOf(lan.netmask).prefix}, MAC ${lan.mac}${lan.virtual ? ' (a virtual device, e.g. a container\'s veth: it still speaks Ethernet and ARP to its peer)' : ''}`);
    lines.push(`  Default gateway: ${lan.gateway ? `${lan.gateway.address} on ${lan.gateway.iface} (/proc/net/route, destination 00000000)${lan.gateway.mac ? `, MAC ${lan.gateway.mac} (/proc/net/arp)` : ''}` : `unknown: ${lan.noGateway}`}`);
    lines.push(`  A server outside the subnet, e.g. ${lan.example.dst} (a documentation address standing in for a public shop):`);
    lines.push(...lan.example.decision.lines.map((l) => `    ${l}`));
    const k = lan.example.kernel;
    if (!k.output) lines.push(`  The kernel could not be asked (${k.command}: ${k.error}).`);
    else if (lan.gateway && k.via === lan.gateway.address) lines.push(`  The kernel agrees (${k.command}, which sends nothing): ${k.output}`);
    else lines.push(`  The kernel's own answer (${k.command}, which sends nothing): ${k.output}`);
  } else if (noLan) {
    lines.push(`On a LAN: ${noLan}`);
  }
  return { layers, lines, lan, noLan };
}

/** For a connection over a real interface: the next hop (kernel's answer, else the subnet rule) and its MAC. */
function onTheWire(src: string, dst: string, owner: OwnedBy, kernel: RouteGet, sys: SystemNet): { dev: string; nextHop?: string; mac?: string } {
  const dev = kernel.dev ?? owner.name;
  const same = cidrDecision(src, dst, owner.info.netmask).sameSubnet;
  const gw = sys.routeText !== undefined ? defaultGateway(sys.routeText) : undefined;
  const nextHop = kernel.output ? (kernel.via ?? dst) : same ? dst : gw?.address;
  const arp = sys.arpText !== undefined ? parseArpTable(sys.arpText) : [];
  return { dev, nextHop, mac: arp.find((e) => e.address === nextHop && e.device === dev && e.complete)?.mac };
}

/** The machine's real non-loopback IPv4 interface, its gateway and the gateway's MAC, if any. */
function lanPicture(sys: SystemNet): { lan?: LanPicture; noLan?: string } {
  const gw = sys.routeText !== undefined ? defaultGateway(sys.routeText) : undefined;
  const candidates = Object.entries(sys.interfaces).flatMap(([name, infos]) =>
    (infos ?? []).filter((i) => i.family === 'IPv4' && !i.internal).map((info) => ({ name, info })),
  );
  const chosen = candidates.find((c) => c.name === gw?.iface) ?? candidates[0];
  if (!chosen) return { noLan: 'this machine has no non-loopback IPv4 interface (os.networkInterfaces() lists only loopback), so there is no real LAN to show; nothing is made up in its place.' };
  const link = sys.links[chosen.name];
  if (link?.type !== undefined && link.type !== ARPHRD_ETHER) {
    return { noLan: `${chosen.name} (${chosen.info.cidr}) is not an Ethernet device (hardware type ${link.type} in /sys/class/net/${chosen.name}/type), so its packets get no Ethernet header and need no ARP.` };
  }
  // A stand-in destination outside our subnet: documentation addresses (RFC 5737), never a real host.
  const dst = ['203.0.113.10', '198.51.100.10', '192.0.2.10'].find((a) => !cidrDecision(chosen.info.address, a, chosen.info.netmask).sameSubnet)!;
  const decision = cidrDecision(chosen.info.address, dst, chosen.info.netmask);
  const arp = sys.arpText !== undefined ? parseArpTable(sys.arpText) : [];
  const gateway = gw && gw.iface === chosen.name ? { ...gw, mac: arp.find((e) => e.address === gw.address && e.device === gw.iface && e.complete)?.mac } : undefined;
  const noGateway = gateway
    ? undefined
    : sys.routeText === undefined
      ? `the routing table cannot be read on ${sys.platform} (no /proc/net/route; netstat -rn shows it), so the lab does not know the gateway or its MAC`
      : gw
        ? `the default route goes out ${gw.iface}, not ${chosen.name}`
        : `/proc/net/route has no default route (destination 00000000), so there is no gateway: "Network is unreachable"`;
  return {
    lan: {
      iface: chosen.name,
      address: chosen.info.address,
      netmask: chosen.info.netmask,
      mac: chosen.info.mac,
      virtual: link?.virtual,
      gateway,
      noGateway,
      example: { dst, decision, kernel: sys.routeGet(dst) },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The layers as captured: one frame, field by field (lab/observe/frame-fields.ts)

/** Step 3 from the frame that carried the request: every header field at its byte offset, as on the wire. */
export function describeWireLayers(layers: WireLayer[], frame: number, file: string): string[] {
  const lines: string[] = [`Frame ${frame} of the capture (observed: every value below is read from that frame; tshark -r ${file} -Y 'frame.number == ${frame}' -x shows its bytes):`];
  for (const l of layers) {
    lines.push(`${l.name} (bytes ${l.offset}–${l.offset + l.length - 1} of the frame${l.name === 'TLS record' ? '' : `, ${l.length}-byte header`}):`);
    for (const f of l.fields) {
      const span = f.bytes <= 1 ? `byte ${f.offset}` : `bytes ${f.offset}–${f.offset + f.bytes - 1}`;
      lines.push(`  ${span.padEnd(14)} ${f.name.padEnd(24)} ${f.value}   [observed, frame ${frame}]`);
    }
  }
  return lines;
}

/** The computed path's fields, each with where its value comes from (no capture: nothing observed on the wire). */
export function describeFieldSources(layers: Layer[]): string[] {
  return layers.flatMap((l) => l.fields.map((f) => `${l.name.padEnd(9)} ${f.name}: ${f.value}   [${f.source === 'connection' ? 'from the socket' : f.source === 'system' ? 'read from this machine' : f.source}]`));
}
