// The SLB: a TLS-terminating load balancer in front of the app servers (seed §5 and §6).
//
// The phone's HTTPS connection ends here. The SLB holds the shop's certificate and private key,
// does the TLS handshake, reads the plain HTTP request, and forwards it over plain HTTP to one of
// the app servers, adding X-Forwarded-* headers so the app still knows who asked and how.
//
//   client ──TLS──▶ front door (TCP) ──▶ TLS + HTTP ──▶ choose an app ──HTTP──▶ app-1 / app-2
//
// By default the shop's port speaks forward-secret TLS only, and for the lesson a second, classic
// port speaks only the seed's TLS 1.2 RSA key exchange (tls 'both'; see net/tls-modes.ts).
//
// Read in this order: the key log, the TLS settings, the front door (first byte decides TLS or
// not), the request handler (which site, body, choice of app), forwarding, and start/close.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { listen, ListenError, sourceAddressFor } from './net/listen.ts';
import { DEFAULT_CONNECTION_LIMITS, guardConnections, type ConnectionGuard, type ConnectionLimits } from './net/limits.ts';
import { ensurePrivateFile, LogFile } from './net/log-file.ts';
import { slbListenerSettings, type SlbTlsMode, type TlsMode } from './net/tls-modes.ts';
import { Backend, DEFAULT_HEALTH_CHECK, type BackendConfig, type HealthCheckOptions } from './slb-health.ts';
import { startHealthChecks, type RunningChecks } from './net/health.ts';
import { appendList, hostWithoutPort, withoutHopByHop } from './proxy-headers.ts';
import { withoutToken } from './net/redact.ts';
import { clientErrorInTurn, inTurn } from './net/in-turn.ts';

export interface SlbTimeouts {
  /** From TCP accept to the end of the TLS handshake. */
  handshakeMs: number;
  /** A client must send all request headers within this (slowloris). */
  headersMs: number;
  /** ...and the whole request within this. */
  requestMs: number;
  /** An idle keep-alive connection from a client is closed after this. */
  idleMs: number;
  /** An app server must answer within this, else 504. */
  upstreamMs: number;
  /** Pooled idle connections to the apps are dropped after this: shorter than the apps' keep-alive
   *  timeout (10 s), so the SLB never sends a request on a connection the app is about to close. */
  upstreamIdleMs: number;
}

export const DEFAULT_TIMEOUTS: SlbTimeouts = {
  handshakeMs: 10_000,
  headersMs: 10_000,
  requestMs: 30_000,
  idleMs: 5_000,
  upstreamMs: 15_000,
  upstreamIdleMs: 4_000,
};

export interface SlbOptions {
  name?: string;
  host: string;
  port: number;
  /** What the SLB sends in its Certificate message: the leaf, then the intermediate (PEM). */
  cert: string;
  key: string;
  /** Host names this SLB serves; other Host headers get 421. */
  serverNames: string[];
  backends: BackendConfig[];
  /** 'both' (default): the shop's port is forward-secret only, and a second port is classic. */
  tls?: SlbTlsMode;
  /** With tls 'both', the classic listener's port on the same host (default 0: any free port). */
  classicPort?: number;
  /** NSS key log (SSLKEYLOGFILE format) so Wireshark can decrypt what the SLB terminates. */
  keyLogFile?: string;
  /** Connections held at once, per listener: in total and from one client address. */
  limits?: Partial<ConnectionLimits>;
  healthCheck?: Partial<HealthCheckOptions>;
  /** Source address of the health checks (default: `host`). One of their own keeps them apart from the story in a capture. */
  healthCheckFrom?: string;
  maxBodyBytes?: number;
  timeouts?: Partial<SlbTimeouts>;
  log?: (line: string) => void;
}

/** What the SLB did with one request; emitted as 'request' for the walkthrough and tests. */
export interface ForwardRecord {
  client: string;
  method: string;
  path: string;
  backend?: string;
  status: number;
  xForwardedFor?: string;
  tls: { protocol: string | null; cipher: string; servername: string | false | null };
  ms: number;
}

