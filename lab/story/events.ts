// The story as typed events: what each observer of step 1 saw, as facts (ids, names, addresses,
// rcodes, TTLs, frames, statuses), never as sentences. The walkthrough emits these into the Trace;
// the terminal lines are rendered from them (render/terminal.ts), `--json` prints them as they are,
// so the two views cannot say different things. Every line the walkthrough prints between its
// first step and its end is rendered from one of these (render/transcript.ts).
import type { CacheStatusEntry } from '../../servers/net/cache-status.ts';
import type { GslbDecision } from '../../servers/dns/gslb.ts';
import type { WalkStep } from '../../servers/dns/resolver.ts';
import type { CaptureRecord } from '../capture.ts';
import type { Layer, LayersFacts, RecordInWrite } from '../layers.ts';
import type { ModernKeyExchange } from '../master-secret.ts';
import type { SegmentFact, TcpStory } from '../observe/tcp-story.ts';
import type { KernelStates } from '../tcp-states.ts';
import type { TlsEventFacts } from '../tls-decoder.ts';
import type { MasterSecretFacts, TlsSessionFacts } from './facts.ts';
import type { WireLayer } from '../observe/frame-fields.ts';
import type { StepNumber } from '../trace.ts';

export interface Endpoint {
  address: string;
  port: number;
}

/** Where a message is in this run's capture: Wireshark's frame numbers and the first one's wire time. */
export interface OnWire {
  frames?: number[];
  /** Seconds since 1970, from the capture. */
  wireTime?: number;
  wireAt?: string;
}

interface Event<K extends string, D, S extends StepNumber = StepNumber> extends OnWire {
  step: S;
  kind: K;
  /** For messages: the sending and receiving roles (an arrow in the sequence diagram). */
  from?: string;
  to?: string;
  data: D;
}

/** The phone asks its local DNS (one UDP query, recursion desired). */
export type PhoneDnsQuery = Event<'dns-query', {
  id: number;
  name: string;
  type: 'A';
  recursionDesired: true;
  sourcePort: number;
  client: Endpoint;
  server: Endpoint;
  transport: 'udp';
}>;

/** How the local DNS resolved the phone's question: from its cache, or by walking the tree. */
export type DnsResolution = Event<'dns-resolution', {
  fromCache: boolean;
  ms: number;
  /** The phone's /24, sent to the GSLB as EDNS Client Subnet. */
  clientSubnet?: string;
  walkSteps: number;
}>;

/** Which exchange of the walk an event is about: its position, the DNS id, the server and the question. */
type WalkExchange = { index: number } & Pick<WalkStep, 'id' | 'server' | 'question' | 'transport'>;

/** One question of the local DNS's walk, to one server (root, TLD, a zone's server, the GSLB). */
export type DnsWalkQuery = Event<'dns-walk-query', WalkExchange & Pick<WalkStep, 'truncatedOverUdp' | 'sourcePort' | 'ecs' | 'ms'>>;

/**
 * What that server answered. `outcome` is what it amounted to (a referral with its zone, servers
 * and TTL, an answer, aliases, NXDOMAIN with the SOA's negative TTL, a timeout, ...); `ecsScope` the
 * scope of its ECS when the subnet went along.
 */
export type DnsWalkAnswer = Event<'dns-walk-answer', WalkExchange & Pick<WalkStep, 'rcode' | 'aa' | 'outcome' | 'ecs' | 'ecsScope' | 'records' | 'note'>>;

/** Why the GSLB chose the edge it chose (its frames: the GSLB's answer). */
export type GslbChoice = Event<'gslb-decision', GslbDecision>;

/** What the phone got back: the CNAME chain and the addresses, with how the local DNS got them. */
export type PhoneDnsAnswer = Event<'dns-answer', {
  id: number;
  name: string;
  rcode: string;
  addresses: string[];
  chain: Array<{ name: string; type: string; ttl: number; data: string }>;
  sourcePort: number;
  ms: number;
  client: Endpoint;
  server: Endpoint;
  fromCache?: boolean;
  resolverMs?: number;
  clientSubnet?: string;
  walkSteps: number;
}>;

