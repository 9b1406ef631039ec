// 旁白自己的句子，按事件逐条：各步的标题、实验环境启动、SLB 接受的那一条连接、TLS 的记录、
// 内核里的 socket 状态、第 3 步的帧，以及经过路由器的路径。只用事件里的事实（读回 trace.json
// 时原样再说一遍）；DNS、TLS、TCP、缓存和下单由本目录的其他模块负责措辞，这里只调用它们。
import { regionName, whatIs } from './roles.ts';
import type { CachePath, IpPath, LabUp, LayersComputed, LayersObserved, PacketOnLink, SlbAccept, SlbForward, SocketChanges, SocketStates, StepStart, TcpOnWire, TlsRecording } from '../../events.ts';
import { columns, padEndWidth } from '../../../text-width.ts';
import { cachePathLines } from './cache.ts';
import { fieldSourceLines, recordText, systemLayerLines, walkLines, wireLayerLines } from './layers.ts';
import { describeTcpStory } from './tcp.ts';
import { kernelStateLines } from './tcp-states.ts';
import { tlsMessageLine } from './tls.ts';
import type { TlsEventFacts } from '../../../tls-decoder.ts';

/** 抓包文件里有这条消息时，写“，帧 12”（或“，帧 12, 13”）；没有就什么也不写。 */
export function frameNote(frames: readonly number[] | undefined, lead = '，'): string {
  if (!frames || frames.length === 0) return '';
  return `${lead}帧 ${frames.join(', ')}`;
}

/** 各步的标题，由它的事实得出。 */
export function stepTitle(step: 0 | 1 | 2 | 3, d: StepStart['data']): string {
  switch (step) {
    case 0:
      return `实验环境已启动（${d.addressing === 'namespaces' ? '每台主机各有自己的网络命名空间：一个有路由器的小小互联网' : d.addressing === 'per-role' ? '每个角色一个环回地址' : '所有角色共用一个地址，每个角色一个端口'}）`;
    case 1:
      return `第 1 步 — 通过 CDN 看图片（原文第 4 节），手机在${regionName(d.region)}`;
    case 2:
      return `第 2 步 — 建立连接（原文第 5 节），${d.mode === 'classic' ? '原文里的 TLS 1.2，RSA 密钥交换' : 'TLS 1.3，ECDHE 密钥交换'}`;
    case 3:
      return '第 3 步 — 下单（原文第 6 节）';
  }
}

export const stepTime = (ms: number) => `（${ms} ms）`;

export const againLines = ['', '过了一会儿，再看一次同一张图片：'];

export function labUpLines(d: LabUp['data']): string[] {
  // 按显示宽度对齐各列（角色的说明可能是中文），宽度不小于原来的。
  const table = columns(d.roles.map((r) => [padEndWidth(r.name, 10), padEndWidth(`${r.protocol}://${r.host}:${r.port}`, 26), whatIs(r.name, r.what)]), 1);
  return [
    ...table,
    ...d.notes.map((note) => `注意：${note}`),
    `证书：${d.certs.made.length ? `本次新生成 ${d.certs.made.join('、')}` : '沿用已有的'}（${d.certs.dir}/）`,
    ...(d.net
      ? [
          `网络：${d.net.namespaces} 个网络命名空间（其中 ${d.net.routers} 个是路由器），${d.net.links} 条链路${d.net.buildMs !== undefined ? `，搭建用时 ${d.net.buildMs} ms` : ''}`,
          ...(d.net.delays && !d.net.delays.applied ? [`注意：链路上没有加延迟：${d.net.delays.reason}`] : []),
          `手机是 ${d.phone}，在${regionName(d.region)}，独自处在网络命名空间 ${d.net.phoneNamespace} 里，默认网关是 ${d.net.gateway}`,
        ]
      : [`手机是 ${d.phone}，在${regionName(d.region)}`]),
    ...(d.addressing === 'single' ? [`注意：所有角色共用一个地址时，手机在${regionName(d.region)}没有自己的地址：全局负载均衡器（GSLB）看到的是 127.0.0.1，只能按它的默认区域作答。`] : []),
  ];
}