/** One TCP connection the SLB accepted on a front door; emitted as 'accept'. */
export interface AcceptRecord {
  /** The peer as the SLB's socket sees it: address:port. */
  client: string;
  /** The SLB's port it came in on. */
  port: number;
  /** Closed at once by the connection limits. */
  refused: boolean;
}

export interface RunningSlb {
  name: string;
  host: string;
  /** The shop's port: forward-secret TLS only (or classic only, when started with tls 'classic'). */
  port: number;
  /** The port that speaks the seed's TLS 1.2 RSA key exchange: the second listener with tls
   *  'both', the only one with 'classic'; undefined with 'modern'. */
  classicPort: number | undefined;
  backends: Backend[];
  /** The active health checks (servers/net/health.ts). */
  health: RunningChecks;
  /** 'accept' (AcceptRecord), 'request' (ForwardRecord), 'up' / 'down' (Backend) */
  events: EventEmitter;
  /** Resolves when every key log line of the handshakes so far is on disk: await it before
   *  reading the key log (it is written off the request path). */
  flushKeyLog(): Promise<void>;
  /** TCP connections held now, on all its ports. */
  connections(): number;
  close(): Promise<void>;
}

/** A connection with no byte in or out for this long is closed (a reader that stopped reading). */
const INACTIVE_MS = 30_000;

/** Request line and headers together, as nginx's large_client_header_buffers (4 × 8k) and Node's default. */
export const MAX_HEADER_BYTES = 16 * 1024;
/** The key log rotates at this size, one old file kept: at most 32 MiB of secrets on disk. */
const KEY_LOG_MAX_BYTES = 16 * 1024 * 1024;

// Errors that mean the TCP connection to the app was never made, so the request cannot have
// reached it and trying the next app is safe even for a POST.
const NEVER_CONNECTED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

