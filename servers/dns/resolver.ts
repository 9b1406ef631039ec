// The local DNS: a recursive resolver, the phone's only DNS server (RFC 1034 §5.3.3).
//
// The phone sends one question with RD=1 ("recursion desired: do the work for me"). The resolver
// then walks the tree itself, asking each server with RD=0 and following what it is told:
//   root           → "I don't know, ask test.'s servers; here are their addresses"  (referral + glue)
//   test.          → "ask geektime.test's servers"                                  (referral + glue)
//   geektime.test  → "static is an alias of geektime.cdn.test"                      (CNAME: start again)
//   ...until a server answers with authority (AA), or says the name or the type does not exist.
// Every query it sends is recorded as a WalkStep, so the lab can narrate the walk like `dig +trace`.
//
// The cache is what makes DNS fast: answers are kept for their TTL, "no such name" for the SOA's
// negative TTL (RFC 2308), and delegations (who serves a zone), so that the next question in a
// known zone skips the root and the TLD. The answers that went out are kept too, as bytes
// (message-cache.ts), for the same question asked again.
//
// And it is careful, because whatever it caches it hands to every client:
//   - glue is believed only for name servers inside the delegated zone (the bailiwick rule), so a
//     server cannot plant addresses for names it has no say over;
//   - a referral must lead closer to the name, or the server is "lame" and the next one is tried;
//   - CNAME hops, nested lookups and queries per question are all limited, so loops end;
//   - a referral to many name servers without glue does not make it look up every one of them
//     (the NXNSAttack), and no TTL keeps a record longer than a day (a negative answer, an hour);
//   - the same question asked by many clients at once is walked once, and all of them get that answer;
//   - at most maxResolutions questions are walked at once (BIND's recursive-clients): a flood of
//     unique names gets SERVFAIL at once instead of piling up walks;
//   - the client's subnet (EDNS Client Subnet) goes only to the servers that need it (the GSLB),
//     and their tailored answers are cached per subnet, never handed to clients elsewhere;
//   - it answers only its own clients: an open resolver is a tool for amplification attacks.
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { startDnsServer, Packet, encodeAnswer, findOpt, responseTo, rcodeName, type DnsAnswer, type DnsPacket, type DnsRecord, type RunningDnsServer, type TcpOptions } from './dns-server.ts';
import { MessageCache, type KeptAnswer } from './message-cache.ts';
import { sourceAddressFor } from '../net/listen.ts';
import { formatIpv4, networkOf, parseIpv4 } from '../net/ipv4.ts';
import { LogFile, ensurePrivateFile } from '../net/log-file.ts';
import { sendQuery, typeCode, DnsTimeout, type DnsExchange } from './query.ts';
import { isInZone, normalize } from './zone.ts';
import { splitText } from './authoritative.ts';

export interface RootHint {
  name: string;
  address: string;
}

export interface ResolverOptions extends TcpOptions {
  /** Default 'local-dns'. */
  name?: string;
  /** Where it listens for stub clients. */
  host: string;
  port: number;
  /** Where the walk starts when the cache knows nothing closer, e.g. { name: 'a.root-servers.test', address: '127.0.0.10' }. */
  rootHints: RootHint[];
  /** Referrals and glue carry addresses, never ports: the port to use for a server. Default: always `defaultPort`. */
  portOf?: (nsName: string, address: string) => number;
  /** Default 53. */
  defaultPort?: number;
  /** Zones whose servers get the client's subnet (EDNS Client Subnet). Default ['gslb.cdn.test']. */
  ecsZones?: string[];
  /** Who may use this resolver. Default: loopback only (127.0.0.0/8, ::1). */
  allowClients?: (address: string) => boolean;
  /** Per upstream query, default 1500 ms. */
  timeoutMs?: number;
  /** DNS 0x20: names to other servers in random case, answers taken only if they repeat it (query.ts). Default off. */
  randomizeCase?: boolean;
  /** Default 10,000. */
  maxCacheEntries?: number;
  /** The clock for TTLs, in ms (tests inject one). Default Date.now. */
  now?: () => number;
  /**
   * Client questions walked at once, beyond the cache (BIND's recursive-clients, default 1000;
   * Unbound's num-queries-per-thread). One over it gets SERVFAIL at once, as at BIND's hard quota:
   * a flood of unique names must not pile up walks (memory, sockets, upstream load) without end.
   * Answers from the cache, and questions that join one in progress, take no place. Default 1000.
   */
  maxResolutions?: number;
  /** The longest any record is cached (and passed on), whatever its TTL (Unbound's cache-max-ttl). Default 86400 s. */
  maxCacheTtl?: number;
  /** The longest "no such name" or "no such type" is cached (Unbound's cache-max-negative-ttl). Default 3600 s. */
  maxNegativeTtl?: number;
  /**
   * Every Resolution as one JSON line here (like dnstap), queued as the answer leaves and written
   * off the request path; created 0600, rotated at walkLogMaxBytes (default 4 MiB) keeping
   * walkLogKeep older files (default 3). A failed write is logged once and changes no answer.
   */
  walkLog?: string;
  walkLogMaxBytes?: number;
  walkLogKeep?: number;
  log?: (line: string) => void;
}

export interface DnsRecordText {
  name: string;
  type: string;
  ttl: number;
  data: string;
}

/** One alias of a CNAME chain: `name` is another name for `target`. */
export interface Alias {
  name: string;
  target: string;
  ttl: number;
}

/**
 * What one server's reply amounted to, as the facts a dig +trace line is made of (the lab words
 * them: lab/story/words/dns.ts). Zones are written without the final dot, '' being the root.
 */
export type WalkOutcome =
  /** The records asked for: `name` (the question's name, or the end of the aliases in the zone) has these `values`. */
  | { kind: 'answer'; name: string; type: string; values: string[]; ttl: number }
  /** Aliases, the last one leading out of the zone: the question starts again at its target. */
  | { kind: 'cname'; chain: Alias[] }
  /**
   * After the aliases in `chain`, `name` does not exist (NXDOMAIN) or has no `type` records
   * (NODATA). The SOA of `soa.zone` says how long to remember that (RFC 2308 §5); without one, not at all.
   */
  | { kind: 'nxdomain' | 'nodata'; chain: Alias[]; name: string; type: string; soa?: { zone: string; negativeTtl: number } }
  /** "Ask them instead": the servers of `zone`, each with its address when believable glue came with it. */
  | { kind: 'referral'; zone: string; servers: NameServer[]; ttl: number }
  /** A reply that leads nowhere (a "lame delegation", RFC 8499), so the next server is tried: */
  | { kind: 'lame'; because: 'answer-not-asked' } // records in the answer section, none for the question
  | { kind: 'lame'; because: 'referral-not-closer'; zone: string; referredTo: string } // asked `zone`'s server, sent to a zone not between it and the name
  | { kind: 'lame'; because: 'no-answer-no-referral' } // no answer, no referral, no SOA: not authoritative for the zone?
  /** An rcode other than NOERROR and NXDOMAIN (SERVFAIL, REFUSED, ...), or no DNS message at all (`message`: the socket's error). */
  | { kind: 'error'; because: 'rcode'; rcode: string }
  | { kind: 'error'; because: 'network'; message: string }
  /** No reply within the resolver's timeout. */
  | { kind: 'timeout'; afterMs: number };