export function slbAcceptLines(d: SlbAccept['data']): string[] {
  return [
    d.routers?.length
      ? `手机和负载均衡器 SLB ${d.server.address}:${d.server.port} 建立一条 TCP 连接，中间经过 ${d.routers.length} 台路由器（${d.routers.join('、')}）：它们只转发手机的 IP 包，并不参与这条连接；手机和 SLB 之间没有任何代理把连接断开。下面的 TLS 消息，都是从这条连接的字节里读出来的，这些字节是在手机自己的 socket 外面、随着它们经过逐一记录下来的。`
      : `手机和负载均衡器 SLB ${d.server.address}:${d.server.port} 直接建立一条 TCP 连接。下面的 TLS 消息，都是从这条连接的字节里读出来的，这些字节是在手机自己的 socket 外面、随着它们经过逐一记录下来的（手机和 SLB 之间什么也没有）。`,
    `下单期间，SLB 只接受了手机的一条连接：${d.accepted[0]?.client}，正是手机自己的地址和端口；SLB 的请求记录里，客户端是 ${d.requestClient}。`,
  ];
}

export function tlsRecordingLines(d: TlsRecording['data']): string[] {
  return [
    `TLS，取自这条连接的字节，也就是手机的 socket 发出和收到的内容（上行 ${d.bytesUp} 字节，下行 ${d.bytesDown} 字节）：`,
    ...(d.withFrames ? ['    （每行开头是哪些帧的 TCP 数据承载了这条记录：在 Wireshark 里用 frame.number == N 定位，再看详情里的 tls）'] : []),
  ];
}

/** 一条 TLS 消息：它所在的帧、谁发的、消息本身那一行。 */
export function tlsLine(frames: readonly number[] | undefined, d: TlsEventFacts): string {
  const lead = frames?.length ? `帧 ${frames.join(', ')}  ` : '';
  return `    ${lead}${d.direction === 'client→server' ? '手机 → SLB' : 'SLB → 手机'}  ${tlsMessageLine(d)}`;
}

export function phoneQueryLine(d: { client: { address: string }; sourcePort: number; server: { address: string; port: number }; type: string; name: string; id: number }, frames: readonly number[] | undefined): string {
  return `手机（${d.client.address}:${d.sourcePort}）问它的本地 DNS ${d.server.address}:${d.server.port}：${d.type} ${d.name}?（id ${d.id}，要求递归${frameNote(frames)}）`;
}

export function resolutionLine(d: { fromCache: boolean; ms: number; clientSubnet?: string }): string {
  if (d.fromCache) return `本地 DNS 直接从缓存作答，没有再问别的服务器（${d.ms} ms）。`;
  return `本地 DNS 沿着域名树一级一级地问下去${d.clientSubnet ? `，并把手机所在的子网 ${d.clientSubnet} 告诉全局负载均衡器（GSLB）` : ''}（${d.ms} ms）：`;
}

export function phoneAnswerHeading(frames: readonly number[] | undefined): string {
  return `手机收到的应答${frameNote(frames, '（')}${frames?.length ? '）' : ''}：`;
}

export function cachePathLinesOf(d: CachePath['data']): string[] {
  const lines = [
    `GET ${d.url}，从 ${d.client.address}:${d.client.port} → ${d.edge} ${d.server.address}:${d.server.port}：${d.status}，${d.bytes} 字节，用时 ${d.ms} ms`,
    ...cachePathLines(d.cacheStatus).map((l) => `    ${l}`),
    `  Cache-Control: ${d.cacheControl ?? '-'}   （对每一级缓存都有效，手机自己的缓存也算）`,
    // RFC 9213：CDN 自己的策略，CDN 的缓存用它代替 Cache-Control；手机不理会它。
    ...(d.cdnCacheControl ? [`  CDN-Cache-Control: ${d.cdnCacheControl}   （只对 CDN 的缓存有效）`] : []),
    `  Cache-Status: ${d.cacheStatusHeader ?? '-'}`,
    `  Age: ${d.age ?? '-'}   Via: ${d.via ?? '-'}   这一次源站为它处理了 ${d.originServed} 个请求`,
  ];
  if (d.captured) {
    // 每一跳的请求和它的响应的第一个报文段，按它们在线路上的先后排列。
    const hops = [...d.hops].sort((a, b) => (a.frame ?? Infinity) - (b.frame ?? Infinity));
    lines.push(`  线路上（frame.number == N；响应所在的帧，是它的状态行开始的那个报文段）：`);
    lines.push(...hops.map((h) => (h.frame !== undefined ? `    帧 ${h.frame}  ${h.from} → ${h.to}  ${h.line}` : `    ${h.from} → ${h.to}  ${h.what}（抓包文件里没有）`)));
  }
  return lines;
}

