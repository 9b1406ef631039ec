// A CDN cache tier: the edge caches (edge-north, edge-south) and their parent cache (seed §4).
//
// One program plays every tier; only its upstream differs. An edge's upstream is the parent, the
// parent's is the origin. A request the edge can answer from memory stops there (a HIT);
// otherwise it goes one tier inward, and the answer is stored at each tier on its way back out:
//
//   phone ──GET──▶ edge-north ──miss──▶ parent ──miss──▶ origin
//         ◀─────── stored, Age ◀─────── stored ◀──────── 200, Cache-Control: s-maxage=300
//
//   Cache-Status: parent; fwd=uri-miss; stored; ttl=300, edge-north; fwd=uri-miss; stored; ttl=300
//   (next time)   edge-north; hit; ttl=299
//
// It follows RFC 9111 (HTTP caching) as a *shared* cache, says what it did in RFC 9211
// Cache-Status, and knows RFC 5861's stale-while-revalidate and stale-if-error. The rules live in
// cache-rules.ts and the memory in cache-store.ts; this file is the server.
//
// Read in this order: one request (checks, health, PURGE, then GET/HEAD through the cache), the
// fetch from upstream with request collapsing, answering from a stored response (Age, 304, ranges),
// passing through what is not cached, and start/close.
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type tls from 'node:tls';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { listen, sourceAddressFor } from '../net/listen.ts';
import { DEFAULT_CONNECTION_LIMITS, guardConnections, type ConnectionLimits } from '../net/limits.ts';
import {
  ageField,
  deltaSeconds,
  forbidsStale,
  formatHttpDate,
  freshnessLifetime,
  headerValue,
  ifRangeAllows,
  initialAge,
  lastModifiedValidator,
  notModified,
  parseCacheControl,
  parseHttpDate,
  parseRange,
  responseDirectives,
  splitOutsideQuotes,
  staleWindows,
  storability,
  varyNames,
  varyValue,
  weakMatch,
  withRepeatedLines,
  type CacheControl,
  type HeaderBag,
} from './cache-rules.ts';
import { CacheStore, describeEntry, sizeOf, type StoredResponse } from './cache-store.ts';
import { appendList, hostWithoutPort, withoutHopByHop } from '../proxy-headers.ts';
import { clientErrorInTurn, inTurn } from '../net/in-turn.ts';
import { forwardSecretServerSettings } from '../net/tls-modes.ts';
import { formatCacheStatusEntry, parseCacheStatus, type CacheStatusParam } from '../net/cache-status.ts';

export interface CacheOptions {
  /** 'edge-north', 'edge-south', 'parent': names this tier in Cache-Status, Via and the log. */
  name: string;
  host: string;
  /** 0 = any free port. */
  port: number;
  /** Base URL of the next tier inward: the parent, or an origin (any origin URL). */
  upstream: string;
  /** Host names this CDN serves, e.g. ['static.geektime.test']; any other Host gets 421. */
  hostnames: string[];
  /** Host header to send upstream (to front an origin that expects its own name). Default: the
   *  client's host name, without its port. */
  upstreamHostHeader?: string;
  /** Memory for stored bodies and headers; least recently used evicted first. Default 64 MiB. */
  maxBytes?: number;
  /** Request header section accepted from clients (Node answers 431 past it). Default
   *  MAX_HEADER_BYTES; a parent behind edges wants headerLimitBehind(the edges' limit). */
  maxHeaderBytes?: number;
  /** Larger objects are passed through, not stored. Default maxBytes / 4. */
  maxObjectBytes?: number;
  /** An upstream silent this long (connect, headers or body) gets a 504. Default 10 000. */
  upstreamTimeoutMs?: number;
  /**
   * The operator's secret for PURGE: a request must carry `Authorization: Bearer <token>`. Default:
   * a random token made at start (read it from RunningCache.purgeToken); false: no PURGE at all (405).
   */
  purgeToken?: string | false;
  /** Addresses PURGE is accepted from, on top of the token. Default: loopback only. */
  purgeAllowed?: (address: string) => boolean;
  /** Connections held at once, in all and per client address. Default DEFAULT_CONNECTION_LIMITS. */
  connectionLimits?: ConnectionLimits;
  /** A request's headers must all arrive within this, however they trickle (slowloris). Default 10 000. */
  headersTimeoutMs?: number;
  /**
   * Serve HTTPS too, on a second port, with this certificate chain and key (PEM; port 0 = any free
   * port). A page loaded over https may only show pictures fetched over https: a browser upgrades
   * (or blocks) the http ones as mixed content. Real CDNs terminate TLS at the edge for the site's
   * own name. The same requests, limits and timeouts as on the http port.
   */
  tls?: { cert: string; key: string; port: number };
  /** The clock in ms (tests inject one so TTLs pass without sleeping). Default Date.now. */
  now?: () => number;
  log?: (line: string) => void;
}

/** What the cache did with one request; emitted as 'request' and logged as one line. */
export interface CacheLogEntry {
  method: string;
  host: string;
  path: string;
  /** The cache key: 'GET static.geektime.test/images/phone.png' ('' when not a cache request). */
  key: string;
  status: number;
  /** This tier's own Cache-Status entry, e.g. 'edge-north; hit; ttl=299' ('' when answered locally). */
  cacheStatus: string;
  /** The tiers the answer came through, e.g. 'edge-north → parent → origin'. */
  path_: string;
  /** Body bytes sent to the client. */
  bytes: number;
  ms: number;
}

export interface RunningCache {
  name: string;
  host: string;
  port: number;
  url: string;
  /** The HTTPS port, when started with `tls`. */
  tlsPort?: number;
  /** 'request' (CacheLogEntry) */
  events: EventEmitter;
  /** Requests sent to the upstream so far (revalidations and background refreshes included). */
  upstreamFetches(): number;
  storedBytes(): number;
  /** Every stored response, least recently used first: 'GET host/path' plus its Vary values. */
  storedKeys(): string[];
  /** The token PURGE needs (`Authorization: Bearer <token>`), for the operator; undefined when
   *  PURGE is off. lab/up.ts writes it into .lab/state.json. */
  purgeToken: string | undefined;
  close(): Promise<void>;
}

export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
/** Request headers an edge accepts: Node's default is 16 KiB; Varnish's http_req_size is 32 KiB. */
export const MAX_HEADER_BYTES = 32 * 1024;
/**
 * The most a tier adds to a request's header section on its way upstream (Via, X-Forwarded-For, a
 * rewritten Host, validators). A request a tier accepts must be one its upstream accepts, or an
 * attacker's header that fits here but not there turns into an upstream error about a URL everyone
 * uses. So limits grow inward by this much: edge 32 KiB, parent headerLimitBehind(32 KiB), origin
 * 64 KiB; and a tier refuses (431) rather than forward more than its own limit plus this.
 */
export const HOP_HEADER_BYTES = 1024;
/** Room kept for what a revalidation adds: If-None-Match, If-Modified-Since, Cache-Control. */
const VALIDATOR_BYTES = 256;
/** The header limit for a tier behind one whose limit is `limit`. */
export function headerLimitBehind(limit: number): number {
  return limit + HOP_HEADER_BYTES;
}
/**
 * Range requests and RangeAmp (Li et al., DSN 2020). A cache that fetches the whole object for any
 * Range request lets `Range: bytes=0-0` on a cold 2 MB picture pull 2 MB from the origin to
 * deliver 1 byte, once per cache-busting query string. So a range of an object we do not hold goes
 * upstream as that range and the part is relayed, not stored; the origin sends what was asked.
 * Only when the part's Content-Range shows the whole object is at most this big is it then fetched
 * whole (once, collapsed) to be stored: that costs the origin no more than a plain GET would.
 * An upstream that ignores Range and answers 200 has sent the whole object anyway: it is stored.
 */
export const RANGE_FILL_BYTES = 256 * 1024;
/** How long a URL whose answer could not be stored skips request collapsing (Varnish: 120 s). */
const HIT_FOR_MISS_MS = 120_000;
/** Response headers we read from upstream. */
const MAX_RESPONSE_HEADER_BYTES = 64 * 1024;

