// Step 3's layers in words (seed §6): each layer's notes and fields as lab/layers.ts found them, the
// packet as the seed draws it, what this machine's LAN would do, and the header fields of the frame
// that carried the POST (lab/observe/frame-fields.ts). Facts in, sentences out.
import { toBinary, parseIpv4 } from '../../../../servers/net/ipv4.ts';
import type { CidrDecision } from '../../../../servers/net/ipv4.ts';
import type { Field, FieldName, FieldValue, Layer, LayerName, LayerNote, LayersFacts, NoGateway, NoLan, RecordInWrite, RouteGet, Source } from '../../../layers.ts';
import type { WireField, WireFieldName, WireLayer } from '../../../observe/frame-fields.ts';
import { padEndWidth } from '../../../text-width.ts';

/** A layer's name as a heading ("Routing:"); protocol names stay as they are. */
export const LAYER_NAMES: Record<LayerName, string> = { HTTP: 'HTTP', TCP: 'TCP', IP: 'IP', Routing: 'Routing', ARP: 'ARP', Ethernet: 'Ethernet' };

export const FIELD_NAMES: Record<FieldName, string> = {
  'request line': 'request line',
  'request line + headers': 'request line + headers',
  body: 'body',
  request: 'request',
  'source port': 'source port',
  'destination port': 'destination port',
  'sequence numbers': 'sequence numbers',
  'ephemeral range': 'ephemeral range',
  header: 'header',
  MSS: 'MSS',
  source: 'source',
  destination: 'destination',
  protocol: 'protocol',
  TTL: 'TTL',
  'total length (the segment carrying the request)': 'total length (the segment carrying the request)',
  'total length (first data segment, estimate)': 'total length (first data segment, estimate)',
  interface: 'interface',
  'subnet check': 'subnet check',
  'kernel route': 'kernel route',
  'next hop': 'next hop',
  'ARP on this connection': 'ARP on this connection',
  'ARP request': 'ARP request',
  'next hop MAC': 'next hop MAC',
  'gateway MAC': 'gateway MAC',
  'destination MAC': 'destination MAC',
  'source MAC': 'source MAC',
  EtherType: 'EtherType',
  'link header': 'link header',
};

const SOURCES: Record<Source, string> = {
  connection: 'from the socket',
  system: 'read from this machine',
  computed: 'computed',
  'not observed': 'not observed',
  'on a LAN': 'on a LAN',
};

/** A field's value as the narration shows it. */
export function fieldValue(v: FieldValue): string {
  switch (v.kind) {
    case 'text': return v.text;
    case 'bytes': return `${v.bytes} bytes`;
    case 'not observable': return 'not observable without a capture';
    case 'tcp header': return v.syn !== undefined ? `20 bytes + options: SYN ${v.syn}, data segments ${v.data}` : '20 bytes + options';
    case 'subnet check': return `${v.srcNetwork}/${v.prefix} vs ${v.dstNetwork}/${v.prefix}: ${v.same ? 'same subnet' : 'different subnets'}`;
    case 'next hop': return v.local ? `${v.dst} itself, on ${v.dev}: no gateway` : v.via ? `gateway ${v.via} on ${v.dev}` : `${v.dst} directly on ${v.dev}`;
    case 'arp not used': return 'not used: loopback';
    case 'who has': return v.target ? `who has ${v.target}? tell ${v.sender}` : 'no next hop';
    case 'mac': return v.mac ?? (v.missing === 'not in cache' ? "not in the kernel's ARP cache" : 'unknown until ARP answers');
    case 'no link header': return 'none: loopback';
  }
}

/** "IP source: 127.10.1.10": a field with its layer, as a line of the value list. */
export function fieldText(layer: LayerName, f: Field): string {
  return `${LAYER_NAMES[layer]} ${FIELD_NAMES[f.name]}: ${fieldValue(f.value)}`;
}

