// TCP connection states, read from the kernel (seed §5).
//
// Both ends of a TCP connection keep a state machine (RFC 9293 §3.3.2). On Linux the kernel shows
// every TCP socket of this network namespace in /proc/net/tcp (IPv4) and /proc/net/tcp6 (IPv6),
// one line each, with the state as a hex code. `ss -tan` reads the same table (over netlink).
// This module reads those files, finds the sockets of one connection, and tells the story of
// their states as they were actually seen, and only as they were seen.
//
// What loopback hides: the three-way handshake on 127.0.0.0/8 completes inside the connect()
// call, in microseconds, so SYN_SENT and SYN_RECV are practically never caught by looking at the
// table from user space. The narration says so instead of pretending it saw them.
import fs from 'node:fs';
import os from 'node:os';

export interface Endpoint {
  address: string;
  port: number;
}

/** Linux's names for the state codes in the `st` column (include/net/tcp_states.h). */
export const TCP_STATES = {
  0x01: 'ESTABLISHED',
  0x02: 'SYN_SENT',
  0x03: 'SYN_RECV',
  0x04: 'FIN_WAIT1',
  0x05: 'FIN_WAIT2',
  0x06: 'TIME_WAIT',
  0x07: 'CLOSE',
  0x08: 'CLOSE_WAIT',
  0x09: 'LAST_ACK',
  0x0a: 'LISTEN',
  0x0b: 'CLOSING',
} as const;

export type TcpStateName = (typeof TCP_STATES)[keyof typeof TCP_STATES];

/** The same states in RFC 9293's spelling, as the seed and textbooks draw them. */
export const RFC_NAMES: Record<TcpStateName, string> = {
  ESTABLISHED: 'ESTABLISHED',
  SYN_SENT: 'SYN-SENT',
  SYN_RECV: 'SYN-RECEIVED',
  FIN_WAIT1: 'FIN-WAIT-1',
  FIN_WAIT2: 'FIN-WAIT-2',
  TIME_WAIT: 'TIME-WAIT',
  CLOSE: 'CLOSED',
  CLOSE_WAIT: 'CLOSE-WAIT',
  LAST_ACK: 'LAST-ACK',
  LISTEN: 'LISTEN',
  CLOSING: 'CLOSING',
};

/** And in `ss`'s spelling, for the one-line formatter. */
const SS_NAMES: Record<TcpStateName, string> = {
  ESTABLISHED: 'ESTAB',
  SYN_SENT: 'SYN-SENT',
  SYN_RECV: 'SYN-RECV',
  FIN_WAIT1: 'FIN-WAIT-1',
  FIN_WAIT2: 'FIN-WAIT-2',
  TIME_WAIT: 'TIME-WAIT',
  CLOSE: 'UNCONN',
  CLOSE_WAIT: 'CLOSE-WAIT',
  LAST_ACK: 'LAST-ACK',
  LISTEN: 'LISTEN',
  CLOSING: 'CLOSING',
};

/** The timer column `tr`: which kernel timer is running for the socket. */
const TIMERS = ['none', 'retransmit', 'keepalive', 'TIME_WAIT', 'zero window probe'] as const;

/**
 * /proc/net/tcp prints timers in clock ticks (USER_HZ), which is 100 on every Linux
 * architecture Node runs on.
 */
const USER_HZ = 100;

export interface TcpSocketInfo {
  family: 4 | 6;
  local: Endpoint;
  remote: Endpoint;
  state: TcpStateName;
  /** The raw `st` code, e.g. 0x0A for LISTEN. */
  stateCode: number;
  /** Bytes written but not yet acknowledged by the peer. */
  txQueue: number;
  /** Bytes received but not yet read by the application; for LISTEN, connections waiting in accept(). */
  rxQueue: number;
  timer: (typeof TIMERS)[number] | `timer ${number}`;
  /** Time left on that timer, in seconds. */
  timerSeconds: number;
  uid: number;
  /** The socket's inode (0 once the socket belongs to no process, as in TIME_WAIT). */
  inode: number;
}

