// 第 3 步的各层（原文第 6 节）：lab/layers.ts 找到的每一层的说明和字段、原文画的那种完整网络包、
// 本机的局域网会怎样处理，以及承载 POST 的那一帧的各个头部字段（lab/observe/frame-fields.ts）。
// 进来的是事实，出去的是句子。
import { toBinary, parseIpv4 } from '../../../../servers/net/ipv4.ts';
import type { CidrDecision } from '../../../../servers/net/ipv4.ts';
import type { Field, FieldName, FieldValue, Layer, LayerName, LayerNote, LayersFacts, NoGateway, NoLan, RecordInWrite, RouteGet, Source } from '../../../layers.ts';
import type { WireField, WireFieldName, WireLayer } from '../../../observe/frame-fields.ts';
import { padEndWidth } from '../../../text-width.ts';
import { tlsEventName } from './tls.ts';

/** 层名作标题（“路由：”）；协议名保持原样。 */
export const LAYER_NAMES: Record<LayerName, string> = { HTTP: 'HTTP', TCP: 'TCP', IP: 'IP', Routing: '路由', ARP: 'ARP', Ethernet: 'Ethernet' };

export const FIELD_NAMES: Record<FieldName, string> = {
  'request line': '请求行',
  'request line + headers': '请求行 + 首部',
  body: '正文',
  request: '请求',
  'source port': '源端口',
  'destination port': '目标端口',
  'sequence numbers': '序号',
  'ephemeral range': '临时端口范围',
  header: '头部',
  MSS: 'MSS',
  source: '源地址',
  destination: '目标地址',
  protocol: '协议',
  TTL: 'TTL',
  'total length (the segment carrying the request)': '总长度（承载请求的报文段）',
  'total length (first data segment, estimate)': '总长度（第一个数据报文段，估算）',
  interface: '网卡',
  'subnet check': '网段判断',
  'kernel route': '内核的路由',
  'next hop': '下一跳',
  'ARP on this connection': '这条连接的 ARP',
  'ARP request': 'ARP 请求',
  'next hop MAC': '下一跳的 MAC',
  'gateway MAC': '网关的 MAC',
  'destination MAC': '目标 MAC',
  'source MAC': '源 MAC',
  EtherType: 'EtherType',
  'link header': '链路层头部',
};

const SOURCES: Record<Source, string> = {
  connection: '取自 socket',
  system: '读自本机',
  computed: '计算得出',
  'not observed': '未观察到',
  'on a LAN': '在局域网上',
};

/** 旁白里显示的字段值。 */
export function fieldValue(v: FieldValue): string {
  switch (v.kind) {
    case 'text': return v.text;
    case 'bytes': return `${v.bytes} 字节`;
    case 'not observable': return '没有抓包就看不到';
    case 'tcp header': return v.syn !== undefined ? `20 字节 + 选项：SYN ${v.syn}，数据报文段 ${v.data}` : '20 字节 + 选项';
    case 'subnet check': return `${v.srcNetwork}/${v.prefix} 对比 ${v.dstNetwork}/${v.prefix}：${v.same ? '同一网段' : '不同网段'}`;
    case 'next hop': return v.local ? `就是 ${v.dst} 自己，在 ${v.dev} 上：不经过网关` : v.via ? `网关 ${v.via}，经 ${v.dev}` : `${v.dst}，经 ${v.dev} 直接送达`;
    case 'arp not used': return '不使用：环回接口';
    case 'who has': return v.target ? `谁是 ${v.target}？请告诉 ${v.sender}` : '没有下一跳';
    case 'mac': return v.mac ?? (v.missing === 'not in cache' ? '不在内核的 ARP 缓存里' : '要等 ARP 应答才知道');
    case 'no link header': return '没有：环回接口';
  }
}

/** “IP 源地址：127.10.1.10”：带层名的一个字段，值列表里的一行。 */
export function fieldText(layer: LayerName, f: Field): string {
  return `${LAYER_NAMES[layer]} ${FIELD_NAMES[f.name]}：${fieldValue(f.value)}`;
}