/** The seed's AND in binary, line by line: both addresses, the mask, both networks, the decision. */
export function cidrLines(d: CidrDecision): string[] {
  const w = Math.max(d.src.length, d.dst.length, d.mask.length, 15);
  const row = (op: string, ip: string, note: string) => `${op} ${ip.padEnd(w)}  ${toBinary(parseIpv4(ip))}   ${note}`;
  return [
    row(' ', d.src, 'source'),
    row('&', d.mask, `mask /${d.prefix}`),
    row('=', d.srcNetwork, 'source network'),
    row(' ', d.dst, 'destination'),
    row('&', d.mask, `mask /${d.prefix}`),
    row('=', d.dstNetwork, 'destination network'),
    d.sameSubnet
      ? `${d.srcNetwork} = ${d.dstNetwork}: same subnet ${d.srcNetwork}/${d.prefix}, deliver directly, no gateway`
      : `${d.srcNetwork} ≠ ${d.dstNetwork}: ${d.dst} is outside ${d.srcNetwork}/${d.prefix}, send it to the default gateway`,
  ];
}

function macHeaderLines(dst: string, src: string): string[] {
  return [
    `  bytes 0-5   destination MAC  ${dst}`,
    `  bytes 6-11  source MAC       ${src}`,
    `  bytes 12-13 EtherType        0x0800 (IPv4)`,
  ];
}

/** Why the kernel could not be asked: ip's own error, or no ip to run. */
function routeError(k: { error?: string; unavailable?: RouteGet['unavailable'] }): string {
  if (k.unavailable?.kind === 'not installed') return 'the ip command is not installed';
  if (k.unavailable?.kind === 'not on this platform') return `no ip command on ${k.unavailable.platform}`;
  return k.error ?? '?';
}

function noGatewayText(n: NoGateway): string {
  switch (n.kind) {
    case 'no table': return `the routing table cannot be read on ${n.platform} (no /proc/net/route; netstat -rn shows it), so the lab does not know the gateway or its MAC`;
    case 'other interface': return `the default route goes out ${n.gatewayIface}, not ${n.iface}`;
    case 'no default route': return `/proc/net/route has no default route (destination 00000000), so there is no gateway: "Network is unreachable"`;
  }
}

export function noLanText(n: NoLan): string {
  switch (n.kind) {
    case 'no interface': return 'this machine has no non-loopback IPv4 interface (os.networkInterfaces() lists only loopback), so there is no real LAN to show; nothing is made up in its place.';
    case 'not ethernet': return `${n.iface} (${n.cidr}) is not an Ethernet device (hardware type ${n.type} in /sys/class/net/${n.iface}/type), so its packets get no Ethernet header and need no ARP.`;
  }
}

