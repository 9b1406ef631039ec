// Limits every TCP listener of the lab keeps, so that no client, however many connections it
// opens or however slowly it talks, can use up the process's file descriptors or hold a role
// hostage (RFC 7766 §6.2 says the same of DNS over TCP: a server should limit the connections it
// holds, per client too, and may close idle ones).
//
// Two mechanisms, used by every role that listens on TCP:
//   guardConnections(server, limits)   refuses a connection over the total or per-client cap
//                                      the moment it is accepted (it is closed, never read);
//   progressDeadline(socket, ms)       closes a connection that has not completed a message for
//                                      `ms`: a trickle of bytes does not count as progress, only
//                                      the protocol saying "a whole request arrived" does.
import type { Server, Socket } from 'node:net';

export interface ConnectionLimits {
  /** Connections held at once, over all clients. */
  maxConnections: number;
  /** Connections held at once from one client address. */
  maxPerClient: number;
  /** How long a connection may send nothing before a newcomer at a cap takes its place (SILENT_MS). */
  silentMs?: number;
}

/**
 * Defaults for a lab role. The per-client cap leaves room for a browser (6 per host), a load test
 * of a few hundred and the lab's own tests (50 concurrent requests from one address), and stops
 * one address from taking a whole role.
 */
export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = { maxConnections: 1024, maxPerClient: 256 };

/** How long a connection may stay silent (not one byte sent) before a newcomer at a cap may take its place. */
export const SILENT_MS = 2_000;

export interface ConnectionGuard {
  /** Connections held now. */
  active(): number;
  /** Connections refused so far. */
  refused(): number;
  /** Silent connections closed to make room for a newcomer, so far. */
  evicted(): number;
  /**
   * The server is closing `socket` itself (e.g. to make room): free its slot now rather than at its
   * 'close' event, which comes a turn of the event loop later, after a burst of newcomers was
   * already refused. Idempotent with that 'close'; unknown sockets are ignored.
   */
  release(socket: Socket): void;
}

/**
 * Count the server's connections by client address and close, at once, any that goes over a cap.
 * `report` hears about refusals at most once every 10 s, with the count since the last report, so
 * a flood cannot flood the log as well. Several listeners of one role (a cache's http and https
 * ports) share one count: a second port must not double what one client may hold.
 */
export function guardConnections(server: Server | Server[], limits: ConnectionLimits, report: (line: string) => void = () => {}): ConnectionGuard {
  const perClient = new Map<string, number>();
  /** The sockets counted in `active`, with the client address each is counted under. */
  const held = new Map<Socket, string>();
  const openedAt = new WeakMap<Socket, number>();
  let active = 0;
  let evicted = 0;
  let refused = 0;
  let unreported = 0;
  let lastReport = 0;

  const refuse = (socket: Socket, why: string) => {
    refused++;
    unreported++;
    socket.destroy();
    const now = Date.now();
    if (now - lastReport >= 10_000) {
      report(`refused ${unreported} connection(s): ${why}`);
      unreported = 0;
      lastReport = now;
    }
  };

  /**
   * At a cap, a connection that has not sent a single byte for silentMs gives its place to the
   * newcomer: a client that connects and says nothing (a port scan, a slowloris that has not even
   * started) must not lock out everyone who comes after. Oldest first; of one client, at its cap.
   */
  const evictSilent = (client?: string): boolean => {
    const now = Date.now();
    for (const [socket, owner] of held) {
      if (client !== undefined && owner !== client) continue;
      const since = openedAt.get(socket) ?? now;
      if (now - since < (limits.silentMs ?? SILENT_MS)) break; // the rest are younger still
      if (socket.bytesRead > 0) continue;
      evicted++;
      socket.destroy();
      release(socket);
      return true;
    }
    return false;
  };

  // prependListener: ours runs before the protocol's (http, tls), so a refused socket is never read.
  const accept = (socket: Socket) => {
    const client = socket.remoteAddress ?? 'unknown';
    if (active >= limits.maxConnections && !evictSilent()) return refuse(socket, `${active} open, the cap is ${limits.maxConnections}`);
    if ((perClient.get(client) ?? 0) >= limits.maxPerClient && !evictSilent(client)) {
      return refuse(socket, `${client} holds ${perClient.get(client)}, the per-client cap is ${limits.maxPerClient}`);
    }
    const mine = perClient.get(client) ?? 0;
    openedAt.set(socket, Date.now());
    active++;
    perClient.set(client, mine + 1);
    held.set(socket, client);
    socket.once('close', () => release(socket));
  };
  for (const listener of Array.isArray(server) ? server : [server]) listener.prependListener('connection', accept);

  /** Once per socket, whichever comes first: release() or its 'close'. */
  const release = (socket: Socket) => {
    const client = held.get(socket);
    if (client === undefined) return;
    held.delete(socket);
    active--;
    const left = (perClient.get(client) ?? 1) - 1;
    if (left <= 0) perClient.delete(client);
    else perClient.set(client, left);
  };

  return { active: () => active, refused: () => refused, evicted: () => evicted, release };
}

export interface ProgressDeadline {
  /** A whole message arrived (or left): the clock starts again. */
  progress(): void;
  /** The connection is done with the deadline (it closed, or it is handed to something else). */
  stop(): void;
}

/**
 * Destroy `socket` if `ms` pass without progress(). Unlike socket.setTimeout, bytes trickling in
 * do not restart the clock: a client sending one byte every few seconds is idle in the sense that
 * matters (RFC 7766 §6.2), because it never finishes a request.
 */
export function progressDeadline(socket: Socket, ms: number, onExpire: () => void = () => {}): ProgressDeadline {
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      onExpire();
      socket.destroy();
    }, ms);
    timer.unref();
  };
  const stop = () => clearTimeout(timer);
  socket.once('close', stop);
  arm();
  return { progress: arm, stop };
}
