// What every DNS role shares: listening on UDP and TCP on one address and port, turning bytes
// into a question, and making sure no packet, however broken, can take the server down.
//
// Each role (root, TLD, authoritative, GSLB, resolver) only writes a handler:
//     (request, context) => response | undefined        (undefined = stay silent)
// This file does the rest, in the order a packet meets it:
//   1. the bytes are decoded (wire.ts: dns2, plus our own reading of the client subnet option);
//      a message without even a header never reaches us;
//   2. sanity: responses are ignored, unknown opcodes get NOTIMP, a message that is not exactly
//      one well-formed question gets FORMERR, so does a malformed client subnet (RFC 7871 §7.1),
//      an EDNS version other than 0 gets BADVERS;
//   3. the handler runs; if it throws or rejects, the client gets SERVFAIL and the log a line
//      (a rejected promise must never reach the event loop: it would end the process);
//   4. the answer goes back with the client's id, and with an OPT record if the client sent one;
//      over UDP cut to the size the client can take (TC set: "ask again over TCP").
//      A handler may also give the answer already encoded for this very query (encodeAnswer):
//      the resolver's message cache keeps answers as bytes.
//
// DNS over TCP holds a connection, so it has limits (RFC 7766 §6.2): so many connections in total
// and per client address (near the total cap the connection idle longest makes room), a deadline
// that only a whole query or answer resets (a client dripping a byte every few seconds is idle),
// and so many queries per connection waiting for an answer.
import dgram from 'node:dgram';
import net from 'node:net';
import dns2 from 'dns2';
import { bindUdp, listen } from '../net/listen.ts';
import { guardConnections, progressDeadline, type ConnectionGuard, type ConnectionLimits } from '../net/limits.ts';
import { decodeMessage, encodeMessage, type Decoded, type EcsVerdict } from './wire.ts';

export const { Packet } = dns2;
export type DnsPacket = dns2.Packet;
export type DnsRecord = dns2.Packet.Resource;
export type { EcsOption, EcsVerdict } from './wire.ts';

export interface DnsContext {
  client: { address: string; port: number };
  transport: 'udp' | 'tcp';
  /** The client subnet (EDNS Client Subnet) the query carried; never 'bad' here (that got FORMERR). */
  ecs: EcsVerdict;
}

/** A handler's answer: a packet, or the bytes encodeAnswer() made of one for this very query. */
export type DnsAnswer = DnsPacket | Buffer;

export type DnsHandler = (request: DnsPacket, context: DnsContext) => DnsAnswer | undefined | Promise<DnsAnswer | undefined>;

/** How a role's DNS over TCP is limited; every role passes these through. */
export interface TcpOptions {
  /** Connections held at once, in total and from one client address. Default 256 and 32. */
  tcpLimits?: ConnectionLimits;
  /** Close a connection after this long without a whole query in or answer out. Default 10 s. */
  tcpIdleMs?: number;
  /** Queries one connection may have waiting for their answers; reading stops there. Default 16. */
  tcpMaxPending?: number;
}

export interface DnsServerOptions extends TcpOptions {
  name: string;
  host: string;
  /** 0 = any free port (the same one for UDP and TCP). */
  port: number;
  handle: DnsHandler;
  log?: (line: string) => void;
}

export interface RunningDnsServer {
  name: string;
  host: string;
  port: number;
  /** The TCP listener's connections: held now, refused so far. */
  tcpConnections: ConnectionGuard;
  close(): Promise<void>;
}

/**
 * Unbound holds 10 TCP clients per thread, BIND 150 (tcp-clients): a role here may hold more, as
 * the lab's tests and workshops are many clients on one machine, but never the process's limit.
 */
export const DEFAULT_TCP_LIMITS: ConnectionLimits = { maxConnections: 256, maxPerClient: 32 };
/** RFC 7766 §6.2.3: idle timeouts of the order of seconds; dns2 used 10 s, as do we. */
export const DEFAULT_TCP_IDLE_MS = 10_000;
export const DEFAULT_TCP_MAX_PENDING = 16;

/** The EDNS(0) UDP payload size we advertise: the DNS Flag Day 2020 value, safe from fragmentation. */
export const EDNS_UDP_SIZE = 1232;

export function findOpt(packet: DnsPacket): DnsRecord | undefined {
  return packet.additionals.find((r) => r.type === Packet.TYPE.EDNS);
}

