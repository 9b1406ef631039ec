// The lab's "wire": a TCP relay between the phone and the SLB that lets the walkthrough read the
// TLS handshake from the real bytes, as Wireshark would from a capture.
//
//   client ──TCP──▶ tap (listens here) ──TCP──▶ SLB
//                    │ copies of every chunk, both ways
//                    ▼
//               TlsStreamDecoder → 'tls' events
//
// The tap forwards bytes unchanged and never takes part in TLS: it has no keys and no certificate,
// so the client still verifies the SLB's certificate for www.geektime.test end to end. What it
// learns is only what any box on the path could see: the plaintext parts of the handshake, and the
// sizes of everything else.
//
// Each side is piped to the other (back-pressure: a slow reader pauses the fast writer), a FIN from
// one side is passed on as a FIN (half-close), and an error or reset on one side closes the other.
import net from 'node:net';
import { EventEmitter } from 'node:events';
import { listen } from '../servers/net/listen.ts';
import { DEFAULT_CONNECTION_LIMITS, guardConnections } from '../servers/net/limits.ts';
import { TlsStreamDecoder, describeTlsEvent, type Direction, type TlsEvent } from './tls-decoder.ts';

export interface TlsTapOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  /** Where the real server listens: the SLB. */
  upstream: { host: string; port: number };
  name?: string;
  /** One line per connection and per TLS event; silent when not given. */
  log?: (line: string) => void;
  /** Also keep every chunk as it passed (for hex dumps, or to replay into a decoder). */
  keepBytes?: boolean;
  /** Connect to the server from the client's own address (as a transparent proxy does), so the
   *  server still sees who the client is. Works on Linux loopback, where all of 127/8 is ours. */
  transparent?: boolean;
}

/** A decoded TLS event as the tap saw it pass. */
export type TappedTlsEvent = TlsEvent & {
  /** Which tapped connection (1, 2, …). */
  connection: number;
  /** Wall-clock time (ms since the epoch) and time since the client connected to the tap. */
  at: number;
  sinceConnectMs: number;
};

export interface TapConnection {
  id: number;
  /** The client's address and ephemeral port, as the tap accepted them. */
  client: { address: string; port: number };
  /** The tap's own connection to the SLB: the local port it got, and where it goes. */
  upstream: { localAddress?: string; localPort?: number; address: string; port: number };
  openedAt: number;
  closedAt?: number;
  /** Bytes passed each way. */
  bytes: Record<Direction, number>;
  /** Every TLS event, in the order the tap saw it. */
  events: TappedTlsEvent[];
  /** The two randoms (hex) and, in classic mode, the ClientKeyExchange: the inputs of the
   *  master secret check (lab/master-secret.ts). */
  clientRandom?: string;
  serverRandom?: string;
  clientKeyExchange?: { raw: Buffer; encryptedPreMaster?: Buffer };
  /** Why the connection ended badly, if it did (reset, refused upstream). */
  error?: string;
  /** With keepBytes: every chunk in the order it passed. */
  chunks?: { direction: Direction; bytes: Buffer }[];
}

export interface RunningTlsTap {
  name: string;
  host: string;
  port: number;
  /** 'tls' (TappedTlsEvent), 'connection' and 'close' (TapConnection). */
  events: EventEmitter;
  connections(): TapConnection[];
  /** Resolves once both sockets of connection `id` are closed, so its record is complete. */
  whenClosed(id: number): Promise<TapConnection>;
  close(): Promise<void>;
}