export interface WalkStep {
  server: { name: string; address: string; port: number };
  question: { name: string; type: string };
  transport: 'udp' | 'tcp';
  truncatedOverUdp: boolean;
  id: number;
  sourcePort: number;
  ms: number;
  /** The client subnet sent, if any. */
  ecs?: string;
  /** When a subnet was sent and a reply came: the reply's ECS scope, the prefix its answer is good for (RFC 7871 §7.2.1). */
  ecsScope?: number;
  /** 'NOERROR', 'NXDOMAIN', ...; 'TIMEOUT' or 'NETWORK-ERROR' when no DNS message came back. */
  rcode: string;
  aa: boolean;
  outcome: WalkOutcome;
  records: Array<DnsRecordText & { section: 'answer' | 'authority' | 'additional' }>;
  /** What the resolver remarked on this step: why it asked (a nested lookup), what of the reply it did not believe. */
  note?: WalkNote[];
}

/**
 * A remark of the resolver's on one step of its walk, as facts (lab/story/words/dns.ts words them).
 * Zones are written without the final dot, '' being the root.
 */
export type WalkNote =
  /** This step belongs to a nested lookup: the address of `server`, a server of `zone` named without usable glue. */
  | { kind: 'looking-up-server'; server: string; zone: string }
  /** Records in the answer for names outside the zone asked: not that server's to say, so not believed. */
  | { kind: 'outside-zone'; records: Array<{ name: string; type: string }>; zone: string }
  /** An A record beside a referral for a name that is none of the servers of `zone`. */
  | { kind: 'not-a-server'; name: string; address: string; zone: string }
  /** Glue for a server of `zone` whose name is outside `zone` (the bailiwick rule). */
  | { kind: 'out-of-bailiwick'; name: string; address: string; zone: string };

/** A limit that cut a walk short, as facts (the lab words them; limitText() below for the resolver's own error text). */
export type WalkLimit =
  /** `max` client questions were already being walked (maxResolutions): this one got SERVFAIL at once. */
  | { kind: 'max-resolutions'; max: number }
  /** The question used up its `max` upstream queries, nested lookups included. */
  | { kind: 'max-queries'; max: number }
  /** NXNS: of the `total` servers of `zone` named without glue, only `lookedUp` were looked up; the cap was `max` per referral or per question. */
  | { kind: 'nxns'; lookedUp: number; total: number; zone: string; max: number; per: 'referral' | 'question' };

export interface Resolution {
  name: string;
  type: string;
  /** The client's address. */
  client: string;
  /** The /24 sent as ECS (or that a cached, subnet-specific answer was picked for). */
  clientSubnet?: string;
  rcode: string;
  /** The CNAME chain, then the records asked for; TTLs as served (counting down when from the cache). */
  answers: DnsRecordText[];
  /** true when no upstream query was needed. */
  fromCache: boolean;
  /** Empty when fromCache or joined. */
  walk: WalkStep[];
  /** The same question was already being resolved for another client: this one waited for that walk's answer. */
  joined?: boolean;
  /** The limits that cut this walk short, e.g. the NXNS limit on name servers looked up. */
  limits?: WalkLimit[];
  ms: number;
}

export interface ResolverStats {
  /** Questions from clients (and resolve() calls). */
  clientQueries: number;
  /** Queries sent to other servers. */
  upstreamQueries: number;
  /** Client questions that joined an identical one already in progress. */
  joined: number;
  /** Resolutions that a limit cut short. */
  limited: number;
  /** Of those, questions refused because maxResolutions walks were already in progress. */
  overloaded: number;
}

export interface RunningResolver extends RunningDnsServer {
  /** 'resolved' (Resolution, and the stub's { port, id } when a stub asked). */
  events: EventEmitter;
  /** Resolve in-process, without a DNS message from a client. */
  resolve(name: string, type: string, client: string): Promise<Resolution>;
  /** Resolutions by the stub's query id and source port: how a client asks "what did you do for my query?" */
  resolutionFor(client: { address: string; port: number }, id: number): Resolution | undefined;
  /** Wait until every walk queued for the walk log is in the file (for a reader that reads it right after a query). */
  flushWalkLog(): Promise<void>;
  stats(): ResolverStats;
  cacheSize(): number;
  flushCache(): void;
}

const MAX_CNAME_HOPS = 8;
/** Upstream queries for one client question, nested lookups included: a loop ends here. */
const MAX_QUERIES = 40;
/** How deep "to find this name server I must first find that name server" may go. */
const MAX_NS_DEPTH = 3;
/**
 * Name servers without glue looked up per referral, and per client question. The NXNSAttack
 * (Afek, Bremler-Barr, Shafir, USENIX Security 2020): a referral naming many name servers without
 * glue made resolvers look up every one, so one query became dozens, aimed at a victim's servers.
 * BIND (CVE-2020-8616) and Unbound (CVE-2020-12662) now look up only a few per referral.
 */
const MAX_GLUELESS_PER_REFERRAL = 3;
const MAX_GLUELESS_PER_QUESTION = 6;
/** A server that did not answer is tried last for this long (real resolvers keep an RTT per server). */
const SLOW_SERVER_MS = 60_000;
/** The types this resolver can carry back to its clients. */
const TYPES = ['A', 'AAAA', 'NS', 'CNAME', 'SOA', 'TXT', 'MX'];

// ───────────────────────────── Records: dns2's objects ↔ plain text ─────────────────────────────

function rdataText(type: string, r: DnsRecord): string {
  switch (type) {
    case 'A':
    case 'AAAA':
      return r.address ?? '';
    case 'NS':
      return normalize(r.ns ?? '');
    case 'CNAME':
      return normalize(r.domain ?? '');
    case 'MX':
      return `${r.priority} ${normalize(r.exchange ?? '')}`;
    case 'TXT':
      return Array.isArray(r.data) ? r.data.join('') : String(r.data ?? '');
    case 'SOA':
      return [normalize(r.primary ?? ''), normalize(r.admin ?? ''), r.serial, r.refresh, r.retry, r.expiration, r.minimum].join(' ');
    default:
      return `(${type} data)`;
  }
}

function toText(r: DnsRecord): DnsRecordText {
  const type = Packet.typeName(r.type);
  return { name: normalize(r.name), type, ttl: r.ttl, data: rdataText(type, r) };
}

