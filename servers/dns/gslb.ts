// The GSLB (global server load balancer) of the CDN: the authoritative DNS server for the zone
// `gslb.cdn.test`. When a phone looks up `geektime.gslb.cdn.test`, the answer is not a fixed
// record: the GSLB works out where the client is and which edge cache is nearest to it *and*
// alive, and answers with that edge's IP address.
//
// How one answer is made, in the order this file does it:
//   1. Where is the client? The recursive resolver that asks us usually is not the client, so it
//      may pass the client's subnet along in an EDNS Client Subnet option (ECS, RFC 7871). If
//      there is none, all we know is the address the query came from. (Regions are IPv4 subnets:
//      an IPv6 client subnet is in none of them, and gets the default region.)
//   2. Which region is that? Longest-prefix match over every region's subnets, as a router picks a
//      route: the most specific subnet wins. No match: the default region.
//   3. Which edge? The region lists its edges nearest first; take the first one that is healthy.
//      Health comes from active checks (GET /healthz on every edge, every second), with rise/fall
//      so one lost packet does not send a whole region elsewhere.
//   4. The answer: an A record with a short TTL (30 s), so that clients come back soon and a
//      failover takes effect quickly; and in the ECS option, the "scope": which clients this
//      answer is good for, so the resolver can cache it for exactly those.
// Ask for TXT instead of A and the GSLB tells you, in words, why it chose what it chose.
import { DEFAULT_CHECK, HealthState, startHealthChecks, type CheckTiming, type Health, type RiseFall } from '../net/health.ts';
import { contains, formatIpv4, networkOf, parseCidr, parseIpv4, type Cidr } from '../net/ipv4.ts';
import net from 'node:net';
import { EventEmitter } from 'node:events';
import { startDnsServer, Packet, responseTo, findOpt, EDNS_UDP_SIZE, type DnsContext, type DnsPacket, type DnsRecord, type RunningDnsServer, type TcpOptions } from './dns-server.ts';
import { splitText } from './authoritative.ts'; // a TXT record's 255-byte strings, cut between characters

export interface EdgeConfig {
  name: string;
  region: string;
  /** The IP returned in the A record. */
  address: string;
  /** e.g. http://127.0.0.21:80/healthz */
  healthUrl: string;
}

export interface RegionConfig {
  name: string;
  /** CIDRs, e.g. '127.10.1.0/24' */
  subnets: string[];
  /** Edge names, nearest first, e.g. ['edge-north', 'edge-south'] */
  nearest: string[];
}

export interface GslbOptions extends TcpOptions {
  /** Default 'gslb'. */
  name?: string;
  host: string;
  port: number;
  /** Default 'gslb.cdn.test'. */
  zone?: string;
  /** The names it balances, default ['geektime.gslb.cdn.test']. */
  serviceNames?: string[];
  /** Its own name server's name, default 'ns1.gslb.cdn.test' (its A record is `host`). */
  nsName?: string;
  edges: EdgeConfig[];
  regions: RegionConfig[];
  /** For clients in no known subnet. */
  defaultRegion: string;
  /** TTL of the A record, default 30. */
  ttl?: number;
  /** Defaults: every 1000 ms, 800 ms timeout, rise 2, fall 2. */
  healthCheck?: Partial<CheckTiming & RiseFall>;
  /** Source address of the health checks (default: `host`). One of their own keeps them apart from the story in a capture. */
  healthCheckFrom?: string;
  log?: (line: string) => void;
}

export type EdgeHealth = Health;

/** A client subnet from ECS: an IPv4 or IPv6 network address and its prefix length. */
export interface ClientSubnet {
  ip: string;
  sourcePrefixLength: number;
}

/** How the client was placed in its region (step 2 at the top of this file). */
export type RegionBy =
  /** The most specific region subnet that holds the client (longest-prefix match). */
  | { kind: 'subnet'; subnet: string }
  /**
   * No region holds the client, so the default region: 'no-subnet-matches', or 'ipv6-subnet' (an
   * ECS subnet of the IPv6 family, and every region's subnets are IPv4).
   */
  | { kind: 'default'; because: 'no-subnet-matches' | 'ipv6-subnet' };

/** How the edge was picked from the region's list, nearest first (step 3 at the top of this file). */
export type EdgeChoice =
  /** The nearest edge, healthy. */
  | { kind: 'nearest-healthy' }
  /** The nearest edge, whose health nobody knows yet: assumed healthy. */
  | { kind: 'nearest-not-checked-yet' }
  /** The nearer edges in `down` failed their checks: the first edge after them not known to be down. */
  | { kind: 'failover'; down: string[] }
  /** Every edge of the region failed its checks: the nearest anyway. */
  | { kind: 'all-down' };

