// DNS in words: a record as dig prints it, one step of the local DNS's walk, the whole walk, the
// GSLB's decision. The mechanism (client/dig.ts, servers/dns/) hands over facts; the sentences live here only.
import type { DigReport } from '../../../../client/dig.ts';
// The GSLB's TXT answer is English protocol text; the English narration says the same in the same words.
import { choiceWords, regionWords, type GslbDecision } from '../../../../servers/dns/gslb.ts';
import { limitText, type Alias, type Resolution, type WalkLimit, type WalkNote, type WalkOutcome, type WalkStep } from '../../../../servers/dns/resolver.ts';

/** One record as dig prints it. */
export function recordLine(r: { name: string; type: string; ttl: number; data: string }): string {
  const absolute = (name: string) => name.replace(/\.?$/, '.');
  const data = r.type === 'CNAME' || r.type === 'NS' ? absolute(r.data) : r.data;
  return `${absolute(r.name).padEnd(28)} ${String(r.ttl).padStart(6)}  IN  ${r.type.padEnd(5)} ${data}`;
}

/** What one question of the walk was (to whom, how, with which id), and what came back. A WalkStep fits, so does its event. */
export type WalkQuestion = Pick<WalkStep, 'server' | 'question' | 'transport' | 'truncatedOverUdp' | 'id' | 'sourcePort' | 'ecs' | 'ms'>;
/** What came back for that question: rcode, AA, what it amounted to (outcome, ECS scope) and the resolver's notes. */
export type WalkReply = Pick<WalkStep, 'question' | 'rcode' | 'aa' | 'outcome' | 'ecs' | 'ecsScope' | 'note'>;

/** " 1. a.root-servers.test (127.0.0.10:53): A static.geektime.test?  [udp, id 1234, from port 40000, 2 ms]" */
export function walkQuestionLine(step: WalkQuestion, index: number): string {
  const server = `${step.server.name} (${step.server.address}:${step.server.port})`;
  const via = `${step.transport}${step.truncatedOverUdp ? ' after a truncated UDP answer' : ''}, id ${step.id}, from port ${step.sourcePort}${step.ecs ? `, ECS ${step.ecs}` : ''}, ${step.ms} ms`;
  return `${String(index + 1).padStart(2)}. ${server}: ${step.question.type} ${step.question.name}?  [${via}]`;
}

/** '' is the root zone; people write it '.'. */
const zoneName = (zone: string) => `${zone}.`;

/** "a CNAME b, b CNAME c, ": the aliases a reply went through, as a prefix of its line. */
const aliasesText = (chain: Alias[]) => chain.map((a) => `${a.name} CNAME ${a.target}, `).join('');

/** What a reply amounted to, as dig +trace would sum it up: "referral to test. (ns.nic.test 127.0.0.11), TTL 172800". */
export function walkOutcomeText(o: WalkOutcome, question: WalkStep['question']): string {
  switch (o.kind) {
    case 'answer':
      return `${o.name} ${o.type} ${o.values.join(', ')}, TTL ${o.ttl}`;
    case 'cname':
      return `${aliasesText(o.chain)}TTL ${o.chain[o.chain.length - 1]!.ttl}`;
    case 'nxdomain':
    case 'nodata': {
      const what = o.kind === 'nxdomain' ? `${o.name} does not exist (NXDOMAIN)` : `${o.name} has no ${o.type} records (NODATA)`;
      const remember = o.soa ? `the SOA of ${zoneName(o.soa.zone)} says remember this for ${o.soa.negativeTtl} s` : 'no SOA, so not cached';
      return `${aliasesText(o.chain)}${what}; ${remember}`;
    }
    case 'referral':
      return `referral to ${zoneName(o.zone)} (${o.servers.map((s) => `${s.name} ${s.address ?? 'no glue'}`).join(', ')}), TTL ${o.ttl}`;
    case 'lame':
      if (o.because === 'answer-not-asked') return `an answer that does not answer ${question.name} ${question.type}`;
      if (o.because === 'referral-not-closer') return `lame: referral to ${zoneName(o.referredTo)}, which is not a zone between ${zoneName(o.zone)} and ${question.name}`;
      return 'lame: no answer, no referral, no SOA (not authoritative for this zone?)';
    case 'error':
      return o.because === 'rcode' ? `answered ${o.rcode}` : `failed: ${o.message}`;
    case 'timeout':
      return `no answer within ${o.afterMs} ms`;
  }
}