// ---------------------------------------------------------------------------------------------
// Reading the table

/**
 * Decode the kernel's "ADDR:PORT" hex. The address is the raw 4-byte (or 16-byte) network-order
 * address printed as native 32-bit words, so on a little-endian machine each word reads backwards:
 * 0100007F is 127.0.0.1. The port is printed as a plain number: 1F90 is 8080.
 */
export function decodeProcEndpoint(hex: string, endianness: 'LE' | 'BE' = os.endianness()): Endpoint {
  const [addrHex = '', portHex = ''] = hex.split(':');
  const bytes: number[] = [];
  for (let word = 0; word < addrHex.length; word += 8) {
    const wordBytes = addrHex.slice(word, word + 8).match(/../g)!.map((b) => parseInt(b, 16));
    bytes.push(...(endianness === 'LE' ? wordBytes.reverse() : wordBytes));
  }
  return { address: bytes.length === 4 ? bytes.join('.') : ipv6ToString(bytes), port: parseInt(portHex, 16) };
}

/** Sixteen bytes to the usual text form: ::1, fe80::1, ::ffff:127.0.0.1 */
function ipv6ToString(bytes: number[]): string {
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return `::ffff:${bytes.slice(12).join('.')}`; // an IPv4 address on a dual-stack socket
  }
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  // Collapse the longest run of zero groups (RFC 5952).
  let best = { start: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len && j - i > 1) best = { start: i, len: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.start < 0) return hex.join(':');
  return `${hex.slice(0, best.start).join(':')}::${hex.slice(best.start + best.len).join(':')}`;
}

/** Parse the text of /proc/net/tcp (family 4) or /proc/net/tcp6 (family 6). */
export function parseProcNetTcp(text: string, family: 4 | 6, endianness: 'LE' | 'BE' = os.endianness()): TcpSocketInfo[] {
  const sockets: TcpSocketInfo[] = [];
  for (const line of text.split('\n').slice(1)) {
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || !/^\d+:$/.test(f[0]!)) continue;
    const code = parseInt(f[3]!, 16);
    const state = TCP_STATES[code as keyof typeof TCP_STATES];
    if (!state) continue;
    const [tx = '0', rx = '0'] = f[4]!.split(':');
    const [tr = '0', when = '0'] = f[5]!.split(':');
    const timerCode = parseInt(tr, 16);
    sockets.push({
      family,
      local: decodeProcEndpoint(f[1]!, endianness),
      remote: decodeProcEndpoint(f[2]!, endianness),
      state,
      stateCode: code,
      txQueue: parseInt(tx, 16),
      rxQueue: parseInt(rx, 16),
      timer: TIMERS[timerCode] ?? `timer ${timerCode}`,
      timerSeconds: timerCode === 0 ? 0 : parseInt(when, 16) / USER_HZ,
      uid: Number(f[7]),
      inode: Number(f[9]),
    });
  }
  return sockets;
}

/**
 * Can this machine show us socket states? If not, why (facts; lab/story/words/<lang>/tcp-states.ts
 * says them): another OS than Linux, or /proc/net/tcp unreadable (with the error's code).
 */
export type Observable = { ok: true } | { ok: false; blocked: { kind: 'not-linux'; platform: string } | { kind: 'unreadable'; code: string } };

export function observable(): Observable {
  if (os.platform() !== 'linux') return { ok: false, blocked: { kind: 'not-linux', platform: os.platform() } };
  try {
    fs.accessSync('/proc/net/tcp', fs.constants.R_OK);
    fs.readFileSync('/proc/net/tcp', 'utf8');
    return { ok: true };
  } catch (err) {
    return { ok: false, blocked: { kind: 'unreadable', code: (err as NodeJS.ErrnoException).code ?? String(err) } };
  }
}

/**
 * Every TCP socket the kernel shows this process, IPv4 and IPv6; [] where /proc cannot be read.
 * With a pid: the table of that process's network namespace (/proc/<pid>/net/tcp), so the lab can
 * read the SLB's side of a connection from the SLB's own host in ns mode.
 */