// A fetch for the cache wants the whole current object, whoever asked: the client's own
// conditions and ranges are answered here, from what comes back.
const CLIENT_CONDITIONS = ['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range', 'range'];
// A 304 refreshes the stored headers, except these, which describe the stored body itself
// (RFC 9111 §3.2: never Content-Length; the others "to assure integrity of the stored response").
const NOT_UPDATED_BY_304 = new Set(['content-length', 'content-encoding', 'content-type', 'content-range']);
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** A request body a cache buffers before forwarding it (nginx's client_max_body_size is 1 MiB). */
export const MAX_REQUEST_BODY_BYTES = 1024 * 1024;
// Reasons not to store that come from the request, not the resource (see cache-rules.ts storability).
const BECAUSE_OF_THE_REQUEST = new Set(['authorization', 'request-no-store', 'vary-too-large']);

/** One parameter of our Cache-Status entry (servers/net/cache-status.ts writes it). */
type Param = CacheStatusParam;

/** One client request, and what we learn about it on the way to the log line. */
interface Ask {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  started: number;
  method: string;
  host: string;
  path: string;
  key: string;
  /** The client's Cache-Control. */
  cc: CacheControl;
  label: string;
  ourEntry: string;
  tiers: string[];
  bytes: number;
  note: string;
}

/** An answer from the next tier, body not read yet. */
interface Upstream {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: http.IncomingMessage;
  requestTime: number;
  responseTime: number;
}

interface UpstreamFailure {
  failed: true;
  code: string;
  message: string;
  timeout: boolean;
}

/** How a fetch for the cache ended. Every request collapsed onto the fetch gets the same one. */
type Outcome =
  /** Stored a new answer (fwdStatus 200, 404...), or refreshed the stored one with a 304. */
  | { kind: 'stored'; entry: StoredResponse; fwdStatus: number; upstreamStatus: string | undefined }
  /** Not storable: the request that led the fetch relays it; `head` is what was read already. */
  | { kind: 'not-stored'; upstream: Upstream; head: Buffer[]; detail: string; forThisRequest: boolean }
  | { kind: 'failed'; failure: UpstreamFailure };

export async function startCache(opts: CacheOptions): Promise<RunningCache> {
  const name = opts.name;
  const clock = opts.now ?? Date.now;
  const log = opts.log ?? ((line: string) => console.log(line));
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxObjectBytes = Math.min(opts.maxObjectBytes ?? Math.floor(maxBytes / 4), maxBytes);
  const upstreamTimeoutMs = opts.upstreamTimeoutMs ?? 10_000;
  const maxHeaderBytes = opts.maxHeaderBytes ?? MAX_HEADER_BYTES;
  const purgeAllowed = opts.purgeAllowed ?? isLoopback;
  const purgeToken = opts.purgeToken === false ? undefined : (opts.purgeToken ?? randomBytes(24).toString('base64url'));
  const hostnames = new Set(opts.hostnames.map((h) => h.toLowerCase()));
  const upstreamUrl = parseUpstream(name, opts.upstream);
  const upstreamBasePath = upstreamUrl.pathname.replace(/\/+$/, '');
  const transport = upstreamUrl.protocol === 'https:' ? https : http;
  // Pooled keep-alive connections to the next tier (nginx's `keepalive`), dropped after 4 s idle:
  // before Node's default 5 s keep-alive timeout upstream closes them under us.
  // At most 128 at once to one upstream: below the 256 a tier accepts from one client address.
  const agent = new transport.Agent({ keepAlive: true, timeout: 4_000, maxSockets: 128 });
  // An idle pooled connection must stay silent: bytes arriving on it answer no request of ours (a
  // desynchronised upstream's answer to a request it read out of a body). Kept, they would be read
  // as the answer to whichever request reuses the connection next, so the connection goes.
  agent.on('free', (socket) => socket.on('data', dropOnUnaskedBytes));
  // Requests with a body each get a connection of their own, closed after (see requestUpstream),
  // from this second pool: at most 64 at once, the rest wait their turn. Without a cap a burst of
  // POSTs opens as many connections upstream as there are POSTs, past the 256 a tier accepts from
  // one address, and then this tier's pooled GETs are refused too: 502 for every client of this
  // edge. 128 pooled + 64 here stays under 256.
  const bodyAgent = new transport.Agent({ keepAlive: false, maxSockets: 64 });
  const events = new EventEmitter();
  const store = new CacheStore(maxBytes, (entry) =>
    log(`${name}: evicted ${describeEntry(entry)} (${entry.size} bytes, least recently used) to stay within ${maxBytes} bytes`),
  );
  /** Fetches under way, by key: a request for a key already being fetched waits for that fetch. */
  const inFlight = new Map<string, Promise<Outcome>>();
  /** Keys whose last answer could not be stored, until when. Their requests go upstream side by
   *  side instead of queueing behind one fetch that will not help them (Varnish's hit-for-miss). */
  const hitForMiss = new Map<string, number>();
  /** Its keys: a digest of the cache key, not the key. The key is the client's path and query (up
   *  to the header limit, 32 KiB), and 10 000 of those would be 320 MB kept for two minutes. */
  const missId = (key: string) => createHash('sha256').update(key).digest('base64url');
  let fetches = 0;

  const headersTimeout = opts.headersTimeoutMs ?? 10_000;
  // What every listener of this tier enforces, http or https.
  const listenerOptions: http.ServerOptions = {
    maxHeaderSize: maxHeaderBytes, // over it, Node answers 431 itself
    // Absolute deadlines from a request's first byte, checked every interval: a client dripping
    // one header byte at a time (slowloris) is cut at headersTimeout, whatever it still sends.
    headersTimeout,
    requestTimeout: 30_000, // the whole request, body included
    keepAliveTimeout: 5_000, // idle between requests
    connectionsCheckingInterval: Math.min(1_000, headersTimeout / 2),
  };
  const server = http.createServer(listenerOptions);
  // HTTPS: the same HTTP/1.1 inside TLS (RFC 9110 §4.2.2), on a port of its own. Forward-secret
  // key exchange only (servers/net/tls-modes.ts), and a handshake must finish within the same
  // deadline as a request's headers, or a client could hold a connection by never finishing it.
  const tlsServer = opts.tls
    ? https.createServer({ ...listenerOptions, ...forwardSecretServerSettings(), cert: opts.tls.cert, key: opts.tls.key, handshakeTimeout: headersTimeout })
    : undefined;
  const listeners: http.Server[] = tlsServer ? [server, tlsServer] : [server];
  // A request answered from storage is answered at once, without a promise (on Node 20 each one
  // also pays for the roles' AsyncLocalStorage); one that goes upstream returns the promise of it.
  const serve = inTurn((req, res) => {
    const ask = begin(req, res);
    let handled: void | Promise<void>;
    try {
      handled = handle(ask);
    } catch (err) {
      return failedUnexpectedly(ask, err as Error);
    }
    if (handled instanceof Promise) return handled.catch((err: Error) => failedUnexpectedly(ask, err));
  });
  function failedUnexpectedly(ask: Ask, err: Error): void {
    log(`${name}: unexpected error: ${err.stack ?? err.message}`);
    if (!ask.res.headersSent) reply(ask, 500, 'internal error', `${name} failed unexpectedly; see its log`);
    else ask.res.destroy();
  }
  for (const listener of listeners) {
    // One request at a time per connection (servers/net/in-turn.ts): pipelined requests wait their
    // turn, and nothing behind a `Connection: close` (ours after a refusal, or the client's) is
    // fetched, stored or answered (RFC 9112 §9.6).
    listener.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => serve(req, res));
    listener.on('clientError', clientErrorInTurn(serve));
    // A client that stops reading its answer makes no progress either way: let it go after 60 s
    // without a byte in or out (a slow phone downloading a big picture still makes progress).
    listener.timeout = 60_000;
  }
  // A failed handshake (a client that does not trust our root, no shared cipher, plain HTTP on
  // the https port, a timeout) is the client's problem: say so, drop that connection, serve on.
  // A connection gone before its handshake (refused at a cap, or the client left) says nothing:
  // the connection limits report those, a few lines at most.
  tlsServer?.on('tlsClientError', (err: NodeJS.ErrnoException & { reason?: string }, socket: tls.TLSSocket) => {
    if (err.code === 'ECONNRESET') return;
    log(`${name}: TLS handshake with ${socket.remoteAddress}:${socket.remotePort} failed: ${err.reason ?? err.message} (${err.code})`);
  });

  // ── One request ──────────────────────────────────────────────────────────────────────────
  function begin(req: http.IncomingMessage, res: http.ServerResponse): Ask {
    const ask: Ask = {
      req,
      res,
      started: performance.now(),
      method: req.method ?? '',
      host: hostWithoutPort(headerValue(req.headers, 'host')) ?? '-',
      path: req.url ?? '',
      key: '',
      cc: new Map(),
      label: '',
      ourEntry: '',
      tiers: [name],
      bytes: 0,
      note: '',
    };
    res.on('error', () => {}); // a client that went away is not our error
    res.once('close', () => {
      const ms = Math.round(performance.now() - ask.started);
      const gone = res.writableFinished ? '' : ' (the client went away first)';
      const path_ = ask.tiers.join(' → ');
      // The GSLB checks every edge every second: like the app servers, say nothing while that goes well.
      const passingHealthCheck = ask.label === 'HEALTH' && res.statusCode < 400 && res.writableFinished;
      if (!passingHealthCheck) {
        log(`${name}: ${ask.method} ${ask.host}${ask.path} → ${res.statusCode} ${ask.label} (${path_}) ${ask.bytes} bytes ${ms} ms${ask.note}${gone}`);
      }
      const entry: CacheLogEntry = { method: ask.method, host: ask.host, path: ask.path, key: ask.key, status: res.statusCode, cacheStatus: ask.ourEntry, path_, bytes: ask.bytes, ms };
      events.emit('request', entry);
    });
    return ask;
  }

  function handle(ask: Ask): void | Promise<void> {
    const { req, res } = ask;
    const target = requestTarget(req);
    if ('error' in target) return reply(ask, 400, 'bad request target', target.error);
    ask.path = target.path;
    if (target.host) ask.host = target.host;

    // 1. Health, for any Host: the GSLB checks each edge by its address.
    if ((target.path === '/healthz' || target.path.startsWith('/healthz?')) && (ask.method === 'GET' || ask.method === 'HEAD')) {
      ask.label = 'HEALTH';
      return replyJson(ask, 200, { name, storedBytes: store.bytes, entries: store.count });
    }

    // 2. Paths that climb out of the document root (/../, %2e%2e, backslashes) are never
    //    forwarded: an origin that decodes differently from us could serve a file outside it.
    const badPath = unsafePath(target.path);
    if (badPath) return reply(ask, 400, 'bad path', badPath);

    // 3. Is this a site we serve? The host is part of the cache key: two sites never share entries.
    if (!target.host) return reply(ask, 400, 'missing Host', 'HTTP/1.1 requests must name the site in a Host header');
    if (!hostnames.has(target.host)) {
      return reply(ask, 421, 'misdirected request', `${name} is a CDN cache for ${[...hostnames].join(', ')}, not ${target.host}`);
    }
    ask.key = `GET ${target.host}${target.path}`;

    // 4. Our own name already in Via: the request went round in a circle (an upstream pointing back).
    if (viaNames(req.headers['via']).includes(name)) {
      return reply(ask, 508, 'loop detected', `this request already passed through ${name} (Via: ${String(req.headers['via']).slice(0, 200)}); check the upstream settings`);
    }

    // 5. What we would send upstream must fit what the upstream accepts (see HOP_HEADER_BYTES).
    //    Building those headers to count them was a tenth of the CPU of a HIT (npm run bench): they
    //    are counted only when a cheap upper bound says they could be too many.
    const upstreamLimit = maxHeaderBytes + HOP_HEADER_BYTES - VALIDATOR_BYTES;
    if (forwardedAtMost(ask) > upstreamLimit) {
      const forwarded = headerSectionBytes(ask.method, ask.path, upstreamHeaders(ask, false));
      if (forwarded > upstreamLimit) {
        return reply(ask, 431, 'request header fields too large', `with ${name}'s own headers the request would carry ${forwarded} bytes of headers upstream; the limit is ${maxHeaderBytes}`);
      }
    }

    if (ask.method === 'PURGE') return purge(ask);
    // Every request we forward is framed by us, never by the bytes the client sent: see forwardFraming.
    const framing = forwardFraming(ask.method, req.httpVersion, req.headers);
    if (!framing.ok) {
      if (framing.status === 405) ask.res.setHeader('allow', FORWARDED_METHODS.join(', '));
      res.setHeader('connection', 'close'); // whatever follows on this connection cannot be trusted
      return reply(ask, framing.status, framing.error, framing.reason);
    }
    if (ask.method === 'GET' || ask.method === 'HEAD') {
      ask.cc = parseCacheControl(req.headers['cache-control']);
      return lookup(ask, true);
    }
    // Other methods go to the origin and are never stored, as Varnish and nginx do by default.
    return pass(ask, 'method', framing.body);
  }

  /**
   * PURGE /path (Varnish style): forget every stored variant of that URL, on this tier only (purge
   * the parent first, then the edges). Only the operator may: any client that can reach an edge
   * could otherwise empty it, and send every request to the origin. The operator proves it with
   * the token given at start, from an allowed address.
   */
  function purge(ask: Ask): void {
    if (purgeToken === undefined) {
      ask.res.setHeader('allow', FORWARDED_METHODS.join(', '));
      return reply(ask, 405, 'method not allowed', `PURGE is turned off on ${name}`);
    }
    const address = ask.req.socket.remoteAddress ?? '';
    if (!purgeAllowed(address)) return reply(ask, 403, 'forbidden', `PURGE is not accepted from ${address}`);
    if (!bearerMatches(headerValue(ask.req.headers, 'authorization'), purgeToken)) {
      return reply(ask, 403, 'forbidden', 'PURGE needs the operator token: Authorization: Bearer <token>');
    }
    const purged = store.purge(ask.key);
    hitForMiss.delete(missId(ask.key));
    ask.label = 'PURGE';
    replyJson(ask, 200, { purged, key: ask.key });
  }

  // ── GET and HEAD through the cache ───────────────────────────────────────────────────────
  /**
   * Answer from storage when we can; otherwise fetch from upstream, once per key however many
   * clients ask at the same moment. HEAD is answered from the GET entry.
   */
  function lookup(ask: Ask, mayCollapse: boolean): void | Promise<void> {
    const { req } = ask;
    // If-Match / If-Unmodified-Since guard changes at the origin; they are not a cache's to judge
    // (RFC 9111 §4.3.2), so such a request goes straight through.
    if (req.headers['if-match'] !== undefined || req.headers['if-unmodified-since'] !== undefined) return pass(ask, 'bypass');

    const variants = store.variants(ask.key);
    const entry = variants.find((v) => varyMatches(v, req.headers));
    // Why we would go upstream, in RFC 9211's words.
    let fwd = variants.length === 0 ? 'uri-miss' : entry ? 'stale' : 'vary-miss';
    if (entry) {
      const age = currentAge(entry);
      const ttl = entry.lifetime - age;
      const fresh = ttl > 0; // a no-cache response has a lifetime of 0: stored, but always revalidated
      if (fresh && requestAcceptsStored(ask.cc, age, ttl)) {
        store.touch(entry);
        ask.label = 'HIT';
        return answer(ask, entry, [['hit']]);
      }
      if (fresh) fwd = 'request'; // fresh, but the client asked us to check (no-cache, max-age=0)
      else if (mayServeStale(entry, 'whileRevalidate') && !requestWantsValidation(ask.cc)) {
        // RFC 5861 stale-while-revalidate: this client gets the stale copy now; one background
        // fetch brings a new one for the next client.
        store.touch(entry);
        refreshInBackground(ask, entry);
        ask.label = 'UPDATING';
        return answer(ask, entry, [['hit'], ['detail', 'stale-while-revalidate']]);
      }
    }
    if (ask.cc.has('only-if-cached')) {
      ask.label = 'MISS';
      return reply(ask, 504, 'not cached', `${ask.key} is not stored fresh on ${name}, and the request said only-if-cached`);
    }
    return fromUpstream(ask, mayCollapse, fwd, entry);
  }

  /** Not answerable from storage: fetch, once per key however many clients ask at the same moment. */
  async function fromUpstream(ask: Ask, mayCollapse: boolean, fwd: string, entry: StoredResponse | undefined): Promise<void> {
    const { req } = ask;
    // Request collapsing: a fetch for this key is under way, so wait for its answer instead of
    // sending the same request upstream again (Varnish's waiting list, nginx's proxy_cache_lock).
    const collapse = mayCollapse && !hitForMissActive(ask.key);
    const running = inFlight.get(ask.key);
    if (running && collapse) return afterCollapse(ask, await running, fwd, entry);
    // A range of an object we do not hold is asked for as that range, not whole: see RANGE_FILL_BYTES.
    if (!entry && headerValue(req.headers, 'range') !== undefined) return deliver(ask, await fetchForCache(ask, undefined, true), fwd, entry, false);
    const outcome = await (collapse ? lead(ask, entry) : fetchForCache(ask, entry));
    deliver(ask, outcome, fwd, entry, false);
  }

  /** Start a fetch others can wait for. */
  function lead(ask: Ask, stale: StoredResponse | undefined): Promise<Outcome> {
    const fetching = fetchForCache(ask, stale).finally(() => inFlight.delete(ask.key));
    inFlight.set(ask.key, fetching);
    return fetching;
  }

  /** A request that waited for another's fetch: served from its result when that fits. */
  function afterCollapse(ask: Ask, outcome: Outcome, fwd: string, entry: StoredResponse | undefined): void | Promise<void> {
    if (outcome.kind === 'stored') {
      if (varyMatches(outcome.entry, ask.req.headers)) return deliver(ask, outcome, fwd, entry, true);
      return lookup(ask, true); // the answer varies and this one is for other request headers: look again
    }
    const serverError = outcome.kind === 'failed' || outcome.upstream.status >= 500;
    if (serverError && entry && mayServeStale(entry, 'ifError')) return deliver(ask, outcome, fwd, entry, true);
    if (outcome.kind === 'failed') return deliver(ask, outcome, fwd, entry, true); // the same error for everyone waiting
    // An error about the leader's request (its oversized header, say) says nothing about ours: wait
    // for, or lead, a fetch of our own, still collapsed with the others.
    if (outcome.forThisRequest) return lookup(ask, true);
    // Not storable (private, Set-Cookie...): that answer was for the client who led the fetch
    // only. Each waiting client now asks upstream for its own.
    return lookup(ask, false);
  }

  /** Send the client what a fetch for the cache brought. */
  function deliver(ask: Ask, outcome: Outcome, fwd: string, entry: StoredResponse | undefined, collapsed: boolean): void {
    const params: Param[] = [['fwd', fwd]];
    if (outcome.kind === 'stored') {
      const revalidated = outcome.fwdStatus === 304;
      if (revalidated) params.push(['fwd-status', 304]);
      if (collapsed) params.push(['collapsed']);
      else if (!revalidated) params.push(['stored']);
      ask.label = collapsed ? 'COLLAPSED' : revalidated ? 'REVALIDATED' : fwd === 'stale' ? 'EXPIRED' : 'MISS';
      ask.tiers = tierPath(outcome.upstreamStatus);
      return answer(ask, outcome.entry, params, outcome.upstreamStatus);
    }
    if (collapsed) params.push(['collapsed']);
    // RFC 5861 stale-if-error: the upstream is down or failing, and the origin allowed us to
    // serve our stale copy rather than an error.
    const serverError = outcome.kind === 'failed' || outcome.upstream.status >= 500;
    if (serverError && entry && mayServeStale(entry, 'ifError')) {
      if (outcome.kind === 'not-stored') {
        params.push(['fwd-status', outcome.upstream.status]);
        if (!collapsed) discard(outcome.upstream);
      }
      params.push(['detail', 'stale-if-error']);
      ask.label = 'STALE';
      ask.note = `, upstream ${outcome.kind === 'failed' ? outcome.failure.message : `answered ${outcome.upstream.status}`}`;
      return answer(ask, entry, params);
    }
    if (outcome.kind === 'failed') return replyUpstreamFailure(ask, outcome.failure, params);
    params.push(['detail', outcome.detail]);
    ask.label = 'MISS';
    ask.note = `, not stored (${outcome.detail})`;
    relay(ask, outcome.upstream, params, outcome.head);
  }

  /** After a range of a small object: fetch it whole, once, so the next range is a hit. */
  function fillInBackground(ask: Ask): void {
    if (inFlight.has(ask.key)) return;
    lead(ask, undefined).then((outcome) => {
      if (outcome.kind === 'not-stored') discard(outcome.upstream);
      const result = outcome.kind === 'stored' ? 'stored' : outcome.kind === 'failed' ? `failed: ${outcome.failure.message}` : `not storable (${outcome.detail})`;
      log(`${name}: fetched ${ask.key} whole after a range request (small object): ${result}`);
    });
  }

  /** stale-while-revalidate: one fetch in the background; whoever comes next gets its result. */
  function refreshInBackground(ask: Ask, stale: StoredResponse): void {
    if (inFlight.has(ask.key)) return; // already being refreshed
    lead(ask, stale).then((outcome) => {
      let result: string;
      if (outcome.kind === 'stored') result = outcome.fwdStatus === 304 ? 'still valid (304), fresh again' : `replaced (${outcome.fwdStatus})`;
      else if (outcome.kind === 'failed') result = `failed: ${outcome.failure.message}`;
      else {
        discard(outcome.upstream);
        result = `answer not storable (${outcome.detail})`;
      }
      log(`${name}: background refresh of ${describeEntry(stale)}: ${result}`);
    });
  }

  // ── Fetching for the cache ───────────────────────────────────────────────────────────────
  /**
   * Get the whole current object from upstream, for everyone: no Range and none of the client's
   * conditions. With a stale copy, ask conditionally with its validators, so an unchanged object
   * costs a 304 instead of a body. Stores what may be stored. Never throws.
   */
  async function fetchForCache(ask: Ask, stale: StoredResponse | undefined, clientRange = false): Promise<Outcome> {
    try {
      const headers = upstreamHeaders(ask, true);
      if (clientRange) {
        headers['range'] = ask.req.headers['range'];
        if (ask.req.headers['if-range'] !== undefined) headers['if-range'] = headerValue(ask.req.headers, 'if-range');
      }
      if (stale) {
        // Revalidating is our own question ("is this copy still good?"), not the client's reload, so
        // its Cache-Control and Pragma stay here. Express's `fresh` (under serve-static) reads a
        // request's `no-cache` as an end-to-end reload and answers 200 in full even when
        // If-None-Match matches: passed on, every client reload would refetch the whole object.
        delete headers['cache-control'];
        delete headers['pragma'];
        // A client's reload still reaches every tier, as max-age=0: each cache checks its copy
        // upstream in turn, and the origin answers that with a 304.
        if (asksForReload(ask.cc)) headers['cache-control'] = 'max-age=0';
        Object.assign(headers, validatorsOf(stale));
      }
      let upstream = await requestUpstream('GET', ask.path, headers, undefined, ask);
      if ('failed' in upstream) return { kind: 'failed', failure: upstream };

      if (upstream.status === 304 && stale) {
        discard(upstream);
        if (sameRepresentation(upstream.headers, stale)) {
          freshen(stale, upstream);
          hitForMiss.delete(missId(ask.key));
          return { kind: 'stored', entry: stale, fwdStatus: 304, upstreamStatus: headerValue(upstream.headers, 'cache-status') };
        }
        // A 304 about another version than ours: ask again, without conditions.
        upstream = await requestUpstream('GET', ask.path, upstreamHeaders(ask, true), undefined, ask);
        if ('failed' in upstream) return { kind: 'failed', failure: upstream };
      }

      if (clientRange && upstream.status === 206) {
        // A part is relayed, never stored. A small object is then fetched whole in the background.
        const total = completeLength(headerValue(upstream.headers, 'content-range'));
        if (total !== undefined && total <= RANGE_FILL_BYTES) fillInBackground(ask);
        return notStored(ask, upstream, [], 'range', false, true);
      }

      // A server error while we hold a copy does not replace it (RFC 9111 §4.3.3): the client gets
      // the copy if stale-if-error allows (see deliver), else the error.
      if (upstream.status >= 500 && stale) return notStored(ask, upstream, [], 'server-error', false);

      const verdict = storability(ask.req.headers, upstream.status, upstream.headers, upstream.responseTime);
      // An error that describes the request rather than the resource (400, 413, 431...: too big,
      // malformed, refused) is this client's answer alone. It is never stored and removes nothing,
      // whatever its Cache-Control: else one request with an oversized header turns the URL into an
      // error page for everyone (the CPDoS attack). RFC 9111 §4.3.3 likewise lets a cache keep its
      // stored response when a revalidation gets a 5xx.
      if (aboutTheRequest(upstream.status)) return notStored(ask, upstream, [], verdict.store ? 'request-error' : verdict.detail, false, true);
      if (!verdict.store) {
        // Not storable because of who asked (credentials, a client's no-store) says nothing about
        // the copy everyone else gets, so that one stays.
        const aboutTheUrl = upstream.status < 400 && !BECAUSE_OF_THE_REQUEST.has(verdict.detail);
        return notStored(ask, upstream, [], verdict.detail, aboutTheUrl);
      }
      if (Number(upstream.headers['content-length'] ?? 0) > maxObjectBytes) return notStored(ask, upstream, [], 'too-large', true);
      // Bodies without a Content-Length are read up to the limit, then passed through.
      const read = await readBody(upstream.body, maxObjectBytes);
      if (read.kind === 'too-large') return notStored(ask, upstream, read.head, 'too-large', true);
      if (read.kind === 'broken') {
        return { kind: 'failed', failure: { failed: true, code: 'TRUNCATED', message: 'the answer broke off before its end', timeout: false } };
      }
      const entry = makeEntry(ask, upstream, read.body);
      // The new answer replaces whatever variant this request would have been served before.
      store.put(entry, store.variants(ask.key).filter((v) => varyMatches(v, ask.req.headers)));
      hitForMiss.delete(missId(ask.key));
      return { kind: 'stored', entry, fwdStatus: upstream.status, upstreamStatus: headerValue(upstream.headers, 'cache-status') };
    } catch (err) {
      log(`${name}: fetching ${ask.key} failed unexpectedly: ${(err as Error).stack ?? err}`);
      return { kind: 'failed', failure: { failed: true, code: 'INTERNAL', message: `internal error: ${(err as Error).message}`, timeout: false } };
    }
  }

  /**
   * An answer we may not store. Unless it is a server error, it is newer than what we held for
   * this request, so that copy goes; and for a while this URL's requests stop queueing.
   */
  function notStored(ask: Ask, upstream: Upstream, head: Buffer[], detail: string, supersedes: boolean, forThisRequest = false): Outcome {
    if (supersedes) {
      for (const old of store.variants(ask.key).filter((v) => varyMatches(v, ask.req.headers))) store.remove(old);
      hitForMiss.delete(missId(ask.key)); // re-insert at the end: the Map stays in expiry order
      hitForMiss.set(missId(ask.key), clock() + HIT_FOR_MISS_MS);
      if (hitForMiss.size > 10_000) hitForMiss.delete(hitForMiss.keys().next().value!);
    }
    return { kind: 'not-stored', upstream, head, detail, forThisRequest };
  }

  function hitForMissActive(key: string): boolean {
    const id = missId(key);
    const until = hitForMiss.get(id);
    if (until !== undefined && until <= clock()) hitForMiss.delete(id);
    return until !== undefined && until > clock();
  }

  function makeEntry(ask: Ask, upstream: Upstream, body: Buffer): StoredResponse {
    const headers = storedHeaders(upstream.headers, upstream.responseTime);
    const vary = varyNames(headers);
    const names = vary === '*' ? [] : vary; // Vary: * is never stored (see storability)
    const freshness = freshnessLifetime(upstream.status, headers, upstream.responseTime);
    const entry: StoredResponse = {
      key: ask.key,
      status: upstream.status,
      headers,
      body,
      cacheControl: responseDirectives(headers).cc, // CDN-Cache-Control when valid, else Cache-Control
      varyNames: names,
      varyValues: names.map((n) => varyValue(ask.req.headers, n)),
      requestTime: upstream.requestTime,
      responseTime: upstream.responseTime,
      initialAge: initialAge(upstream.headers, upstream.requestTime, upstream.responseTime),
      lifetime: freshness.lifetime,
      lifetimeSource: freshness.source,
      size: 0,
    };
    entry.size = sizeOf(entry);
    return entry;
  }

  /** A 304 says our copy is current: take its headers and start its age again (RFC 9111 §4.3.4). */
  function freshen(entry: StoredResponse, upstream: Upstream): void {
    const headers = { ...entry.headers };
    for (const [field, value] of Object.entries(storedHeaders(upstream.headers, upstream.responseTime))) {
      if (!NOT_UPDATED_BY_304.has(field)) headers[field] = value;
    }
    const freshness = freshnessLifetime(entry.status, headers, upstream.responseTime);
    entry.headers = headers;
    entry.cacheControl = responseDirectives(headers).cc;
    entry.requestTime = upstream.requestTime;
    entry.responseTime = upstream.responseTime;
    entry.initialAge = initialAge(upstream.headers, upstream.requestTime, upstream.responseTime);
    entry.lifetime = freshness.lifetime;
    entry.lifetimeSource = freshness.source;
    store.resized(entry, sizeOf(entry));
  }

  function currentAge(entry: StoredResponse): number {
    return entry.initialAge + (clock() - entry.responseTime) / 1000; // + resident time
  }

  /** Inside the RFC 5861 window the origin gave for serving this copy stale? */
  function mayServeStale(entry: StoredResponse, window: 'whileRevalidate' | 'ifError'): boolean {
    if (forbidsStale(entry.cacheControl)) return false;
    const extra = staleWindows(entry.cacheControl)[window];
    return extra > 0 && currentAge(entry) < entry.lifetime + extra;
  }

  // ── Talking to the next tier ─────────────────────────────────────────────────────────────
  /** The request headers the next tier sees. */
  function upstreamHeaders(ask: Ask, forCache: boolean): http.OutgoingHttpHeaders {
    const headers = withoutHopByHop(ask.req.headers);
    // Framing is ours to set, from the body we actually send (requestUpstream), never the client's.
    delete headers['content-length'];
    delete headers['expect'];
    if (forCache) for (const field of CLIENT_CONDITIONS) delete headers[field];
    // The key has no port, so neither does what we ask for: an answer built for one port must
    // not be served to clients of another.
    headers['host'] = opts.upstreamHostHeader ?? ask.host;
    headers['via'] = appendList(ask.req.headers['via'], `1.1 ${name}`);
    headers['x-forwarded-for'] = appendList(ask.req.headers['x-forwarded-for'], ask.req.socket.remoteAddress ?? 'unknown');
    return headers;
  }

  /**
   * No less than headerSectionBytes(upstreamHeaders(ask)), without building them: what goes upstream
   * is the client's own header lines (some left out, repeated ones joined into one line, which only
   * shortens them), plus Host and our entries in Via and X-Forwarded-For, counted here as whole lines.
   */
  function forwardedAtMost(ask: Ask): number {
    const ours = { host: opts.upstreamHostHeader ?? ask.host, via: `, 1.1 ${name}`, 'x-forwarded-for': `, ${ask.req.socket.remoteAddress ?? 'unknown'}` };
    let bytes = headerSectionBytes(ask.method, ask.path, ours);
    const raw = ask.req.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) bytes += raw[i]!.length + raw[i + 1]!.length + 4; // "name: value\r\n", latin1
    return bytes;
  }

  /** One request to the upstream; resolves when its response headers arrive, or with why not.
   *  `asker`: the client it is for, who also gets any interim (1xx) answer. */
  function requestUpstream(method: string, path: string, headers: http.OutgoingHttpHeaders, body?: Buffer, asker?: Ask): Promise<Upstream | UpstreamFailure> {
    if (body) {
      headers['content-length'] = String(body.length);
      headers['connection'] = 'close';
    }
    const attempt = (mayRetry: boolean) =>
      new Promise<Upstream | UpstreamFailure>((resolve) => {
        fetches++;
        const requestTime = clock();
        let answered = false;
        const request = transport.request({
          protocol: upstreamUrl.protocol,
          hostname: upstreamUrl.hostname.replace(/^\[|\]$/g, ''),
          port: upstreamUrl.port || undefined,
          method,
          path: upstreamBasePath + path,
          headers,
          // A request with a body gets a connection of its own, closed after it: an upstream that
          // answers before reading all of it, or reads it differently, cannot leave bytes behind on
          // a connection that a later request reuses. bodyAgent caps how many at once; the
          // Connection: close set above is what closes each one (a non-keep-alive Agent with a
          // finite maxSockets still hands a finished socket to the next queued request).
          agent: body ? bodyAgent : agent,
          timeout: upstreamTimeoutMs,
          maxHeaderSize: MAX_RESPONSE_HEADER_BYTES,
          localAddress: sourceAddressFor(opts.host, upstreamUrl.hostname.replace(/^\[|\]$/g, '')),
        });
        request.on('response', (response) => {
          answered = true;
          response.on('error', () => {}); // a body cut off midway is noticed where it is read
          // Every line of Age, Expires, Last-Modified: Node's `headers` keeps only the first.
          const headers = withRepeatedLines(response.headers, response.headersDistinct);
          resolve({ status: response.statusCode ?? 502, headers, body: response, requestTime, responseTime: clock() });
        });
        request.on('timeout', () => {
          request.destroy(Object.assign(new Error(`no answer within ${upstreamTimeoutMs} ms`), { code: 'TIMEOUT' }));
        });
        request.on('error', (err: NodeJS.ErrnoException) => {
          if (answered) return;
          // A pooled connection the upstream closed just as we reused it: the request never got
          // there, so one more try on a fresh connection is safe (not for a body we streamed).
          if (mayRetry && request.reusedSocket && err.code === 'ECONNRESET') return resolve(attempt(false));
          resolve({ failed: true, code: err.code ?? 'ERROR', message: describeFailure(err), timeout: err.code === 'TIMEOUT' });
        });
        request.on('socket', (socket) => socket.off('data', dropOnUnaskedBytes));
        request.on('information', (info) => {
          if (asker) forwardInterim(asker, info.statusCode, info.headers);
        });
        request.end(body);
      });
    return attempt(!body);
  }

  /**
   * A 1xx from upstream is part of the answer to one request: a proxy forwards it (RFC 9110 §15.2)
   * to that client, and it is never stored. 103 Early Hints lets a browser fetch the page's style
   * sheet while the page itself is still being made (RFC 8297). 100 Continue answered our own
   * request's framing and 101 an upgrade we never ask for: those stop here. A client that
   * collapsed onto this fetch, or one already answered (a background refresh), gets none.
   */
  function forwardInterim(ask: Ask, status: number, headers: http.IncomingHttpHeaders): void {
    if (status !== 103 || ask.res.headersSent || ask.res.destroyed) return;
    const hints = withoutHopByHop(headers);
    if (hints['link'] === undefined) return; // Node sends no 103 without a Link, and nor would it help
    hints['via'] = appendList(headers['via'], `1.1 ${name}`);
    try {
      ask.res.writeEarlyHints(hints as Record<string, string | string[]>);
    } catch (err) {
      log(`${name}: a 103 from upstream for ${ask.key} could not be passed on: ${(err as Error).message}`);
    }
  }

  /** Throw away an upstream body we do not need: drain a small or empty one (which keeps the pooled
   *  connection usable), cut a big or unknown one short (which costs the connection). */
  function discard(upstream: Upstream): void {
    const bodiless = upstream.status === 304 || upstream.status === 204;
    if (bodiless || Number(upstream.headers['content-length'] ?? Infinity) <= 64 * 1024) upstream.body.resume();
    else upstream.body.destroy();
  }

  // ── Answering from a stored response ─────────────────────────────────────────────────────
  /**
   * Send a stored response: its headers with the current Age, our Cache-Status entry appended to
   * the upstream's (only when this very request went upstream), our Via. Then a 304 if the client
   * already has it, the range it asked for, or the whole body.
   */
  function answer(ask: Ask, entry: StoredResponse, params: Param[], upstreamStatus?: string): void {
    const { req, res } = ask;
    const age = currentAge(entry);
    const ttl = Math.floor(entry.lifetime - age); // negative when stale (RFC 9211 §2.5)
    const detail = params.filter(([p]) => p === 'detail');
    ask.ourEntry = formatCacheStatusEntry(name, [...params.filter(([p]) => p !== 'detail'), ['ttl', ttl], ...detail]);
    // Our fields, sent after the stored ones (see storedFieldList).
    const ours: Record<string, string> = {
      age: ageField(age),
      'cache-status': appendList(upstreamStatus, ask.ourEntry),
      via: appendList(entry.headers['via'], `1.1 ${name}`),
    };

    // The client already has this version (If-None-Match / If-Modified-Since): 304, no body.
    if (entry.status === 200 && notModified(req.headers, entry.headers)) {
      // RFC 9110 §15.4.5: only the fields a cache needs to update its copy (Last-Modified when
      // there is no ETag), plus ours.
      const keep = ['cache-control', 'cdn-cache-control', 'content-location', 'date', 'etag', 'expires', 'vary', 'age', 'cache-status', 'via'];
      if (entry.headers['etag'] === undefined) keep.push('last-modified');
      res.writeHead(304, Object.fromEntries(keep.map((f) => [f, ours[f] ?? entry.headers[f]]).filter(([, v]) => v !== undefined)));
      return void res.end();
    }

    let status = entry.status;
    let body = entry.body;
    if (status === 200) {
      if (entry.headers['accept-ranges'] === undefined) ours['accept-ranges'] = 'bytes';
      const range = headerValue(req.headers, 'range');
      if (range !== undefined && ifRangeAllows(req.headers, entry.headers)) {
        const wanted = parseRange(range, body.length);
        if (wanted === 'unsatisfiable') {
          const text = JSON.stringify({ error: 'range not satisfiable', reason: `${range} is outside the ${body.length} bytes of ${ask.key}` }) + '\n';
          res.writeHead(416, {
            'content-range': `bytes */${body.length}`,
            'content-type': 'application/json; charset=utf-8',
            'content-length': Buffer.byteLength(text),
            age: ours['age'],
            'cache-status': ours['cache-status'],
            via: ours['via'],
          });
          ask.bytes = Buffer.byteLength(text);
          return void res.end(req.method === 'HEAD' ? undefined : text);
        }
        if (wanted) {
          status = 206;
          body = body.subarray(wanted.start, wanted.end + 1);
          ours['content-range'] = `bytes ${wanted.start}-${wanted.end}/${entry.body.length}`;
        }
      }
    }
    if (status !== 204) ours['content-length'] = String(body.length); // a 204 has none (RFC 9110 §8.6)
    const fields = storedFieldList(entry.headers).slice();
    for (const field in ours) fields.push(field, ours[field]!);
    res.writeHead(status, fields);
    if (req.method === 'HEAD' || status === 204) return void res.end();
    ask.bytes = body.length;
    res.end(body);
  }

  // ── Passing through ──────────────────────────────────────────────────────────────────────
  /** Methods we do not cache, and requests we must not answer ourselves: straight upstream. */
  async function pass(ask: Ask, why: 'method' | 'bypass', hasBody = false): Promise<void> {
    const { req } = ask;
    let body: Buffer | undefined;
    if (hasBody) {
      // Read the whole body first (nginx's proxy_request_buffering), so that it goes upstream with
      // a Content-Length we counted ourselves, whatever framing it arrived in.
      const read = await readBody(req, MAX_REQUEST_BODY_BYTES);
      if (read.kind === 'broken') return void ask.res.destroy();
      if (read.kind === 'too-large') {
        ask.res.setHeader('connection', 'close');
        return reply(ask, 413, 'content too large', `${name} forwards request bodies of up to ${MAX_REQUEST_BODY_BYTES} bytes`);
      }
      body = read.body;
    }
    const upstream = await requestUpstream(ask.method, ask.path, upstreamHeaders(ask, false), body, ask);
    ask.label = why === 'method' ? 'PASS' : 'BYPASS';
    if ('failed' in upstream) return replyUpstreamFailure(ask, upstream, [['fwd', why]]);
    // RFC 9111 §4.4: a successful POST/PUT/DELETE changed the resource, so our copies are stale.
    if (!SAFE_METHODS.has(ask.method) && upstream.status < 400) {
      const purged = store.purge(ask.key);
      if (purged) ask.note = `, invalidated ${purged} stored response(s)`;
    }
    relay(ask, upstream, [['fwd', why]], []);
  }

  /** Stream an upstream answer to the client as it comes, with our Age, Cache-Status and Via. */
  function relay(ask: Ask, upstream: Upstream, params: Param[], head: Buffer[]): void {
    const { res } = ask;
    const upstreamStatus = headerValue(upstream.headers, 'cache-status');
    ask.ourEntry = formatCacheStatusEntry(name, params);
    ask.tiers = tierPath(upstreamStatus);
    const headers: http.OutgoingHttpHeaders = {
      ...storedHeaders(upstream.headers, upstream.responseTime),
      age: ageField(initialAge(upstream.headers, upstream.requestTime, upstream.responseTime)),
      'cache-status': appendList(upstreamStatus, ask.ourEntry),
      via: appendList(upstream.headers['via'], `1.1 ${name}`),
    };
    res.writeHead(upstream.status, headers);
    if (ask.method === 'HEAD') {
      discard(upstream); // we asked upstream for GET, to be able to store it
      return void res.end();
    }
    for (const chunk of head) {
      ask.bytes += chunk.length;
      res.write(chunk);
    }
    upstream.body.on('data', (chunk: Buffer) => (ask.bytes += chunk.length));
    upstream.body.pipe(res);
    // Cut off upstream: cut the client off too, so it can tell (rather than a short "complete" body).
    upstream.body.on('close', () => {
      if (!upstream.body.complete) res.destroy();
    });
    res.on('close', () => {
      if (!upstream.body.complete) upstream.body.destroy();
    });
  }

  // ── Answers of our own ───────────────────────────────────────────────────────────────────
  function replyJson(ask: Ask, status: number, value: unknown): void {
    const body = JSON.stringify(value) + '\n';
    ask.res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
    ask.bytes = ask.method === 'HEAD' ? 0 : Buffer.byteLength(body);
    ask.res.end(ask.method === 'HEAD' ? undefined : body);
  }

  function reply(ask: Ask, status: number, error: string, reason: string, cacheStatus?: string): void {
    if (!ask.label) ask.label = status >= 400 ? 'REJECTED' : 'LOCAL';
    if (cacheStatus) ask.res.setHeader('cache-status', cacheStatus);
    replyJson(ask, status, { error, reason });
  }

  function replyUpstreamFailure(ask: Ask, failure: UpstreamFailure, params: Param[]): void {
    ask.label = 'ERROR';
    ask.ourEntry = formatCacheStatusEntry(name, [...params, ['detail', failure.code]]);
    ask.tiers = [name, 'upstream'];
    const status = failure.timeout ? 504 : 502;
    const error = failure.timeout ? 'upstream timed out' : 'bad gateway';
    reply(ask, status, error, `${name} could not get ${ask.host}${ask.path} from its upstream ${opts.upstream}: ${failure.message}`, ask.ourEntry);
  }

  /** The tiers an answer came through, from the upstream's Cache-Status: 'edge → parent → origin'. */
  function tierPath(upstreamStatus: string | undefined): string[] {
    const tiers = [name];
    for (const member of parseCacheStatus(upstreamStatus).reverse()) {
      tiers.push(member.cache);
      if (member.hit) return tiers; // that tier answered
    }
    tiers.push('origin');
    return tiers;
  }

  // ── Start and stop ───────────────────────────────────────────────────────────────────────
  // One address cannot hold every connection the tier can take (servers/net/limits.ts); the http
  // and https ports count against one budget.
  guardConnections(listeners, opts.connectionLimits ?? DEFAULT_CONNECTION_LIMITS, (line) => log(`${name}: ${line}`));
  // The HTTP layer knows an https connection only once its handshake is done: close() must cut
  // the others itself, or they would hold it open until their handshake deadline.
  const tlsSockets = new Set<net.Socket>(); // every TCP connection of the https port
  tlsServer?.on('connection', (socket: net.Socket) => {
    tlsSockets.add(socket);
    socket.once('close', () => tlsSockets.delete(socket));
  });
  const closeAll = async () => {
    const closed = listeners.map(
      (listener) =>
        new Promise<void>((resolve) => {
          if (!listener.listening) return resolve();
          listener.close(() => resolve());
          listener.closeAllConnections();
        }),
    );
    for (const socket of tlsSockets) socket.destroy();
    agent.destroy();
    bodyAgent.destroy();
    await Promise.all(closed);
  };
  const address = await listen(server, name, opts.host, opts.port);
  let tlsPort: number | undefined;
  if (tlsServer && opts.tls) {
    try {
      tlsPort = (await listen(tlsServer, `${name} (https)`, opts.host, opts.tls.port)).port;
    } catch (err) {
      await closeAll(); // the http port too: a tier starts whole or not at all
      throw err;
    }
  }
  const urlHost = address.address.includes(':') ? `[${address.address}]` : address.address;
  return {
    name,
    host: address.address,
    port: address.port,
    url: `http://${urlHost}:${address.port}`,
    ...(tlsPort !== undefined && { tlsPort }),
    events,
    upstreamFetches: () => fetches,
    storedBytes: () => store.bytes,
    storedKeys: () => store.describe(),
    purgeToken,
    close: closeAll,
  };
}