/** 线路上的 TCP，取自抓包；没有抓包时，说明哪些东西无法展示。 */
export function tcpStoryLines(d: TcpOnWire['data']): string[] {
  const ends = `手机 ${d.client.address}:${d.client.port} → SLB ${d.server.address}:${d.server.port}`;
  if (!d.observed) {
    return [`TCP 报文段：没有观察到（${d.why}）。没有抓包，就无法展示 SYN、SYN-ACK 和 ACK，以及它们的序号、标志位和选项；下面的握手和关闭过程是 RFC 9293 规定会发生的，状态则读自内核的连接表。这一步和下一步里的每个 TCP 值，都是计算出来的或从 socket 读到的，而不是从线路上看到的。`];
  }
  return [
    `线路上的 TCP，${ends}，取自本次运行的抓包文件 ${d.captureFile}（帧号和 Wireshark 的编号一致：用 frame.number == N 就能定位到那个报文段）：`,
    ...describeTcpStory(d.story, { client: '手机', server: 'SLB' }, d.captureFile).map((l) => `    ${l}`),
  ];
}

/** 两端在内核表里的状态；没有抓包时，再说手机的 socket 是怎样看到连接结束的。 */
export function socketStateLines(d: SocketStates['data']): string[] {
  const k = d.kernel;
  const lines = [
    `TCP，手机 ${k.client?.address}:${k.client?.port} → SLB ${k.server.address}:${k.server.port}（两端的状态，读自内核的 /proc/net/tcp）：`,
    ...kernelStateLines(k).map((l) => `    ${l}`),
  ];
  if (!d.closedInTime) lines.push(`    （应答之后过了 ${d.closeWaitMs / 1000} s，连接还没有关闭：下面的记录可能缺了最后几条。）`);
  const end = d.socketEnd;
  const since = (ms: number | undefined) => (ms === undefined ? '' : `（手机发出第一个字节之后 +${ms.toFixed(1)} ms）`);
  if (end?.finAfterMs !== undefined) lines.push(`    手机的 socket 收到了 SLB 的 FIN${since(end.finAfterMs)}：SLB 先关闭了自己这一端，正如 "Connection: close" 事先说的那样。`);
  if (end?.error) {
    const e = end.error;
    lines.push(`    接着手机的 socket 收到了 ${e.code ?? e.message}${since(e.afterMs)}${e.code === 'ECONNRESET' ? '：SLB 的内核回了一个复位（RST），所以两端都不经过 TIME-WAIT' : ''}。`);
  }
  return lines;
}

/** 内核 tracepoint 的状态名换成 RFC 9293 的名字（TCP_SYN_RECV → SYN-RECEIVED）。 */
export function rfcState(s: string): string {
  return s.replace(/^TCP_/, '').replace('SYN_RECV', 'SYN-RECEIVED').replace('CLOSE_WAIT', 'CLOSE-WAIT').replace('LAST_ACK', 'LAST-ACK').replace(/^CLOSE$/, 'CLOSED').replace(/_/g, '-').replace(/WAIT(\d)/, 'WAIT-$1');
}

const SIDES: Record<'phone' | 'SLB', string> = { phone: '手机', SLB: 'SLB' };