/** One hop of a CDN fetch, as its start line was on the wire (absent when the capture lacks it). */
export interface HopOnWire {
  frame: number;
  line: string;
  client: Endpoint;
  server: Endpoint;
}

export type CdnRequest = Event<'http-request', { method: 'GET'; target: string } & Partial<HopOnWire>, 1>;
export type CdnResponse = Event<'http-response', { status: number; hit: boolean } & Partial<HopOnWire>, 1>;

/** One fetch from the CDN as a whole: the phone's connection, each tier's Cache-Status, each hop's frame. */
export type CachePath = Event<'cache-path', {
  url: string;
  status: number;
  client: Endpoint;
  server: Endpoint;
  edge: string;
  bytes: number;
  ms: number;
  /** The Cache-Status header as sent, and parsed (nearest-origin first, RFC 9211). */
  cacheStatusHeader?: string;
  cacheStatus: CacheStatusEntry[];
  cacheControl?: string;
  cdnCacheControl?: string;
  age?: number;
  via?: string;
  /** Requests the origin served for this path during the fetch. */
  originServed: number;
  /** Whether a capture was running (then each hop names its frame, or says the capture lacks it). */
  captured: boolean;
  /** Each hop in and out: requests inward, answers outward. */
  hops: Array<{ from: string; to: string; what: string; frame?: number; line?: string }>;
}>;

// ── The run's frame: the steps, and the lab before them ──

/** A step begins: its heading is rendered from these facts (the TLS mode in step 2, the phone's region in step 1). */
export type StepStart = Event<'step', { addressing?: Addressing; region?: string; mode?: 'classic' | 'modern' }>;

/** Loopback addresses (one per role, or one for all), or every host its own network namespace. */
type Addressing = 'per-role' | 'single' | 'namespaces';
/** A step ends, with how long it took. */
export type StepDone = Event<'step-done', { ms: number }>;

/** Step 0: the roles as they listen, the start-up notes, the certificates, the phone. */
export type LabUp = Event<'lab-up', {
  addressing: Addressing;
  /** ns mode: the network the roles run in (lab/net-ns/plan.ts), as built. */
  net?: { namespaces: number; routers: number; links: number; buildMs?: number; delays?: { applied: boolean; reason?: string }; phoneNamespace: string; gateway: string };
  roles: Array<{ name: string; protocol: string; host: string; port: number; what: string }>;
  /** What the start-up had to say (a port taken, a damaged order-log line). */
  notes: string[];
  certs: { made: string[]; dir: string };
  phone: string;
  region: string;
}, 0>;

/** Step 1's connective: the same picture is asked for again. */
export type Again = Event<'again', { what: 'picture' }, 1>;

/** The capture at the end: tcpdump's counts and the secrets written into it, or why there is none. */
export type CaptureEnd = Event<'capture', CaptureRecord | { unavailable: string }, 0>;

export type FrameEvent = StepStart | StepDone | LabUp | Again | CaptureEnd;

export type StepOneEvent = PhoneDnsQuery | DnsResolution | DnsWalkQuery | DnsWalkAnswer | GslbChoice | PhoneDnsAnswer | CdnRequest | CdnResponse | CachePath;

// ── Step 3: the order ──

/** A TCP segment of the phone's connection that carries part of a TLS record: frame, TCP data length, IP total length. */
export interface CarryingSegment {
  frame: number;
  length: number;
  ipLength: number;
}

/** The POST, as the phone's HTTP client handed it to TLS (its frames: the segments carrying its record). */
export type OrderRequest = Event<'http-request', {
  method: 'POST';
  target: string;
  /** The request's bytes as text: request line, headers, blank line, body. */
  request: string;
  bytes: number;
  client: Endpoint;
  server: Endpoint;
  /** Whether the capture holds the segments that carried it. */
  observed: boolean;
  segments: CarryingSegment[];
}, 3>;