/** 原文的“与”运算，用二进制一行一行写出：两个地址、子网掩码、两个网络号，以及结论。 */
export function cidrLines(d: CidrDecision): string[] {
  const w = Math.max(d.src.length, d.dst.length, d.mask.length, 15);
  const row = (op: string, ip: string, note: string) => `${op} ${ip.padEnd(w)}  ${toBinary(parseIpv4(ip))}   ${note}`;
  return [
    row(' ', d.src, '源地址'),
    row('&', d.mask, `子网掩码 /${d.prefix}`),
    row('=', d.srcNetwork, '源网络号'),
    row(' ', d.dst, '目标地址'),
    row('&', d.mask, `子网掩码 /${d.prefix}`),
    row('=', d.dstNetwork, '目标网络号'),
    d.sameSubnet
      ? `${d.srcNetwork} = ${d.dstNetwork}：同一网段 ${d.srcNetwork}/${d.prefix}，直接送达，不经过网关`
      : `${d.srcNetwork} ≠ ${d.dstNetwork}：${d.dst} 不在 ${d.srcNetwork}/${d.prefix} 里，要发给默认网关`,
  ];
}

function macHeaderLines(dst: string, src: string): string[] {
  const row = (span: string, name: string, value: string) => `  ${padEndWidth(span, 11)} ${padEndWidth(name, 10)} ${value}`;
  return [row('字节 0-5', '目标 MAC', dst), row('字节 6-11', '源 MAC', src), row('字节 12-13', 'EtherType', '0x0800 (IPv4)')];
}

/** 为什么没能问内核：ip 自己的报错，或者根本没有 ip 可运行。 */
function routeError(k: { error?: string; unavailable?: RouteGet['unavailable'] }): string {
  if (k.unavailable?.kind === 'not installed') return '没有安装 ip 命令';
  if (k.unavailable?.kind === 'not on this platform') return `${k.unavailable.platform} 上没有 ip 命令`;
  return k.error ?? '?';
}

function noGatewayText(n: NoGateway): string {
  switch (n.kind) {
    case 'no table': return `在 ${n.platform} 上读不到路由表（没有 /proc/net/route；可以用 netstat -rn 查看），所以实验不知道网关和它的 MAC`;
    case 'other interface': return `默认路由走的是 ${n.gatewayIface}，不是 ${n.iface}`;
    case 'no default route': return `/proc/net/route 里没有默认路由（目标 00000000），所以没有网关：会报 "Network is unreachable"`;
  }
}

export function noLanText(n: NoLan): string {
  switch (n.kind) {
    case 'no interface': return '本机没有环回以外的 IPv4 网卡（os.networkInterfaces() 只列出了环回接口），所以没有真实的局域网可以展示；实验不会编造一个来代替。';
    case 'not ethernet': return `${n.iface}（${n.cidr}）不是以太网设备（/sys/class/net/${n.iface}/type 里的硬件类型是 ${n.type}），所以它的包没有以太网头部，也不需要 ARP。`;
  }
}