function toWire(r: DnsRecordText): DnsRecord {
  const base = { name: r.name, type: typeCode(r.type), class: Packet.CLASS.IN, ttl: r.ttl };
  switch (r.type) {
    case 'NS':
      return { ...base, ns: r.data } as DnsRecord;
    case 'CNAME':
      return { ...base, domain: r.data } as DnsRecord;
    case 'MX': {
      const [priority, exchange] = r.data.split(' ');
      return { ...base, priority: Number(priority), exchange } as DnsRecord;
    }
    case 'TXT':
      return { ...base, data: splitText(r.data) } as DnsRecord;
    case 'SOA': {
      const [primary, admin, serial, refresh, retry, expiration, minimum] = r.data.split(' ');
      return { ...base, primary, admin, serial: Number(serial), refresh: Number(refresh), retry: Number(retry), expiration: Number(expiration), minimum: Number(minimum) } as DnsRecord;
    }
    default:
      return { ...base, address: r.data } as DnsRecord;
  }
}

/** 'www.geektime.test' → 'geektime.test' → 'test' → '' (the root). */
const parentOf = (name: string) => (name.includes('.') ? name.slice(name.indexOf('.') + 1) : '');

/** '' is the root zone; people write it '.'. */
const zoneName = (zone: string) => `${zone}.`;

/** The SOA's negative TTL (RFC 2308 §5): the smaller of the record's TTL and its MINIMUM field. */
function negativeTtl(soa: DnsRecordText): number {
  return Math.min(soa.ttl, Number(soa.data.split(' ')[6] ?? soa.ttl));
}

// ───────────────────────────── Client subnets (ECS, RFC 7871) ─────────────────────────────

function ipv4Of(address: string): string | undefined {
  const plain = address.replace(/^::ffff:/i, ''); // an IPv4 client seen through an IPv6 socket
  return net.isIPv4(plain) ? plain : undefined;
}

/** The first `prefix` bits of an IPv4 address, as an address: network("127.10.1.7", 24) = "127.10.1.0". */
function network(address: string, prefix: number): string {
  return formatIpv4(networkOf(parseIpv4(address), prefix));
}

/** The subnet a resolver shares with a GSLB: the /24, enough to place a client, not to identify it (RFC 7871 §11.1). */
function clientSubnetOf(client: string): string | undefined {
  let subnet = subnets.get(client);
  if (subnet === undefined) {
    const ip = ipv4Of(client);
    subnet = ip ? `${network(ip, 24)}/24` : '';
    if (subnets.size >= 4096) subnets.clear(); // worked out once per client, not once per query; bounded
    subnets.set(client, subnet);
  }
  return subnet || undefined;
}
const subnets = new Map<string, string>();

export function isLoopback(address: string): boolean {
  const ip = ipv4Of(address);
  return ip ? ip.startsWith('127.') : address === '::1';
}

// ───────────────────────────── The cache ─────────────────────────────

export interface NameServer {
  name: string;
  /** Missing when the referral came without (believable) glue: it must be looked up first. */
  address?: string;
}

interface Delegation {
  zone: string;
  servers: NameServer[];
}

interface CachedRRset {
  records: DnsRecordText[];
  expires: number;
  /** ECS scope: 0 = good for every client; 24 = only for clients in `network`/24. */
  scope: number;
  network: string;
}

class Cache {
  /** "name TYPE" → the RRset, once per client subnet it was tailored to (one entry with scope 0 if not). */
  private rrsets = new Map<string, CachedRRset[]>();
  /** "name TYPE" for NODATA; "name *" for NXDOMAIN, which says no type at all exists at the name. */
  private negatives = new Map<string, { kind: 'nxdomain' | 'nodata'; soa: DnsRecordText; expires: number }>();
  private delegations = new Map<string, Delegation & { expires: number }>();
  /** Moves on whenever an answer or a negative is put or the cache is flushed: the message cache's answers were made from an older one. */
  generation = 0;

  constructor(
    private readonly now: () => number,
    private readonly maxEntries: number,
  ) {}

  /** Records with their TTL counted down to what is left of it. */
  private served(records: DnsRecordText[], expires: number): DnsRecordText[] {
    const left = Math.max(0, Math.ceil((expires - this.now()) / 1000));
    return records.map((r) => ({ ...r, ttl: left }));
  }

  putRRset(records: DnsRecordText[], scope = 0, client = ''): void {
    const key = `${records[0]!.name} ${records[0]!.type}`;
    const ip = ipv4Of(client);
    const entry: CachedRRset = {
      records,
      expires: this.now() + Math.min(...records.map((r) => r.ttl)) * 1000,
      scope: ip ? scope : 0,
      network: ip ? network(ip, scope) : '0.0.0.0',
    };
    const others = (this.rrsets.get(key) ?? []).filter((e) => e.scope !== entry.scope || e.network !== entry.network);
    this.rrsets.delete(key); // re-insert: the Map's order is the order of eviction
    this.rrsets.set(key, [...others, entry]);
    this.generation++;
    this.trim();
  }

  getRRset(name: string, type: string, client: string): { records: DnsRecordText[]; scope: number } | undefined {
    const hit = this.pick(name, type, client);
    return hit && { records: this.served(hit.records, hit.expires), scope: hit.scope };
  }

  /** When the RRset getRRset() would give this client expires (ms), if it holds one. */
  expiryOf(name: string, type: string, client: string): number | undefined {
    return this.pick(name, type, client)?.expires;
  }

  /** The entry for name/type that is still good and was made for this client's subnet (or for everyone). */
  private pick(name: string, type: string, client: string): CachedRRset | undefined {
    const ip = ipv4Of(client);
    return this.rrsets
      .get(`${name} ${type}`)
      ?.find((e) => e.expires > this.now() && (e.scope === 0 || (ip !== undefined && network(ip, e.scope) === e.network)));
  }

  putNegative(kind: 'nxdomain' | 'nodata', name: string, type: string, soa: DnsRecordText): void {
    this.negatives.set(`${name} ${kind === 'nxdomain' ? '*' : type}`, { kind, soa, expires: this.now() + negativeTtl(soa) * 1000 });
    this.generation++;
    this.trim();
  }

  getNegative(name: string, type: string): { kind: 'nxdomain' | 'nodata'; soa: DnsRecordText } | undefined {
    const hit = [this.negatives.get(`${name} *`), this.negatives.get(`${name} ${type}`)].find((e) => e && e.expires > this.now());
    return hit && { kind: hit.kind, soa: this.served([hit.soa], hit.expires)[0]! };
  }

  putDelegation(delegation: Delegation, ttl: number): void {
    this.delegations.set(delegation.zone, { ...delegation, expires: this.now() + ttl * 1000 });
    this.trim();
  }

  /** The deepest zone above (or at) `name` whose servers we know. */
  closestDelegation(name: string): Delegation | undefined {
    for (let zone = name; ; zone = parentOf(zone)) {
      const hit = this.delegations.get(zone);
      if (hit && hit.expires > this.now()) return hit;
      if (zone === '') return undefined;
    }
  }