export async function startSlb(opts: SlbOptions): Promise<RunningSlb> {
  const name = opts.name ?? 'slb';
  const timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
  const maxBodyBytes = opts.maxBodyBytes ?? 1024 * 1024;
  const log = opts.log ?? ((line: string) => console.log(line));
  const events = new EventEmitter();
  const servedNames = new Set(opts.serverNames.map((n) => n.toLowerCase()));

  const hc = { ...DEFAULT_HEALTH_CHECK, ...opts.healthCheck };
  const backends = opts.backends.map((b) => new Backend(b, hc));
  /** A backend changed state, by an active check or a passive one: say so, and tell listeners. */
  const announce = (b: Backend, change: 'up' | 'down' | undefined) => {
    if (!change) return;
    log(`${name}: ${b.name} (${b.address}) ${change === 'down' ? 'taken out of' : 'back in'} rotation: ${b.reason}`);
    events.emit(change, b);
  };
  // Pooled keep-alive connections to the apps, as nginx's `keepalive` upstream setting.
  // At most 128 connections to each app server: every one of them comes from the SLB's one address,
  // and an app holds at most 256 per client address (servers/net/limits.ts).
  const upstreamAgent = new http.Agent({ keepAlive: true, timeout: timeouts.upstreamIdleMs, maxSockets: 128 });

  // ── The key log ──────────────────────────────────────────────────────────────────────────
  // Every handshake adds lines, so strangers decide how much is written: the log is capped and
  // rotated, written off the request path, and a failure (full disk, read-only file) is said once
  // in the SLB's log while the SLB serves on. It is created 0600: it decrypts every session.
  const keyLog = opts.keyLogFile
    ? new LogFile({ file: opts.keyLogFile, maxBytes: KEY_LOG_MAX_BYTES, keep: 1, onProblem: (problem) => log(`${name}: key log: ${problem}`) })
    : undefined;
  if (keyLog) ensurePrivateFile(keyLog.file);

  // ── TLS and HTTP ─────────────────────────────────────────────────────────────────────────
  // One request at a time per connection (servers/net/in-turn.ts): pipelined requests wait
  // their turn, and nothing behind a `Connection: close` is forwarded.
  const serve = inTurn(async (req, res) => {
    await handleRequest(req, res).catch((err: Error) => {
      log(`${name}: unexpected error: ${err.stack ?? err.message}`);
      if (!res.headersSent) reply(res, 500, 'internal error', 'the SLB failed unexpectedly; see its log');
      else res.destroy();
    });
  });
  // Bytes that are not a request get a JSON 4xx that says why, in their turn (servers/net/in-turn.ts).
  const answerBadBytes = clientErrorInTurn(serve, (socket, status, err) => endThenLetGo(socket, rawReply(status, clientErrorReason(err.code, timeouts))));

  // One TLS terminator per listener, each with its own TLS settings; all hand their requests to
  // serve, above.
  function tlsTerminator(mode: TlsMode): https.Server {
    const server = https.createServer(
      {
        ...slbListenerSettings(mode),
        cert: opts.cert,
        key: opts.key,
        handshakeTimeout: timeouts.handshakeMs,
        // SNI: the client names the site in its ClientHello. This SLB has one certificate for all the
        // shop's names; a name it does not serve still gets it, and the client's name check fails.
        SNICallback: (servername, done) => {
          if (!servedNames.has(servername.toLowerCase())) {
            log(`${name}: SNI "${servername}" is not one of ours (${[...servedNames].join(', ')}); sending the default certificate`);
          }
          done(null, undefined); // undefined = the default context built from cert/key above
        },
        maxHeaderSize: MAX_HEADER_BYTES,
        // Absolute deadlines, from the request's first byte: a trickle of header lines does not
        // push them back (slowloris). Between requests, an idle connection is closed after idleMs
        // (Node 20 advertises idleMs in Keep-Alive and closes 1 s later, so a client that trusts
        // the header never sends on a connection being closed).
        headersTimeout: timeouts.headersMs,
        requestTimeout: timeouts.requestMs,
        keepAliveTimeout: timeouts.idleMs,
        connectionsCheckingInterval: Math.min(1000, timeouts.headersMs),
      },
      (req, res) => serve(req, res),
    );
    // A client that stops reading its answer makes no progress either way: let go of it after
    // INACTIVE_MS without a byte in or out.
    server.timeout = INACTIVE_MS;
    server.on('keylog', (line: Buffer) => keyLog?.write(line.toString('latin1')));
    server.on('secureConnection', (socket: tls.TLSSocket) => closeInStages(socket));
    // A failed handshake (garbage after a 0x16 byte, a client that rejects our certificate, no
    // shared cipher, a timeout) is the client's problem: log it, drop that connection, serve on.
    server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: tls.TLSSocket) => {
      log(`${name}: TLS handshake with ${socket.remoteAddress}:${socket.remotePort} failed: ${err.code ?? ''} ${err.message}`.trim());
    });
    // After the handshake: bytes that are not HTTP/1.1, a header block over MAX_HEADER_BYTES, a
    // request too slow to arrive. Node answers these only if nothing was written on the socket
    // yet, which over TLS (the handshake was written) means never: so answer here.
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      const peer = socket as tls.TLSSocket;
      if (err.code?.startsWith('ERR_SSL_')) {
        log(`${name}: TLS error on the connection from ${peer.remoteAddress}:${peer.remotePort}: ${err.code}; closed`);
      }
      answerBadBytes(err, socket);
    });
    return server;
  }

  // ── The front door ───────────────────────────────────────────────────────────────────────
  // A listening TCP socket. Every TLS connection starts with a handshake record, whose first
  // byte is 0x16. Anything else is not TLS: a plain HTTP request gets a plain 400 that says so
  // (as nginx does), other bytes are dropped. Only then is the socket handed to TLS.
  // Every TCP connection on a front door, until it closes. The HTTP layer only knows a connection
  // once its TLS handshake is done, so close() must cut the others (idle, mid-handshake) itself.
  const frontSockets = new Set<net.Socket>();
  const guards: ConnectionGuard[] = [];
  function frontDoor(terminator: https.Server, label: string): net.Server {
    // noDelay: a server that accepts its own sockets (http, https) turns Nagle's algorithm off; this
    // front door accepts for the TLS terminator, so it must too. With Nagle on, a response written
    // in two pieces waits for the client's delayed ACK (40 ms on Linux) between them (RFC 896, RFC 1122 §4.2.3.2).
    const front = net.createServer({ noDelay: true }, (socket) => {
      const accepted: AcceptRecord = { client: `${socket.remoteAddress}:${socket.remotePort}`, port: socket.localPort ?? 0, refused: socket.destroyed };
      events.emit('accept', accepted);
      if (socket.destroyed) return; // refused by the connection limits
      frontSockets.add(socket);
      socket.on('close', () => frontSockets.delete(socket));
      socket.on('error', () => {}); // a reset from the client is not our error
      socket.setTimeout(timeouts.handshakeMs, () => socket.destroy());
      socket.once('data', (first: Buffer) => {
        socket.setTimeout(0);
        socket.pause();
        if (first[0] === 0x16) {
          socket.unshift(first); // TLS reads it again from the start
          terminator.emit('connection', socket);
        } else if (/^[A-Z]+ /.test(first.subarray(0, 8).toString('latin1'))) {
          log(`${name}: plain HTTP from ${socket.remoteAddress}:${socket.remotePort} on the TLS port; answered 400`);
          endThenLetGo(socket, plainHttpOnTlsPort(socket.localPort));
        } else {
          log(`${name}: ${socket.remoteAddress}:${socket.remotePort} sent bytes that are neither TLS nor HTTP (first byte 0x${first[0]!.toString(16).padStart(2, '0')}); closed`);
          socket.destroy();
        }
      });
    });
    // Refused at accept, before a byte is read: too many connections in all, or from one address.
    guards.push(guardConnections(front, { ...DEFAULT_CONNECTION_LIMITS, ...opts.limits }, (line) => log(`${name} (${label}): ${line}`)));
    return front;
  }

  // ── One request ──────────────────────────────────────────────────────────────────────────
  async function handleRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = Date.now();
    const socket = req.socket as tls.TLSSocket;
    const servername = socket.servername;
    const record: ForwardRecord = {
      client: `${socket.remoteAddress}:${socket.remotePort}`,
      method: req.method ?? '',
      path: req.url ?? '',
      status: 0,
      tls: { protocol: socket.getProtocol(), cipher: socket.getCipher().standardName, servername },
      ms: 0,
    };
    res.on('finish', () => {
      record.status = res.statusCode;
      record.ms = Date.now() - started;
      log(`${name}: ${record.client} ${record.method} ${withoutToken(record.path)} → ${record.backend ?? 'answered by the SLB'} ${record.status} (${record.ms} ms, ${record.tls.protocol} ${record.tls.cipher})`);
      events.emit('request', record);
    });

    // 1. Which site is this for? Exactly one Host line (RFC 9112 §3.2). A request target in
    //    absolute-form names the site itself, and then Host is ignored (RFC 9112 §3.2.2).
    const hostLines = req.rawHeaders.filter((_, i) => i % 2 === 0 && req.rawHeaders[i]!.toLowerCase() === 'host').length;
    if (hostLines > 1) {
      res.setHeader('connection', 'close');
      return reply(res, 400, 'more than one Host', `the request has ${hostLines} Host header lines; RFC 9112 §3.2 allows exactly one`);
    }
    const target = siteAndPath(req.url ?? '/', req.headers.host);
    if ('error' in target) return reply(res, 400, target.error, target.reason);
    const host = hostWithoutPort(target.authority);
    if (!host) {
      return reply(res, 400, 'malformed Host header', `Host: ${JSON.stringify(target.authority.slice(0, 200))} is not a host name with an optional numeric port, such as www.geektime.test:443`);
    }
    // ...and one we serve? Else 421 Misdirected Request (RFC 9110 §15.5.20).
    const isOurAddress = host === socket.localAddress;
    if (!servedNames.has(host) && !isOurAddress) {
      return reply(res, 421, 'misdirected request', `this SLB serves ${[...servedNames].join(', ')}, not ${host}`);
    }
    if (servername && servername.toLowerCase() !== host && !isOurAddress) {
      return reply(res, 421, 'misdirected request', `TLS was set up for ${servername} (SNI) but the request is for ${host}`);
    }

    // 2. Read the whole body first (like nginx's request buffering): the apps never wait on a slow
    //    client, and a request refused by a dead app can be sent to the next one unchanged.
    const body = await readBody(req, maxBodyBytes);
    if (body === 'too large') {
      res.setHeader('connection', 'close');
      return reply(res, 413, 'request body too large', `the SLB accepts at most ${maxBodyBytes} bytes`);
    }
    if (body === 'aborted') return;

    // 3. Choose an app server and forward.
    forward(req, res, { authority: target.authority, path: target.path, body }, new Set(), record);
  }

  /** Round robin over the apps that are up and not yet tried for this request. */
  let nextIndex = 0;
  function chooseBackend(tried: Set<Backend>): Backend | undefined {
    for (let i = 0; i < backends.length; i++) {
      const candidate = backends[(nextIndex + i) % backends.length]!;
      if (candidate.up && !tried.has(candidate)) {
        nextIndex = (nextIndex + i + 1) % backends.length;
        return candidate;
      }
    }
    return undefined;
  }

  /** What goes to the app: the site as checked above, the path in origin-form, the whole body. */
  interface Outgoing {
    authority: string;
    path: string;
    body: Buffer;
  }

  function forward(req: http.IncomingMessage, res: http.ServerResponse, out: Outgoing, tried: Set<Backend>, record: ForwardRecord): void {
    const backend = chooseBackend(tried);
    if (!backend) {
      const states = backends.map((b) => `${b.name} ${b.up ? 'up' : 'down'} (${b.reason})`).join('; ');
      return reply(res, 503, 'no app server available', `every app server is down or refused the connection: ${states}`);
    }
    tried.add(backend);
    record.backend = backend.name;

    const headers = forwardedHeaders(req, out);
    record.xForwardedFor = headers['x-forwarded-for'] as string;
    backend.activeRequests++;
    const upstream = http.request({
      host: backend.url.hostname,
      port: backend.url.port,
      method: req.method,
      path: out.path,
      headers,
      agent: upstreamAgent,
      timeout: timeouts.upstreamMs,
      localAddress: sourceAddressFor(opts.host, backend.url.hostname),
    });
    upstream.on('response', (answer) => {
      const out = withoutHopByHop(answer.headers);
      out['via'] = appendList(answer.headers['via'], `1.1 ${name}`);
      res.writeHead(answer.statusCode ?? 502, out);
      answer.pipe(res);
      answer.on('error', () => res.destroy());
    });
    upstream.on('close', () => backend.activeRequests--);
    upstream.on('timeout', () => upstream.destroy(Object.assign(new Error('timeout'), { code: 'UPSTREAM_TIMEOUT' })));
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      if (res.headersSent) return void res.destroy(); // the answer was half sent: nothing honest left to say
      if (NEVER_CONNECTED.has(err.code ?? '')) {
        // The app was never reached: safe to try the next one, even for a POST.
        announce(backend, backend.markDown(`connection refused (${err.code}) while forwarding`));
        return forward(req, res, out, tried, record);
      }
      // The request may have reached the app. Retrying a POST could take the order twice, so
      // the client is told, and can retry with the same Idempotency-Key.
      const mayHaveArrived = `${req.method} ${req.url} may have reached ${backend.name}, so the SLB does not send it again; retry with the same Idempotency-Key`;
      if (err.code === 'UPSTREAM_TIMEOUT') {
        return reply(res, 504, 'app server timed out', `${backend.name} (${backend.address}) did not answer within ${timeouts.upstreamMs} ms; ${mayHaveArrived}`);
      }
      reply(res, 502, 'bad gateway', `${backend.name} (${backend.address}) failed before answering (${err.code ?? err.message}); ${mayHaveArrived}`);
    });
    upstream.end(out.body);
  }

  /** The request headers as the app sees them. */
  function forwardedHeaders(req: http.IncomingMessage, out: Outgoing): http.OutgoingHttpHeaders {
    const headers = withoutHopByHop(req.headers);
    headers['host'] = out.authority;
    // Append the address this TCP connection really came from. A client may send its own
    // X-Forwarded-For; it is kept (it may come from a proxy in front of us) but never replaces
    // what the SLB saw itself, which is always the last entry.
    headers['x-forwarded-for'] = appendList(req.headers['x-forwarded-for'], req.socket.remoteAddress ?? 'unknown');
    headers['x-forwarded-proto'] = 'https';
    headers['x-forwarded-host'] = out.authority;
    headers['content-length'] = String(out.body.length);
    headers['via'] = appendList(req.headers['via'], `1.1 ${name}`);
    return headers;
  }

  // ── Start and stop ───────────────────────────────────────────────────────────────────────
  const mode = opts.tls ?? 'both';
  const listeners: Array<{ front: net.Server; terminator: https.Server }> = [];
  async function open(listenerMode: TlsMode, port: number, label: string): Promise<number> {
    const terminator = tlsTerminator(listenerMode);
    const front = frontDoor(terminator, label);
    const address = await listen(front, label === 'shop' ? name : `${name} (${label} port)`, opts.host, port);
    listeners.push({ front, terminator });
    // The HTTP layer starts its header/request timeout checks when its server reports
    // 'listening'. Here the TCP front door is what listens, so pass that news on.
    terminator.emit('listening');
    return address.port;
  }
  const closeListeners = () => {
    const closed = listeners.map(({ front, terminator }) => {
      const done = new Promise<void>((resolve) => front.close(() => resolve()));
      terminator.close(); // stops the timeout checks; says "not running" because it never listened itself
      terminator.closeAllConnections();
      return done;
    });
    // Those still waiting for a first byte or in their handshake would hold front.close() until
    // handshakeMs runs out.
    for (const socket of frontSockets) socket.destroy();
    return Promise.all(closed);
  };

  const port = await open(mode === 'classic' ? 'classic' : 'modern', opts.port, 'shop');
  let classicPort = mode === 'classic' ? port : undefined;
  if (mode === 'both') {
    try {
      classicPort = await open('classic', opts.classicPort ?? 0, 'classic');
    } catch (err) {
      await closeListeners();
      // Not a ListenError: a caller that falls back to another shop port must not do so for this.
      throw new Error(err instanceof ListenError ? err.message : String(err));
    }
  }
  // Where checks leave from: the SLB's own address, or one kept for health checks alone.
  const health = startHealthChecks(
    backends.map((b) => ({ state: b, url: new URL(hc.path, b.url) })),
    { intervalMs: hc.intervalMs, timeoutMs: hc.timeoutMs, userAgent: 'lab-slb-health-check', from: opts.healthCheckFrom ?? opts.host },
    announce,
  );

  return {
    name,
    host: (listeners[0]!.front.address() as net.AddressInfo).address,
    port,
    classicPort,
    backends,
    health,
    events,
    flushKeyLog: () => keyLog?.flush() ?? Promise.resolve(),
    connections: () => guards.reduce((n, g) => n + g.active(), 0),
    close: async () => {
      health.stop();
      const closed = closeListeners();
      upstreamAgent.destroy();
      await closed;
      await keyLog?.flush();
    },
  };
}