// ── Small helpers ────────────────────────────────────────────────────────────────────────────

/**
 * The methods a cache forwards. GET and HEAD go through the cache; OPTIONS (CORS preflight), POST,
 * PUT, PATCH and DELETE are passed to the origin. Everything else gets 405: TRACE echoes the
 * request back, cookies and credentials included (RFC 9110 §9.3.8, the cross-site tracing attack),
 * CONNECT asks for a tunnel (§9.3.6), and other methods mean nothing to a site behind a CDN.
 */
export const FORWARDED_METHODS = ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE'];
/** Methods whose content has no defined meaning (RFC 9110 §9.3.1, §9.3.2, §9.3.5, §9.3.7). */
const NO_CONTENT_METHODS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS']);

export type Framing = { ok: true; body: boolean } | { ok: false; status: 400 | 405 | 501; error: string; reason: string };

/**
 * How a request may be forwarded, from its method and framing headers alone.
 *
 * Request smuggling lives in the gap between two parsers that disagree on where a request ends.
 * A proxy that drops Transfer-Encoding (it is hop-by-hop) and passes the body on without a
 * length lets the next hop read that body as the next request. So a body is only forwarded after
 * we read it ourselves, with a Content-Length we set; a body on a method that gives it no meaning
 * is refused; and any framing two parsers could read two ways is refused (RFC 9112 §6.1, §6.3):
 * Transfer-Encoding with Content-Length, a coding other than chunked, or Transfer-Encoding in
 * HTTP/1.0. (Node's parser already refuses duplicate Content-Length and obs-fold with 400.)
 */