/** 一条说明的各行，按逐层讲解的顺序。 */
export function noteLines(n: LayerNote): string[] {
  switch (n.say) {
    case 'request':
      return [`请求行：${n.requestLine}`, `请求行和首部：到空行为止共 ${n.headBytes} 字节；正文：${n.bodyBytes} 字节；总共 ${n.total} 字节。`];
    case 'request bytes':
      return [`请求：${n.bytes} 字节。`];
    case 'inside TLS':
      return [
        n.overhead !== undefined
          ? `它在 TLS 里面传输（${n.protocol}，${n.cipher ?? '加密套件未知'}）：作为一条 application-data 记录发出时，它是 ${n.requestBytes} + ${n.overhead} = ${n.payload} 字节（密文外面加上记录头、nonce 和 tag）。TCP 承载的是这些字节，而不是上面的文本。`
          : `它在 TLS 里面传输（${n.protocol}，${n.cipher ?? '加密套件未知'}）：TCP 承载的是加密后的记录，比上面的文本稍大一些。`,
      ];
    case 'into the socket':
      return ['应用把这些内容作为字节流写进它的 socket；下面的事情全由内核完成。'];
    case 'source port':
      return [
        n.range
          ? n.inRange
            ? `源端口 ${n.port}：临时端口，由内核从 ${n.range[0]}–${n.range[1]} 里挑选（/proc/sys/net/ipv4/ip_local_port_range）；它确实在这个范围内。`
            : `源端口 ${n.port}：不在临时端口范围 ${n.range[0]}–${n.range[1]} 里（/proc/sys/net/ipv4/ip_local_port_range），所以是客户端自己选的。`
          : `源端口 ${n.port}：客户端的临时端口（在 ${n.platform} 上读不到它是从哪个范围里挑的）。`,
      ];
    case 'destination port':
      return [`目标端口 ${n.port}：服务端监听的端口。两端靠这一对端口区分一个报文段属于哪个 socket，也就是交给哪个应用。`];
    case 'sequence numbers':
      return [`序号：这里看不到。内核为每个方向随机选了一个初始序号（RFC 9293 §3.4.1，RFC 6528），只留给自己用；抓包才能看到它们：tcpdump -i ${n.iface} -n -S 'host ${n.dst} and tcp port ${n.port}'（-S 打印绝对序号）。`];
    case 'tcp header':
      return [
        `头部：20 字节加上选项。按本机内核的设置（net.ipv4.tcp_timestamps=${+n.timestamps}，tcp_sack=${+n.sack}，tcp_window_scaling=${+n.windowScaling}），SYN 带着 ${n.synOptions.join(', ')}：共 ${n.synHeader} 字节（SYN 本身只有抓包才看得到）；之后每个数据报文段带着${n.timestamps ? ' 12 字节的时间戳选项' : '零个选项'}：共 ${n.dataHeader} 字节。`,
      ];
    case 'tcp header unknown':
      return ['头部：20 字节加上选项（SYN 里通常有 MSS、SACK-permitted、窗口缩放和时间戳；决定它们的内核设置在这里读不到）。'];
    case 'mss': {
      const from = n.routeMtu !== undefined ? `路由自己的 MTU ${n.routeMtu}（${n.command}）` : `${n.dev} 的 MTU ${n.devMtu}（去 ${n.dst} 的路由走 ${n.dev}，自己没有设置 MTU）`;
      const capped = n.capped !== undefined ? `，封顶为 ${n.capped}（IPv4 的总长度字段只有 16 位）` : '';
      return [`SYN 里通告的 MSS，计算得出（RFC 9293 §3.7.1）：${from}${capped}，− 20 (IP) − 20 (TCP) = ${n.mss} 字节。`];
    }
    case 'ip header':
      return [`源地址 ${n.src}，目标地址 ${n.dst}，协议 6 (TCP)，头部 20 字节（版本 4，没有选项）。`];
    case 'ttl':
      return [
        n.ttl !== undefined
          ? `TTL ${n.ttl}：本机内核的默认值（/proc/sys/net/ipv4/ip_default_ttl）；路上每经过一台路由器就减一。`
          : `TTL：系统默认值，在 ${n.platform} 上读不到（Linux 和 macOS 是 64，Windows 是 128）。`,
      ];
    case 'total length': {
      const piece = n.firstPayload < n.segmentPayload ? `，${n.segmentPayload} 字节里按 MSS 切下的第一段` : '';
      const sum = `20 (IP) + ${n.dataHeader} (TCP) + ${n.firstPayload}（载荷${piece}）= ${n.total} 字节`;
      return [
        n.write
          ? `承载请求的报文段的总长度：${sum}。` +
            `载荷是客户端的一次写入，共 ${n.write.bytes} 字节，在它的 socket 上记录下来：${n.write.records.map(recordText).join(' + ')}。` +
            '一次写入的数据能放进一个 MSS、前面又没有排队的数据时，内核就把它作为一个报文段发出；抓包能看到这个报文段本身。'
          : `第一个数据报文段的总长度，估算：${sum}，前提是请求在一次写入里发出；真实的切分要看抓包。`,
      ];
    }
    case 'source interface':
      return [
        n.exact
          ? `${n.src} 配置在 ${n.iface} 上（${n.cidr}）。`
          : `${n.src} 属于 ${n.iface}：${n.iface} 的地址是 ${n.cidr}，而 ${n.src} 在 ${n.network}/${n.prefix} 里${n.linuxLoopback ? '，Linux 把这整段都当作本机自己的地址' : ''}。`,
      ];
    case 'same subnet?':
      return [`是同一网段吗？把每个地址和 ${n.iface} 的子网掩码 ${n.netmask} 做“与”运算：`, ...cidrLines(n.decision).map((l) => `  ${l}`)];
    case 'no interface':
      return [`本机没有哪块网卡拥有 ${n.src} 或它所在的网段（os.networkInterfaces()）：无法用真实数据做网段判断。`];
    case 'kernel route':
      return [n.output ? `内核自己的回答（${n.command}，这条命令不发出任何包）：${n.output}` : `没能问到内核自己的回答（${n.command}：${routeError(n)}）。`];
    case 'local delivery':
      return [
        n.linux
          ? `下一跳：没有。${n.dst} 是本机的地址：内核的 local 路由表（ip route show table local）${n.localNet ? `里有 "local ${n.localNet} dev ${n.lo}"，而且` : ''}比 main 表先查，所以包交给 ${n.dev}，直接回到本机自己的协议栈。不经过默认网关。`
          : `下一跳：没有。${n.dst} 在 ${n.lo ?? '环回接口'} 上：包在本机内部送达。不经过默认网关。`,
      ];
    case 'main table':
      return [
        `/proc/net/route 只显示 main 路由表（${n.routes} 条路由）${n.main ? `；单看它，${n.dst} 会${n.main.viaGateway ? `发给网关 ${n.main.gateway}，` : '直接'}从 ${n.main.iface} 发出去，所以 local 表必须先查` : `，里面没有 ${n.dst} 的条目`}。`,
      ];
    case 'next hop':
      return [n.via ? `下一跳：网关 ${n.via}，经 ${n.dev}。` : `下一跳：就是 ${n.dst} 自己，经 ${n.dev}。`];
    case 'no arp on loopback':
      return [
        `环回接口上不用 ARP：${n.lo} 没有别的机器可问${n.flags !== undefined ? `（/sys/class/net/${n.lo}/flags 里它的标志是 ${n.flags}：${n.flagNames}），而且 Linux 不为环回设备的邻居做任何解析（NUD_NOARP）` : ''}。这条连接没有发过任何 ARP 包。`,
      ];
    case 'arp for next hop':
      return [
        n.nextHop
          ? `${n.dev} 需要下一跳 ${n.nextHop} 的 MAC${n.nextHop === n.dst ? '（就是服务端自己：同一网段）' : '（网关）'}；ARP 用广播来问："谁是 ${n.nextHop}？请告诉 ${n.src}"。`
          : `不知道去 ${n.dst} 的下一跳：没有可以发 ARP 的目标。`,
        n.mac
          ? `内核的 ARP 缓存（/proc/net/arp）里已经有答案：${n.nextHop} 的 MAC 是 ${n.mac}，在 ${n.dev} 上。`
          : '内核的 ARP 缓存（/proc/net/arp）里现在没有它的完整条目（可能已经过期）；实验不会编造一个。',
      ];
    case 'arp on a lan':
      return [
        `换到局域网上会是这样：${n.lan.example} 不在 ${n.lan.network}/${n.lan.prefix} 里，所以包要发给网关 ${n.gateway}，而 ${n.lan.iface} 先得知道网关的 MAC。它广播一个 ARP 请求（以太网目标 ff:ff:ff:ff:ff:ff，EtherType 0x0806）："谁是 ${n.gateway}？请告诉 ${n.lan.address}"，发送方 MAC 是 ${n.lan.mac}。`,
        n.mac
          ? `  答案已经在内核的 ARP 缓存（/proc/net/arp）里：${n.gateway} 的 MAC 是 ${n.mac}，在 ${n.lan.iface} 上。`
          : `  内核的 ARP 缓存（/proc/net/arp）里现在没有 ${n.gateway} 的完整条目：第一个包要等应答回来，实验也不会编造一个 MAC 地址。`,
      ];
    case 'arp on a lan, no gateway':
      return [`换到局域网上会是这样：发往 ${n.lan.example} 的包（不在 ${n.lan.network}/${n.lan.prefix} 里）要交给默认网关，${n.lan.iface} 得先用 ARP 问出网关的 MAC；但是${noGatewayText(n.noGateway)}。`];
    case 'no lan':
      return [`局域网上：${noLanText(n.noLan)}`];
    case 'ethernet on loopback': {
      if (!n.linux) return [`环回接口上没有以太网（${n.lo}，MAC ${n.mac ?? '没有'}）：在 ${n.platform} 上抓 ${n.lo} 的包，看到的是 4 字节的 null/loopback 头部，里面只有地址族，没有 MAC 地址。`];
      const zeros = n.mac ?? '00:00:00:00:00:00';
      return [
        `环回接口上没有以太网：没有网线，也没有网卡。${n.lo} 的 MAC 地址是 ${n.mac ?? '全零'}（os.networkInterfaces()），但 Linux 仍然给 lo 上的帧加一个以太网样式的 14 字节头部，两个 MAC 都是零：`,
        ...macHeaderLines(zeros, zeros),
        'tcpdump -i lo -e 显示的正是这样；在 "any" 上抓包看到的则是 Linux cooked (SLL) 头部，macOS 的 lo0 是 4 字节的 null/loopback 头部。这个帧从没离开内核：lo 直接把它交回接收路径。',
      ];
    }
    case 'ethernet on the wire':
      return [
        `${n.dev} 上的帧以下一跳的 MAC 作为目标（IP 头部里写的仍然是 ${n.dst}），以 ${n.dev} 自己的 MAC 作为源：`,
        ...macHeaderLines(n.dstMac ?? '（以 ARP 的应答为准）', n.srcMac),
      ];
    case 'ethernet on a lan':
      return [
        `换到局域网上会是这样：${n.lan.iface} 发往 ${n.lan.example} 的帧，以网关 ${n.gateway} 的 MAC 作为目标（IP 头部里写的仍然是 ${n.lan.example}），以 ${n.lan.iface} 自己的 MAC 作为源：`,
        ...macHeaderLines(n.dstMac ?? '（以 ARP 的应答为准）', n.lan.mac),
      ];
  }
}