/** One note's lines, in the order the walk tells them. */
export function noteLines(n: LayerNote): string[] {
  switch (n.say) {
    case 'request':
      return [`Request line: ${n.requestLine}`, `Request line and headers: ${n.headBytes} bytes up to the blank line; body: ${n.bodyBytes} bytes; ${n.total} bytes in all.`];
    case 'request bytes':
      return [`The request: ${n.bytes} bytes.`];
    case 'inside TLS':
      return [
        n.overhead !== undefined
          ? `It travels inside TLS (${n.protocol}, ${n.cipher ?? 'cipher unknown'}): sent as one application-data record it is ${n.requestBytes} + ${n.overhead} = ${n.payload} bytes (record header, nonce, tag around the ciphertext). TCP carries those, not the text above.`
          : `It travels inside TLS (${n.protocol}, ${n.cipher ?? 'cipher unknown'}): TCP carries encrypted records, slightly larger than the text above.`,
      ];
    case 'into the socket':
      return ['The application writes this into its socket as a byte stream; the kernel does everything below.'];
    case 'source port':
      return [
        n.range
          ? n.inRange
            ? `Source port ${n.port}: ephemeral, picked by the kernel from ${n.range[0]}–${n.range[1]} (/proc/sys/net/ipv4/ip_local_port_range); it is in that range.`
            : `Source port ${n.port}: outside the ephemeral range ${n.range[0]}–${n.range[1]} (/proc/sys/net/ipv4/ip_local_port_range), so the client chose it itself.`
          : `Source port ${n.port}: the client's ephemeral port (the range it was drawn from cannot be read on ${n.platform}).`,
      ];
    case 'destination port':
      return [`Destination port ${n.port}: the port the server listens on. The pair of ports tells each end which socket, and so which application, a segment is for.`];
    case 'sequence numbers':
      return [`Sequence numbers: not observable here. The kernel picked a random initial sequence number for each direction (RFC 9293 §3.4.1, RFC 6528) and keeps them to itself; a capture shows them: tcpdump -i ${n.iface} -n -S 'host ${n.dst} and tcp port ${n.port}' (-S prints absolute numbers).`];
    case 'tcp header':
      return [
        `Header: 20 bytes plus options. By this kernel's settings (net.ipv4.tcp_timestamps=${+n.timestamps}, tcp_sack=${+n.sack}, tcp_window_scaling=${+n.windowScaling}) the SYN carries ${n.synOptions.join(', ')}: ${n.synHeader} bytes (the SYN itself shows only in a capture); each data segment then carries ${n.timestamps ? 'the 12-byte timestamp option' : 'no options'}: ${n.dataHeader} bytes.`,
      ];
    case 'tcp header unknown':
      return ['Header: 20 bytes plus options (typically MSS, SACK-permitted, window scale and timestamps in the SYN; the kernel settings that decide them cannot be read here).'];
    case 'mss': {
      const from = n.routeMtu !== undefined ? `the route's MTU ${n.routeMtu} (${n.command})` : `${n.dev}'s MTU ${n.devMtu} (the route to ${n.dst} goes out ${n.dev} and sets no MTU of its own)`;
      const capped = n.capped !== undefined ? `, capped at ${n.capped} (the IPv4 Total Length field has 16 bits)` : '';
      return [`MSS announced in the SYN, computed (RFC 9293 §3.7.1): ${from}${capped}, − 20 (IP) − 20 (TCP) = ${n.mss} bytes.`];
    }
    case 'ip header':
      return [`Source ${n.src}, destination ${n.dst}, protocol 6 (TCP), header 20 bytes (version 4, no options).`];
    case 'ttl':
      return [
        n.ttl !== undefined
          ? `TTL ${n.ttl}: this kernel's default (/proc/sys/net/ipv4/ip_default_ttl); each router on the way subtracts one.`
          : `TTL: the system default, which cannot be read on ${n.platform} (64 on Linux and macOS, 128 on Windows).`,
      ];
    case 'total length': {
      const piece = n.firstPayload < n.segmentPayload ? `, the first MSS-sized piece of ${n.segmentPayload}` : '';
      const sum = `20 (IP) + ${n.dataHeader} (TCP) + ${n.firstPayload} (payload${piece}) = ${n.total} bytes`;
      return [
        n.write
          ? `Total length of the segment carrying the request: ${sum}. ` +
            `The payload is the client's one write of ${n.write.bytes} bytes, recorded at its socket: ${n.write.records.map(recordText).join(' + ')}. ` +
            `The kernel sends one write as one segment when it fits the MSS and nothing waits ahead of it; a capture shows the segment itself.`
          : `Total length of the first data segment, estimated: ${sum}, if the request goes out in one write; a capture shows the real split.`,
      ];
    }
    case 'source interface':
      return [
        n.exact
          ? `${n.src} is configured on ${n.iface} (${n.cidr}).`
          : `${n.src} belongs to ${n.iface}: ${n.iface} has ${n.cidr}, and ${n.src} is inside ${n.network}/${n.prefix}${n.linuxLoopback ? ', all of which Linux treats as this machine\'s own addresses' : ''}.`,
      ];
    case 'same subnet?':
      return [`Same subnet? Each address AND ${n.iface}'s netmask ${n.netmask}:`, ...cidrLines(n.decision).map((l) => `  ${l}`)];
    case 'no interface':
      return [`No interface of this machine has ${n.src} or its subnet (os.networkInterfaces()): the subnet check cannot be made with real data.`];
    case 'kernel route':
      return [n.output ? `The kernel's own answer (${n.command}, which sends nothing): ${n.output}` : `The kernel's own answer could not be asked (${n.command}: ${routeError(n)}).`];
    case 'local delivery':
      return [
        n.linux
          ? `Next hop: none. ${n.dst} is an address of this machine: the kernel's local table (ip route show table local)${n.localNet ? ` holds "local ${n.localNet} dev ${n.lo}" and` : ''} is consulted before the main table, so the packet goes to ${n.dev} and straight back up this machine's own stack. No default gateway is involved.`
          : `Next hop: none. ${n.dst} is on ${n.lo ?? 'the loopback interface'}: the packet is delivered inside this machine. No default gateway is involved.`,
      ];
    case 'main table':
      return [
        `/proc/net/route shows only the main table (${n.routes} route${n.routes === 1 ? '' : 's'})${n.main ? `; by itself it would have sent ${n.dst} ${n.main.viaGateway ? `to the gateway ${n.main.gateway}` : 'out'} on ${n.main.iface}, which is why the local table comes first` : `, with no entry for ${n.dst}`}.`,
      ];
    case 'next hop':
      return [n.via ? `Next hop: the gateway ${n.via} on ${n.dev}.` : `Next hop: ${n.dst} itself, on ${n.dev}.`];
    case 'no arp on loopback':
      return [
        `ARP is not used on loopback: ${n.lo} has no other machine to ask${n.flags !== undefined ? ` (its flags in /sys/class/net/${n.lo}/flags are ${n.flags}: ${n.flagNames}), and Linux gives a loopback device's neighbours nothing to resolve (NUD_NOARP)` : ''}. No ARP packet was sent for this connection.`,
      ];
    case 'arp for next hop':
      return [
        n.nextHop
          ? `${n.dev} needs the MAC of the next hop ${n.nextHop}${n.nextHop === n.dst ? ' (the server itself: same subnet)' : ' (the gateway)'}; ARP asks, by broadcast: "who has ${n.nextHop}? tell ${n.src}".`
          : `No next hop is known for ${n.dst}: no route to ARP for.`,
        n.mac
          ? `The kernel's ARP cache (/proc/net/arp) has the answer: ${n.nextHop} is at ${n.mac} on ${n.dev}.`
          : `The kernel's ARP cache (/proc/net/arp) has no complete entry for it right now (it may have expired); the lab will not invent one.`,
      ];
    case 'arp on a lan':
      return [
        `On a LAN this would be: ${n.lan.example} is outside ${n.lan.network}/${n.lan.prefix}, so the packet goes to the gateway ${n.gateway}, and ${n.lan.iface} first needs the gateway's MAC. It broadcasts an ARP request (Ethernet to ff:ff:ff:ff:ff:ff, EtherType 0x0806): "who has ${n.gateway}? tell ${n.lan.address}", sender MAC ${n.lan.mac}.`,
        n.mac
          ? `  The answer is already in the kernel's ARP cache (/proc/net/arp): ${n.gateway} is at ${n.mac} on ${n.lan.iface}.`
          : `  The kernel's ARP cache (/proc/net/arp) has no complete entry for ${n.gateway} right now: the first packet would wait for the reply, and the lab will not invent a MAC address.`,
      ];
    case 'arp on a lan, no gateway':
      return [`On a LAN this would be: a packet to ${n.lan.example} (outside ${n.lan.network}/${n.lan.prefix}) goes to the default gateway, and ${n.lan.iface} would ARP for the gateway's MAC; but ${noGatewayText(n.noGateway)}.`];
    case 'no lan':
      return [`On a LAN: ${noLanText(n.noLan)}`];
    case 'ethernet on loopback': {
      if (!n.linux) return [`There is no Ethernet on loopback (${n.lo}, MAC ${n.mac ?? 'none'}): on ${n.platform} a capture of ${n.lo} shows a 4-byte null/loopback header holding only the address family, not MAC addresses.`];
      const zeros = n.mac ?? '00:00:00:00:00:00';
      return [
        `There is no Ethernet on loopback: no wire, no network card. ${n.lo}'s MAC address is ${n.mac ?? 'all zeros'} (os.networkInterfaces()), and Linux still puts an Ethernet-shaped 14-byte header with zero MACs on lo's frames:`,
        ...macHeaderLines(zeros, zeros),
        `tcpdump -i lo -e shows exactly that; a capture on "any" shows a Linux cooked (SLL) header instead, and macOS's lo0 a 4-byte null/loopback header. The frame never leaves the kernel: lo hands it straight back to the receive path.`,
      ];
    }
    case 'ethernet on the wire':
      return [
        `The frame on ${n.dev} carries the next hop's MAC as destination (the IP header still says ${n.dst}) and ${n.dev}'s own MAC as source:`,
        ...macHeaderLines(n.dstMac ?? '(whatever ARP answers)', n.srcMac),
      ];
    case 'ethernet on a lan':
      return [
        `On a LAN this would be: the frame ${n.lan.iface} sends towards ${n.lan.example} carries the gateway ${n.gateway}'s MAC as destination (the IP header still says ${n.lan.example}) and ${n.lan.iface}'s own MAC as source:`,
        ...macHeaderLines(n.dstMac ?? '(whatever ARP answers)', n.lan.mac),
      ];
  }
}