export function forwardFraming(method: string, httpVersion: string, headers: http.IncomingHttpHeaders): Framing {
  if (!FORWARDED_METHODS.includes(method)) {
    return { ok: false, status: 405, error: 'method not allowed', reason: `a CDN cache forwards ${FORWARDED_METHODS.join(', ')}, not ${method}` };
  }
  const te = headers['transfer-encoding'];
  const cl = headers['content-length'];
  if (te !== undefined) {
    if (httpVersion === '1.0') return { ok: false, status: 400, error: 'bad framing', reason: 'Transfer-Encoding is not defined in HTTP/1.0 (RFC 9112 §6.1)' };
    if (cl !== undefined) return { ok: false, status: 400, error: 'bad framing', reason: 'both Transfer-Encoding and Content-Length: the length is ambiguous (RFC 9112 §6.1)' };
    if (te.trim().toLowerCase() !== 'chunked') {
      return { ok: false, status: 501, error: 'transfer coding not implemented', reason: `only "Transfer-Encoding: chunked" is accepted, not ${JSON.stringify(te.slice(0, 80))}` };
    }
  } else if (cl !== undefined && !/^\d+$/.test(cl)) {
    return { ok: false, status: 400, error: 'bad framing', reason: `Content-Length must be one decimal number, not ${JSON.stringify(cl.slice(0, 80))}` };
  }
  const hasBody = te !== undefined || (cl !== undefined && Number(cl) > 0);
  if (NO_CONTENT_METHODS.has(method)) {
    if (hasBody) return { ok: false, status: 400, error: 'body not allowed', reason: `a ${method} request must not carry a body through this cache` };
    return { ok: true, body: false };
  }
  return { ok: true, body: te !== undefined || cl !== undefined };
}

