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
  /** The request being worked on and those waiting behind it. */
  tail: Promise<void>;
  queued: number;
  /** No more requests from this connection will be processed. */
  closing: boolean;
  /** Too many queued: those already queued are answered, then the connection is closed. */
  full: boolean;
}

export interface InTurn extends Handler {
  /** Requests received on this connection and not yet answered (waiting or in progress). */
  unanswered(socket: object): number;
}

export function inTurn(handle: Handler, maxQueued = 16): InTurn {
  const lines = new WeakMap<object, Line>();
  const unanswered = new WeakMap<object, number>();
  const serve = (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    unanswered.set(socket, (unanswered.get(socket) ?? 0) + 1);
    res.once('close', () => unanswered.set(socket, (unanswered.get(socket) ?? 1) - 1));
    let line = lines.get(socket);
    if (!line) lines.set(socket, (line = { tail: Promise.resolve(), queued: 0, closing: false, full: false }));
    const current = line;
    if (current.closing || current.full) return void req.resume();
    if (current.queued >= maxQueued) {
      // Those already queued are answered; this one and any after it are not, and then the
      // connection is closed.
      current.full = true;
      req.resume();
      void current.tail.then(() => socket.destroy());
      return;
    }
    current.queued++;
    current.tail = current.tail
      .then(async () => {
        if (current.closing) return void req.resume();
        const answered = new Promise<void>((resolve) => res.once('close', () => resolve()));
        await handle(req, res);
        await answered;
        if (closes(req, res)) current.closing = true;
      })
      .catch(() => {
        current.closing = true; // the handler reports its own errors; the connection is done
        socket.destroy();
      })
      .finally(() => current.queued--);
  };
  return Object.assign(serve, { unanswered: (socket: object) => unanswered.get(socket) ?? 0 });
}

/**
 * A 'clientError' listener for a server using inTurn. Bytes that arrive after a request that said
 * `Connection: close` are no error of the answer under way: it is sent, then the connection
 * closes (RFC 9112 §9.6); Node's own handler would answer 400 in its place and cut it. Anything
 * else is answered as Node does (431 for headers too large, 408 for too slow, else 400) if
 * nothing was written on the connection yet, and the connection is closed.
 */
export function clientErrorInTurn(turns: InTurn) {
  return (err: NodeJS.ErrnoException, socket: Duplex): void => {
    if (err.code === 'HPE_CLOSED_CONNECTION' && turns.unanswered(socket) > 0) return;
    const status = clientErrorStatus(err.code);
    const written = (socket as Duplex & { bytesWritten?: number }).bytesWritten ?? 0;
    if (status !== undefined && socket.writable && written === 0 && turns.unanswered(socket) === 0) {
      socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\n\r\n`);
    }
    socket.destroy();
  };
}

/** Did this exchange end the connection (the client's `Connection: close`, or ours)? */
function closes(req: IncomingMessage, res: ServerResponse): boolean {
  const close = (value: unknown) => /(^|,)\s*close\s*(,|$)/i.test(String(value ?? ''));
  return close(req.headers.connection) || close(res.getHeader('connection')) || !res.shouldKeepAlive;
}

/** The answer to a request Node could not parse, by its error code; undefined: nobody to answer. */
export function clientErrorStatus(code: string | undefined): number | undefined {
  if (code === 'HPE_HEADER_OVERFLOW') return 431; // RFC 6585 §5
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408; // RFC 9110 §15.5.9
  if (code?.startsWith('HPE_')) return 400; // not HTTP/1.1 as RFC 9112 defines it
  return undefined; // a reset, a TLS alert: nobody to answer
}