/** The whole walk: each layer's notes under its name, the packet on lo, then the LAN this machine would use. */
export function walkLines(f: LayersFacts): string[] {
  if (f.ipv6) return [`This connection is IPv6 (${f.ipv6.src} → ${f.ipv6.dst}); the layer walk is written for IPv4, the lab's topology.`];
  const lines: string[] = [];
  for (const l of f.layers) {
    lines.push(`${LAYER_NAMES[l.name]}:`);
    lines.push(...l.notes.flatMap(noteLines).map((x) => `  ${x}`));
  }
  const p = f.packet;
  if (p) {
    const link = `${p.link.name} ${p.link.bytes}`;
    if (p.write) lines.push(`The packet on ${p.device}, outermost first (the client's recorded write, sent as one segment): [${link}][IP 20][TCP ${p.tcpHeader}]${p.write.records.map((r) => `[${recordText(r)}]`).join('')} = ${p.total} bytes.`);
    else if (p.estimate) {
      const inner = p.estimate.tlsRecord ? `TLS record ${p.estimate.payload} (HTTP ${p.estimate.requestBytes} inside)` : `HTTP ${p.estimate.payload}`;
      lines.push(`The packet on ${p.device}, outermost first (estimate, one segment): [${link}][IP 20][TCP ${p.tcpHeader}][${inner}] = ${p.total} bytes.`);
    }
  }
  const lan = f.lan;
  if (lan) {
    const gw = lan.gateway;
    lines.push(`On a LAN (this machine's ${lan.iface}, not this connection):`);
    lines.push(`  ${lan.iface} ${lan.address}/${lan.prefix}, MAC ${lan.mac}${lan.virtual ? ' (a virtual device, e.g. a container\'s veth: it still speaks Ethernet and ARP to its peer)' : ''}`);
    lines.push(`  Default gateway: ${gw ? `${gw.address} on ${gw.iface} (/proc/net/route, destination 00000000)${gw.mac ? `, MAC ${gw.mac} (/proc/net/arp)` : ''}` : `unknown: ${lan.noGateway ? noGatewayText(lan.noGateway) : '?'}`}`);
    lines.push(`  A server outside the subnet, e.g. ${lan.example.dst} (a documentation address standing in for a public shop):`);
    lines.push(...cidrLines(lan.example.decision).map((l) => `    ${l}`));
    const k = lan.example.kernel;
    if (!k.output) lines.push(`  The kernel could not be asked (${k.command}: ${routeError(k)}).`);
    else if (gw && k.via === gw.address) lines.push(`  The kernel agrees (${k.command}, which sends nothing): ${k.output}`);
    else lines.push(`  The kernel's own answer (${k.command}, which sends nothing): ${k.output}`);
  } else if (f.noLan) {
    lines.push(`On a LAN: ${noLanText(f.noLan)}`);
  }
  return lines;
}

