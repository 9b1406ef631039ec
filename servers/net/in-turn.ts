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
import type { IncomingMessage, ServerResponse } from 'node:http';

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

export function inTurn(handle: Handler, maxQueued = 16): Handler {
  const lines = new WeakMap<object, Line>();
  return (req, res) => {
    const socket = req.socket;
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
}

/** Did this exchange end the connection (the client's `Connection: close`, or ours)? */
function closes(req: IncomingMessage, res: ServerResponse): boolean {
  const close = (value: unknown) => /(^|,)\s*close\s*(,|$)/i.test(String(value ?? ''));
  return close(req.headers.connection) || close(res.getHeader('connection')) || !res.shouldKeepAlive;
}