/** The size of a request's start line and header section on the wire, plus Node's own
 *  Connection header. Node reads header lines as latin1, one byte per character, and writes them
 *  so when the body is a Buffer or none, as requestUpstream sends it (a string body would make
 *  Node send the head as UTF-8): so a string's length is its size on the wire. */
export function headerSectionBytes(method: string, path: string, headers: http.OutgoingHttpHeaders): number {
  let bytes = `${method} ${path} HTTP/1.1\r\n\r\nconnection: keep-alive\r\n`.length;
  for (const field in headers) {
    const value = headers[field];
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) bytes += field.length + String(v).length + 4; // ": " and CRLF
  }
  return bytes;
}

/** Does `Authorization: Bearer <token>` carry this token? Compared in constant time. */
export function bearerMatches(authorization: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!m) return false;
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(m[1]!), digest(token));
}

/** The complete length in a Content-Range, `bytes 0-0/2097152` → 2097152; undefined when unknown (`/*`). */
export function completeLength(contentRange: string | undefined): number | undefined {
  const m = /^bytes\s+\d+-\d+\/(\d+)$/i.exec(contentRange?.trim() ?? '');
  return m ? Number(m[1]) : undefined;
}

/** 4xx answers that are about how the request was made, not about the resource: everything but
 *  404 Not Found and 410 Gone (RFC 9110 §15.5). */
