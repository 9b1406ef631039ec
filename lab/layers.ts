// The order's packet, layer by layer (seed §6), for one real connection.
//
// The seed wraps the POST /purchaseOrder request in a TCP header (ports), an IP header (addresses),
// decides by the subnet mask whether the server is on the same network or behind the default
// gateway, asks ARP for the next hop's MAC address and puts an Ethernet header in front.
//
// The lab's connection runs on loopback, so some of that does not happen at all: there is no
// gateway, no ARP and no wire, and lo's MAC address is all zeros. This module finds out what did
// happen, with values from the run and from this machine (/proc, /sys, os.networkInterfaces(),
// `ip route get`), and then computes what the same packet would go through on this machine's real
// network interface ("on a LAN this would be"). Nothing is invented: what cannot be seen from user
// space (sequence numbers, a gateway's MAC the kernel does not know) is a fact of its own.
// It returns facts only; lab/story/words/{en,zh}/layers.ts says them, in either language.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import type { Endpoint } from './tcp-states.ts';
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
  /** What `ip` said when it failed (its own stderr), or why it could not be asked at all. */
  error?: string;
  unavailable?: { kind: 'not installed' } | { kind: 'not on this platform'; platform: string };
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
    return e.code === 'ENOENT' ? { command, unavailable: { kind: 'not installed' } } : { command, error: (e.stderr || e.message).trim() };
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
    routeGet: os.platform() === 'linux' ? ipRouteGet : (dst, src) => ({ command: `ip route get ${dst}${src ? ` from ${src}` : ''}`, unavailable: { kind: 'not on this platform', platform: os.platform() } }),
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
// The layers, as facts: each layer's fields (a value and where it comes from) and its notes (what
// the narration says about it, as a kind and the values it needs). The sentences are in
// lab/story/words/{en,zh}/layers.ts, so a trace renders in either language.

/** Where a value comes from: this connection, this machine, arithmetic, or nowhere we can see. */
export type Source = 'connection' | 'system' | 'computed' | 'not observed' | 'on a LAN';

export type LayerName = 'HTTP' | 'TCP' | 'IP' | 'Routing' | 'ARP' | 'Ethernet';

export type FieldName =
  | 'request line' | 'request line + headers' | 'body' | 'request'
  | 'source port' | 'destination port' | 'sequence numbers' | 'ephemeral range' | 'header' | 'MSS'
  | 'source' | 'destination' | 'protocol' | 'TTL' | 'total length (the segment carrying the request)' | 'total length (first data segment, estimate)'
  | 'interface' | 'subnet check' | 'kernel route' | 'next hop'
  | 'ARP on this connection' | 'ARP request' | 'next hop MAC' | 'gateway MAC'
  | 'destination MAC' | 'source MAC' | 'EtherType' | 'link header';

/** A field's value: as it is (an address, a port, a line), or a fact the words phrase. */
export type FieldValue =
  | { kind: 'text'; text: string }
  | { kind: 'bytes'; bytes: number }
  | { kind: 'not observable' }
  | { kind: 'tcp header'; syn?: number; data?: number }
  | { kind: 'subnet check'; srcNetwork: string; dstNetwork: string; prefix: number; same: boolean }
  | { kind: 'next hop'; dst: string; dev: string; via?: string; local: boolean }
  | { kind: 'arp not used' }
  | { kind: 'who has'; target?: string; sender: string }
  | { kind: 'mac'; mac?: string; missing: 'not in cache' | 'until ARP answers' }
  | { kind: 'no link header' };

export interface Field {
  name: FieldName;
  value: FieldValue;
  source: Source;
}

/** Why there is no gateway on this machine's LAN interface. */
export type NoGateway = { kind: 'no table'; platform: string } | { kind: 'other interface'; gatewayIface: string; iface: string } | { kind: 'no default route' };

/** Why there is no LAN picture at all. */
export type NoLan = { kind: 'no interface' } | { kind: 'not ethernet'; iface: string; cidr: string; type: number };