/** The computed path's fields, each with where its value comes from (no capture: nothing observed on the wire). */
export function fieldSourceLines(layers: readonly Layer[]): string[] {
  return layers.flatMap((l) => l.fields.map((f) => `${padEndWidth(LAYER_NAMES[l.name], 9)} ${FIELD_NAMES[f.name]}: ${fieldValue(f.value)}   [${SOURCES[f.source]}]`));
}

/** The observed path borrows describeLayers' reading of the ports (TCP's first two notes), Routing and ARP. */
export function systemLayerLines(system: readonly Layer[]): { ports: string[]; decisions: Array<{ name: string; lines: string[] }> } {
  const tcp = system.find((l) => l.name === 'TCP');
  const ports = (tcp?.notes ?? []).filter((n) => n.say === 'source port' || n.say === 'destination port').flatMap(noteLines);
  const decisions = system.filter((l) => l.name === 'Routing' || l.name === 'ARP').map((l) => ({ name: LAYER_NAMES[l.name], lines: l.notes.flatMap(noteLines) }));
  return { ports, decisions };
}

export const WIRE_LAYER_NAMES: Record<WireLayer['name'], string> = { Ethernet: 'Ethernet', IPv4: 'IPv4', TCP: 'TCP', 'TLS record': 'TLS record' };