// ── Small helpers ────────────────────────────────────────────────────────────────────────────

/**
 * The site and path a request is for. Origin-form (`/purchaseOrder`) takes the site from Host;
 * absolute-form (`https://www.geektime.test/purchaseOrder`, RFC 9112 §3.2.2) carries it in the
 * target, and Host is ignored. The app always gets origin-form.
 */
function siteAndPath(target: string, hostHeader: string | undefined): { authority: string; path: string } | { error: string; reason: string } {
  if (target.startsWith('/')) {
    if (!hostHeader) return { error: 'missing Host', reason: 'HTTP/1.1 requests must carry a Host header' };
    return { authority: hostHeader, path: target };
  }
  let url: URL | undefined;
  try {
    url = new URL(target);
  } catch {
    url = undefined;
  }
  if (!url || url.protocol !== 'https:' || url.username || url.password) {
    return { error: 'bad request target', reason: `${JSON.stringify(target.slice(0, 200))} is neither a path such as /purchaseOrder nor an https:// URL` };
  }
  return { authority: url.host, path: `${url.pathname}${url.search}` };
}


function clientErrorReason(code: string | undefined, timeouts: SlbTimeouts): { error: string; reason: string } {
  if (code === 'HPE_HEADER_OVERFLOW') {
    return { error: 'request header fields too large', reason: `the request line and headers must fit in ${MAX_HEADER_BYTES} bytes` };
  }
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return { error: 'request timeout', reason: `the headers must arrive within ${timeouts.headersMs} ms and the whole request within ${timeouts.requestMs} ms` };
  }
  return { error: 'bad request', reason: `the bytes received are not an HTTP/1.1 request (${code})` };
}