/** What the narration says about a layer: one kind per sentence (or group of lines), with its values. */
export type LayerNote =
  // HTTP
  | { say: 'request'; requestLine: string; headBytes: number; bodyBytes: number; total: number }
  | { say: 'request bytes'; bytes: number }
  | { say: 'inside TLS'; protocol: string | null; cipher?: string; requestBytes?: number; overhead?: number; payload?: number }
  | { say: 'into the socket' }
  // TCP
  | { say: 'source port'; port: number; range?: [number, number]; inRange: boolean; platform: string }
  | { say: 'destination port'; port: number }
  | { say: 'sequence numbers'; iface: string; dst: string; port: number }
  | { say: 'tcp header'; timestamps: boolean; sack: boolean; windowScaling: boolean; synOptions: string[]; synHeader: number; dataHeader: number }
  | { say: 'tcp header unknown' }
  | { say: 'mss'; routeMtu?: number; command: string; dev?: string; devMtu?: number; dst: string; capped?: number; mss: number }
  // IP
  | { say: 'ip header'; src: string; dst: string }
  | { say: 'ttl'; ttl?: number; platform: string }
  | { say: 'total length'; dataHeader: number; firstPayload: number; segmentPayload: number; total: number; write?: { bytes: number; records: RecordInWrite[] } }
  // Routing
  | { say: 'source interface'; src: string; iface: string; cidr: string; exact: boolean; network: string; prefix: number; linuxLoopback: boolean }
  | { say: 'same subnet?'; iface: string; netmask: string; decision: CidrDecision }
  | { say: 'no interface'; src: string }
  | { say: 'kernel route'; command: string; output?: string; error?: string; unavailable?: RouteGet['unavailable'] }
  | { say: 'local delivery'; dst: string; dev: string; linux: boolean; localNet?: string; lo?: string }
  | { say: 'main table'; routes: number; dst: string; main?: { viaGateway: boolean; gateway: string; iface: string } }
  | { say: 'next hop'; dst: string; via?: string; dev?: string }
  // ARP
  | { say: 'no arp on loopback'; lo: string; /** As /sys/class/net/<if>/flags shows them: "0x9". */ flags?: string; flagNames: string }
  | { say: 'arp for next hop'; dev: string; nextHop?: string; dst: string; src: string; mac?: string }
  | { say: 'arp on a lan'; lan: LanFacts; gateway: string; mac?: string }
  | { say: 'arp on a lan, no gateway'; lan: LanFacts; noGateway: NoGateway }
  | { say: 'no lan'; noLan: NoLan }
  // Ethernet
  | { say: 'ethernet on loopback'; lo: string; mac?: string; linux: boolean; platform: string }
  | { say: 'ethernet on the wire'; dev: string; dst: string; dstMac?: string; srcMac: string }
  | { say: 'ethernet on a lan'; lan: LanFacts; gateway: string; dstMac?: string };

/** The LAN picture's facts a note needs: the interface, its address and MAC, the stand-in server. */
export interface LanFacts {
  iface: string;
  address: string;
  mac: string;
  example: string;
  network: string;
  prefix: number;
}

export interface Layer {
  name: LayerName;
  fields: Field[];
  /** What the narration says about this layer (lab/story/words/{en,zh}/layers.ts words it). */
  notes: LayerNote[];
}

/** A TLS record in the client's one write: its type ("Finished", "handshake", "application_data"…), whether encrypted, its size with header. */
export interface RecordInWrite {
  type: string;
  encrypted: boolean;
  bytes: number;
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
  requestWrite?: { bytes: number; records: RecordInWrite[] };
}

/** What this machine's real network interface would do with the same packet. */
export interface LanPicture {
  iface: string;
  address: string;
  netmask: string;
  /** The netmask's prefix length (computed from it): 255.255.255.0 → 24. */
  prefix: number;
  mac: string;
  virtual?: boolean;
  gateway?: Gateway & { mac?: string };
  /** Why there is no gateway: none in the table, or no table to read. */
  noGateway?: NoGateway;
  /** A stand-in server outside the subnet (a documentation address, RFC 5737). */
  example: { dst: string; decision: CidrDecision; kernel: RouteGet };
}

/** The whole packet on the loopback device, outermost first, as the seed draws it. */
export interface PacketPicture {
  device: string;
  link: { name: 'Ethernet' | 'null'; bytes: number };
  tcpHeader: number;
  /** The client's recorded write (its records' names), or the request's own record, estimated. */
  write?: { records: RecordInWrite[]; bytes: number };
  estimate?: { payload: number; tlsRecord: boolean; requestBytes?: number };
  total: number;
}