export function readTcpTable(pid?: number): TcpSocketInfo[] {
  const dir = pid === undefined ? '/proc/net' : `/proc/${pid}/net`;
  const read = (file: string, family: 4 | 6) => {
    try {
      return parseProcNetTcp(fs.readFileSync(file, 'utf8'), family);
    } catch {
      return []; // no IPv6 in this kernel, or no /proc at all
    }
  };
  return [...read(`${dir}/tcp`, 4), ...read(`${dir}/tcp6`, 6)];
}

// ---------------------------------------------------------------------------------------------
// Finding sockets

/** ::ffff:127.0.0.1 on a dual-stack socket is the same host as 127.0.0.1. */
function plain(address: string): string {
  const lower = address.toLowerCase();
  return lower.startsWith('::ffff:') && lower.includes('.') ? lower.slice(7) : lower;
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.port === b.port && plain(a.address) === plain(b.address);
}

/**
 * The socket with this 4-tuple (local end, remote end), as seen from the local end. Without a
 * remote end: the socket bound to that local address and port, the listening one first (a
 * listener on 0.0.0.0 or :: counts for every local address).
 */
export function tcpSocketState(local: Endpoint, remote?: Endpoint, table: TcpSocketInfo[] = readTcpTable()): TcpSocketInfo | undefined {
  if (remote) return table.find((s) => sameEndpoint(s.local, local) && sameEndpoint(s.remote, remote));
  const bound = table.filter(
    (s) => s.local.port === local.port && (plain(s.local.address) === plain(local.address) || (s.state === 'LISTEN' && isWildcard(s.local.address))),
  );
  return bound.find((s) => s.state === 'LISTEN') ?? bound[0];
}

/** The listening sockets on `port` (one per address and family it is bound to). */
export function listeningSockets(port: number, table: TcpSocketInfo[] = readTcpTable()): TcpSocketInfo[] {
  return table.filter((s) => s.state === 'LISTEN' && s.local.port === port);
}

// ---------------------------------------------------------------------------------------------
// Showing sockets

function showEndpoint(e: Endpoint, family: 4 | 6): string {
  const port = e.port === 0 ? '*' : String(e.port);
  return family === 6 ? `[${e.address}]:${port}` : `${e.address}:${port}`;
}

/** One line the way `ss -tanei` prints it: state, Recv-Q, Send-Q, local, peer, then uid/inode/timer. */
export function formatSs(s: TcpSocketInfo): string {
  const extra = [`uid:${s.uid}`, `ino:${s.inode}`];
  if (s.timer !== 'none') extra.push(`timer:(${s.timer},${s.timerSeconds.toFixed(1)}s)`);
  return [
    SS_NAMES[s.state].padEnd(10),
    String(s.rxQueue).padEnd(6),
    String(s.txQueue).padEnd(6),
    showEndpoint(s.local, s.family).padEnd(24),
    showEndpoint(s.remote, s.family).padEnd(24),
    extra.join(' '),
  ].join(' ');
}

// ---------------------------------------------------------------------------------------------
// Watching one connection

/** What one look at the table showed for one connection. */
export interface StateSnapshot {
  label: string;
  /** Milliseconds since the watch began. */
  atMs: number;
  /** False where the table cannot be read: then the sockets below are always undefined. */
  observed: boolean;
  /** The client's address and port, if it had one yet when this look was taken. */
  clientEnd?: Endpoint;
  /** The client's end of the connection (undefined: not in the table, i.e. CLOSED). */
  client?: TcpSocketInfo;
  /** The server's end of this connection: the socket accept() hands out. */
  serverEnd?: TcpSocketInfo;
  /** The server's listening socket. */
  listener?: TcpSocketInfo;
}

export interface WatchOptions {
  /** Names for the narration, e.g. "the phone" and "the SLB". */
  clientName?: string;
  serverName?: string;
  /** The server runs in another network namespace (ns mode): read its side from this process's table. */
  serverPid?: number;
  /** What the packets cross: loopback, or links (ns mode) with this round-trip delay. Default loopback. */
  path?: PathKind;
}

