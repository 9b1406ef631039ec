// HTTP/1.1 pipelining, handled the way nginx and HAProxy handle it: a client may send several
// requests on one connection without waiting for the answers (RFC 9112 §9.3.2), but the server
// works on them one at a time, in order. Node parses every pipelined request at once and hands
// them all over together; without this, one connection carrying thousands of small requests would
// start thousands of upstream requests in the same instant and starve every other client.
//
// Two more rules from RFC 9112 §9.6: once a request says `Connection: close`, or an answer is sent
// with it, the server "MUST NOT process any further requests received on that connection"; the
// requests queued behind it are dropped, never forwarded. And a client that queues more than
// `maxQueued` requests without waiting is not a browser: the first `maxQueued` are answered, the
// rest dropped, and its connection closed.
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

interface Line {
  /** Requests received and not yet done, the one being worked on first. */
  queue: Turn[];
  /** No more requests from this connection will be processed. */
  closing: boolean;
  /** Too many queued: those already queued are answered, then the connection is closed. */
  full: boolean;
}

interface Turn {
  req: IncomingMessage;
  res: ServerResponse;
  /** A turn is over when the handler has returned (or failed) and the answer has closed: 2, 1, 0. */
  waiting: number;
  /** Its handler has been called. */
  started: boolean;
}

export interface InTurn extends Handler {
  /** Requests received on this connection and not yet answered (waiting or in progress). */
  unanswered(socket: object): number;
  /** Call `then` once every request received on this connection is answered (now, if none waits). */
  whenAnswered(socket: object, then: () => void): void;
}

export function inTurn(handle: Handler, maxQueued = 16): InTurn {
  const lines = new WeakMap<object, Line>();
  const unanswered = new WeakMap<object, number>();
  const waiters = new WeakMap<object, Array<() => void>>();

  /** Start the request at the head of the line, or drop it if the connection is closing or gone. */
  function next(line: Line, socket: Duplex): void {
    for (let turn = line.queue[0]; turn; turn = line.queue[0]) {
      // A connection that is closing, or already gone (the client left while an earlier answer
      // was being made): the requests still queued are never processed, nor sent upstream.
      if (line.closing || socket.destroyed) {
        turn.req.resume(); // its bytes are read and thrown away
        line.queue.shift();
        continue;
      }
      turn.started = true;
      let handled: void | Promise<void>;
      try {
        handled = handle(turn.req, turn.res);
      } catch {
        return failed(line, socket, turn);
      }
      // A handler that answered at once (a cache HIT) is done now: no promise to wait for.
      if (handled instanceof Promise) handled.then(() => over(line, socket, turn), () => failed(line, socket, turn));
      else over(line, socket, turn);
      return;
    }
    if (line.full) socket.destroy();
  }

  /** The handler failed: it reports its own errors; the connection is done. */
  function failed(line: Line, socket: Duplex, turn: Turn): void {
    line.closing = true;
    socket.destroy();
    over(line, socket, turn);
  }

  /** One of the two ends of a turn; after both, the next request's turn. */
  function over(line: Line, socket: Duplex, turn: Turn): void {
    if (--turn.waiting > 0) return;
    if (closes(turn.req, turn.res)) line.closing = true;
    line.queue.shift();
    next(line, socket);
  }

  /** An answer has closed: one fewer to wait for, and if its turn had started, one end of it. */
  function closed(line: Line, socket: Duplex, turn: Turn): void {
    const left = (unanswered.get(socket) ?? 1) - 1;
    unanswered.set(socket, left);
    const then = left === 0 ? waiters.get(socket) : undefined;
    if (then) {
      waiters.delete(socket);
      for (const f of then) f();
    }
    if (turn.started) over(line, socket, turn);
  }

  const serve = (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    let line = lines.get(socket);
    if (!line) lines.set(socket, (line = { queue: [], closing: false, full: false }));
    const turn: Turn = { req, res, waiting: 2, started: false };
    unanswered.set(socket, (unanswered.get(socket) ?? 0) + 1);
    res.once('close', () => closed(line, socket, turn));
    if (line.closing || line.full) return void req.resume();
    if (line.queue.length >= maxQueued) {
      // Those already queued are answered; this one and any after it are not, and then the
      // connection is closed (next() does, when the line is empty).
      line.full = true;
      return void req.resume();
    }
    line.queue.push(turn);
    if (line.queue.length === 1) next(line, socket);
  };
  const whenAnswered = (socket: object, then: () => void) => {
    if (!unanswered.get(socket)) return then();
    waiters.set(socket, [...(waiters.get(socket) ?? []), then]);
  };
  return Object.assign(serve, { unanswered: (socket: object) => unanswered.get(socket) ?? 0, whenAnswered });
}

/** How a server answers bytes it could not parse, once their turn has come. */
export type AnswerBadBytes = (socket: Duplex, status: number, err: NodeJS.ErrnoException) => void;

/**
 * A 'clientError' listener for a server using inTurn. Bytes that arrive after a request that said
 * `Connection: close` are no error of the answer under way: it is sent, then the connection
 * closes (RFC 9112 §9.6); Node's own handler would answer 400 in its place and cut it. Anything
 * else is answered as Node does (431 for headers too large, 408 for too slow, else 400), but
 * only once the requests received before the bad bytes have their answers, in order: Node answers
 * only while nothing was written on the connection, and cuts the answers under way. Then the
 * connection is closed. `answer` writes that answer (default: the status line alone, as Node).
 */
export function clientErrorInTurn(turns: InTurn, answer: AnswerBadBytes = statusLineOnly) {
  const answering = new WeakSet<Duplex>();
  return (err: NodeJS.ErrnoException, socket: Duplex): void => {
    if (err.code === 'HPE_CLOSED_CONNECTION' && turns.unanswered(socket) > 0) return;
    const status = clientErrorStatus(err.code);
    if (status === undefined) return void socket.destroy();
    // Node's parser stays in error and reports it again for every later chunk: one answer.
    if (answering.has(socket)) return;
    answering.add(socket);
    turns.whenAnswered(socket, () => {
      if (!socket.writable) return void socket.destroy(); // an answer said Connection: close
      answer(socket, status, err);
    });
  };
}

function statusLineOnly(socket: Duplex, status: number): void {
  socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\n\r\n`);
  (socket as Duplex & { destroySoon(): void }).destroySoon(); // once the bytes are out
}

/** Did this exchange end the connection (the client's `Connection: close`, or ours)? */
function closes(req: IncomingMessage, res: ServerResponse): boolean {
  return saysClose(req.headers.connection) || saysClose(res.getHeader('connection')) || !res.shouldKeepAlive;
}

function saysClose(value: unknown): boolean {
  return /(^|,)\s*close\s*(,|$)/i.test(String(value ?? ''));
}

/** The answer to a request Node could not parse, by its error code; undefined: nobody to answer. */
export function clientErrorStatus(code: string | undefined): number | undefined {
  if (code === 'HPE_HEADER_OVERFLOW') return 431; // RFC 6585 §5
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408; // RFC 9110 §15.5.9
  if (code?.startsWith('HPE_')) return 400; // not HTTP/1.1 as RFC 9112 defines it
  return undefined; // a reset, a TLS alert: nobody to answer
}