/**
 * Send a last answer and close. end() only half-closes: the connection stays open until the
 * client closes its side, and a slowloris client that never reads never does, so every refused
 * request would keep holding a descriptor and a place under the connection caps. Whatever the
 * client does, the connection is gone LAST_WORD_MS later.
 */
const LAST_WORD_MS = 1_000;
function endThenLetGo(socket: Duplex, last: string): void {
  socket.end(last);
  setTimeout(() => socket.destroy(), LAST_WORD_MS).unref();
}

/**
 * How long a connection the SLB has finished with waits for the client's close (below). Apache
 * waits up to 2 s for the client's bytes in its lingering close; nginx's lingering_timeout is 5 s.
 */
const LINGER_MS = 2_000;

/**
 * After an answer with `Connection: close`, close in stages, as RFC 9112 §9.6 says servers do
 * (Apache's lingering close; nginx's `lingering_close`): send close_notify (RFC 8446 §6.1, RFC 5246
 * §7.2.1) and a FIN, which close only our write side (FIN-WAIT-1), and keep reading until the
 * client's own close_notify and FIN arrive; then close (TIME-WAIT). Node's default closes the
 * socket outright right after the FIN: the client's close_notify, which TLS requires it to send,
 * then reaches a socket that no longer exists, and the kernel answers it with a reset (RST).
 * Node's HTTP server calls destroySoon() after the last answer; this is that call, in stages.
 */