export function aboutTheRequest(status: number): boolean {
  return status >= 400 && status < 500 && status !== 404 && status !== 410;
}

/** A pooled upstream connection that receives bytes while idle is out of step: drop it. */
function dropOnUnaskedBytes(this: net.Socket): void {
  this.destroy();
}

/** Does the client's own Cache-Control let us answer from storage (RFC 9111 §5.2.1)? */
export function requestAcceptsStored(cc: CacheControl, age: number, ttl: number): boolean {
  if (cc.has('no-cache')) return false;
  const maxAge = deltaSeconds(cc, 'max-age');
  // max-age=0 is what a browser's reload sends: "check with the origin first". Read literally it
  // would still accept a copy exactly 0 s old; like Squid, we read it as the reload it is.
  if (maxAge !== undefined && (maxAge === 0 || age > maxAge)) return false;
  const minFresh = deltaSeconds(cc, 'min-fresh');
  return minFresh === undefined || ttl >= minFresh;
}

/** The client's reload: no-cache, or max-age=0 (what browsers send), as requestAcceptsStored reads them. */
function asksForReload(cc: CacheControl): boolean {
  return cc.has('no-cache') || deltaSeconds(cc, 'max-age') === 0;
}

/** A client asking for a checked copy never gets a stale one while we revalidate. */
function requestWantsValidation(cc: CacheControl): boolean {
  return cc.has('no-cache') || cc.has('max-age') || cc.has('min-fresh');
}