/** A walk step's reply in one line, with the ECS scope when a subnet went along: "... A 127.0.0.21, TTL 30; ECS 127.10.1.0/24, scope /24". */
export function walkAnswerText(step: Pick<WalkReply, 'question' | 'outcome' | 'ecs' | 'ecsScope'>): string {
  const ecs = step.ecs !== undefined && step.ecsScope !== undefined ? `; ECS ${step.ecs}, scope /${step.ecsScope}` : '';
  return `${walkOutcomeText(step.outcome, step.question)}${ecs}`;
}

/** One of the resolver's remarks on a step: "glue for ns.evil.test (127.0.0.66) ignored: out of bailiwick (...)". */
export function walkNoteText(n: WalkNote): string {
  switch (n.kind) {
    case 'looking-up-server':
      return `looking up ${n.server}, a server of ${zoneName(n.zone)} given without usable glue`;
    case 'outside-zone':
      return `ignored ${n.records.map((r) => `${r.name} ${r.type}`).join(', ')}: outside ${zoneName(n.zone)}, so not this server's to say`;
    case 'not-a-server':
      return `record ${n.name} A ${n.address} ignored: not the address of a server of ${zoneName(n.zone)}`;
    case 'out-of-bailiwick':
      return `glue for ${n.name} (${n.address}) ignored: out of bailiwick (not inside ${zoneName(n.zone)})`;
  }
}

/** A limit that cut the walk short, in the resolver's own words (its SERVFAIL's EDE text): in English they are the same. */
export const walkLimitText: (l: WalkLimit) => string = limitText;

/** The answer line ("    → NOERROR AA: ..."), and the resolver's notes if it made any. */
export function walkReplyLines(step: WalkReply): string[] {
  const notes = step.note?.length ? [`    note: ${step.note.map(walkNoteText).join('; ')}`] : [];
  return [`    → ${step.rcode}${step.aa ? ' AA' : ''}: ${walkAnswerText(step)}`, ...notes];
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
    ...(res.limits ?? []).map((l) => `    limit: ${walkLimitText(l)}`),
  ];
}

/** `lab dig`'s output: the question, the local DNS's walk for it, the answer, the GSLB's own reasoning, and the same question for dig. */
export function digLines(r: DigReport): string[] {
  const q = r.question;
  return [
    `The phone (${r.localAddress ?? '127.0.0.1'}:${r.sourcePort}) asked its local DNS ${r.resolver.host}:${r.resolver.port}: ${q.type} ${q.name}? (id ${r.id}, ${r.transport})`,
    ...(r.resolution ? walkLines(r.resolution) : ['(the local DNS logged no walk for this query)']),
    `Answer: ${r.rcode}, flags: ${r.flags.join(' ')}, ${r.ms} ms`,
    ...r.answers.map((a) => `  ${recordLine(a)}`),
    ...(r.gslbTxt ?? []).map((txt) => `The GSLB's reasoning: ${txt}`),
    `Same question with dig: dig @${r.resolver.host} -p ${r.resolver.port} ${q.name} ${q.type}${r.localAddress ? ` -b ${r.localAddress}` : ''}`,
  ];
}

/** How the GSLB placed the client in its region: "127.10.1.0/24 is inside north's 127.10.1.0/24". */
export const gslbRegionText: (d: GslbDecision) => string = regionWords;

/** Why the GSLB chose that edge: "edge-north is the nearest healthy edge for north". */
export const gslbChoiceText: (d: GslbDecision) => string = choiceWords;

/** The whole decision in one line: client → region → candidates → the edge chosen, and why. */
export function gslbReasoningLine(d: GslbDecision): string {
  const health = (h: unknown) => (h === true ? 'healthy' : h === false ? 'down' : 'not checked yet');
  return `The GSLB's reasoning: client ${d.client} (by ${d.source === 'ecs' ? 'EDNS Client Subnet' : 'source address'}) → ${gslbRegionText(d)} → ` +
    `${d.candidates.map((c) => `${c.name} ${health(c.healthy)}`).join(', ')} → ${d.chosen.name} ${d.chosen.address}: ${gslbChoiceText(d)}`;
}
