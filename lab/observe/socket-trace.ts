// Every TCP state change of one server port, as the kernel itself records it: the tracepoint
// sock:inet_sock_set_state (Linux 4.16+), read through tracefs. It is what BCC's `tcpstates` and
// `bpftrace -e 'tracepoint:sock:inet_sock_set_state { … }'` read. A look at /proc/net/tcp catches a
// state only if it lasts until the look; the tracepoint fires on every change, however short, so
// SYN-SENT and SYN-RECEIVED are seen even where the handshake takes microseconds.
//
// The lab uses an instance of its own (/sys/kernel/tracing/instances/<name>): its own buffer and
// filter, so nothing of the machine's other tracing is touched. Root only. Where tracefs is not
// mounted, it mounts one for itself alone at a directory of its own, never at /sys/kernel/tracing:
// a mount there is shared by every process, and a lab that unmounted it after its run would pull it
// from under another lab still tracing (two labs side by side in namespaces share the mounts).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const TRACEFS = '/sys/kernel/tracing';
const EVENT = 'events/sock/inet_sock_set_state';

export interface StateChange {
  /** Seconds on the trace clock (since boot), µs precision: for the time between changes. */
  time: number;
  sport: number;
  dport: number;
  saddr: string;
  daddr: string;
  /** The kernel's names: TCP_SYN_SENT, TCP_ESTABLISHED, … */
  oldstate: string;
  newstate: string;
}

export interface SocketTrace {
  /** Stop tracing, remove the instance, and return every change recorded (oldest first). */
  stop(): StateChange[];
}

/** Start recording the state changes of every socket with `port` at either end; or why it cannot. */
export function startSocketTrace(port: number, name: string): SocketTrace | { unavailable: string } {
  if (process.platform !== 'linux') return { unavailable: 'the kernel tracepoint is Linux only' };
  if (process.getuid?.() !== 0) return { unavailable: 'reading kernel tracepoints needs root' };
  const tracefs = openTracefs();
  if ('unavailable' in tracefs) return tracefs;
  const { root, close: unmount } = tracefs;
  if (!fs.existsSync(path.join(root, EVENT))) {
    unmount();
    return { unavailable: 'this kernel has no sock:inet_sock_set_state tracepoint' };
  }
  const dir = path.join(root, 'instances', name);
  try {
    fs.mkdirSync(dir); // the kernel makes the instance's files
    fs.writeFileSync(path.join(dir, EVENT, 'filter'), `sport == ${port} || dport == ${port}`);
    fs.writeFileSync(path.join(dir, EVENT, 'enable'), '1');
  } catch (err) {
    remove(dir);
    unmount();
    return { unavailable: `could not set up the tracepoint: ${(err as Error).message}` };
  }
  // Killed while tracing (a Ctrl-C): remove the instance, then die of the same signal.
  const onSignal = (signal: NodeJS.Signals) => {
    remove(dir);
    unmount();
    process.kill(process.pid, signal);
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const signal of signals) process.once(signal, onSignal);
  return {
    stop: () => {
      for (const signal of signals) process.off(signal, onSignal);
      let text = '';
      try {
        fs.writeFileSync(path.join(dir, EVENT, 'enable'), '0');
        text = fs.readFileSync(path.join(dir, 'trace'), 'utf8');
      } finally {
        remove(dir);
        unmount();
      }
      return parseTrace(text);
    },
  };
}

function remove(dir: string): void {
  try {
    fs.rmdirSync(dir); // an instance is removed with rmdir, its files with it
  } catch {
    /* never made, or gone */
  }
}

/** Remove an instance a killed run left (by name): it would go on recording until the next boot. */
export function removeTraceInstance(name: string): void {
  const tracefs = openTracefs();
  if ('unavailable' in tracefs) return;
  remove(path.join(tracefs.root, 'instances', name));
  tracefs.close();
}

/**
 * The tracefs to use: the machine's at /sys/kernel/tracing when it is mounted (close() leaves it),
 * else one mounted for this process alone (close() unmounts it and removes its directory). Every
 * tracefs mount shows the same instances, so either way an instance is found by its name.
 */
function openTracefs(): { root: string; close: () => void } | { unavailable: string } {
  if (fs.existsSync(path.join(TRACEFS, 'instances'))) return { root: TRACEFS, close: () => {} };
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-tracefs-'));
  const mounted = spawnSync('mount', ['-t', 'tracefs', 'nodev', root]);
  let open = mounted.status === 0 && fs.existsSync(path.join(root, 'instances'));
  const close = () => {
    if (open) spawnSync('umount', [root]);
    open = false;
    try {
      fs.rmdirSync(root);
    } catch {
      /* still mounted (busy), or gone */
    }
  };
  if (!open) {
    close();
    return { unavailable: `tracefs is not mounted at ${TRACEFS} and could not be mounted (${mounted.stderr?.toString().trim() || 'mount failed'})` };
  }
  return { root, close };
}

/**
 * "… 10474.441967: inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP sport=0 dport=4999
 * saddr=127.0.0.1 daddr=127.0.0.1 … oldstate=TCP_CLOSE newstate=TCP_SYN_SENT"
 */
export function parseTrace(text: string): StateChange[] {
  const changes: StateChange[] = [];
  for (const line of text.split('\n')) {
    const m = / (\d+\.\d+): inet_sock_set_state: (.*)$/.exec(line);
    if (!m) continue;
    const f = Object.fromEntries(m[2]!.split(' ').map((kv) => kv.split('=') as [string, string]));
    if (f.protocol !== 'IPPROTO_TCP' || f.family !== 'AF_INET') continue;
    changes.push({ time: Number(m[1]), sport: Number(f.sport), dport: Number(f.dport), saddr: f.saddr!, daddr: f.daddr!, oldstate: f.oldstate!, newstate: f.newstate! });
  }
  return changes;
}

/**
 * The changes of one connection, both ends: the client's socket (its first change, CLOSE →
 * SYN_SENT, comes before connect() has picked its port, so sport is 0 there) and the server's
 * socket for it (LISTEN → SYN_RECV is the listener handing it a new socket).
 */
export function changesOf(all: StateChange[], client: { address: string; port: number }, server: { address: string; port: number }): Array<StateChange & { side: 'client' | 'server' }> {
  const out: Array<StateChange & { side: 'client' | 'server' }> = [];
  for (const c of all) {
    const fromClient = c.saddr === client.address && c.daddr === server.address && c.dport === server.port && (c.sport === client.port || (c.sport === 0 && c.newstate === 'TCP_SYN_SENT'));
    const fromServer = c.saddr === server.address && c.sport === server.port && c.daddr === client.address && c.dport === client.port;
    if (fromClient) out.push({ ...c, side: 'client' });
    else if (fromServer) out.push({ ...c, side: 'server' });
  }
  // A client CLOSE → SYN_SENT with port 0 may belong to another connect() to the same server: keep the one just before this connection's next change.
  const firstOwn = out.findIndex((c) => c.side === 'client' && c.sport === client.port);
  return out.filter((c, i) => !(c.side === 'client' && c.sport === 0 && out.slice(i + 1, firstOwn === -1 ? undefined : firstOwn).some((x) => x.side === 'client' && x.sport === 0)));
}