export function varyMatches(entry: StoredResponse, requestHeaders: HeaderBag): boolean {
  return entry.varyNames.every((field, i) => varyValue(requestHeaders, field) === entry.varyValues[i]);
}

/** Validators to revalidate a stored copy with. RFC 9111 §4.3.1 says to send both when we have both
 *  (nginx does too); an origin that knows ETags ignores If-Modified-Since then (RFC 9110 §13.2.2). */
function validatorsOf(entry: StoredResponse): http.OutgoingHttpHeaders {
  const validators: http.OutgoingHttpHeaders = {};
  const etag = headerValue(entry.headers, 'etag');
  const lastModified = lastModifiedValidator(entry.headers); // none from a Last-Modified that is no date
  if (etag !== undefined) validators['if-none-match'] = etag;
  if (lastModified !== undefined) validators['if-modified-since'] = lastModified;
  return validators;
}

/** Is a 304 about the version we hold (RFC 9111 §4.3.4)? */
function sameRepresentation(headers304: HeaderBag, entry: StoredResponse): boolean {
  const etag = headerValue(headers304, 'etag');
  const ours = headerValue(entry.headers, 'etag');
  if (etag !== undefined) return ours !== undefined && weakMatch(etag, ours);
  const lastModified = headerValue(headers304, 'last-modified');
  const ourLastModified = headerValue(entry.headers, 'last-modified');
  if (lastModified !== undefined && ourLastModified !== undefined) return lastModified === ourLastModified;
  return true; // no validator in the 304: it answers the request we made about this copy
}