/** The answer as the phone received it: status, Location, the app server that served it, the body's bytes as text. */
export type OrderAnswer = Event<'order-answer', {
  status: number;
  location?: string;
  servedBy?: string;
  bodyText: string;
}, 3>;

/** The SLB's plain-HTTP hop to the app server it chose, as its start line was on the wire. */
export type SlbHopRequest = Event<'http-request', {
  method: string;
  path: string;
  backend: string;
  xForwardedFor?: string;
  /** The phone's end, as the SLB's request record names it (address:port). */
  phone: string;
  status: number;
} & Partial<Omit<HopOnWire, 'frame'>>, 3>;
export type SlbHopResponse = Event<'http-response', { status: number; line?: string }, 3>;

/** The SLB's choice, told once with both frames of its hop (the two events above are the diagram's arrows). */
export type SlbForward = Event<'slb-forward', {
  backend: string;
  policy: 'round robin over the healthy app servers';
  xForwardedFor?: string;
  /** Whether a capture was running; then the hop's request and answer, when it holds them. */
  captured: boolean;
  request?: { frame: number; line: string };
  response?: { frame: number; line: string };
}, 3>;

/** The 201 back to the phone (its frames: the segments carrying its record); told with order-answer. */
export type OrderResponse = Event<'http-response', {
  status: number;
  location?: string;
  body: unknown;
  observed: boolean;
  segments: CarryingSegment[];
}, 3>;

/**
 * The layers the request is wrapped in. Observed: every header field of the frame that carried the
 * POST (lab/observe/frame-fields.ts), with what this machine says about its ports, routing and ARP.
 * Computed (no frame): describeLayers' facts (layers, fields and notes, the packet, the LAN), each field with its source.
 */
export type LayersObserved = Event<'layers', {
  observed: true;
  frame: number;
  captureFile: string;
  segment: CarryingSegment;
  layers: WireLayer[];
  /** describeLayers' reading of the same connection: the TCP ports' meaning, Routing and ARP. */
  system: Layer[];
  plaintext: { side: 'client'; bytes: number };
  /** Further segments of the request's record, and the answer's status and segments. */
  continuedIn: number[];
  answer: { status: number; segments: CarryingSegment[] };
  /** ns mode: the phone's ARP question for its gateway and the answer, as captured on its link. */
  arp?: ArpOnWire[];
}, 3>;

/** One ARP frame (RFC 826): who sent it to whom on the link, and what it asks or tells. */
export interface ArpOnWire {
  frame: number;
  time: number;
  /** Ethernet: a question goes to the broadcast address ff:ff:ff:ff:ff:ff. */
  from: string;
  to: string;
  operation: number;
  senderMac: string;
  senderIp: string;
  targetMac: string;
  targetIp: string;
}

/** How a packet looks on one link: the capture, the frame, TTL, MACs, addresses and ports. */
export interface PacketOnLink {
  file: string;
  frame: number;
  ttl: number;
  sourceMac: string;
  destinationMac: string;
  source: string;
  destination: string;
  sourcePort: number;
  destinationPort: number;
}

/**
 * ns mode: the POST's first segment on the phone's link and again on the SLB's, and the routers
 * between (from the plan's routing tables, each took one off the TTL: RFC 1812 §5.3.1).
 */
export type IpPath = Event<'ip-path', {
  phoneLink: PacketOnLink;
  slbLink?: PacketOnLink;
  routers: string[];
  hops: Array<{ host: string; dev: string; nextHop: string; nextHost: string }>;
}, 3>;
export type LayersComputed = Event<'layers', LayersFacts & {
  observed: false;
  why: string;
  /** The first application-data record the phone sent, as recorded at its socket, and what rode with it. */
  requestRecord?: { bytes: number; riders: RecordInWrite[] };
}, 3>;