function closeInStages(socket: tls.TLSSocket): void {
  socket.destroySoon = function (this: tls.TLSSocket) {
    if (this.writable) this.end(); // close_notify, then FIN: the read side stays open
    this.resume(); // read (and drop) what still comes; the client's close ends it (allowHalfOpen is off)
    const timer = setTimeout(() => this.destroy(), LINGER_MS).unref(); // a client that never closes
    this.once('close', () => clearTimeout(timer));
  };
}

/** A whole response written straight to the socket, for errors that come before any request object. */
function rawReply(status: number, { error, reason }: { error: string; reason: string }): string {
  const body = JSON.stringify({ error, reason }) + '\n';
  return (
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\n` +
    'Content-Type: application/json; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: close\r\n\r\n' +
    body
  );
}

function reply(res: http.ServerResponse, status: number, error: string, reason: string): void {
  const body = JSON.stringify({ error, reason }) + '\n';
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function plainHttpOnTlsPort(port: number | undefined): string {
  const text =
    `This is the SLB's HTTPS port: it speaks TLS, and your client sent plain HTTP.\n` +
    `Use https://www.geektime.test${port === 443 ? '' : `:${port}`}/ and trust the lab's root CA (.lab/certs/root.crt).\n`;
  return (
    'HTTP/1.1 400 Bad Request\r\n' +
    'Content-Type: text/plain; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(text)}\r\n` +
    'Connection: close\r\n\r\n' +
    text
  );
}

const NO_BODY = Buffer.alloc(0);

function readBody(req: http.IncomingMessage, limit: number): Buffer | Promise<Buffer | 'too large' | 'aborted'> {
  // RFC 9112 §6.3: a request with neither Content-Length nor Transfer-Encoding has no body. Most
  // requests (every GET) are answered without waiting for the stream's end, a turn of the loop later.
  if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined) return NO_BODY;
  return new Promise((resolve) => {
    if (Number(req.headers['content-length'] ?? 0) > limit) {
      req.resume();
      return resolve('too large');
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        resolve('too large');
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('aborted', () => resolve('aborted'));
    req.on('error', () => resolve('aborted'));
  });
}