/** One decision as facts; the lab words them, and so does explain() below for the TXT answer. */
export interface GslbDecision {
  /** The address or subnet the decision used, e.g. '127.10.1.0/24'. */
  client: string;
  source: 'ecs' | 'source-address';
  /** An ECS option that gave no subnet to use (source prefix 0: "do not use my subnet"), so the source address decided. */
  ecsUnused?: ClientSubnet;
  region: string;
  regionBy: RegionBy;
  candidates: Array<{ name: string; address: string; healthy: EdgeHealth; reason: string }>;
  chosen: { name: string; address: string };
  choice: EdgeChoice;
  /** What goes into the ECS scope of the response (0 when the query carried no usable ECS). */
  scopePrefixLength: number;
}

export interface RunningGslb extends RunningDnsServer {
  /** 'decision' (GslbDecision) for every answer; 'up' / 'down' (edge name) when an edge changes state. */
  events: EventEmitter;
  edges(): Array<{ name: string; healthy: EdgeHealth; reason: string }>;
  /** The decision for a client, without answering anyone (no event, no log line). */
  decide(clientAddress: string, ecs?: ClientSubnet): GslbDecision;
}

// The zone's SOA. `minimum` is also how long resolvers may cache "no such name" (RFC 2308).
const SOA_TIMERS = { serial: 2026112501, refresh: 3600, retry: 600, expiration: 86400, minimum: 30 };
/** TTL of the zone's own records (SOA, NS, the name server's A): they hardly ever change. */
const ZONE_TTL = 3600;

// ───────────────────────────── 1. Subnets: IPv4 addresses as 32-bit numbers ─────────────────────────────

/** A region's subnet (servers/net/ipv4.ts does the arithmetic). */
interface Subnet extends Cidr {
  region: string;
}

function parseRegionSubnet(cidr: string, region: string): Subnet {
  try {
    return { ...parseCidr(cidr), region };
  } catch {
    throw new Error(`region ${region}: "${cidr}" is not an IPv4 subnet such as 127.10.1.0/24`);
  }
}

// ───────────────────────────── 2. Edge health: active checks with rise and fall ─────────────────────────────

/**
 * One edge's health (servers/net/health.ts keeps it, as for the SLB's app servers). An edge starts
 * 'unknown': the GSLB has not asked yet, and sends clients there anyway (better than refusing to
 * answer); the first check settles it at once.
 */
class EdgeState extends HealthState {
  constructor(
    readonly config: EdgeConfig,
    limits: RiseFall,
  ) {
    super('unknown', limits);
  }
}

// ───────────────────────────── 3. The decision: client → region → edge ─────────────────────────────

interface Tables {
  edges: Map<string, EdgeState>;
  regions: Map<string, RegionConfig>;
  subnets: Subnet[];
  defaultRegion: string;
  /** scopeFor's answers, by client subnet (ip × 33 + prefix): worked out once per subnet that asks. */
  scopes: Map<number, number>;
}

/** Longest-prefix match: of all region subnets that contain ip/prefix, the most specific. */
function bestMatch(subnets: Subnet[], ip: number, prefix: number): Subnet | undefined {
  let best: Subnet | undefined;
  for (const subnet of subnets) {
    if (contains(subnet, ip, prefix) && (!best || subnet.prefix > best.prefix)) best = subnet;
  }
  return best;
}

/**
 * The ECS scope (RFC 7871 §7.2.1): the shortest prefix of the client's address such that every
 * address under it falls under the same rule (the same region's subnets, or no subnet at all), so
 * a resolver may cache our answer for all of them. For a client inside north's /24 that is 24.
 * For a client in no region it is not 0: 0 would mean "good for every client on the Internet",
 * and the resolver would hand this default answer to north's clients too; it is the first prefix
 * that overlaps no region's subnet.
 */
function scopeFor(t: Tables, ip: number, matched: string | undefined): number {
  for (let prefix = 0; prefix <= 32; prefix++) {
    const network = networkOf(ip, prefix);
    const around = bestMatch(t.subnets, network, prefix)?.region;
    const inside = t.subnets.filter((s) => s.prefix > prefix && networkOf(s.network, prefix) === network);
    if (around === matched && inside.every((s) => s.region === matched)) return prefix;
  }
  return 32;
}