  size(): number {
    let n = this.negatives.size + this.delegations.size;
    for (const entries of this.rrsets.values()) n += entries.length;
    return n;
  }

  clear(): void {
    this.generation++;
    this.rrsets.clear();
    this.negatives.clear();
    this.delegations.clear();
  }

  /** Over the limit: drop what has expired, then the oldest entries (answers first, delegations last). */
  private trim(): void {
    if (this.size() <= this.maxEntries) return;
    const now = this.now();
    for (const [key, entries] of this.rrsets) {
      const live = entries.filter((e) => e.expires > now);
      if (live.length) this.rrsets.set(key, live);
      else this.rrsets.delete(key);
    }
    for (const [key, e] of this.negatives) if (e.expires <= now) this.negatives.delete(key);
    for (const [key, e] of this.delegations) if (e.expires <= now) this.delegations.delete(key);
    for (const map of [this.rrsets, this.negatives, this.delegations] as Map<string, unknown>[]) {
      for (const key of map.keys()) {
        if (this.size() <= this.maxEntries) return;
        map.delete(key);
      }
    }
  }
}

// ───────────────────────────── One resolution ─────────────────────────────

/** What one step of the resolution found out, whether from the cache or from a server. */
type Outcome =
  | { kind: 'answer'; records: DnsRecordText[] }
  | { kind: 'cname'; records: DnsRecordText[]; target: string }
  | { kind: 'nxdomain' | 'nodata'; records: DnsRecordText[]; soa?: DnsRecordText }
  | { kind: 'servfail'; reason: string; ede?: number };

/** A client question in progress. Nested lookups (a name server's address) share its walk and budget. */
interface Job {
  client: string;
  /** The client's /24, if it may be sent as ECS; undefined in nested lookups (they are the resolver's own). */
  subnet?: string;
  /** Set once the subnet was sent, or a subnet-specific answer was taken from the cache. */
  subnetUsed?: string;
  walk: WalkStep[];
  budget: { queries: number; glueless: number };
  /** What limits cut this question short, shared with nested lookups like the walk. */
  limits: WalkLimit[];
  /** For the steps of a nested lookup: why it happens. */
  purpose?: WalkNote;
  /** Whether this question holds one of the maxResolutions places; shared with nested lookups. */
  place: { held: boolean };
}

/** What a kept answer says, for the walk log: the question, the subnet it was made for, its records. */
interface KeptAbout {
  name: string;
  type: string;
  subnetUsed?: string;
  answers: DnsRecordText[];
}

/** A client question answered: how (for the walk log and the story), and what. */
interface Answered {
  resolution: Resolution;
  result: Result;
}

interface Result {
  rcode: string;
  answers: DnsRecordText[];
  /** For negative answers: the SOA, so the client may cache the negative too. */
  soa?: DnsRecordText;
  reason?: string;
  /** The Extended DNS Error for a SERVFAIL, if not "no reachable authority". */
  ede?: number;
}