/** An empty answer to `request`: same id and question, QR set. */
export function responseTo(request: DnsPacket, rcode: number = Packet.RCODE.NOERROR): DnsPacket {
  const response = Packet.createResponseFromRequest(request);
  response.header.rcode = rcode;
  return response;
}

/** Check what every server must check before looking at the question; an answer means "stop". */
function screen({ packet: request, ecs }: Decoded): DnsPacket | 'ignore' | undefined {
  if (request.header.qr === 1) return 'ignore'; // a response sent to a server: answering could loop
  if (request.header.opcode !== 0) return Packet.createErrorResponseFromRequest(request, Packet.RCODE.NOTIMP);
  // RFC 6891 §6.1.1: more than one OPT record makes the message malformed (FORMERR).
  const opts = request.additionals.filter((r) => r.type === Packet.TYPE.EDNS).length;
  if (request.questions.length !== 1 || request.errors.length > 0 || ecs.kind === 'bad' || opts > 1) {
    const formErr = Packet.createErrorResponseFromRequest(withoutQuestions(request), Packet.RCODE.FORMERR);
    return formErr;
  }
  const opt = findOpt(request);
  if (opt && (opt.version ?? 0) !== 0) return Packet.createErrorResponseFromRequest(request, Packet.RCODE.BADVERS);
  return undefined;
}

/** A FORMERR must not echo a question we could not read. */
function withoutQuestions(request: DnsPacket): DnsPacket {
  const copy = new Packet();
  copy.header = new Packet.Header({ ...request.header });
  copy.additionals = request.additionals.filter((r) => r.type === Packet.TYPE.EDNS).slice(0, 1);
  return copy;
}

/** If the client spoke EDNS, answer with an OPT record (RFC 6891 §6.1.1), unless the handler made one. */
function finish(request: DnsPacket, response: DnsPacket): DnsPacket {
  response.header.id = request.header.id;
  response.header.qr = 1;
  response.header.rd = request.header.rd;
  if (findOpt(request) && !findOpt(response)) {
    response.additionals.push(Packet.Resource.EDNS([], { udpPayloadSize: EDNS_UDP_SIZE }));
  }
  return response;
}

/** The answer to `request` as the bytes that go out: what a handler that keeps its answers returns. */
export function encodeAnswer(request: DnsPacket, response: DnsPacket): Buffer {
  return encodeMessage(finish(request, response));
}

/** A handler's answer, finished for `request` (bytes are already). */
function finished(request: DnsPacket, response: DnsAnswer): DnsAnswer {
  return Buffer.isBuffer(response) ? response : finish(request, response);
}

/** The UDP payload the client can take: its EDNS size (RFC 6891 §6.2.3, never below 512), else 512. */
function udpLimitOf(request: DnsPacket): number {
  const opt = findOpt(request);
  return opt ? Math.max(opt.class, 512) : 512;
}

/** Too big for UDP: header and question only, with TC set (RFC 1035 §4.2.1), so the client asks over TCP. */
function fitUdp(response: DnsAnswer, limit: number): Buffer {
  const bytes = Buffer.isBuffer(response) ? response : encodeMessage(response);
  if (bytes.length <= limit) return bytes;
  const packet = Buffer.isBuffer(response) ? decodeMessage(response).packet : response;
  const truncated = new Packet();
  truncated.header = new Packet.Header({ ...packet.header, tc: 1 });
  truncated.questions = packet.questions.slice();
  return encodeMessage(truncated).subarray(0, limit);
}

function decodeOrUndefined(bytes: Buffer): Decoded | undefined {
  try {
    return decodeMessage(bytes);
  } catch {
    return undefined; // shorter than a header: not a DNS message at all
  }
}

