// How many connections wait to be accepted: the kernel has finished their handshake and holds them
// in the listening socket's queue until the server calls accept(2). A client counts its request's
// time from the moment its connect() returned, so a connection that waits here makes its first
// request slow however fast the server answers once it has the connection.
//
// Why the bench watches it: Node 20 and later take one new connection per turn of the event loop
// (libuv 1.45, libuv/libuv#3696, "don't accept() connections in a loop"). A server busy with the
// connections it already holds takes a turn as long as answering all of them once, so when wrk
// opens 200 connections at once, the last ones wait a second or more (the p99 row's tail).
//
// Linux shows the queue in /proc/net/tcp: for a socket in state LISTEN (0A) the rx_queue column is
// the accept queue's length (net/ipv4/tcp_ipv4.c, get_tcp4_sock). Listening sockets come first in
// that file, so a sample reads a page at a time and stops at the first socket in another state:
// the kernel writes the file as it is read, and the whole of it walks every bucket of the socket
// tables (2 ms of CPU here, against 0.3 ms for a page). Even so, only the p99 row is watched, every
// 20 ms: a watcher must not take the core it is measuring.
import fs from 'node:fs';
import os from 'node:os';
import { parseIpv4 } from '../../servers/net/ipv4.ts';

/**
 * "1500007F:B5D3" is 127.0.0.21:46547: the address's four bytes in network order, printed as the
 * machine's own 32-bit word, so they come reversed on a little-endian machine (x86, Arm); the port
 * is a plain number.
 */
function procAddress(host: string, port: number): string {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(parseIpv4(host));
  const word = os.endianness() === 'LE' ? bytes.readUInt32LE() : bytes.readUInt32BE();
  return `${word.toString(16).padStart(8, '0')}:${port.toString(16).padStart(4, '0')}`.toUpperCase();
}

/**
 * The accept queue of the listening socket at host:port in a /proc/net/tcp text, or undefined when
 * no listening socket there is in it. `done` says the text reached the first non-listening socket,
 * so reading further cannot find it.
 */
export function acceptQueueIn(text: string, host: string, port: number): { queue?: number; done: boolean } {
  const wanted = procAddress(host, port);
  for (const line of text.split('\n')) {
    // "  12: 1500007F:B5D3 00000000:0000 0A 00000000:00000071 00:00000000 00000000     0 ..."
    const fields = line.trim().split(/\s+/);
    if (!/^\d+:$/.test(fields[0] ?? '') || fields.length < 5) continue; // the header, or a line cut by the read
    if (fields[3] !== '0A') return { done: true };
    if (fields[1] === wanted) return { queue: parseInt(fields[4]!.split(':')[1]!, 16), done: true };
  }
  return { done: false };
}

function sample(host: string, port: number): number | undefined {
  const fd = fs.openSync('/proc/net/tcp', 'r');
  try {
    const chunk = Buffer.alloc(4096);
    let text = '';
    for (;;) {
      const n = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) return undefined;
      text += chunk.toString('latin1', 0, n);
      const cut = text.lastIndexOf('\n');
      const found = acceptQueueIn(text.slice(0, cut + 1), host, port);
      if (found.done) return found.queue;
      text = text.slice(cut + 1);
    }
  } finally {
    fs.closeSync(fd);
  }
}

export interface AcceptWait {
  /** The most connections seen waiting at once. */
  peak: number;
  /** How long, in ms, at least one connection was waiting (the samples that saw one, times the interval). */
  ms: number;
}

/**
 * Sample host:port's accept queue every `everyMs` until stop(). Undefined where /proc/net/tcp cannot
 * be read (not Linux) or shows no such listening socket.
 */
export function watchAcceptQueue(host: string, port: number, everyMs = 20): { stop(): AcceptWait | undefined } {
  let peak = 0;
  let waitingMs = 0;
  let seen = false;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    let queue: number | undefined;
    try {
      queue = sample(host, port);
    } catch {
      queue = undefined;
    }
    if (queue !== undefined) {
      seen = true;
      peak = Math.max(peak, queue);
      if (queue > 0) waitingMs += now - last;
    }
    last = now;
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return seen ? { peak, ms: Math.round(waitingMs) } : undefined;
    },
  };
}