/** scopeFor walks 33 prefixes over every subnet: remember its answer for the subnets that ask (at most 4,096). */
function scopeOf(t: Tables, ip: number, prefix: number, matched: string | undefined): number {
  const key = ip * 33 + prefix; // the subnet decides `matched`, so it decides the scope
  let scope = t.scopes.get(key);
  if (scope === undefined) {
    if (t.scopes.size >= 4096) t.scopes.clear();
    t.scopes.set(key, (scope = scopeFor(t, ip, matched)));
  }
  return scope;
}

function decide(t: Tables, clientAddress: string, ecs?: ClientSubnet): GslbDecision {
  // Step 1: where is the client? ECS with a prefix of 0 means "do not use my subnet" (RFC 7871).
  if (ecs && ecs.sourcePrefixLength > 0 && net.isIPv6(ecs.ip)) return decideIpv6(t, ecs);
  const useEcs = ecs !== undefined && ecs.sourcePrefixLength > 0 && net.isIPv4(ecs.ip);
  const source: GslbDecision['source'] = useEcs ? 'ecs' : 'source-address';
  const address = clientAddress.replace(/^::ffff:/i, ''); // an IPv4 client seen by a dual-stack socket
  const prefix = useEcs ? Math.min(ecs.sourcePrefixLength, 32) : 32;
  const ipv4 = useEcs || net.isIPv4(address);
  const ip = ipv4 ? networkOf(parseIpv4(useEcs ? ecs.ip : address), prefix) : 0;
  const client = useEcs ? `${formatIpv4(ip)}/${prefix}` : address;

  // Step 2: which region? The most specific subnet that holds the client.
  const match = ipv4 ? bestMatch(t.subnets, ip, prefix) : undefined;
  const region = t.regions.get(match?.region ?? t.defaultRegion)!;
  const regionBy: RegionBy = match ? { kind: 'subnet', subnet: match.cidr } : { kind: 'default', because: 'no-subnet-matches' };

  return {
    client,
    source,
    ...(ecs && !useEcs && { ecsUnused: { ip: ecs.ip, sourcePrefixLength: ecs.sourcePrefixLength } }),
    region: region.name,
    regionBy,
    ...chooseEdge(t, region),
    scopePrefixLength: useEcs ? scopeOf(t, ip, prefix, match?.region) : 0,
  };
}

/**
 * An IPv6 client subnet. No region lists an IPv6 subnet, so every IPv6 client gets the default
 * region: the answer is the same for the whole IPv6 family, and the scope says so with /0
 * (RFC 7871 §7.2.1: the scope covers addresses of the query's FAMILY only).
 */
function decideIpv6(t: Tables, ecs: ClientSubnet): GslbDecision {
  const region = t.regions.get(t.defaultRegion)!;
  const client = `${ecs.ip}/${ecs.sourcePrefixLength}`;
  return { client, source: 'ecs', region: region.name, regionBy: { kind: 'default', because: 'ipv6-subnet' }, ...chooseEdge(t, region), scopePrefixLength: 0 };
}

/** Step 3: which edge? The nearest one of the region that is not known to be down. */
function chooseEdge(t: Tables, region: RegionConfig): Pick<GslbDecision, 'candidates' | 'chosen' | 'choice'> {
  const candidates = region.nearest.map((name) => {
    const edge = t.edges.get(name)!;
    return { name, address: edge.config.address, healthy: edge.healthy, reason: edge.reason };
  });
  const usable = candidates.find((c) => c.healthy !== false);
  const nearest = candidates[0]!;
  let choice: EdgeChoice;
  if (!usable) {
    // Every edge failed its checks. An answer that may work beats SERVFAIL, which surely won't.
    choice = { kind: 'all-down' };
  } else if (usable === nearest) {
    choice = { kind: usable.healthy === 'unknown' ? 'nearest-not-checked-yet' : 'nearest-healthy' };
  } else {
    choice = { kind: 'failover', down: candidates.slice(0, candidates.indexOf(usable)).map((c) => c.name) };
  }
  const chosen = usable ?? nearest;
  return { candidates, chosen: { name: chosen.name, address: chosen.address }, choice };
}

// The GSLB's own words, for its TXT answer and its log: what a learner gets from `dig TXT`. (The
// narration's English takes these two as they are (lab/story/words/en/dns.ts); other languages word
// the same facts themselves: this answer is a protocol string, ASCII only, dig escapes any other byte.)

