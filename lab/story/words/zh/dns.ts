// DNS in Chinese words: a record as dig prints it, one step of the local DNS's walk, the whole walk,
// the GSLB's decision. Same facts, same exports as ../en/dns.ts. Terms: 本地 DNS, 权威 DNS,
// 全局负载均衡器, 边缘节点 (GLOSSARY.md); a referral is 转介, a glue record 胶水记录, a lame
// delegation 无效委派, bailiwick 辖区.
import { regionName } from './roles.ts';
import type { DigReport } from '../../../../client/dig.ts';
import type { GslbDecision } from '../../../../servers/dns/gslb.ts';
import type { Alias, Resolution, WalkLimit, WalkNote, WalkOutcome, WalkStep } from '../../../../servers/dns/resolver.ts';
import { recordLine, type WalkQuestion, type WalkReply } from '../en/dns.ts';

// A record line is dig's own format, the same in every language.
export { recordLine };
export type { WalkQuestion, WalkReply };

/** " 1. 向 a.root-servers.test（127.0.0.10:53）查询 A static.geektime.test  [udp，id 1234，源端口 40000，2 ms]" */
export function walkQuestionLine(step: WalkQuestion, index: number): string {
  const server = `${step.server.name}（${step.server.address}:${step.server.port}）`;
  const transport = `${step.transport}${step.truncatedOverUdp ? '（UDP 响应被截断，改用 TCP 重问）' : ''}`;
  const via = `${transport}，id ${step.id}，源端口 ${step.sourcePort}${step.ecs ? `，ECS ${step.ecs}` : ''}，${step.ms} ms`;
  return `${String(index + 1).padStart(2)}. 向 ${server}查询 ${step.question.type} ${step.question.name}  [${via}]`;
}

/** '' is the root zone; people write it '.'. */
const zoneName = (zone: string) => `${zone}.`;

/** "a CNAME b，b CNAME c，": the aliases a reply went through, as a prefix of its line. */
const aliasesText = (chain: Alias[]) => chain.map((a) => `${a.name} CNAME ${a.target}，`).join('');

/** What a reply amounted to, as dig +trace would sum it up: "转介到 test.（ns.nic.test 127.0.0.11），TTL 172800". */
export function walkOutcomeText(o: WalkOutcome, question: WalkStep['question']): string {
  switch (o.kind) {
    case 'answer':
      return `${o.name} ${o.type} ${o.values.join(', ')}，TTL ${o.ttl}`;
    case 'cname':
      return `${aliasesText(o.chain)}TTL ${o.chain[o.chain.length - 1]!.ttl}`;
    case 'nxdomain':
    case 'nodata': {
      const what = o.kind === 'nxdomain' ? `${o.name} 不存在（NXDOMAIN）` : `${o.name} 没有 ${o.type} 记录（NODATA）`;
      const remember = o.soa ? `按 ${zoneName(o.soa.zone)} 的 SOA，这个否定结果缓存 ${o.soa.negativeTtl} s` : '没有 SOA，所以不缓存';
      return `${aliasesText(o.chain)}${what}；${remember}`;
    }
    case 'referral':
      return `转介到 ${zoneName(o.zone)}（${o.servers.map((s) => `${s.name} ${s.address ?? '无胶水记录'}`).join('，')}），TTL ${o.ttl}`;
    case 'lame':
      if (o.because === 'answer-not-asked') return `答非所问：回答里没有 ${question.name} ${question.type}`;
      if (o.because === 'referral-not-closer') return `无效委派（lame）：转介到 ${zoneName(o.referredTo)}，而它不是 ${zoneName(o.zone)} 与 ${question.name} 之间的区`;
      return '无效委派（lame）：没有回答，没有转介，也没有 SOA（它不是这个区的权威 DNS？）';
    case 'error':
      return o.because === 'rcode' ? `回复 ${o.rcode}` : `失败：${o.message}`;
    case 'timeout':
      return `${o.afterMs} ms 内没有响应`;
  }
}

/** A walk step's reply in one line, with the ECS scope when a subnet went along: "... A 127.0.0.21，TTL 30；ECS 127.10.1.0/24，scope /24". */
export function walkAnswerText(step: Pick<WalkReply, 'question' | 'outcome' | 'ecs' | 'ecsScope'>): string {
  const ecs = step.ecs !== undefined && step.ecsScope !== undefined ? `；ECS ${step.ecs}，scope /${step.ecsScope}` : '';
  return `${walkOutcomeText(step.outcome, step.question)}${ecs}`;
}

/** One of the resolver's remarks on a step: "忽略 ns1.geektime.test 的胶水记录（127.0.0.66）：……". */
export function walkNoteText(n: WalkNote): string {
  switch (n.kind) {
    case 'looking-up-server':
      return `先查 ${n.server} 的地址：它是 ${zoneName(n.zone)} 的服务器，但转介里没有可用的胶水记录`;
    case 'outside-zone':
      return `忽略 ${n.records.map((r) => `${r.name} ${r.type}`).join('，')}：在 ${zoneName(n.zone)} 之外，不归这台服务器管`;
    case 'not-a-server':
      return `忽略记录 ${n.name} A ${n.address}：它不是 ${zoneName(n.zone)} 任何一台服务器的地址`;
    case 'out-of-bailiwick':
      return `忽略 ${n.name} 的胶水记录（${n.address}）：超出辖区（bailiwick），不在 ${zoneName(n.zone)} 之内`;
  }
}