/** 完整的逐层讲解：每层名字下面是它的说明，然后是 lo 上的包，再是本机会用的局域网。 */
export function walkLines(f: LayersFacts): string[] {
  if (f.ipv6) return [`这条连接是 IPv6 的（${f.ipv6.src} → ${f.ipv6.dst}）；逐层讲解是按 IPv4 写的，也就是实验的拓扑。`];
  const lines: string[] = [];
  for (const l of f.layers) {
    lines.push(`${LAYER_NAMES[l.name]}：`);
    lines.push(...l.notes.flatMap(noteLines).map((x) => `  ${x}`));
  }
  const p = f.packet;
  if (p) {
    const link = `${p.link.name} ${p.link.bytes}`;
    if (p.write) lines.push(`${p.device} 上的这个包，从最外层开始（客户端记录下来的那次写入，作为一个报文段发出）：[${link}][IP 20][TCP ${p.tcpHeader}]${p.write.records.map((r) => `[${recordText(r)}]`).join('')} = ${p.total} 字节。`);
    else if (p.estimate) {
      const inner = p.estimate.tlsRecord ? `TLS 记录 ${p.estimate.payload}（内含 HTTP ${p.estimate.requestBytes}）` : `HTTP ${p.estimate.payload}`;
      lines.push(`${p.device} 上的这个包，从最外层开始（估算，一个报文段）：[${link}][IP 20][TCP ${p.tcpHeader}][${inner}] = ${p.total} 字节。`);
    }
  }
  const lan = f.lan;
  if (lan) {
    const gw = lan.gateway;
    lines.push(`换到局域网上（本机的 ${lan.iface}，不是这条连接）：`);
    lines.push(`  ${lan.iface} ${lan.address}/${lan.prefix}，MAC ${lan.mac}${lan.virtual ? '（虚拟设备，例如容器的 veth：它照样用以太网和 ARP 与对端通信）' : ''}`);
    lines.push(`  默认网关：${gw ? `${gw.address}，在 ${gw.iface} 上（/proc/net/route，目标 00000000）${gw.mac ? `，MAC ${gw.mac}（/proc/net/arp）` : ''}` : `未知：${lan.noGateway ? noGatewayText(lan.noGateway) : '?'}`}`);
    lines.push(`  网段之外的一台服务器，例如 ${lan.example.dst}（一个文档专用地址，代替公网上的商城）：`);
    lines.push(...cidrLines(lan.example.decision).map((l) => `    ${l}`));
    const k = lan.example.kernel;
    if (!k.output) lines.push(`  没能问内核（${k.command}：${routeError(k)}）。`);
    else if (gw && k.via === gw.address) lines.push(`  内核的回答一致（${k.command}，这条命令不发出任何包）：${k.output}`);
    else lines.push(`  内核自己的回答（${k.command}，这条命令不发出任何包）：${k.output}`);
  } else if (f.noLan) {
    lines.push(`局域网上：${noLanText(f.noLan)}`);
  }
  return lines;
}