export async function startDnsServer(opts: DnsServerOptions): Promise<RunningDnsServer> {
  const log = opts.log ?? (() => {});
  const tcpLimits = opts.tcpLimits ?? DEFAULT_TCP_LIMITS;
  const tcpIdleMs = opts.tcpIdleMs ?? DEFAULT_TCP_IDLE_MS;
  const tcpMaxPending = opts.tcpMaxPending ?? DEFAULT_TCP_MAX_PENDING;

  /**
   * The reply to one query: an early error (step 2), or the handler's answer (step 3) finished
   * (step 4); undefined = stay silent. A handler that answers at once (an authoritative server
   * looks in its zones) gets its answer sent at once, without a promise per query: on Node 20 each
   * promise pays for the roles' AsyncLocalStorage. The resolver may have to walk the tree first.
   */
  function answer(decoded: Decoded, context: DnsContext): DnsAnswer | undefined | Promise<DnsAnswer | undefined> {
    const request = decoded.packet;
    const early = screen(decoded);
    if (early === 'ignore') return undefined;
    if (early) {
      const why = decoded.ecs.kind === 'bad' ? decoded.ecs.why : request.errors.map((e) => e.message).join('; ') || `${request.questions.length} questions`;
      log(`${opts.name}: ${context.client.address}:${context.client.port} sent a malformed query (${why}); answered ${rcodeName(early.header.rcode)}`);
      return early;
    }
    let response: ReturnType<DnsHandler>;
    try {
      response = opts.handle(request, context);
    } catch (err) {
      return handlerFailed(request, err);
    }
    if (response instanceof Promise) return response.then((r) => r && finished(request, r), (err: unknown) => handlerFailed(request, err));
    return response && finished(request, response);
  }

  function handlerFailed(request: DnsPacket, err: unknown): DnsPacket {
    log(`${opts.name}: handler failed on ${request.questions[0]?.name}: ${(err as Error).stack ?? err}`);
    return finish(request, Packet.createErrorResponseFromRequest(request, Packet.RCODE.SERVFAIL));
  }

  function failedToSend(context: DnsContext, err: Error): void {
    log(`${opts.name}: could not send an answer to ${context.client.address}: ${err.message}`);
  }

  // ── UDP: one datagram, one query, one answer ──
  // (No function is named inside the per-datagram code: tsx keeps names by wrapping each named
  // function in a call that defines its `name`, once per datagram, a cost worth a few per cent.)
  function serveUdp(udp: dgram.Socket) {
    function reply(response: DnsAnswer | undefined, limit: number, context: DnsContext): void {
      if (!response) return;
      try {
        udp.send(fitUdp(response, limit), context.client.port, context.client.address, (err) => err && failedToSend(context, err));
      } catch (err) {
        failedToSend(context, err as Error); // an answer dns2 cannot encode
      }
    }
    udp.on('message', (bytes, from) => {
      const decoded = decodeOrUndefined(bytes);
      if (!decoded) return; // stay silent, as BIND does
      const context: DnsContext = { transport: 'udp', client: { address: from.address, port: from.port }, ecs: decoded.ecs };
      const limit = udpLimitOf(decoded.packet);
      let response: ReturnType<typeof answer>;
      try {
        response = answer(decoded, context);
      } catch (err) {
        return failedToSend(context, err as Error); // a message too odd even to answer with an error
      }
      if (response instanceof Promise) response.then((r) => reply(r, limit, context), (err: Error) => failedToSend(context, err));
      else reply(response, limit, context);
    });
    udp.on('error', (err) => log(`${opts.name}: UDP: ${err.message}`));
  }

  // ── TCP: each message preceded by its length in two octets (RFC 1035 §4.2.2), pipelined (RFC 7766 §6.2.1.1) ──
  const connections = new Set<net.Socket>();
  /** Connections with no query in progress and no answer waiting, longest idle first (a Map keeps insertion order). */
  const idle = new Map<net.Socket, true>();
  const markIdle = (socket: net.Socket, isIdle: boolean) => {
    idle.delete(socket);
    if (isIdle && !socket.destroyed) idle.set(socket, true);
  };
  /**
   * Nearly full: the connection idle longest makes room (RFC 7766 §6.2.3: a server under pressure
   * may close idle connections; clients reconnect). Without this, a few addresses holding idle
   * connections up to the total cap would shut every other client out of TCP until they time out.
   */
  const makeRoom = (guard: ConnectionGuard, newcomer: net.Socket) => {
    if (guard.active() < tcpLimits.maxConnections - Math.max(1, Math.floor(tcpLimits.maxConnections / 16))) return;
    // Not for a client the per-client cap will refuse anyway.
    let theirs = 0;
    for (const c of connections) if (c.remoteAddress === newcomer.remoteAddress && !c.destroyed) theirs++;
    if (theirs >= tcpLimits.maxPerClient) return;
    const [oldest] = idle.keys();
    if (oldest) {
      idle.delete(oldest);
      oldest.destroy();
      // Its slot is free now, not at its 'close' a turn later: else a burst of newcomers at the cap
      // is refused anyway, and the idle connections were closed for nothing.
      guard.release(oldest);
    }
  };
  function serveTcp(socket: net.Socket) {
    if (socket.destroyed) return; // refused by the connection guard
    connections.add(socket);
    markIdle(socket, true);
    socket.once('close', () => {
      connections.delete(socket);
      idle.delete(socket);
    });
    socket.on('error', () => {}); // a reset is the client's business; 'close' follows
    const client = { address: socket.remoteAddress ?? '?', port: socket.remotePort ?? 0 };
    const deadline = progressDeadline(socket, tcpIdleMs);
    let buffered: Buffer = Buffer.alloc(0);
    let working = 0; // queries whose handler has not finished
    let unsent = 0; // answers not yet handed to the kernel: a client that does not read keeps them here
    let peerEnded = false;

    const closeIfDone = () => {
      if (peerEnded && working === 0 && unsent === 0 && !socket.destroyed) socket.end();
    };
    /** An answer was made or has left: the clock starts again, reading may go on (it stops at tcpMaxPending). */
    const afterProgress = () => {
      if (working === 0) deadline.progress();
      markIdle(socket, working === 0 && unsent === 0);
      readMessages();
      closeIfDone();
    };
    const send = (p: DnsAnswer | undefined) =>
      new Promise<void>((resolve) => {
        if (!p) return resolve();
        const message = Buffer.isBuffer(p) ? p : encodeMessage(p);
        const length = Buffer.alloc(2);
        length.writeUInt16BE(message.length);
        unsent++;
        if (socket.destroyed) return resolve();
        socket.write(Buffer.concat([length, message]), () => {
          unsent--;
          afterProgress();
          resolve();
        });
      });

    function readMessages() {
      while (!socket.destroyed && working + unsent < tcpMaxPending && buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const bytes = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
        buffered = buffered.subarray(2 + bytes.length);
        const decoded = decodeOrUndefined(bytes);
        if (!decoded) return void socket.destroy(); // not DNS
        // A query is being worked on: the connection is not idle until its answer has left.
        if (working++ === 0) deadline.stop();
        markIdle(socket, false);
        const context: DnsContext = { transport: 'tcp', client, ecs: decoded.ecs };
        new Promise<DnsAnswer | undefined>((resolve) => resolve(answer(decoded, context)))
          .then(send)
          .catch((err: Error) => failedToSend(context, err))
          .finally(() => {
            working--;
            afterProgress();
          });
      }
      // At the cap, stop reading: TCP's own flow control then slows the client down.
      if (working + unsent >= tcpMaxPending) socket.pause();
      else if (socket.isPaused()) socket.resume();
    }

    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
      readMessages();
    });
    socket.on('end', () => {
      peerEnded = true;
      if (buffered.length > 0 && working + unsent < tcpMaxPending) return void socket.destroy(); // closed mid-message
      closeIfDone();
    });
  }

  // UDP first, on the port asked for; TCP on the same port number. With port 0 the UDP port is
  // chosen by the OS and, rarely, that number is taken for TCP: then try again.
  for (let attempt = 1; ; attempt++) {
    const udp = dgram.createSocket(net.isIPv6(opts.host) ? 'udp6' : 'udp4');
    serveUdp(udp);
    const udpAddress = await bindUdp(udp, opts.name, opts.host, opts.port);
    // allowHalfOpen: a client may send its query and close its side at once (socket.end(query)); it still gets the answer.
    const tcp = net.createServer({ allowHalfOpen: true });
    const guard = guardConnections(tcp, tcpLimits, (line) => log(`${opts.name}: DNS over TCP: ${line}`));
    tcp.on('connection', serveTcp);
    tcp.prependListener('connection', (socket: net.Socket) => makeRoom(guard, socket)); // before the guard counts this one
    try {
      await listen(tcp, opts.name, opts.host, udpAddress.port);
    } catch (err) {
      udp.close();
      if (opts.port === 0 && attempt < 5) continue;
      throw err;
    }
    return {
      name: opts.name,
      host: udpAddress.address,
      port: udpAddress.port,
      tcpConnections: guard,
      close: () =>
        new Promise<void>((resolve) => {
          udp.close();
          tcp.close(() => resolve());
          for (const socket of connections) socket.destroy();
        }),
    };
  }
}

const RCODE_NAMES = new Map(Object.entries(Packet.RCODE).map(([name, code]) => [code as number, name]));
export function rcodeName(rcode: number): string {
  return RCODE_NAMES.get(rcode) ?? `RCODE${rcode}`;
}