/** A limit that cut the walk short: "attacker.test. 有 30 台服务器没给胶水记录，只查了其中 3 台……". */
export function walkLimitText(l: WalkLimit): string {
  switch (l.kind) {
    case 'max-resolutions':
      return `已有 ${l.max} 个解析正在进行（maxResolutions），这个问题直接回 SERVFAIL`;
    case 'max-queries':
      return `为这一个问题发出 ${l.max} 次查询后放弃`;
    case 'nxns':
      return `${zoneName(l.zone)} 有 ${l.total} 台服务器没给胶水记录，只查了其中 ${l.lookedUp} 台的地址，不再多查（NXNS 限制：每${l.per === 'referral' ? '次转介' : '个问题'} ${l.max} 台）`;
  }
}

/** The answer line ("    → NOERROR AA：..."), and the resolver's notes if it made any. */
export function walkReplyLines(step: WalkReply): string[] {
  const notes = step.note?.length ? [`    注：${step.note.map(walkNoteText).join('；')}`] : [];
  return [`    → ${step.rcode}${step.aa ? ' AA' : ''}：${walkAnswerText(step)}`, ...notes];
}

/** dig +trace's lines for one step of the walk. */
export function walkStepLines(step: WalkQuestion & WalkReply, index: number): string[] {
  return [walkQuestionLine(step, index), ...walkReplyLines(step)];
}

/** What the local DNS did: its walk of the tree, or that the cache answered. */
export function walkLines(res: Resolution): string[] {
  if (res.joined) return [`本地 DNS 正在为另一个客户端解析同一个问题：这次查询等那次解析完成，拿到了同一个答案（${res.ms} ms）。`];
  if (res.fromCache) return [`本地 DNS 直接用缓存回答，没有再问别的服务器（${res.ms} ms）。`];
  return [
    `本地 DNS 为 ${res.client}${res.clientSubnet ? `（客户端子网 ${res.clientSubnet}）` : ' '}从根开始逐级查询，用时 ${res.ms} ms：`,
    ...res.walk.flatMap((step, i) => walkStepLines(step, i)),
    ...(res.limits ?? []).map((l) => `    限制：${walkLimitText(l)}`),
  ];
}

/** `lab dig`'s output: the question, the local DNS's walk for it, the answer, the GSLB's own reasoning, and the same question for dig. */
export function digLines(r: DigReport): string[] {
  const q = r.question;
  return [
    `手机（${r.localAddress ?? '127.0.0.1'}:${r.sourcePort}）向本地 DNS ${r.resolver.host}:${r.resolver.port} 查询 ${q.type} ${q.name}（id ${r.id}，${r.transport}）`,
    ...(r.resolution ? walkLines(r.resolution) : ['（本地 DNS 的日志里没有这次查询的解析过程）']),
    `响应：${r.rcode}，标志位：${r.flags.join(' ')}，${r.ms} ms`,
    ...r.answers.map((a) => `  ${recordLine(a)}`),
    // The GSLB explains itself in a TXT record: protocol text, ASCII, in English; quoted as dig shows it.
    ...(r.gslbTxt ?? []).map((txt) => `全局负载均衡器（GSLB）在 TXT 记录里说明了它的选择（协议文本只用 ASCII，所以是英文原文）："${txt}"`),
    `用 dig 问同一个问题：dig @${r.resolver.host} -p ${r.resolver.port} ${q.name} ${q.type}${r.localAddress ? ` -b ${r.localAddress}` : ''}`,
  ];
}

/** How the GSLB placed the client in its region: "127.10.1.0/24 属于 north 区域的子网 127.10.1.0/24". */
export function gslbRegionText(d: GslbDecision): string {
  const unused = d.ecsUnused ? `ECS ${d.ecsUnused.ip}/${d.ecsUnused.sourcePrefixLength} 没有给出可用的子网，所以按源地址判断：` : '';
  const by = d.regionBy;
  if (by.kind === 'subnet') return `${unused}${d.client} 属于${regionName(d.region)}的子网 ${by.subnet}`;
  if (by.because === 'ipv6-subnet') return `${unused}${d.client} 是 IPv6 子网，而各区域的子网都是 IPv4，所以归入默认区域 ${d.region}`;
  return `${unused}${d.client} 不在任何区域的子网里，所以归入默认区域 ${d.region}`;
}

/** Why the GSLB chose that edge: "edge-north 是 north 区域最近的健康边缘节点". */
export function gslbChoiceText(d: GslbDecision): string {
  const c = d.choice;
  switch (c.kind) {
    case 'nearest-healthy':
      return `${d.chosen.name} 是${regionName(d.region)}最近的健康边缘节点`;
    case 'nearest-not-checked-yet':
      return `${d.chosen.name} 是${regionName(d.region)}最近的边缘节点（还没做健康检查，先当它健康）`;
    case 'failover':
      return `${c.down.join('、')} 已宕机，所以选 ${d.chosen.name}：${regionName(d.region)}最近的健康边缘节点`;
    case 'all-down':
      return `${regionName(d.region)}的边缘节点全部宕机，只好选最近的 ${d.chosen.name}，万一它还能服务`;
  }
}

/** The whole decision in one line: client → region → candidates → the edge chosen, and why. */
export function gslbReasoningLine(d: GslbDecision): string {
  const health = (h: unknown) => (h === true ? '健康' : h === false ? '宕机' : '尚未检查');
  return `全局负载均衡器（GSLB）的理由：客户端 ${d.client}（按${d.source === 'ecs' ? ' EDNS Client Subnet' : '源地址'}）→ ${gslbRegionText(d)} → ` +
    `${d.candidates.map((c) => `${c.name} ${health(c.healthy)}`).join('，')} → ${d.chosen.name} ${d.chosen.address}：${gslbChoiceText(d)}`;
}