// ── Step 2: the connection ──

/** The phone's one connection, as the SLB accepted it: the phone's own address and port (no relay). */
export type SlbAccept = Event<'slb-accept', {
  client: Endpoint;
  server: Endpoint;
  /** Every connection the SLB accepted from the phone's address during the order (exactly one). */
  accepted: Array<{ client: string; port: number; refused: boolean }>;
  /** The phone's end as the SLB's request record names it. */
  requestClient: string;
  /** ns mode: the routers between them (from the plan's routing tables). */
  routers?: string[];
}, 2>;

/**
 * TCP on the wire: the phone's connection in this run's capture (handshake, data, close, the
 * inferred states), or why there is no such record. Its frames: every segment of the connection.
 */
export type TcpOnWire = Event<'tcp-story',
  | { observed: true; client: Endpoint; server: Endpoint; captureFile: string; story: TcpStory }
  | { observed: false; client: Endpoint; server: Endpoint; why: string }, 2>;

/** One segment of it (an arrow in the diagram); told with tcp-story. */
export type TcpSegmentEvent = Event<'tcp-segment', SegmentFact & { observed: true }, 2>;

/** The three-way handshake's segments; an arrow only when no segment is in the capture (else the segments are). */
export type TcpHandshake = Event<'tcp-handshake', {
  observed: boolean;
  client: Endpoint;
  server: Endpoint;
  syn?: SegmentFact;
  synAck?: SegmentFact;
  ack?: SegmentFact;
}, 2>;

/** Both ends' states in the kernel's table (/proc/net/tcp), and how the phone's socket saw the end. */
export type SocketStates = Event<'socket-states', {
  kernel: KernelStates;
  /** Whether the connection closed within closeWaitMs of the answer (else the recording may lack its end). */
  closedInTime: boolean;
  closeWaitMs: number;
  /** Without a capture: when the phone's socket got the SLB's FIN, or an error (ms after its first byte). */
  socketEnd?: { finAfterMs?: number; error?: { code?: string; message: string; afterMs?: number } };
}, 2>;

/**
 * Every state change of both ends of the phone's connection, as the kernel recorded it (the
 * tracepoint sock:inet_sock_set_state), with the µs since the first; or why it could not be read.
 */
export type SocketChanges = Event<'socket-changes',
  | { observed: true; /** The kernel tracepoint read (through tracefs). */ source: string; changes: Array<{ side: 'phone' | 'SLB'; from: string; to: string; port: number; afterUs: number }> }
  | { observed: false; why: string }, 2>;

/** The TLS bytes of the connection as the phone's socket sent and received them. */
export type TlsRecording = Event<'tls-recording', { bytesUp: number; bytesDown: number; withFrames: boolean }, 2>;

/** One TLS message, decoded from those bytes (its frames: the segments that carry its record). */
export type TlsMessage = Event<'tls', TlsEventFacts, 2>;

/** What the phone's TLS library agreed, and the chain it verified. */
export type TlsSession = Event<'tls-session', TlsSessionFacts, 2>;

/** Classic mode: the master secret recomputed from the three randoms equals the key log's line. */
export type MasterSecret = Event<'master-secret', MasterSecretFacts, 2>;

/** Modern mode: the (EC)DHE group and the key log's labels for this connection. */
export type KeyExchange = Event<'key-exchange', ModernKeyExchange, 2>;

export type StepTwoEvent = SlbAccept | TcpOnWire | TcpSegmentEvent | TcpHandshake | SocketStates | SocketChanges | TlsRecording | TlsMessage | TlsSession | MasterSecret | KeyExchange;

export type StepThreeEvent = OrderRequest | OrderAnswer | LayersObserved | LayersComputed | IpPath | SlbHopRequest | SlbHopResponse | SlbForward | OrderResponse;
export type StoryEvent = FrameEvent | StepOneEvent | StepTwoEvent | StepThreeEvent;
export type StoryKind = StoryEvent['kind'];