/** 内核自己记下的这条连接的每一次状态变化（用 RFC 9293 的名字）。 */
export function socketChangeLines(d: SocketChanges['data']): string[] {
  if (!d.observed) return [`内核对每一次状态变化的记录：没有读到（${d.why}）。`];
  return [
    `两端的每一次状态变化，由内核自己记录（tracepoint ${d.source}，通过 tracefs 读取：每次变化都会触发，不管多短，所以能抓到查看连接表时看不到的状态）：`,
    ...d.changes.map((c) => `    +${String(c.afterUs).padStart(6)} µs  ${padEndWidth(SIDES[c.side], 5)} ${rfcState(c.from)} → ${rfcState(c.to)}${c.port === 0 ? '   （端口 0：内核构造 SYN 的时候，connect() 还没给手机选好端口）' : ''}`),
    // 握手做到一半时，Linux 只用一个小小的请求 socket 代表它，这个 tracepoint 不报告；
    // 完整的 socket 在最后一个 ACK 到达时才出现，一出现就已是 SYN-RECEIVED。
    ...(d.changes.some((c) => c.from === 'TCP_LISTEN' && c.to === 'TCP_SYN_RECV')
      ? ['    LISTEN → SYN-RECEIVED 出现得晚：握手做到一半时，Linux 只保留一个小小的请求 socket（TCP_NEW_SYN_RECV），这个 tracepoint 不报告它；完整的 socket 要等最后一个 ACK 到达才建立，建立时处于 SYN-RECEIVED，随即变成 ESTABLISHED。']
      : []),
    // 主动关闭一方的 socket 在 FIN-WAIT-2 之后就释放了；TIME-WAIT 存在它自己的一个小结构里。
    ...(d.changes.some((c) => c.from === 'TCP_FIN_WAIT2' && c.to === 'TCP_CLOSE')
      ? ['    FIN-WAIT-2 → CLOSED 是完整的 socket 被释放：内核把 TIME-WAIT 放在它自己的一个小结构里（inet_timewait_sock），上面 /proc/net/tcp 显示的就是它。']
      : []),
  ];
}

/** 第 3 步的各层，取自承载 POST 的那一帧：每个头部字段都是线路上的样子，再加上本机的判断。 */
export function observedLayerLines(d: LayersObserved['data']): string[] {
  const seg = d.segment;
  const system = systemLayerLines(d.system); // 端口的含义，然后是路由和 ARP
  const lines = [
    `请求一层一层往下走时是怎样被封装的：承载它的报文段是帧 ${seg.frame}（TCP 数据 ${seg.length} 字节，IP 总长度 ${seg.ipLength}），从最外层开始：`,
    ...wireLayerLines(d.layers, d.frame, d.captureFile).map((l) => `    ${l}`),
    ...system.ports.map((l) => `    ${l}`), // 端口的含义（临时端口的范围是本机的设置）
    `    HTTP，已解密：上面那 ${d.plaintext.bytes} 字节（"> POST /purchaseOrder …"）是手机自己的明文，是它的 HTTP 客户端交给 TLS 的内容（客户端一侧），并不是实验解密出来的。` +
      `在线路上，它们是帧 ${d.frame} 里 application_data 记录的加密片段；tshark 用抓包文件里带着的密钥就能解密这条记录：tshark -r ${d.captureFile} -Y 'frame.number == ${d.frame}' -O http`,
  ];
  if (d.continuedIn.length) lines.push(`    请求的这条记录在帧 ${d.continuedIn.join(', ')} 里继续。`);
  const answer = d.answer.segments;
  if (answer.length) lines.push(`    ${d.answer.status} 在帧 ${answer.map((x) => x.frame).join(', ')} 里返回（${answer.map((x) => `TCP 数据 ${x.length} 字节，IP 总长度 ${x.ipLength}`).join('；')}）。`);
  // 路由和 ARP 是本机做的决定，不是帧里的字段：取自内核的表。
  for (const l of system.decisions) lines.push(`    ${l.name}：`, ...l.lines.map((x) => `      ${x}`));
  if (d.arp?.length) {
    lines.push(`    线路上的 ARP（RFC 826），在 ${d.captureFile} 里：`);
    for (const a of d.arp) {
      const says = a.operation === 1 ? `谁是 ${a.targetIp}？请告诉 ${a.senderIp}` : `${a.senderIp} 的 MAC 地址是 ${a.senderMac}`;
      lines.push(`      帧 ${a.frame}  ${a.from} → ${a.to}${a.to === 'ff:ff:ff:ff:ff:ff' ? '（广播）' : ''}  ${a.operation === 1 ? '请求' : '应答'}：${says}`);
    }
    const ethernet = d.layers.find((l) => l.name === 'Ethernet')?.fields.find((f) => f.name === 'destination MAC')?.value;
    const reply = d.arp.find((a) => a.operation === 2);
    if (ethernet && reply) lines.push(`      所以帧 ${d.frame} 发往 ${ethernet}${ethernet === reply.senderMac ? '，也就是那条应答里网关的 MAC' : ''}：在以太网上，这个 POST 的目标是下一跳，而不是 SLB。`);
  }
  return lines;
}

