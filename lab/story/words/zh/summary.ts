// 每个事件的一行标签：报告里箭头上的字，以及 --json 的速览。
import { regionName } from './roles.ts';
import type { CaptureRecord } from '../../../capture.ts';
import type { StoryEvent, TcpOnWire } from '../../events.ts';
import { gslbChoiceText, walkAnswerText } from './dns.ts';
import { frameNote, POLICY, stepTitle } from './story.ts';
import { segmentSummary } from './tcp.ts';

/** 抓包自己的结论：tcpdump 丢了多少帧，或者没有报告丢了多少（lab/capture.ts）。 */
export function lostFrames(record: Pick<CaptureRecord, 'lost' | 'file'>): string | undefined {
  if (record.lost === undefined) return `警告：tcpdump 没有报告丢了多少帧：${record.file} 可能不完整。`;
  if (record.lost === 0) return undefined;
  return `警告：抓包丢了 ${record.lost} 帧（tcpdump 报告被内核丢弃）：${record.file} 不完整，缺了什么也无法和旁白核对。请再运行一次（机器太忙时 tcpdump 会来不及）。`;
}

type CloseKind = Extract<TcpOnWire['data'], { observed: true }>['story']['close']['kind'];
const CLOSES: Record<CloseKind, string> = {
  'fin-both-ways': '双向 FIN 关闭',
  'fin-one-way': '只有一个方向发了 FIN',
  reset: '被 RST 复位',
  open: '仍未关闭',
};

export function summaryOf(event: StoryEvent): string {
  switch (event.kind) {
    case 'step':
      return stepTitle(event.step, event.data);
    case 'step-done':
      return `${event.data.ms} ms`;
    case 'lab-up':
      return `${event.data.roles.length} 个角色已启动，手机 ${event.data.phone} 在${regionName(event.data.region)}`;
    case 'again':
      return '再看一次同一张图片';
    case 'capture': {
      const d = event.data;
      if ('unavailable' in d) return d.unavailable;
      return lostFrames(d) ?? `${d.frames} 帧，没有丢失，内含 ${d.secretLines} 行 TLS 密钥`;
    }
    case 'slb-accept':
      return `SLB 接受了手机的 1 条连接：${event.data.requestClient}`;
    case 'tcp-story':
      return event.data.observed ? `抓包里手机的这条连接：${event.data.story.segments.length} 个报文段，${CLOSES[event.data.story.close.kind]}` : `没有观察到：${event.data.why}`;
    case 'tcp-segment':
      return `帧 ${event.data.frame} ${segmentSummary(event.data)}`;
    case 'tcp-handshake': {
      const d = event.data;
      const frames = d.observed ? `（帧 ${[d.syn, d.synAck, d.ack].map((x) => x?.frame ?? '?').join(', ')}）` : '';
      return `TCP 三次握手 ${d.client.address}:${d.client.port} → ${d.server.address}:${d.server.port}${frames}`;
    }
    case 'socket-changes':
      return event.data.observed ? `内核记下了 ${event.data.changes.length} 次状态变化` : `没有读到状态变化：${event.data.why}`;
    case 'socket-states':
      return `查看了 ${event.data.kernel.snapshots.length} 次内核的连接表`;
    case 'tls-recording':
      return `上行 ${event.data.bytesUp} 字节，下行 ${event.data.bytesDown} 字节`;
    case 'tls':
      return event.data.name;
    case 'tls-session':
      return `${event.data.protocol}，${event.data.cipher.standardName}，证书链${event.data.chain.every((c) => c.ok) ? '验证通过' : '验证失败'}`;
    case 'master-secret':
      return `重新算出了主密钥（master secret），与密钥日志（key log）第 ${event.data.keyLogLine} 行一致`;
    case 'key-exchange':
      return `${event.data.group}：前向保密，无法从抓包中恢复任何密钥`;
    case 'dns-query':
      return `A ${event.data.name}?（RD，id ${event.data.id}）${frameNote(event.frames)}`;
    case 'dns-resolution':
      return event.data.fromCache ? `本地 DNS 从缓存作答（${event.data.ms} ms）` : `沿域名树查了 ${event.data.walkSteps} 步（${event.data.ms} ms）`;
    case 'dns-walk-query':
      return `${event.data.question.type} ${event.data.question.name}?${frameNote(event.frames)}`;
    case 'dns-walk-answer':
      return `${walkAnswerText(event.data)}${frameNote(event.frames)}`;
    case 'gslb-decision':
      return `${event.data.chosen.name} ${event.data.chosen.address}：${gslbChoiceText(event.data)}`;
    case 'dns-answer':
      return `${event.data.chain.map((r) => `${r.type} ${r.data}`).join(' → ')}${frameNote(event.frames)}`;
    case 'http-request':
      if (event.step === 1) return `${event.data.method} ${event.data.target}`;
      if ('request' in event.data) return `${event.data.method} ${event.data.target}（在 TLS 里面）${frameNote(event.frames)}`;
      return `${event.data.method} ${event.data.path}，X-Forwarded-For: ${event.data.xForwardedFor}`;
    case 'http-response':
      if (event.step === 1) return `${event.data.status}${event.data.hit ? ' HIT' : ''}`;
      if ('body' in event.data) return `${event.data.status}${event.data.location ? ` ${event.data.location}` : ''}${frameNote(event.frames)}`;
      return `${event.data.status}`;
    case 'order-answer':
      return `${event.data.status}，由 ${event.data.servedBy ?? '?'} 处理`;
    case 'layers':
      return event.data.observed ? `Ethernet → IPv4 → TCP → TLS → HTTP，取自帧 ${event.data.frame}` : 'HTTP → TCP → IP → 路由 → ARP → Ethernet（计算得出：没有抓包）';
    case 'ip-path':
      return `${event.data.routers.length} 台路由器：TTL ${event.data.phoneLink.ttl}${event.data.slbLink ? ` → ${event.data.slbLink.ttl}` : ''}`;
    case 'slb-forward':
      return `选了 ${event.data.backend}（${POLICY[event.data.policy]}），X-Forwarded-For: ${event.data.xForwardedFor}`;
    case 'cache-path':
      return `${event.data.status} ${event.data.cacheStatusHeader ?? ''}`;
  }
}