export type PathKind = { kind: 'loopback' } | { kind: 'links'; roundTripMs: number };

export interface ConnectionWatch {
  readonly server: Endpoint;
  /** The client's end, once known (given to `snapshot` after connect). */
  readonly client: Endpoint | undefined;
  readonly snapshots: readonly StateSnapshot[];
  /** Look at the table now. Give the client's end as soon as it has one (after connect). */
  snapshot(label: string, client?: Endpoint): StateSnapshot;
  /**
   * Look again and again (a bounded number of times) until `until` holds, then record that look.
   * Closing is asynchronous, so "after close" is taken this way. By default it waits until both
   * ends have settled: each in TIME_WAIT or FIN_WAIT2, or gone from the table.
   */
  snapshotWhen(label: string, until?: (s: StateSnapshot) => boolean, opts?: { tries?: number; intervalMs?: number }): Promise<StateSnapshot>;
  /** Everything seen so far, as facts (told by lab/story/words/tcp-states.ts). */
  facts(): KernelStates;
}

/** What a watch saw of one connection: every look at the table, and whether the table could be read. */
export interface KernelStates {
  server: Endpoint;
  client?: Endpoint;
  observable: Observable;
  /** Who the two ends are, for the words: "the phone", "the SLB". */
  names: { client: string; server: string };
  path: PathKind;
  snapshots: StateSnapshot[];
}

/**
 * Watch the connection a client makes to `server` (the address and port it connects to).
 * Take the first snapshot before connecting, so the listener is seen alone:
 *
 *   const watch = watchConnection({ address: slb.host, port: slb.port }, { clientName: 'the phone', serverName: 'the SLB' });
 *   watch.snapshot('before connect');
 *   socket.once('connect', () => watch.snapshot('after connect', { address: socket.localAddress!, port: socket.localPort! }));
 *   ... the answer arrives ...       watch.snapshot('after the answer');
 *   ... the socket closes ...        await watch.snapshotWhen('after close');
 *   for (const line of kernelStateLines(watch.facts())) console.log(line);   // lab/story/words/tcp-states.ts
 */
export function watchConnection(server: Endpoint, opts: WatchOptions = {}): ConnectionWatch {
  const can = observable();
  const start = performance.now();
  const snapshots: StateSnapshot[] = [];
  let client: Endpoint | undefined;

  const look = (label: string): StateSnapshot => {
    const atMs = performance.now() - start;
    if (!can.ok) return { label, atMs, observed: false, clientEnd: client };
    const table = readTcpTable();
    const serverTable = opts.serverPid === undefined ? table : readTcpTable(opts.serverPid);
    const listener =
      listeningSockets(server.port, serverTable).find((s) => plain(s.local.address) === plain(server.address)) ??
      listeningSockets(server.port, serverTable).find((s) => isWildcard(s.local.address));
    return {
      label,
      atMs,
      observed: true,
      clientEnd: client,
      listener,
      client: client && tcpSocketState(client, server, table),
      serverEnd: client && tcpSocketState(server, client, serverTable),
    };
  };

  return {
    server,
    get client() {
      return client;
    },
    snapshots,
    snapshot(label, clientEnd) {
      if (clientEnd) client = clientEnd;
      const s = look(label);
      snapshots.push(s);
      return s;
    },
    async snapshotWhen(label, until = settled, { tries = 100, intervalMs = 5 } = {}) {
      let s = look(label);
      for (let i = 1; i < tries && s.observed && !until(s); i++) {
        await new Promise((r) => setTimeout(r, intervalMs));
        s = look(label);
      }
      snapshots.push(s);
      return s;
    },
    facts() {
      return { server, client, observable: can, names: { client: opts.clientName ?? 'the client', server: opts.serverName ?? 'the server' }, path: opts.path ?? { kind: 'loopback' }, snapshots: [...snapshots] };
    },
  };
}