/** How the client got its region, e.g. "127.10.1.0/24 is inside north's 127.10.1.0/24". */
export function regionWords(d: GslbDecision): string {
  const unused = d.ecsUnused ? `ECS ${d.ecsUnused.ip}/${d.ecsUnused.sourcePrefixLength} gives no subnet to use, so the source address decides: ` : '';
  const by = d.regionBy;
  if (by.kind === 'subnet') return `${unused}${d.client} is inside ${d.region}'s ${by.subnet}`;
  if (by.because === 'ipv6-subnet') return `${unused}${d.client} is an IPv6 subnet and every region's subnets are IPv4, so the default region ${d.region}`;
  return `${unused}${d.client} is in no region's subnet, so the default region ${d.region}`;
}

/** Why that edge, e.g. "edge-north is the nearest healthy edge for north". */
export function choiceWords(d: GslbDecision): string {
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

/**
 * The decision in one line of text, for the TXT record.
 * Plain ASCII arrows: dig prints any other byte of a TXT string as a \DDD escape.
 */
function explain(d: GslbDecision): string {
  const state = (h: EdgeHealth) => (h === 'unknown' ? 'unknown (not checked yet)' : h ? 'healthy' : 'down');
  return [
    `client ${d.client} (${d.source === 'ecs' ? 'ECS' : 'source address'})`,
    `region ${d.region} (${regionWords(d)})`,
    `candidates ${d.candidates.map((c) => `${c.name} ${state(c.healthy)}`).join(', ')}`,
    `${d.chosen.name} ${d.chosen.address} (${choiceWords(d)})`,
  ].join(' -> ');
}

// ───────────────────────────── 4. The server ─────────────────────────────

function lower(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function checkConfig(opts: GslbOptions, limits: RiseFall): Tables {
  const edges = new Map<string, EdgeState>();
  for (const edge of opts.edges) {
    if (edges.has(edge.name)) throw new Error(`gslb: edge ${edge.name} is listed twice`);
    if (!net.isIPv4(edge.address)) throw new Error(`gslb: edge ${edge.name}: address "${edge.address}" is not an IPv4 address (it goes in an A record)`);
    let url: URL;
    try {
      url = new URL(edge.healthUrl);
    } catch {
      throw new Error(`gslb: edge ${edge.name}: health URL "${edge.healthUrl}" is not a URL`);
    }
    if (url.protocol !== 'http:') throw new Error(`gslb: edge ${edge.name}: health URL must be http://, not ${url.protocol}`);
    edges.set(edge.name, new EdgeState(edge, limits));
  }
  const regions = new Map<string, RegionConfig>();
  const subnets: Subnet[] = [];
  for (const region of opts.regions) {
    if (regions.has(region.name)) throw new Error(`gslb: region ${region.name} is listed twice`);
    if (region.nearest.length === 0) throw new Error(`gslb: region ${region.name} lists no edges`);
    for (const name of region.nearest) if (!edges.has(name)) throw new Error(`gslb: region ${region.name} lists edge ${name}, which is not configured`);
    regions.set(region.name, region);
    subnets.push(...region.subnets.map((cidr) => parseRegionSubnet(cidr, region.name)));
  }
  if (!regions.has(opts.defaultRegion)) throw new Error(`gslb: the default region ${opts.defaultRegion} is not one of the regions`);
  return { edges, regions, subnets, defaultRegion: opts.defaultRegion, scopes: new Map() };
}

export async function startGslb(opts: GslbOptions): Promise<RunningGslb> {
  const name = opts.name ?? 'gslb';
  const zone = lower(opts.zone ?? 'gslb.cdn.test');
  const serviceNames = new Set((opts.serviceNames ?? ['geektime.gslb.cdn.test']).map(lower));
  const nsName = lower(opts.nsName ?? 'ns1.gslb.cdn.test');
  const ttl = opts.ttl ?? 30;
  const hc = { ...DEFAULT_CHECK, ...opts.healthCheck };
  const log = opts.log ?? (() => {});
  const events = new EventEmitter();
  const tables = checkConfig(opts, hc);

  // The zone's own records: who is authoritative (NS, SOA), and where that name server is (A).
  const soa = (owner: string, recordTtl: number) =>
    ({ name: owner, type: Packet.TYPE.SOA, class: Packet.CLASS.IN, ttl: recordTtl, primary: nsName, admin: `hostmaster.${zone}`, ...SOA_TIMERS }) as DnsRecord;
  const record = (owner: string, type: number, recordTtl: number, data: Partial<DnsRecord>) =>
    ({ name: owner, type, class: Packet.CLASS.IN, ttl: recordTtl, ...data }) as DnsRecord;

  /** Negative answers carry the SOA so resolvers know how long to remember them (RFC 2308). */
  function negative(response: DnsPacket): void {
    response.authorities.push(soa(zone, SOA_TIMERS.minimum));
  }

  function handle(request: DnsPacket, context: DnsContext): DnsPacket {
    const question = request.questions[0]!;
    const qname = lower(question.name);
    // The client subnet, read and checked by the DNS layer (wire.ts): a malformed one never gets here, it got FORMERR.
    const ecs = context.ecs;
    const response = responseTo(request);
    response.header.ra = 0; // we never recurse for anyone
    let scope = 0; // ECS scope: 0 = this answer is the same whoever asks

    const inZone = qname === zone || qname.endsWith(`.${zone}`);
    if (question.class !== Packet.CLASS.IN) {
      response.header.rcode = Packet.RCODE.REFUSED;
    } else if (serviceNames.has(qname)) {
      response.header.aa = 1;
      if (question.type === Packet.TYPE.A || question.type === Packet.TYPE.TXT) {
        const usable = ecs.kind === 'ok' ? { ip: ecs.option.ip, sourcePrefixLength: ecs.option.sourcePrefixLength } : undefined;
        // The transport should always give a string; if it ever does not, the default region answers.
        const from = typeof context.client.address === 'string' ? context.client.address : 'an unknown address';
        const d = decide(tables, from, usable);
        scope = d.scopePrefixLength;
        events.emit('decision', d);
        log(`${name}: ${d.client} (${d.source}) → ${d.region} → ${d.chosen.name} ${d.chosen.address} (${choiceWords(d)})`);
        if (question.type === Packet.TYPE.A) {
          response.answers.push(record(question.name, Packet.TYPE.A, ttl, { address: d.chosen.address }));
        } else {
          // TTL 0: the explanation is for this very moment and this client, never to be cached.
          response.answers.push(record(question.name, Packet.TYPE.TXT, 0, { data: splitText(explain(d)) }));
        }
      } else {
        negative(response); // NODATA: the name exists, but has no records of this type
      }
    } else if (inZone) {
      response.header.aa = 1;
      if (qname === zone && question.type === Packet.TYPE.SOA) {
        response.answers.push(soa(question.name, ZONE_TTL));
      } else if (qname === zone && question.type === Packet.TYPE.NS) {
        response.answers.push(record(question.name, Packet.TYPE.NS, ZONE_TTL, { ns: nsName }));
        if (net.isIPv4(opts.host)) response.additionals.push(record(nsName, Packet.TYPE.A, ZONE_TTL, { address: opts.host })); // glue
      } else if (qname === nsName && question.type === Packet.TYPE.A && net.isIPv4(opts.host)) {
        response.answers.push(record(question.name, Packet.TYPE.A, ZONE_TTL, { address: opts.host }));
      } else if (qname === zone || qname === nsName) {
        negative(response); // NODATA
      } else {
        response.header.rcode = Packet.RCODE.NXDOMAIN;
        negative(response);
      }
    } else {
      response.header.rcode = Packet.RCODE.REFUSED; // not our zone, and we do not recurse
    }

    // Our own OPT record, so that the ECS goes back (RFC 7871 §7.2.1): the family, prefix and
    // address as the client sent them, plus the scope of this answer.
    if (findOpt(request)) {
      const options = ecs.kind === 'ok' ? [{ ...ecs.option, scopePrefixLength: scope }] : [];
      response.additionals.push(Packet.Resource.EDNS(options, { udpPayloadSize: EDNS_UDP_SIZE }));
    }
    return response;
  }

  const dns = await startDnsServer({ name, host: opts.host, port: opts.port, handle, log, tcpLimits: opts.tcpLimits, tcpIdleMs: opts.tcpIdleMs, tcpMaxPending: opts.tcpMaxPending });

  // Health checks: every edge on its own, so one slow edge does not delay the verdict on the others.
  const health = startHealthChecks(
    [...tables.edges.values()].map((edge) => ({ state: edge, url: new URL(edge.config.healthUrl) })),
    { intervalMs: hc.intervalMs, timeoutMs: hc.timeoutMs, userAgent: 'lab-gslb-health-check', from: opts.healthCheckFrom ?? opts.host },
    (edge, change) => {
      log(`${name}: ${edge.config.name} (${edge.config.address}) is ${change}: ${edge.reason}`);
      events.emit(change, edge.config.name);
    },
  );

  return {
    ...dns,
    events,
    edges: () => [...tables.edges.values()].map((e) => ({ name: e.config.name, healthy: e.healthy, reason: e.reason })),
    decide: (clientAddress, ecs) => decide(tables, clientAddress, ecs),
    close: async () => {
      health.stop();
      await dns.close();
    },
  };
}
