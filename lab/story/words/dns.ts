// DNS in words: a record as dig prints it, one step of the local DNS's walk, the whole walk, the
// GSLB's decision. The mechanism (client/dig.ts, servers/dns/) hands over facts; the sentences live here only.
import type { GslbDecision } from '../../../servers/dns/gslb.ts';
import type { Resolution, WalkStep } from '../../../servers/dns/resolver.ts';

/** One record as dig prints it. */
export function recordLine(r: { name: string; type: string; ttl: number; data: string }): string {
  const absolute = (name: string) => name.replace(/\.?$/, '.');
  const data = r.type === 'CNAME' || r.type === 'NS' ? absolute(r.data) : r.data;
  return `${absolute(r.name).padEnd(28)} ${String(r.ttl).padStart(6)}  IN  ${r.type.padEnd(5)} ${data}`;
}

/** What one question of the walk was (to whom, how, with which id), and what came back. A WalkStep fits, so does its event. */
export type WalkQuestion = Pick<WalkStep, 'server' | 'question' | 'transport' | 'truncatedOverUdp' | 'id' | 'sourcePort' | 'ecs' | 'ms'>;
/** `summary` is the resolver's own dig-like line for the answer. */
export type WalkReply = Pick<WalkStep, 'rcode' | 'aa' | 'summary' | 'note'>;

/** " 1. a.root-servers.test (127.0.0.10:53): A static.geektime.test?  [udp, id 1234, from port 40000, 2 ms]" */
export function walkQuestionLine(step: WalkQuestion, index: number): string {
  const server = `${step.server.name} (${step.server.address}:${step.server.port})`;
  const via = `${step.transport}${step.truncatedOverUdp ? ' after a truncated UDP answer' : ''}, id ${step.id}, from port ${step.sourcePort}${step.ecs ? `, ECS ${step.ecs}` : ''}, ${step.ms} ms`;
  return `${String(index + 1).padStart(2)}. ${server}: ${step.question.type} ${step.question.name}?  [${via}]`;
}

/** The answer line ("    → NOERROR AA: ..."), and a note if the resolver made one. */
export function walkReplyLines(step: WalkReply): string[] {
  return [`    → ${step.rcode}${step.aa ? ' AA' : ''}: ${step.summary}`, ...(step.note ? [`    note: ${step.note}`] : [])];
}

/** dig +trace's lines for one step of the walk. */
export function walkStepLines(step: WalkQuestion & WalkReply, index: number): string[] {
  return [walkQuestionLine(step, index), ...walkReplyLines(step)];
}

/** What the local DNS did: its walk of the tree, or that the cache answered. */
export function walkLines(res: Resolution): string[] {
  if (res.joined) return [`The local DNS was already resolving the same question for another client: this one waited for that walk and got its answer (${res.ms} ms).`];
  if (res.fromCache) return [`The local DNS answered from its cache: it asked no other server (${res.ms} ms).`];
  return [
    `The local DNS walked the tree for ${res.client}${res.clientSubnet ? ` (client subnet ${res.clientSubnet})` : ''} in ${res.ms} ms:`,
    ...res.walk.flatMap((step, i) => walkStepLines(step, i)),
    ...(res.limits ?? []).map((l) => `    limit: ${l}`),
  ];
}

/** How the GSLB placed the client in its region: "127.10.1.0/24 is inside north's 127.10.1.0/24". */
export function gslbRegionText(d: GslbDecision): string {
  const unused = d.ecsUnused ? `ECS ${d.ecsUnused.ip}/${d.ecsUnused.sourcePrefixLength} gives no subnet to use, so the source address decides: ` : '';
  const by = d.regionBy;
  if (by.kind === 'subnet') return `${unused}${d.client} is inside ${d.region}'s ${by.subnet}`;
  if (by.because === 'ipv6-subnet') return `${unused}${d.client} is an IPv6 subnet and every region's subnets are IPv4, so the default region ${d.region}`;
  return `${unused}${d.client} is in no region's subnet, so the default region ${d.region}`;
}

/** Why the GSLB chose that edge: "edge-north is the nearest healthy edge for north". */
export function gslbChoiceText(d: GslbDecision): string {
  const c = d.choice;
  switch (c.kind) {
    case 'nearest-healthy':
      return `${d.chosen.name} is the nearest healthy edge for ${d.region}`;
    case 'nearest-not-checked-yet':
      return `${d.chosen.name} is the nearest edge for ${d.region} (not checked yet, assumed healthy)`;
    case 'failover':
      return `${c.down.join(', ')} ${c.down.length > 1 ? 'are' : 'is'} down, so ${d.chosen.name} is the nearest healthy edge for ${d.region}`;
    case 'all-down':
      return `all edges for ${d.region} are down, so ${d.chosen.name}, the nearest, in case it still serves`;
  }
}

/** The whole decision in one line: client → region → candidates → the edge chosen, and why. */
export function gslbReasoningLine(d: GslbDecision): string {
  const health = (h: unknown) => (h === true ? 'healthy' : h === false ? 'down' : 'not checked yet');
  return `The GSLB's reasoning: client ${d.client} (by ${d.source === 'ecs' ? 'EDNS Client Subnet' : 'source address'}) → ${gslbRegionText(d)} → ` +
    `${d.candidates.map((c) => `${c.name} ${health(c.healthy)}`).join(', ')} → ${d.chosen.name} ${d.chosen.address}: ${gslbChoiceText(d)}`;
}