export async function startResolver(opts: ResolverOptions): Promise<RunningResolver> {
  const name = opts.name ?? 'local-dns';
  const log = opts.log ?? (() => {});
  const now = opts.now ?? Date.now;
  const defaultPort = opts.defaultPort ?? 53;
  const portOf = opts.portOf ?? (() => defaultPort);
  const ecsZones = (opts.ecsZones ?? ['gslb.cdn.test']).map(normalize);
  const allowClients = opts.allowClients ?? isLoopback;
  const timeoutMs = opts.timeoutMs ?? 1500;
  const rootHints = opts.rootHints.map((h) => ({ name: normalize(h.name), address: h.address }));
  if (rootHints.length === 0) throw new Error(`${name}: no root hints: the resolver would not know where to start`);
  const cache = new Cache(now, opts.maxCacheEntries ?? 10_000);
  const slowUntil = new Map<string, number>();
  const events = new EventEmitter();
  const stats: ResolverStats = { clientQueries: 0, upstreamQueries: 0, joined: 0, limited: 0, overloaded: 0 };
  const maxResolutions = opts.maxResolutions ?? 1000;
  let walking = 0; // client questions holding a place: past the cache, not yet answered
  const maxCacheTtl = opts.maxCacheTtl ?? 86_400;
  const maxNegativeTtl = opts.maxNegativeTtl ?? 3_600;
  if (opts.walkLog) ensurePrivateFile(opts.walkLog); // tighten a log left world-readable by an older run
  const walkLog = opts.walkLog
    ? new LogFile({ file: opts.walkLog, maxBytes: opts.walkLogMaxBytes ?? 4 * 1024 * 1024, keep: opts.walkLogKeep ?? 3, onProblem: (problem) => log(`${name}: walk log: ${problem}`) })
    : undefined;

  /**
   * Resolve name/type to the end of its CNAME chain: cache first, else walk the tree. What the
   * cache holds is answered at once, without a promise (most questions end there; on Node 20 every
   * promise also pays for the roles' AsyncLocalStorage); the first name it does not hold is walked,
   * and the chain goes on from what the walk found.
   */
  function resolveName(target: string, qtype: string, job: Job, depth: number, chain: DnsRecordText[] = [], seen = new Set<string>()): Result | Promise<Result> {
    for (;;) {
      if (seen.has(target)) return { rcode: 'SERVFAIL', answers: [], reason: `CNAME loop: ${target} again` };
      if (seen.size > MAX_CNAME_HOPS) return { rcode: 'SERVFAIL', answers: [], reason: `more than ${MAX_CNAME_HOPS} CNAMEs in a row` };
      seen.add(target);
      const cached = fromCache(target, qtype, job);
      if (!cached) {
        return walk(target, qtype, job, depth).then((outcome) => {
          const next = follow(outcome, chain);
          return typeof next === 'string' ? resolveName(next, qtype, job, depth, chain, seen) : next;
        });
      }
      const next = follow(cached, chain);
      if (typeof next !== 'string') return next;
      target = next; // an alias: the same question again, for the name it points to
    }
  }

  /** Add what one step found to the chain: the name an alias points to (ask again), or the result. */
  function follow(outcome: Outcome, chain: DnsRecordText[]): string | Result {
    if (outcome.kind === 'servfail') return { rcode: 'SERVFAIL', answers: [], reason: outcome.reason, ...(outcome.ede !== undefined && { ede: outcome.ede }) };
    chain.push(...outcome.records);
    if (outcome.kind === 'cname') return outcome.target;
    return { rcode: outcome.kind === 'nxdomain' ? 'NXDOMAIN' : 'NOERROR', answers: chain, soa: outcome.kind === 'answer' ? undefined : outcome.soa };
  }

  function fromCache(target: string, qtype: string, job: Job): Outcome | undefined {
    const hit = cache.getRRset(target, qtype, job.client);
    if (hit) {
      if (hit.scope > 0) job.subnetUsed ??= clientSubnetOf(job.client);
      return { kind: 'answer', records: hit.records };
    }
    const alias = qtype === 'CNAME' ? undefined : cache.getRRset(target, 'CNAME', job.client);
    if (alias) return { kind: 'cname', records: alias.records, target: alias.records[0]!.data };
    const negative = cache.getNegative(target, qtype);
    return negative && { kind: negative.kind, records: [], soa: negative.soa };
  }

  /** RFC 1034 §5.3.3: start at the closest zone whose servers we know, and follow referrals down. */
  async function walk(target: string, qtype: string, job: Job, depth: number): Promise<Outcome> {
    // The cache could not answer: this question needs a place among the walks in progress.
    if (!job.place.held) {
      if (walking >= maxResolutions) {
        stats.overloaded++;
        return { kind: 'servfail', reason: limit(job, { kind: 'max-resolutions', max: maxResolutions }), ede: Packet.EDE.OTHER };
      }
      walking++;
      job.place.held = true;
    }
    let zone: Delegation = cache.closestDelegation(target) ?? { zone: '', servers: rootHints };
    for (;;) {
      const reply = await askZone(zone, target, qtype, job, depth);
      if (reply.kind !== 'referral') return reply;
      zone = reply.delegation;
    }
  }

  /** Ask the servers of one zone in turn until one gives a usable reply. */
  async function askZone(zone: Delegation, target: string, qtype: string, job: Job, depth: number): Promise<Outcome | { kind: 'referral'; delegation: Delegation }> {
    const failures: string[] = [];
    // Servers whose address we already have first; among those, the ones that did not recently time out.
    const slow = (s: NameServer) => (s.address && (slowUntil.get(`${s.address}:${portOf(s.name, s.address)}`) ?? 0) > now() ? 1 : 0);
    const ordered = [...zone.servers].sort((a, b) => Number(!a.address) - Number(!b.address) || slow(a) - slow(b));
    const glueless = { lookedUp: 0, total: ordered.filter((s) => !s.address).length, cut: false };
    for (const ns of ordered) {
      const addresses = ns.address ? [ns.address] : await addressesOf(ns.name, zone, job, depth, failures, glueless);
      for (const address of addresses) {
        if (job.budget.queries >= MAX_QUERIES) return { kind: 'servfail', reason: limit(job, { kind: 'max-queries', max: MAX_QUERIES }) };
        job.budget.queries++;
        const reply = await ask({ name: ns.name, address, port: portOf(ns.name, address) }, zone.zone, target, qtype, job);
        if (reply.kind === 'try-next') failures.push(reply.why);
        else return reply;
      }
    }
    return { kind: 'servfail', reason: `no server of ${zoneName(zone.zone)} gave a usable answer${failures.length ? `: ${failures.join('; ')}` : ''}` };
  }

  /** A name server named without glue: find its address first, as a separate (nested) lookup. */
  async function addressesOf(nsName: string, zone: Delegation, job: Job, depth: number, failures: string[], glueless: { lookedUp: number; total: number; cut: boolean }): Promise<string[]> {
    if (isInZone(nsName, zone.zone)) {
      // Its address is inside the very zone we cannot reach yet: only glue could have told us.
      failures.push(`${nsName} is inside ${zoneName(zone.zone)} but came without glue`);
      return [];
    }
    if (depth >= MAX_NS_DEPTH) {
      failures.push(`${nsName}: name servers nested too deep`);
      return [];
    }
    // NXNS: a few lookups per referral and per question, however many servers the referral names.
    const cap =
      glueless.lookedUp >= MAX_GLUELESS_PER_REFERRAL ? { max: MAX_GLUELESS_PER_REFERRAL, per: 'referral' as const }
      : job.budget.glueless >= MAX_GLUELESS_PER_QUESTION ? { max: MAX_GLUELESS_PER_QUESTION, per: 'question' as const }
      : undefined;
    if (cap) {
      if (!glueless.cut) failures.push(limit(job, { kind: 'nxns', lookedUp: glueless.lookedUp, total: glueless.total, zone: zone.zone, ...cap }));
      glueless.cut = true;
      return [];
    }
    glueless.lookedUp++;
    job.budget.glueless++;
    const nested: Job = { client: job.client, walk: job.walk, budget: job.budget, limits: job.limits, place: job.place, purpose: { kind: 'looking-up-server', server: nsName, zone: zone.zone } };
    const found = await resolveName(nsName, 'A', nested, depth + 1);
    const addresses = found.answers.filter((r) => r.type === 'A').map((r) => r.data);
    if (addresses.length === 0) failures.push(`no address for ${nsName} (${found.reason ?? found.rcode})`);
    return addresses;
  }

  /** One query to one server, recorded as a WalkStep; the reply judged and cached. */
  async function ask(
    server: WalkStep['server'],
    zone: string,
    target: string,
    qtype: string,
    job: Job,
  ): Promise<Outcome | { kind: 'referral'; delegation: Delegation } | { kind: 'try-next'; why: string }> {
    // ECS goes only to the zones that tailor answers to the client's location (RFC 7871 §12.1:
    // every other server would learn where the client is for nothing).
    const ecs = job.subnet && ecsZones.some((z) => isInZone(zone, z)) ? job.subnet : undefined;
    if (ecs) job.subnetUsed = ecs;
    const base = { server, question: { name: target, type: qtype }, ...(ecs ? { ecs } : {}) };
    const started = Date.now();
    let exchange: DnsExchange;
    stats.upstreamQueries++;
    try {
      exchange = await sendQuery({ server: { host: server.address, port: server.port }, name: target, type: qtype, rd: false, clientSubnet: ecs, timeoutMs, localAddress: sourceAddressFor(opts.host, server.address), randomizeCase: opts.randomizeCase });
    } catch (err) {
      const timedOut = err instanceof DnsTimeout;
      if (timedOut) slowUntil.set(`${server.address}:${server.port}`, now() + SLOW_SERVER_MS);
      const outcome: Unusable = timedOut ? { kind: 'timeout', afterMs: timeoutMs } : { kind: 'error', because: 'network', message: (err as Error).message };
      record({ ...base, transport: 'udp', truncatedOverUdp: false, id: timedOut ? err.id : 0, sourcePort: timedOut ? err.sourcePort : 0, ms: Date.now() - started, rcode: timedOut ? 'TIMEOUT' : 'NETWORK-ERROR', aa: false, outcome, records: [] }, job);
      return { kind: 'try-next', why: whyNotUsable(server, outcome, target, qtype) };
    }
    const response = exchange.response;
    const judged = judge(response, zone, target, qtype);
    const scope = ecs ? ecsScope(response) : 0;
    const via = { ...base, transport: exchange.transport, truncatedOverUdp: exchange.truncatedOverUdp, id: exchange.id, sourcePort: exchange.sourcePort, ms: exchange.ms };
    record({ ...via, ...(ecs ? { ecsScope: scope } : {}), rcode: rcodeName(response.header.rcode), aa: response.header.aa === 1, outcome: judged.outcome, records: sections(response), ...(judged.notes.length ? { note: judged.notes } : {}) }, job);

    const o = judged.action;
    switch (o.kind) {
      case 'try-next':
        return { kind: 'try-next', why: whyNotUsable(server, o.because, target, qtype) };
      case 'referral':
        cache.putDelegation(o.delegation, Math.min(o.ttl, maxCacheTtl));
        return { kind: 'referral', delegation: o.delegation };
      case 'answer':
      case 'cname': {
        const records = capTtls(o.records, maxCacheTtl);
        // The answer is cached for the clients it was made for: everyone, or (ECS) the client's subnet.
        for (const rrset of groupRRsets(records)) cache.putRRset(rrset, Math.min(scope, 24), job.client);
        return { ...o, records };
      }
      case 'nxdomain':
      case 'nodata': {
        const records = capTtls(o.records, maxCacheTtl);
        const soa = o.soa && capTtls([o.soa], maxNegativeTtl)[0];
        for (const rrset of groupRRsets(records)) cache.putRRset(rrset);
        // RFC 2308 §5: no SOA, no negative caching.
        if (soa) cache.putNegative(o.kind, o.finalName, qtype, soa);
        return { ...o, records, soa };
      }
    }
  }

  /** A limit cut the walk short: say which, in the Resolution and the walk log; its text is the SERVFAIL's reason. */
  function limit(job: Job, what: WalkLimit): string {
    job.limits.push(what);
    return limitText(what);
  }

  function record(step: WalkStep, job: Job): void {
    if (job.purpose) step.note = [job.purpose, ...(step.note ?? [])]; // why this step happens comes first
    job.walk.push(step);
  }

  /** The whole client-facing resolution: what `resolve()` and the DNS face both use. */
  function run(name: string, type: string, client: string, subnet: string | undefined): Answered | Promise<Answered> {
    const started = Date.now();
    const job: Job = { client, subnet, walk: [], budget: { queries: 0, glueless: 0 }, limits: [], place: { held: false } };
    let result: Result | Promise<Result>;
    try {
      result = resolveName(name, type, job, 0);
    } catch (err) {
      return resolved(job, name, type, started, internalError(err));
    }
    if (!(result instanceof Promise)) return resolved(job, name, type, started, result);
    return result.then(
      (r) => resolved(job, name, type, started, r),
      (err: unknown) => resolved(job, name, type, started, internalError(err)),
    );
  }

  /** A bug must not leave the client waiting: it gets SERVFAIL and we get the reason. */
  function internalError(err: unknown): Result {
    return { rcode: 'SERVFAIL', answers: [], reason: `internal error: ${(err as Error).message}` };
  }

  /** The question is answered: give back its place, and say how (the Resolution). */
  function resolved(job: Job, name: string, type: string, started: number, result: Result): Answered {
    if (job.place.held) walking--;
    const resolution: Resolution = {
      name,
      type,
      client: job.client,
      ...(job.subnetUsed ? { clientSubnet: job.subnetUsed } : {}),
      rcode: result.rcode,
      answers: result.answers,
      fromCache: job.walk.length === 0,
      walk: job.walk,
      ...(job.limits.length ? { limits: job.limits } : {}),
      ms: Date.now() - started,
    };
    if (job.limits.length) stats.limited++;
    return { resolution, result };
  }

  /**
   * The same question from many clients at once is walked once (RFC 5452 §5: identical queries in
   * flight also make spoofing easier; Unbound and BIND merge them too). The key holds the client's
   * subnet, as the GSLB may answer each subnet differently.
   */
  const inProgress = new Map<string, Promise<Answered>>();
  function runOnce(qname: string, qtype: string, client: string): Answered | Promise<Answered> {
    stats.clientQueries++;
    const [name, type, subnet] = [normalize(qname), qtype.toUpperCase(), clientSubnetOf(client)];
    const key = `${name} ${type} ${subnet ?? ''}`;
    const running = inProgress.get(key);
    if (running) {
      const started = Date.now();
      return running.then(({ resolution, result }) => {
        stats.joined++;
        return { resolution: { ...resolution, client, fromCache: false, walk: [], joined: true, ms: Date.now() - started }, result };
      });
    }
    const mine = run(name, type, client, subnet);
    if (!(mine instanceof Promise)) return mine; // answered from the cache: nothing in progress to share
    inProgress.set(key, mine);
    return mine.finally(() => inProgress.delete(key));
  }

  function announce(resolution: Resolution, result: Result, clientPort: number | null, queryId: number | null): void {
    // Queued, not written: a slow or full disk must not hold up (or change) the answer.
    // Object.assign rather than a spread: JSON.stringify took 6.4 µs over the spread copy of these
    // dozen fields and 1.5 µs over this one (Node 20, measured), on every answer.
    walkLog?.write(JSON.stringify(Object.assign({}, resolution, { clientAddress: resolution.client, clientPort, queryId })));
    events.emit('resolved', resolution, { port: clientPort, id: queryId }); // which stub query it answered, when a stub asked
    const r = resolution;
    const answer = r.answers.length ? r.answers.map((a) => a.data).join(' → ') : result.reason ?? '(no records)';
    const how = r.joined ? 'joined the same question in progress' : r.fromCache ? 'from the cache' : `${r.walk.length} ${r.walk.length === 1 ? 'query' : 'queries'}`;
    log(`${name}: ${r.client}${clientPort ? `:${clientPort}` : ''} ${r.type} ${r.name}? → ${r.rcode} ${answer} (${how}${r.clientSubnet ? `, ECS ${r.clientSubnet}` : ''}, ${r.ms} ms)`);
  }

  // ── The DNS face: stub resolvers ask here ──
  // The last 500 to 1,000 stub queries answered, by client and query id, in two halves: when the
  // newer is full it becomes the older, and the older is dropped. (Deleting a Map's oldest key one
  // at a time leaves holes that every later look for the oldest walks over: 2 µs a query.)
  let recent = new Map<string, Resolution>();
  let older = new Map<string, Resolution>();
  const queryKey = (address: string, port: number, id: number) => `${address} ${port} ${id}`;

  // The answers that went out, kept as bytes for the same question from the same subnet. Their bytes
  // depend on the question as asked (its case is echoed), on the client's subnet (the GSLB tailors
  // answers to it), and on what every answer copies from its query: RD, and EDNS or not.
  const messages = new MessageCache<KeptAbout>(opts.maxCacheEntries ?? 10_000);
  const messageKey = (request: DnsPacket, qname: string, qtype: string, address: string) =>
    `${qname} ${qtype} ${clientSubnetOf(address) ?? ''} ${request.header.rd} ${findOpt(request) ? 'edns' : ''}`;

  function handle(request: DnsPacket, context: { client: { address: string; port: number } }): DnsAnswer | Promise<DnsAnswer> {
    const { address, port } = context.client;
    if (!allowClients(address)) {
      log(`${name}: refused ${address}:${port}: not one of this resolver's clients`);
      return withRa(Packet.createErrorResponseFromRequest(request, Packet.RCODE.REFUSED, { infoCode: Packet.EDE.PROHIBITED, extraText: 'not a client of this resolver' }));
    }
    const question = request.questions[0]!;
    const qtype = Packet.typeName(question.type);
    if (question.class !== Packet.CLASS.IN || !TYPES.includes(qtype)) {
      return withRa(Packet.createErrorResponseFromRequest(request, Packet.RCODE.NOTIMP, { infoCode: Packet.EDE.NOT_SUPPORTED, extraText: `${qtype} queries are not supported here` }));
    }
    const key = messageKey(request, question.name, qtype, address);
    const kept = messages.answer(key, request.header.id, now(), cache.generation);
    if (kept) return keptAnswer(request, context.client, kept);
    const answered = runOnce(question.name, qtype, address);
    return answered instanceof Promise ? answered.then((a) => reply(request, context.client, a, key)) : reply(request, context.client, answered, key);
  }

  /** The stub's answer, once the question is resolved; a positive one is kept in the message cache. */
  function reply(request: DnsPacket, client: { address: string; port: number }, { resolution, result }: Answered, key: string): DnsAnswer {
    tell(request, client, resolution, result);
    if (result.rcode === 'SERVFAIL') {
      return withRa(Packet.createErrorResponseFromRequest(request, Packet.RCODE.SERVFAIL, { infoCode: result.ede ?? Packet.EDE.NO_REACHABLE_AUTHORITY, extraText: result.reason ?? '' }));
    }
    const response = responseTo(request, result.rcode === 'NXDOMAIN' ? Packet.RCODE.NXDOMAIN : Packet.RCODE.NOERROR);
    response.answers.push(...result.answers.map(toWire));
    if (result.soa) response.authorities.push(toWire(result.soa)); // lets the stub cache the negative too
    withRa(response);
    if (result.rcode !== 'NOERROR' || result.answers.length === 0) return response;
    // Kept with when each record expires in the RRset cache, so that its TTLs count down as they would there.
    const bytes = encodeAnswer(request, response);
    const expires = result.answers.map((r) => cache.expiryOf(r.name, r.type, client.address));
    if (expires.every((e) => e !== undefined)) {
      messages.keep(key, bytes, expires, cache.generation, { name: resolution.name, type: resolution.type, subnetUsed: resolution.clientSubnet, answers: result.answers });
    }
    return bytes;
  }

  /** A kept answer goes out: the question is told like any other answered from the cache. */
  function keptAnswer(request: DnsPacket, client: { address: string; port: number }, kept: KeptAnswer<KeptAbout>): Buffer {
    stats.clientQueries++;
    const { name: qname, type, subnetUsed, answers: records } = kept.about;
    const answers = records.map((r, i) => ({ ...r, ttl: kept.ttls[i]! }));
    const resolution: Resolution = { name: qname, type, client: client.address, ...(subnetUsed ? { clientSubnet: subnetUsed } : {}), rcode: 'NOERROR', answers, fromCache: true, walk: [], ms: 0 };
    tell(request, client, resolution, { rcode: 'NOERROR', answers });
    return kept.bytes;
  }

  /** Remember which stub query a resolution answered (resolutionFor), and say it (walk log, event, log line). */
  function tell(request: DnsPacket, client: { address: string; port: number }, resolution: Resolution, result: Result): void {
    recent.set(queryKey(client.address, client.port, request.header.id), resolution);
    if (recent.size >= 500) [older, recent] = [recent, new Map()];
    announce(resolution, result, client.port, request.header.id);
  }

  const server = await startDnsServer({ name, host: opts.host, port: opts.port, log, handle, tcpLimits: opts.tcpLimits, tcpIdleMs: opts.tcpIdleMs, tcpMaxPending: opts.tcpMaxPending });
  log(`${name}: recursive resolver on ${server.host}:${server.port} (udp+tcp), root hints ${rootHints.map((h) => `${h.name} ${h.address}:${portOf(h.name, h.address)}`).join(', ')}`);

  return {
    ...server,
    events,
    resolve: async (qname, qtype, client) => {
      if (!TYPES.includes(qtype.toUpperCase())) throw new Error(`${name}: cannot resolve type ${qtype}; it knows ${TYPES.join(', ')}`);
      const { resolution, result } = await runOnce(qname, qtype, client);
      announce(resolution, result, null, null);
      return resolution;
    },
    resolutionFor: (client, id) => {
      const key = queryKey(client.address, client.port, id);
      return recent.get(key) ?? older.get(key);
    },
    flushWalkLog: async () => walkLog?.flush(),
    close: async () => {
      await server.close();
      await walkLog?.flush();
    },
    stats: () => ({ ...stats }),
    cacheSize: () => cache.size(),
    flushCache: () => {
      cache.clear();
      messages.clear();
      slowUntil.clear();
    },
  };
}

