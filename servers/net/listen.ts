// Binding a server to its address, with an error a person can act on.
// Every role goes through here so that "port in use" or "address not available" always names
// the role, the address and the fix in one line.
import { AsyncLocalStorage } from 'node:async_hooks';
import { isIP, type Server as NetServer, type AddressInfo, type Socket } from 'node:net';
import type dgram from 'node:dgram';

export class ListenError extends Error {
  constructor(
    readonly role: string,
    readonly host: string,
    readonly port: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ListenError';
  }
}

/** Explain a failed bind: what happened, on which address, and what to do about it. */
export function explainBindError(role: string, host: string, port: number, err: NodeJS.ErrnoException): ListenError {
  const where = `${host}:${port}`;
  let why: string;
  switch (err.code) {
    case 'EADDRINUSE':
      why =
        `${where} is already in use. Another process (perhaps a lab that is still up) holds it: ` +
        `find it with \`ss -ltnup 'sport = :${port}'\` and stop it, or pick another port for ${role}.`;
      break;
    case 'EACCES':
      why =
        `not allowed to bind port ${port} on ${host}: ports below 1024 need root, CAP_NET_BIND_SERVICE ` +
        `or a lower net.ipv4.ip_unprivileged_port_start; or use a port above 1023.`;
      break;
    case 'EADDRNOTAVAIL':
      why =
        `${host} is not an address of this machine. On Linux all of 127.0.0.0/8 is local; elsewhere add it ` +
        `(macOS: \`sudo ifconfig lo0 alias ${host}\`) or run the lab with --single-address.`;
      break;
    default:
      why = `cannot listen on ${where}: ${err.message}`;
  }
  return new ListenError(role, host, port, err.code ?? 'UNKNOWN', `${role}: ${why}`);
}

/** Listen on host:port (port 0 = any free port); resolves with the address actually bound. */
export function listen(server: NetServer, role: string, host: string, port: number): Promise<AddressInfo> {
  keepContextOnSockets(server);
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => reject(explainBindError(role, host, port, err));
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** The same for a UDP socket (the DNS roles). */
export function bindUdp(socket: dgram.Socket, role: string, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => reject(explainBindError(role, host, port, err));
    socket.once('error', onError);
    socket.bind({ address: host, port, exclusive: true }, () => {
      socket.off('error', onError);
      resolve(socket.address());
    });
  });
}

/** "127.0.0.81:8080" or "[::1]:8080" into host and port; undefined if it is neither. */
export function parseHostPort(s: string): { host: string; port: number } | undefined {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
  if (!m) return undefined;
  const port = Number(m[2]);
  return port <= 65535 ? { host: m[1]!, port } : undefined;
}

/**
 * The source address for a role's own outgoing connections on loopback: its listening address, so
 * that a capture shows the parent cache (127.0.0.30) asking the origin, not "127.0.0.1" (every
 * 127.x address is local, and the kernel would pick 127.0.0.1 for all). On a real network the
 * routing table picks the source (RFC 1122 §3.3.4.3): a two-armed SLB reaches its app servers
 * from its address on their subnet, not from its VIP, which they have no route back to.
 */
export function sourceAddressFor(ownHost: string, targetHost: string): string | undefined {
  if (ownHost === '0.0.0.0' || ownHost === '::' || !isIP(ownHost) || !isIP(targetHost)) return undefined;
  const loopback = (a: string) => a.startsWith('127.') || a === '::1';
  return isIP(ownHost) === isIP(targetHost) && loopback(ownHost) && loopback(targetHost) ? ownHost : undefined;
}

/**
 * Stop an HTTP server kindly: stop accepting, drop idle keep-alive connections, let requests in
 * flight finish (a large picture to a slow client, too), and cut whatever is still open after
 * `graceMs`, so a stuck client cannot hold the lab up.
 */
export function closeGracefully(server: import('node:http').Server, graceMs = 5_000): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    force.unref();
    server.close((err) => {
      clearTimeout(force);
      if (err) reject(err);
      else resolve();
    });
  });
}

/**
 * An accepted socket's own events ('data', 'end', 'close', 'error') run outside the async context
 * its server was started in, on every Node version: the socket's native handle is made before the
 * server's callback scope opens, so AsyncLocalStorage finds no store there. The lab's supervisor
 * uses that store to tell which role an uncaught error came from (lab/supervisor.ts). So at the
 * 'connection' moment, which still has the context, the socket's events are bound to it
 * (AsyncLocalStorage.snapshot(), public API, one closure per socket). A listener's exception is
 * thrown again on the next tick inside that context: thrown straight out of a native callback,
 * Node 24 and later report it with the context already gone. An HTTP server's requests would keep
 * the context without this (the parser is made inside it), but not a listener a role puts on the
 * raw socket, as the SLB's front door and the DNS roles' TCP side do: so every server gets it.
 * test/hostile/crash-context.test.ts tells if that ever changes.
 */
const contextKept = new WeakSet<NetServer>();
function keepContextOnSockets(server: NetServer): void {
  if (contextKept.has(server)) return;
  contextKept.add(server);
  server.prependListener('connection', (socket: Socket) => {
    const inContext = AsyncLocalStorage.snapshot();
    const emit = socket.emit;
    socket.emit = function (this: Socket, ...args: Parameters<Socket['emit']>) {
      return inContext(() => {
        try {
          return emit.apply(this, args);
        } catch (err) {
          process.nextTick(() => {
            throw err;
          });
          return true;
        }
      });
    } as Socket['emit'];
  });
}