/** 计算路径下的各个字段，每个都注明值从哪里来（没有抓包：没有一个是在线路上看到的）。 */
export function fieldSourceLines(layers: readonly Layer[]): string[] {
  return layers.flatMap((l) => l.fields.map((f) => `${padEndWidth(LAYER_NAMES[l.name], 9)} ${FIELD_NAMES[f.name]}：${fieldValue(f.value)}   [${SOURCES[f.source]}]`));
}

/** 抓包路径借用 describeLayers 对端口的解读（TCP 的前两条说明），以及路由和 ARP。 */
export function systemLayerLines(system: readonly Layer[]): { ports: string[]; decisions: Array<{ name: string; lines: string[] }> } {
  const tcp = system.find((l) => l.name === 'TCP');
  const ports = (tcp?.notes ?? []).filter((n) => n.say === 'source port' || n.say === 'destination port').flatMap(noteLines);
  const decisions = system.filter((l) => l.name === 'Routing' || l.name === 'ARP').map((l) => ({ name: LAYER_NAMES[l.name], lines: l.notes.flatMap(noteLines) }));
  return { ports, decisions };
}

export const WIRE_LAYER_NAMES: Record<WireLayer['name'], string> = { Ethernet: 'Ethernet', IPv4: 'IPv4', TCP: 'TCP', 'TLS record': 'TLS 记录' };