export const WIRE_FIELD_NAMES: Record<WireFieldName, string> = {
  'destination MAC': 'destination MAC',
  'source MAC': 'source MAC',
  EtherType: 'EtherType',
  'version, IHL': 'version, IHL',
  'DSCP, ECN': 'DSCP, ECN',
  'total length': 'total length',
  identification: 'identification',
  'flags, fragment offset': 'flags, fragment offset',
  TTL: 'TTL',
  protocol: 'protocol',
  'header checksum': 'header checksum',
  'source address': 'source address',
  'destination address': 'destination address',
  'source port': 'source port',
  'destination port': 'destination port',
  'sequence number': 'sequence number',
  'acknowledgment number': 'acknowledgment number',
  'data offset, flags': 'data offset, flags',
  window: 'window',
  checksum: 'checksum',
  'urgent pointer': 'urgent pointer',
  options: 'options',
  'content type': 'content type',
  'legacy version': 'legacy version',
  length: 'length',
  'encrypted fragment': 'encrypted fragment',
};

/** A header field's value with its unit: "5 (× 4 = 20 bytes), 0x018 ACK, PSH", "333 bytes". */
export function wireValue(f: WireField): string {
  const u = f.unit;
  if (!u) return f.value;
  if (u.kind === 'bytes') return `${f.value} bytes`;
  return `${f.value} (× 4 = ${u.bytes} bytes)${u.then !== undefined ? `, ${u.then}` : ''}`;
}

/** Step 3 from the frame that carried the request: every header field at its byte offset, as on the wire. */
export function wireLayerLines(layers: readonly WireLayer[], frame: number, file: string): string[] {
  const lines: string[] = [`Frame ${frame} of the capture (observed: every value below is read from that frame; tshark -r ${file} -Y 'frame.number == ${frame}' -x shows its bytes):`];
  for (const l of layers) {
    lines.push(`${WIRE_LAYER_NAMES[l.name]} (bytes ${l.offset}–${l.offset + l.length - 1} of the frame${l.name === 'TLS record' ? '' : `, ${l.length}-byte header`}):`);
    for (const f of l.fields) {
      const span = f.bytes <= 1 ? `byte ${f.offset}` : `bytes ${f.offset}–${f.offset + f.bytes - 1}`;
      lines.push(`  ${padEndWidth(span, 14)} ${padEndWidth(WIRE_FIELD_NAMES[f.name], 24)} ${wireValue(f)}   [observed, frame ${frame}]`);
    }
  }
  return lines;
}

/** A TLS record in the client's write: "Finished (encrypted, 45 bytes)". */
export const recordText = (r: RecordInWrite): string => `${r.type}${r.encrypted ? ' (encrypted, ' : ' ('}${r.bytes} bytes)`;