/** After a close, both ends are where they stay for a while: TIME_WAIT, FIN_WAIT2, or gone. */
function settled(s: StateSnapshot): boolean {
  return [s.client, s.serverEnd].every((end) => !end || end.state === 'TIME_WAIT' || end.state === 'FIN_WAIT2');
}

/** A socket's state, or CLOSED when the kernel's table has no row for it. */
export function stateOf(s: TcpSocketInfo | undefined): TcpStateName | 'CLOSED' {
  return s ? s.state : 'CLOSED';
}

/** The states of the end that closes first (RFC 9293 §3.6), and of the end that closes second. */
export const ACTIVE_CLOSE: TcpStateName[] = ['FIN_WAIT1', 'FIN_WAIT2', 'CLOSING', 'TIME_WAIT'];
export const PASSIVE_CLOSE: TcpStateName[] = ['CLOSE_WAIT', 'LAST_ACK'];

/**
 * What the looks at the table show, as facts both languages word (lab/story/words/{en,zh}/tcp-states.ts):
 * which handshake states were caught or came and went between two looks (RFC 9293 §3.3.2), and
 * how the close went, read from where each end ended up.
 */
export interface StatesReading {
  handshake?: { first: StateSnapshot & { client: TcpSocketInfo }; caught: { synSent: boolean; synRecv: boolean } };
  close?:
    | {
        kind: 'active';
        closer: 'client' | 'server';
        activeState: TcpStateName | 'CLOSED';
        passiveState: TcpStateName | 'CLOSED';
        /** The closer's socket at the last look (its TIME_WAIT timer). */
        activeEnd: TcpSocketInfo;
        at: string;
        /** States of each side's close path that no look caught, in order. */
        missed: string[];
      }
    | { kind: 'half-closed'; at: string; client: TcpStateName | 'CLOSED'; server: TcpStateName | 'CLOSED' }
    | { kind: 'both-gone'; at: string };
}

export function readStates(k: KernelStates): StatesReading {
  const { snapshots } = k;
  const clientSeen = new Set(snapshots.map((s) => stateOf(s.client)));
  const serverSeen = new Set(snapshots.map((s) => stateOf(s.serverEnd)));
  const reading: StatesReading = {};
  const first = snapshots.find((s) => s.client);
  if (first) reading.handshake = { first: first as StateSnapshot & { client: TcpSocketInfo }, caught: { synSent: clientSeen.has('SYN_SENT'), synRecv: serverSeen.has('SYN_RECV') } };

  const last = snapshots.at(-1);
  if (!last || !k.client || !snapshots.some((s) => s.client || s.serverEnd)) return reading;
  const c = stateOf(last.client);
  const v = stateOf(last.serverEnd);
  const closer = (ACTIVE_CLOSE as string[]).includes(c) ? 'client' : (ACTIVE_CLOSE as string[]).includes(v) ? 'server' : undefined;
  if (closer) {
    const [activeState, passiveState] = closer === 'client' ? [c, v] : [v, c];
    const [seenActive, seenPassive] = closer === 'client' ? [clientSeen, serverSeen] : [serverSeen, clientSeen];
    // The states before the one each end was seen in: those it went through unseen, if no look caught them.
    const before = (path: string[], reached: string) => (path.includes(reached) ? path.slice(0, path.indexOf(reached)) : reached === 'CLOSED' ? path : []);
    const missed = [
      ...before(['FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT'], activeState).filter((st) => !seenActive.has(st as TcpStateName)),
      ...before(['CLOSE_WAIT', 'LAST_ACK'], passiveState).filter((st) => !seenPassive.has(st as TcpStateName)),
    ];
    reading.close = { kind: 'active', closer, activeState, passiveState, activeEnd: closer === 'client' ? last.client! : last.serverEnd!, at: last.label, missed };
  } else if ((PASSIVE_CLOSE as string[]).includes(c) || (PASSIVE_CLOSE as string[]).includes(v)) {
    reading.close = { kind: 'half-closed', at: last.label, client: c, server: v };
  } else if (c === 'CLOSED' && v === 'CLOSED') {
    reading.close = { kind: 'both-gone', at: last.label };
  }
  return reading;
}