/** Response headers as stored and passed on: no hop-by-hop, no Age or Cache-Status (we write
 *  our own), and a Date added if the upstream sent none, or none that is an HTTP-date (RFC 9110
 *  §6.6.1: a recipient with a clock MAY replace an invalid one with the time it received it).
 *  CDN-Cache-Control goes on, at every tier. RFC 9213 §3: CDN caches "will typically forward
 *  this header so that downstream CDN caches can use it as well", and MAY remove it only when it
 *  is known not to be used downstream. The parent must pass it on: the edges are CDN caches. The
 *  edge keeps it too: it is the same program and cannot know it is the last CDN hop (a workshop
 *  may chain tiers differently); the browser behind it is no CDN cache and ignores a targeted
 *  field not on its own target list (§2.2); and the learner sees at the phone both policies, the
 *  browser's and the CDN's, next to the Age that explains the gap (§2.3). */
function storedHeaders(headers: http.IncomingHttpHeaders, receivedAt: number): Record<string, string | string[]> {
  const out = withoutHopByHop(headers) as Record<string, string | string[]>;
  delete out['age'];
  delete out['cache-status'];
  if (parseHttpDate(headerValue(out, 'date'), receivedAt) === undefined) out['date'] = formatHttpDate(receivedAt);
  return out;
}


/** The fields an answer from storage writes itself, never copied from the stored ones. */
const WRITTEN_BY_US = new Set(['age', 'cache-status', 'via', 'content-length', 'content-range']);
const storedFieldLists = new WeakMap<object, string[]>();
/**
 * The stored fields as the flat list [name, value, name, value, …] that writeHead also takes,
 * made once per stored headers object (a 304 that freshens an entry gives it a new one). Every
 * HIT then copies one array of strings, whatever fields its origin sent: spreading header objects
 * of many shapes into a new one cost the edge about a fifth of its CPU per HIT (two whole labs side
 * by side under wrk, Node 26; README, "npm run bench").
 */
function storedFieldList(headers: Record<string, string | string[]>): string[] {
  let list = storedFieldLists.get(headers);
  if (list) return list;
  list = [];
  for (const field in headers) {
    if (WRITTEN_BY_US.has(field)) continue;
    const value = headers[field]!;
    if (typeof value === 'string') list.push(field, value);
    else for (const each of value) list.push(field, each);
  }
  storedFieldLists.set(headers, list);
  return list;
}

/** The proxies a Via header names: `1.1 parent, 1.1 edge-north` → ['parent', 'edge-north']. */
function viaNames(via: string | string[] | undefined): string[] {
  const text = Array.isArray(via) ? via.join(', ') : via ?? '';
  return splitOutsideQuotes(text, ',').map((hop) => hop.split(/\s+/)[1] ?? '');
}

/**
 * Host and path of a request. Clients send a path ("origin-form"); a server must also accept a
 * full URL ("absolute-form"), and then its authority wins over Host (RFC 9112 §3.2.2).
 */
function requestTarget(req: http.IncomingMessage): { host: string | undefined; path: string } | { error: string } {
  const url = req.url ?? '';
  const absolute = /^https?:\/\/([^/?#]*)(.*)$/is.exec(url);
  if (absolute) {
    const rest = absolute[2] ?? '';
    return { host: hostWithoutPort(absolute[1]), path: rest.startsWith('/') ? rest : `/${rest}` };
  }
  if (!url.startsWith('/')) return { error: `the request target must be a path starting with "/", not ${JSON.stringify(url.slice(0, 80))}` };
  return { host: hostWithoutPort(headerValue(req.headers, 'host')), path: url };
}

/** Why a path is refused, or undefined if it is fine. Only the path is checked, not the query. */
export function unsafePath(path: string): string | undefined {
  let raw = path.split('?', 1)[0] ?? '';
  // Decode what could hide a dot-segment or a separator, a few times over (%252e → %2e → .), so
  // an origin that decodes once more than we do still cannot be walked out of its root.
  for (let i = 0; i < 3 && /%25/i.test(raw); i++) raw = raw.replace(/%25/gi, '%');
  const decoded = raw.includes('%') ? raw.replace(/%2e/gi, '.').replace(/%2f/gi, '/').replace(/%5c/gi, '\\') : raw;
  if (/%00|\0/i.test(decoded)) return 'the path contains a NUL byte';
  if (decoded.includes('\\')) return 'the path contains a backslash; use "/" between segments';
  if (/(?:^|\/)\.\.?(?:\/|$)/.test(decoded)) {
    return 'the path contains a dot-segment ("." or ".."); ask for the resource by its plain path';
  }
  return undefined;
}

export function isLoopback(address: string): boolean {
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4 === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

function parseUpstream(name: string, upstream: string): URL {
  let url: URL;
  try {
    url = new URL(upstream);
  } catch {
    throw new Error(`${name}: the upstream must be a URL such as http://127.0.0.30:8080, not "${upstream}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${name}: the upstream must be an http:// or https:// URL, not "${upstream}"`);
  return url;
}

function describeFailure(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connection refused (ECONNREFUSED): nothing listens there';
    case 'ECONNRESET':
      return 'the connection was reset (ECONNRESET)';
    case 'ENOTFOUND':
      return 'its name does not resolve (ENOTFOUND)';
    case 'TIMEOUT':
      return err.message;
    default:
      return `${err.message}${err.code ? ` (${err.code})` : ''}`;
  }
}

type ReadResult = { kind: 'complete'; body: Buffer } | { kind: 'too-large'; head: Buffer[] } | { kind: 'broken' };

/** Read a body up to `limit` bytes. Past it, stop and hand back what was read (the rest waits). */
function readBody(body: http.IncomingMessage, limit: number): Promise<ReadResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (result: ReadResult) => {
      body.off('data', onData).off('end', onEnd).off('close', onBroken).off('error', onBroken);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size > limit) {
        body.pause();
        done({ kind: 'too-large', head: chunks });
      }
    };
    const onEnd = () => done({ kind: 'complete', body: Buffer.concat(chunks) });
    const onBroken = () => done({ kind: 'broken' });
    body.on('data', onData).on('end', onEnd).on('close', onBroken).on('error', onBroken);
  });
}