export const WIRE_FIELD_NAMES: Record<WireFieldName, string> = {
  'destination MAC': '目标 MAC',
  'source MAC': '源 MAC',
  EtherType: 'EtherType',
  'version, IHL': '版本，IHL',
  'DSCP, ECN': 'DSCP，ECN',
  'total length': '总长度',
  identification: '标识',
  'flags, fragment offset': '标志，片偏移',
  TTL: 'TTL',
  protocol: '协议',
  'header checksum': '头部校验和',
  'source address': '源地址',
  'destination address': '目标地址',
  'source port': '源端口',
  'destination port': '目标端口',
  'sequence number': '序号',
  'acknowledgment number': '确认号',
  'data offset, flags': '数据偏移，标志位',
  window: '窗口',
  checksum: '校验和',
  'urgent pointer': '紧急指针',
  options: '选项',
  'content type': '内容类型',
  'legacy version': '版本（legacy_version）',
  length: '长度',
  'encrypted fragment': '加密片段',
};

/** 头部字段的值加上单位：“5（× 4 = 20 字节），0x018 ACK, PSH”、“333 字节”。 */
export function wireValue(f: WireField): string {
  const u = f.unit;
  if (!u) return tlsEventName(f.value); // a TLS record's content, as the decoder names it
  if (u.kind === 'bytes') return `${f.value} 字节`;
  return `${f.value}（× 4 = ${u.bytes} 字节）${u.then !== undefined ? `，${u.then}` : ''}`;
}

/** 取自承载请求的那一帧的第 3 步：每个头部字段在帧里的字节位置，和线路上的值。 */
export function wireLayerLines(layers: readonly WireLayer[], frame: number, file: string): string[] {
  const lines: string[] = [`抓包文件中的帧 ${frame}（观察所得：下面每个值都读自这一帧；tshark -r ${file} -Y 'frame.number == ${frame}' -x 可以看到它的字节）：`];
  for (const l of layers) {
    lines.push(`${WIRE_LAYER_NAMES[l.name]}（帧的第 ${l.offset}–${l.offset + l.length - 1} 字节${l.name === 'TLS record' ? '' : `，头部 ${l.length} 字节`}）：`);
    for (const f of l.fields) {
      const span = f.bytes <= 1 ? `字节 ${f.offset}` : `字节 ${f.offset}–${f.offset + f.bytes - 1}`;
      lines.push(`  ${padEndWidth(span, 14)} ${padEndWidth(WIRE_FIELD_NAMES[f.name], 24)} ${wireValue(f)}   [观察所得，帧 ${frame}]`);
    }
  }
  return lines;
}

/** A TLS record in the client's write: "Finished (encrypted, 45 bytes)". */
export const recordText = (r: RecordInWrite): string => `${r.type === 'handshake' ? '握手消息' : r.type}（${r.encrypted ? '加密，' : ''}${r.bytes} 字节）`;