/** RA=1: "recursion available", what tells a client it is talking to a resolver. */
function withRa(response: DnsPacket): DnsPacket {
  response.header.ra = 1;
  return response;
}

// ───────────────────────────── Judging a reply ─────────────────────────────

type Judged = {
  /** What the reply says, for the walk step. */
  outcome: WalkOutcome;
  notes: WalkNote[];
  /** What the resolver does with it: keep the records, follow the referral, or ask the zone's next server. */
  action:
    | { kind: 'answer'; records: DnsRecordText[] }
    | { kind: 'cname'; records: DnsRecordText[]; target: string }
    | { kind: 'nxdomain' | 'nodata'; records: DnsRecordText[]; soa?: DnsRecordText; finalName: string }
    | { kind: 'referral'; delegation: Delegation; ttl: number }
    | { kind: 'try-next'; because: Unusable };
};

/**
 * What did the server of `zone` tell us about target/qtype? Only records inside `zone` are
 * believed: a server has authority over its own zone and nothing else.
 */
function judge(response: DnsPacket, zone: string, target: string, qtype: string): Judged {
  const rcode = rcodeName(response.header.rcode);
  const notes: WalkNote[] = [];
  const tryNext = (outcome: Unusable): Judged => ({ outcome, notes, action: { kind: 'try-next', because: outcome } });
  if (rcode !== 'NOERROR' && rcode !== 'NXDOMAIN') return tryNext({ kind: 'error', because: 'rcode', rcode });

  const answers = response.answers.map(toText);
  const outside = answers.filter((r) => !isInZone(r.name, zone));
  if (outside.length) notes.push({ kind: 'outside-zone', records: outside.map((r) => ({ name: r.name, type: r.type })), zone });

  // Follow the answer section from the name asked: CNAMEs the server holds, then the records asked for.
  const chain: DnsRecordText[] = [];
  let name = target;
  for (let hops = 0; hops <= MAX_CNAME_HOPS && isInZone(name, zone); hops++) {
    const wanted = answers.filter((r) => r.name === name && r.type === qtype);
    if (wanted.length) {
      const records = [...chain, ...wanted];
      const outcome: WalkOutcome = { kind: 'answer', name, type: qtype, values: wanted.map((r) => r.data), ttl: wanted[0]!.ttl };
      return { outcome, notes, action: { kind: 'answer', records } };
    }
    const alias = qtype === 'CNAME' ? undefined : answers.find((r) => r.name === name && r.type === 'CNAME');
    if (!alias) break;
    chain.push(alias);
    name = alias.data;
  }
  const aliases = chain.map((r) => ({ name: r.name, target: r.data, ttl: r.ttl }));

  const soa = response.authorities.map(toText).find((r) => r.type === 'SOA' && isInZone(name, r.name) && isInZone(r.name, zone));
  const negative = (kind: 'nxdomain' | 'nodata'): Judged => {
    const outcome: WalkOutcome = { kind, chain: aliases, name, type: qtype, ...(soa && { soa: { zone: soa.name, negativeTtl: negativeTtl(soa) } }) };
    return { outcome, notes, action: { kind, records: chain, soa, finalName: name } };
  };
  // An alias out of this zone: whatever else the server says, the rest is for another zone's servers.
  if (rcode === 'NXDOMAIN' && !(chain.length && !isInZone(name, zone))) return negative('nxdomain');
  if (chain.length) {
    const last = chain[chain.length - 1]!;
    return { outcome: { kind: 'cname', chain: aliases }, notes, action: { kind: 'cname', records: chain, target: last.data } };
  }
  if (answers.length > 0) return tryNext({ kind: 'lame', because: 'answer-not-asked' });

  // No answer. NS records in the authority section: a referral, "ask them instead".
  const ns = response.authorities.map(toText).filter((r) => r.type === 'NS');
  if (ns.length && !response.header.aa) {
    const cut = ns[0]!.name;
    // A referral must point below the zone we asked about and above the name: anything else (sideways,
    // upward, the same zone again) would send us in circles.
    if (!(cut !== zone && isInZone(cut, zone) && isInZone(target, cut))) {
      return tryNext({ kind: 'lame', because: 'referral-not-closer', zone, referredTo: cut });
    }
    const nsNames = [...new Set(ns.filter((r) => r.name === cut).map((r) => r.data))];
    const servers: NameServer[] = [];
    const glueFor = new Set<string>();
    for (const glue of response.additionals.filter((r) => r.type === Packet.TYPE.A).map(toText)) {
      if (!nsNames.includes(glue.name)) notes.push({ kind: 'not-a-server', name: glue.name, address: glue.data, zone: cut });
      else if (!isInZone(glue.name, cut)) notes.push({ kind: 'out-of-bailiwick', name: glue.name, address: glue.data, zone: cut });
      else {
        servers.push({ name: glue.name, address: glue.data });
        glueFor.add(glue.name);
      }
    }
    for (const nsName of nsNames) if (!glueFor.has(nsName)) servers.push({ name: nsName });
    const ttl = Math.min(...ns.map((r) => r.ttl));
    return { outcome: { kind: 'referral', zone: cut, servers, ttl }, notes, action: { kind: 'referral', delegation: { zone: cut, servers }, ttl } };
  }
  // No answer and no referral: the name exists without records of that type, if the server says so with authority.
  if (soa || response.header.aa) return negative('nodata');
  return tryNext({ kind: 'lame', because: 'no-answer-no-referral' });
}