/** 没有帧时第 3 步的各层：describeLayers 的逐层讲解，然后是每个值和它的来源。 */
export function computedLayerLines(d: LayersComputed['data']): string[] {
  const lines = [
    `请求一层一层往下走时是怎样被封装的，用的是这条连接的真实值。没有帧可读（${d.why}）：每个值都是计算出来的，或者从 socket 和本机读到的，没有一个是在线路上看到的：`,
    ...walkLines(d).map((l) => `    ${l}`),
    '    每个值和它的来源：',
    ...fieldSourceLines(d.layers).map((l) => `      ${l}`),
  ];
  // 用记录下来的字节核对上面的计算：手机发出的第一条应用数据记录。
  const r = d.requestRecord;
  if (r) lines.push(`    手机的 socket 把这个请求作为一条 ${r.bytes} 字节的 TLS 记录发出（含记录头）${r.riders.length ? `，和它的 ${r.riders.map(recordText).join('、')} 在同一次写入里` : ''}。`);
  return lines;
}

/** 同一个报文段在两条链路上：路由器改了什么，没改什么。 */
export function ipPathLines(d: IpPath['data']): string[] {
  const p = d.phoneLink;
  const lines = [`去 SLB 的路：${d.hops.map((h) => `${h.host} → ${h.nextHop}（${h.nextHost}）`).join('，')}；${d.routers.length} 台路由器转发它：${d.routers.join('、')}。`];
  const show = (x: PacketOnLink) => `${x.file} 帧 ${x.frame}：TTL ${x.ttl}，Ethernet ${x.sourceMac} → ${x.destinationMac}，IP ${x.source} → ${x.destination}，TCP ${x.sourcePort} → ${x.destinationPort}`;
  lines.push(`    手机的链路上：${show(p)}`);
  const s = d.slbLink;
  if (!s) return [...lines, '    SLB 的链路上：它的抓包文件里没有。'];
  lines.push(`    SLB 的链路上：${show(s)}`);
  const same = p.source === s.source && p.destination === s.destination && p.sourcePort === s.sourcePort && p.destinationPort === s.destinationPort;
  lines.push(
    `    TTL ${p.ttl} − ${s.ttl} = ${p.ttl - s.ttl}：每台路由器把它减一（RFC 1812 §5.3.1），并给帧换上新的 MAC（源 MAC 是自己的，目标 MAC 是下一跳的）；` +
      (same ? 'IP 地址和端口还是手机写下的样子。' : '地址或端口变了：路上有设备改写了它们（NAT）。'),
  );
  return lines;
}

/** SLB 的调度策略，按它在 trace 里的名字。 */
export const POLICY: Record<SlbForward['data']['policy'], string> = {
  'round robin over the healthy app servers': '在健康的应用服务器之间轮询',
};

export function slbForwardLine(d: SlbForward['data']): string {
  const hop = d.captured && d.request ? `（帧 ${d.request.frame}：${d.request.line}；响应${d.response ? `在帧 ${d.response.frame}：${d.response.line}` : '不在抓包文件里'}）` : '';
  return `SLB 选了 ${d.backend}（${POLICY[d.policy]}），加上 X-Forwarded-For: ${d.xForwardedFor}，用明文 HTTP 转发过去${hop}。`;
}