/** describeLayers' answer: the layers, the packet, and the LAN this machine would use (or why none). */
export interface LayersFacts {
  layers: Layer[];
  packet?: PacketPicture;
  lan?: LanPicture;
  noLan?: NoLan;
  /** The connection is IPv6: the walk is written for IPv4. */
  ipv6?: { src: string; dst: string };
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

const text = (t: string): FieldValue => ({ kind: 'text', text: t });
const bytes = (n: number): FieldValue => ({ kind: 'bytes', bytes: n });

/** The seed's §6 for one real connection: each layer with values from the run and this machine. */
export function describeLayers(input: LayersInput, sys: SystemNet = readSystemNet()): LayersFacts {
  if ((input.protocol ?? 'tcp') !== 'tcp') throw new Error(`describeLayers knows TCP only, not ${input.protocol}`);
  const src = input.local.address.replace(/^::ffff:(?=\d+\.)/i, '');
  const dst = input.remote.address.replace(/^::ffff:(?=\d+\.)/i, '');
  // The lab's roles all have IPv4 addresses; say so rather than fail the story.
  if (!net.isIPv4(src) || !net.isIPv4(dst)) return { layers: [], ipv6: { src, dst } };
  const layers: Layer[] = [];

  // --- HTTP: what the application hands to its socket.
  const http: Layer = { name: 'HTTP', fields: [], notes: [] };
  const requestText = input.requestText;
  const requestBytes = requestText !== undefined ? Buffer.byteLength(requestText) : input.requestBytes;
  if (requestText !== undefined) {
    const end = requestText.indexOf('\r\n\r\n');
    const headBytes = end >= 0 ? Buffer.byteLength(requestText.slice(0, end + 4)) : Buffer.byteLength(requestText);
    const requestLine = requestText.split('\r\n')[0]!;
    const bodyBytes = Buffer.byteLength(requestText) - headBytes;
    http.fields.push(
      { name: 'request line', value: text(requestLine), source: 'connection' },
      { name: 'request line + headers', value: bytes(headBytes), source: 'connection' },
      { name: 'body', value: bytes(bodyBytes), source: 'connection' },
    );
    http.notes.push({ say: 'request', requestLine, headBytes, bodyBytes, total: requestBytes! });
  } else if (requestBytes !== undefined) {
    http.fields.push({ name: 'request', value: bytes(requestBytes), source: 'connection' });
    http.notes.push({ say: 'request bytes', bytes: requestBytes });
  }
  const overhead = input.tls ? tlsRecordOverhead(input.tls) : undefined;
  const payload = requestBytes === undefined ? undefined : requestBytes + (overhead ?? 0);
  if (input.tls) http.notes.push({ say: 'inside TLS', protocol: input.tls.protocol, cipher: input.tls.cipher, requestBytes, overhead, payload: overhead !== undefined ? payload : undefined });
  http.notes.push({ say: 'into the socket' });
  layers.push(http);

  // --- TCP: ports from the socket; sequence numbers stay in the kernel.
  const tcp: Layer = { name: 'TCP', fields: [], notes: [] };
  const range = sys.ephemeralRange;
  const inRange = range !== undefined && input.local.port >= range[0] && input.local.port <= range[1];
  tcp.fields.push(
    { name: 'source port', value: text(String(input.local.port)), source: 'connection' },
    { name: 'destination port', value: text(String(input.remote.port)), source: 'connection' },
    { name: 'sequence numbers', value: { kind: 'not observable' }, source: 'not observed' },
  );
  if (range) tcp.fields.push({ name: 'ephemeral range', value: text(`${range[0]}-${range[1]}`), source: 'system' });
  tcp.notes.push(
    { say: 'source port', port: input.local.port, range, inRange, platform: sys.platform },
    { say: 'destination port', port: input.remote.port },
    { say: 'sequence numbers', iface: interfaceOwning(src, sys.interfaces)?.name ?? 'any', dst, port: input.remote.port },
  );
  const lo = interfaceOwning(src, sys.interfaces);
  let tcpDataHeader = 20;
  if (sys.tcpOptions) {
    const syn = synOptionBytes(sys.tcpOptions);
    tcpDataHeader = 20 + (sys.tcpOptions.timestamps ? 12 : 0);
    tcp.fields.push({ name: 'header', value: { kind: 'tcp header', syn: 20 + syn.bytes, data: tcpDataHeader }, source: 'system' });
    tcp.notes.push({ say: 'tcp header', ...sys.tcpOptions, synOptions: syn.names, synHeader: 20 + syn.bytes, dataHeader: tcpDataHeader });
  } else {
    tcp.fields.push({ name: 'header', value: { kind: 'tcp header' }, source: 'computed' });
    tcp.notes.push({ say: 'tcp header unknown' });
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
    tcp.fields.push({ name: 'MSS', value: text(String(mss)), source: 'computed' });
    tcp.notes.push({ say: 'mss', routeMtu: route.mtu, command: route.command, dev, devMtu, dst, capped: pathMtu! > IPV4_MAX_PACKET ? IPV4_MAX_PACKET : undefined, mss });
  }
  layers.push(tcp);

  // --- IP: addresses from the socket, TTL from the kernel's default.
  const ip: Layer = { name: 'IP', fields: [], notes: [] };
  ip.fields.push(
    { name: 'source', value: text(src), source: 'connection' },
    { name: 'destination', value: text(dst), source: 'connection' },
    { name: 'protocol', value: text('6 (TCP)'), source: 'computed' },
    { name: 'header', value: bytes(20), source: 'computed' },
  );
  ip.notes.push({ say: 'ip header', src, dst });
  if (sys.defaultTtl !== undefined) ip.fields.push({ name: 'TTL', value: text(String(sys.defaultTtl)), source: 'system' });
  ip.notes.push({ say: 'ttl', ttl: sys.defaultTtl, platform: sys.platform });
  // The segment's payload: the client's real write when it was recorded (in TLS 1.3 the client's
  // Finished rides in the same write as the request), else the request's own record, estimated.
  const segmentPayload = input.requestWrite?.bytes ?? payload;
  const room = mss !== undefined ? mss - (tcpDataHeader - 20) : undefined;
  if (segmentPayload !== undefined) {
    const firstPayload = room !== undefined ? Math.min(segmentPayload, room) : segmentPayload;
    const total = 20 + tcpDataHeader + firstPayload;
    const w = input.requestWrite;
    ip.fields.push({ name: w ? 'total length (the segment carrying the request)' : 'total length (first data segment, estimate)', value: bytes(total), source: 'computed' });
    ip.notes.push({ say: 'total length', dataHeader: tcpDataHeader, firstPayload, segmentPayload, total, ...(w && { write: { bytes: w.bytes, records: w.records } }) });
  }
  layers.push(ip);

  // --- Routing: which interface owns the source, same subnet or not, and the kernel's own answer.
  const routing: Layer = { name: 'Routing', fields: [], notes: [] };
  const routes = sys.routeText !== undefined ? parseRouteTable(sys.routeText) : undefined;
  const isLoopback = (name: string | undefined) => name !== undefined && (((sys.links[name]?.flags ?? 0) & IFF_LOOPBACK) !== 0 || (sys.interfaces[name] ?? []).some((i) => i.internal));
  if (lo) {
    routing.fields.push({ name: 'interface', value: text(`${lo.name} ${lo.info.cidr}`), source: 'system' });
    routing.notes.push({
      say: 'source interface', src, iface: lo.name, cidr: lo.info.cidr ?? lo.info.address, exact: lo.exact,
      network: cidrDecision(lo.info.address, src, lo.info.netmask).srcNetwork, prefix: maskOf(lo.info.netmask).prefix,
      linuxLoopback: isLoopback(lo.name) && sys.platform === 'linux',
    });
    const d = cidrDecision(src, dst, lo.info.netmask);
    routing.fields.push({ name: 'subnet check', value: { kind: 'subnet check', srcNetwork: d.srcNetwork, dstNetwork: d.dstNetwork, prefix: d.prefix, same: d.sameSubnet }, source: 'computed' });
    routing.notes.push({ say: 'same subnet?', iface: lo.name, netmask: lo.info.netmask, decision: d });
  } else {
    routing.notes.push({ say: 'no interface', src });
  }
  const kernel = route;
  if (kernel.output) routing.fields.push({ name: 'kernel route', value: text(kernel.output), source: 'system' });
  routing.notes.push({ say: 'kernel route', command: kernel.command, output: kernel.output, error: kernel.error, unavailable: kernel.unavailable });
  const local = kernel.type === 'local' || (!kernel.output && isLoopback(lo?.name));
  if (local) {
    const device = kernel.dev ?? lo?.name ?? 'lo';
    routing.fields.push({ name: 'next hop', value: { kind: 'next hop', dst, dev: device, local: true }, source: kernel.output ? 'system' : 'computed' });
    const localNet = lo && isLoopback(lo.name) ? `${cidrDecision(lo.info.address, dst, lo.info.netmask).srcNetwork}/${maskOf(lo.info.netmask).prefix}` : undefined;
    routing.notes.push({ say: 'local delivery', dst, dev: device, linux: sys.platform === 'linux', localNet, lo: lo?.name });
    if (routes) {
      const main = lookupRoute(routes, dst);
      routing.notes.push({ say: 'main table', routes: routes.length, dst, main: main && { viaGateway: main.viaGateway, gateway: main.gateway, iface: main.iface } });
    }
  } else if (kernel.output) {
    routing.fields.push({ name: 'next hop', value: { kind: 'next hop', dst, dev: kernel.dev ?? '?', via: kernel.via, local: false }, source: 'system' });
    routing.notes.push({ say: 'next hop', dst, via: kernel.via, dev: kernel.dev });
  }
  layers.push(routing);

  // A connection that really leaves through a network card (the lab spread over machines): its
  // next hop, and that hop's MAC from the kernel's ARP cache.
  const wire = !local && lo && !isLoopback(lo.name) ? onTheWire(src, dst, lo, kernel, sys) : undefined;

  // --- On a LAN this would be: for a loopback connection, this machine's real interface.
  const { lan, noLan } = wire ? {} : lanPicture(sys);
  const lanFacts: LanFacts | undefined = lan && {
    iface: lan.iface, address: lan.address, mac: lan.mac, example: lan.example.dst, network: lan.example.decision.srcNetwork, prefix: lan.example.decision.prefix,
  };

  // --- ARP: not on loopback; on a LAN, for the gateway.
  const arp: Layer = { name: 'ARP', fields: [], notes: [] };
  const loName = lo?.name ?? 'lo';
  if (local || isLoopback(lo?.name)) {
    const flags = sys.links[loName]?.flags;
    arp.fields.push({ name: 'ARP on this connection', value: { kind: 'arp not used' }, source: 'system' });
    arp.notes.push({ say: 'no arp on loopback', lo: loName, flags: flags !== undefined ? `0x${flags.toString(16)}` : undefined, flagNames: flags !== undefined ? flagNames(flags) : '' });
  }
  if (wire) {
    arp.fields.push({ name: 'ARP request', value: { kind: 'who has', target: wire.nextHop, sender: src }, source: 'computed' });
    arp.fields.push({ name: 'next hop MAC', value: { kind: 'mac', mac: wire.mac, missing: 'not in cache' }, source: 'system' });
    arp.notes.push({ say: 'arp for next hop', dev: wire.dev, nextHop: wire.nextHop, dst, src, mac: wire.mac });
  }
  if (lan && lanFacts) {
    const gw = lan.gateway;
    if (gw) {
      arp.fields.push({ name: 'ARP request', value: { kind: 'who has', target: gw.address, sender: lan.address }, source: 'on a LAN' });
      arp.fields.push({ name: 'gateway MAC', value: { kind: 'mac', mac: gw.mac, missing: 'not in cache' }, source: 'on a LAN' });
      arp.notes.push({ say: 'arp on a lan', lan: lanFacts, gateway: gw.address, mac: gw.mac });
    } else {
      arp.notes.push({ say: 'arp on a lan, no gateway', lan: lanFacts, noGateway: lan.noGateway! });
    }
  } else if (noLan) {
    arp.notes.push({ say: 'no lan', noLan });
  }
  layers.push(arp);

  // --- Ethernet: zeros on lo; on a LAN, the gateway's MAC as destination.
  const eth: Layer = { name: 'Ethernet', fields: [], notes: [] };
  const loMac = lo?.info.mac;
  if (sys.platform === 'linux' && isLoopback(lo?.name)) {
    eth.fields.push(
      { name: 'destination MAC', value: text(loMac ?? '00:00:00:00:00:00'), source: loMac ? 'system' : 'computed' },
      { name: 'source MAC', value: text(loMac ?? '00:00:00:00:00:00'), source: loMac ? 'system' : 'computed' },
      { name: 'EtherType', value: text('0x0800 (IPv4)'), source: 'computed' },
    );
    eth.notes.push({ say: 'ethernet on loopback', lo: loName, mac: loMac, linux: true, platform: sys.platform });
  } else if (isLoopback(lo?.name)) {
    eth.fields.push({ name: 'link header', value: { kind: 'no link header' }, source: 'computed' });
    eth.notes.push({ say: 'ethernet on loopback', lo: loName, mac: loMac, linux: false, platform: sys.platform });
  }
  if (wire) {
    eth.fields.push(
      { name: 'destination MAC', value: { kind: 'mac', mac: wire.mac, missing: 'not in cache' }, source: 'system' },
      { name: 'source MAC', value: text(lo!.info.mac), source: 'system' },
      { name: 'EtherType', value: text('0x0800 (IPv4)'), source: 'computed' },
    );
    eth.notes.push({ say: 'ethernet on the wire', dev: wire.dev, dst, dstMac: wire.mac, srcMac: lo!.info.mac });
  }
  if (lan && lanFacts) {
    if (lan.gateway) {
      eth.fields.push(
        { name: 'destination MAC', value: { kind: 'mac', mac: lan.gateway.mac, missing: 'until ARP answers' }, source: 'on a LAN' },
        { name: 'source MAC', value: text(lan.mac), source: 'on a LAN' },
      );
      eth.notes.push({ say: 'ethernet on a lan', lan: lanFacts, gateway: lan.gateway.address, dstMac: lan.gateway.mac });
    }
  } else if (noLan) {
    eth.notes.push({ say: 'no lan', noLan });
  }
  layers.push(eth);

  // The whole packet, outermost first, as the seed draws it.
  let packet: PacketPicture | undefined;
  if (segmentPayload !== undefined && isLoopback(lo?.name)) {
    const link = sys.platform === 'linux' ? { name: 'Ethernet' as const, bytes: 14 } : { name: 'null' as const, bytes: 4 };
    const head = link.bytes + 20 + tcpDataHeader;
    if (input.requestWrite) {
      packet = { device: loName, link, tcpHeader: tcpDataHeader, write: { records: input.requestWrite.records, bytes: input.requestWrite.bytes }, total: head + input.requestWrite.bytes };
    } else if (payload !== undefined) {
      packet = { device: loName, link, tcpHeader: tcpDataHeader, estimate: { payload, tlsRecord: Boolean(input.tls && overhead !== undefined), requestBytes }, total: head + payload };
    }
  }
  return { layers, ...(packet && { packet }), ...(lan && { lan }), ...(noLan && { noLan }) };
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
function lanPicture(sys: SystemNet): { lan?: LanPicture; noLan?: NoLan } {
  const gw = sys.routeText !== undefined ? defaultGateway(sys.routeText) : undefined;
  const candidates = Object.entries(sys.interfaces).flatMap(([name, infos]) =>
    (infos ?? []).filter((i) => i.family === 'IPv4' && !i.internal).map((info) => ({ name, info })),
  );
  const chosen = candidates.find((c) => c.name === gw?.iface) ?? candidates[0];
  if (!chosen) return { noLan: { kind: 'no interface' } };
  const link = sys.links[chosen.name];
  if (link?.type !== undefined && link.type !== ARPHRD_ETHER) {
    return { noLan: { kind: 'not ethernet', iface: chosen.name, cidr: chosen.info.cidr ?? chosen.info.address, type: link.type } };
  }
  // A stand-in destination outside our subnet: documentation addresses (RFC 5737), never a real host.
  const dst = ['203.0.113.10', '198.51.100.10', '192.0.2.10'].find((a) => !cidrDecision(chosen.info.address, a, chosen.info.netmask).sameSubnet)!;
  const decision = cidrDecision(chosen.info.address, dst, chosen.info.netmask);
  const arp = sys.arpText !== undefined ? parseArpTable(sys.arpText) : [];
  const gateway = gw && gw.iface === chosen.name ? { ...gw, mac: arp.find((e) => e.address === gw.address && e.device === gw.iface && e.complete)?.mac } : undefined;
  const noGateway: NoGateway | undefined = gateway
    ? undefined
    : sys.routeText === undefined
      ? { kind: 'no table', platform: sys.platform }
      : gw
        ? { kind: 'other interface', gatewayIface: gw.iface, iface: chosen.name }
        : { kind: 'no default route' };
  return {
    lan: {
      iface: chosen.name,
      address: chosen.info.address,
      netmask: chosen.info.netmask,
      prefix: maskOf(chosen.info.netmask).prefix,
      mac: chosen.info.mac,
      virtual: link?.virtual,
      gateway,
      ...(noGateway && { noGateway }),
      example: { dst, decision, kernel: sys.routeGet(dst) },
    },
  };
}

// ---------------------------------------------------------------------------------------------