/** A reply (or its absence) that sends the resolver to the zone's next server. */
type Unusable = Extract<WalkOutcome, { kind: 'lame' | 'error' | 'timeout' }>;

/**
 * Why a server was no use, in words: the resolver's own error message. When no server of a zone
 * is any use, these go into the SERVFAIL's Extended DNS Error text (RFC 8914) and the log.
 */
function whyNotUsable(server: WalkStep['server'], o: Unusable, target: string, qtype: string): string {
  const who = `${server.name} (${server.address})`;
  switch (o.kind) {
    case 'timeout':
      return `${who} no answer within ${o.afterMs} ms`;
    case 'error':
      return o.because === 'network' ? `${who} failed: ${o.message}` : `${who}: answered ${o.rcode}`;
    case 'lame':
      if (o.because === 'answer-not-asked') return `${who}: an answer that does not answer ${target} ${qtype}`;
      if (o.because === 'referral-not-closer') return `${who}: lame: referral to ${zoneName(o.referredTo)}, which is not a zone between ${zoneName(o.zone)} and ${target}`;
      return `${who}: lame: no answer, no referral, no SOA (not authoritative for this zone?)`;
  }
}

/**
 * A limit in the resolver's own words: the SERVFAIL's Extended DNS Error text (RFC 8914) and its
 * log, protocol text in English whatever the learner reads (the lab words the same facts for the learner).
 */