export async function startTlsTap(opts: TlsTapOptions): Promise<RunningTlsTap> {
  const name = opts.name ?? 'tls-tap';
  const log = opts.log ?? (() => {});
  const events = new EventEmitter();
  const records: TapConnection[] = [];
  const live = new Set<net.Socket>();
  let nextId = 1;

  // allowHalfOpen: when one side sends FIN, keep the other direction open until it finishes too.
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const started = performance.now();
    const conn: TapConnection = {
      id: nextId++,
      client: { address: client.remoteAddress ?? '?', port: client.remotePort ?? 0 },
      upstream: { address: opts.upstream.host, port: opts.upstream.port },
      openedAt: Date.now(),
      bytes: { 'client→server': 0, 'server→client': 0 },
      events: [],
      ...(opts.keepBytes && { chunks: [] }),
    };
    records.push(conn);
    events.emit('connection', conn);

    const upstream = net.connect({
      host: opts.upstream.host,
      port: opts.upstream.port,
      allowHalfOpen: true,
      localAddress: opts.transparent ? client.remoteAddress : undefined,
    });
    upstream.once('connect', () => {
      conn.upstream.localAddress = upstream.localAddress;
      conn.upstream.localPort = upstream.localPort;
      log(`${name}: #${conn.id} ${conn.client.address}:${conn.client.port} → ${name} → ${conn.upstream.address}:${conn.upstream.port} (from local port ${upstream.localPort})`);
    });
    for (const s of [client, upstream]) live.add(s);

    // The decoder sees each chunk as it passes, before the other side gets it: so the order of
    // events across directions is the order in which the two ends could have seen them.
    const decoder = new TlsStreamDecoder();
    const observe = (direction: Direction) => (chunk: Buffer) => {
      conn.bytes[direction] += chunk.length;
      conn.chunks?.push({ direction, bytes: chunk });
      let decoded: TlsEvent[];
      try {
        decoded = decoder.push(direction, chunk);
      } catch (err) {
        // The decoder promises not to throw; if it ever does, the wire must not break because
        // the observer failed. Say so, and keep forwarding.
        log(`${name}: #${conn.id} decoder failed on ${direction} bytes: ${(err as Error).message}`);
        return;
      }
      for (const e of decoded) remember(conn, e, started);
    };
    client.on('data', observe('client→server'));
    upstream.on('data', observe('server→client'));

    // pipe() respects back-pressure and, when one side ends (FIN), ends the other (our FIN).
    client.pipe(upstream);
    upstream.pipe(client);

    // An error on one side closes the other, with a reset (RST): the far end should see that the
    // conversation broke, not a polite close.
    const fail = (from: string, other: net.Socket) => (err: NodeJS.ErrnoException) => {
      conn.error ??= `${from}: ${err.code ?? ''} ${err.message}`.trim();
      if (!other.destroyed) other.resetAndDestroy();
    };
    client.on('error', fail('client', upstream));
    upstream.on('error', fail(`upstream ${opts.upstream.host}:${opts.upstream.port}`, client));

    let open = 2;
    const closed = (s: net.Socket, other: net.Socket) => () => {
      live.delete(s);
      // A side that closed cleanly has ended its half, which pipe() passed on; one destroyed
      // without an error event (tap.close()) takes the other with it.
      if (!other.destroyed && !s.readableEnded) other.destroy();
      if (--open === 0) {
        conn.closedAt = Date.now();
        log(`${name}: #${conn.id} closed (${conn.bytes['client→server']} bytes up, ${conn.bytes['server→client']} down${conn.error ? `; ${conn.error}` : ''})`);
        events.emit('close', conn);
      }
    };
    client.once('close', closed(client, upstream));
    upstream.once('close', closed(upstream, client));
  });

  function remember(conn: TapConnection, e: TlsEvent, started: number): void {
    const tapped: TappedTlsEvent = { ...e, connection: conn.id, at: Date.now(), sinceConnectMs: Math.round((performance.now() - started) * 1000) / 1000 };
    conn.events.push(tapped);
    // Keep the master secret's inputs at hand.
    if (e.type === 'ClientHello') conn.clientRandom = e.fields.random;
    if (e.type === 'ServerHello' && !e.fields.helloRetryRequest) conn.serverRandom = e.fields.random;
    if (e.type === 'ClientKeyExchange') {
      conn.clientKeyExchange = { raw: e.fields.raw, ...(e.fields.encryptedPreMaster && { encryptedPreMaster: e.fields.encryptedPreMaster }) };
    }
    log(`${name}: #${conn.id} ${describeTlsEvent(e)}`);
    events.emit('tls', tapped);
  }

  // Like every listener of the lab: a cap on connections, in all and per client address.
  guardConnections(server, DEFAULT_CONNECTION_LIMITS, (line) => log(`${name}: ${line}`));
  const address = await listen(server, name, opts.host, opts.port);

  return {
    name,
    host: address.address,
    port: address.port,
    events,
    connections: () => [...records],
    whenClosed(id) {
      const conn = records.find((c) => c.id === id);
      if (!conn) return Promise.reject(new Error(`${name}: no connection #${id}`));
      if (conn.closedAt !== undefined) return Promise.resolve(conn);
      return new Promise((resolve) => {
        const onClose = (c: TapConnection) => {
          if (c.id !== id) return;
          events.off('close', onClose);
          resolve(c);
        };
        events.on('close', onClose);
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of live) s.destroy();
      }),
  };
}