export function limitText(l: WalkLimit): string {
  switch (l.kind) {
    case 'max-resolutions':
      return `${l.max} resolutions already in progress (maxResolutions)`;
    case 'max-queries':
      return `gave up after ${l.max} queries for one question`;
    case 'nxns':
      return `looked up ${l.lookedUp} of the ${l.total} servers of ${zoneName(l.zone)} named without glue, and no more (NXNS limit: ${l.max} per ${l.per})`;
  }
}

/** No TTL above `max` (RFC 2181 §8 allows 2^31 − 1 seconds: 68 years). */
function capTtls(records: DnsRecordText[], max: number): DnsRecordText[] {
  return records.map((r) => (r.ttl > max ? { ...r, ttl: max } : r));
}

function groupRRsets(records: DnsRecordText[]): DnsRecordText[][] {
  const groups = new Map<string, DnsRecordText[]>();
  for (const r of records) groups.set(`${r.name} ${r.type}`, [...(groups.get(`${r.name} ${r.type}`) ?? []), r]);
  return [...groups.values()];
}

/** The ECS scope in a reply: how wide a subnet the answer is good for. No ECS in the reply means 0 (RFC 7871 §7.3). */
function ecsScope(response: DnsPacket): number {
  const option = findOpt(response)?.rdata?.find((o) => o.ednsCode === Packet.EDNS_OPTION_CODE.ECS) as { scopePrefixLength?: number } | undefined;
  return option?.scopePrefixLength ?? 0;
}

function sections(response: DnsPacket): WalkStep['records'] {
  const all: WalkStep['records'] = [];
  const add = (section: 'answer' | 'authority' | 'additional', records: DnsRecord[]) => {
    for (const r of records) if (r.type !== Packet.TYPE.EDNS) all.push({ section, ...toText(r) });
  };
  add('answer', response.answers);
  add('authority', response.authorities);
  add('additional', response.additionals);
  return all;
}
