// The processes of a bench run: the servers (the lab's and the peers'), pinned to one core, and the
// load generators, pinned to the other, so that a server never competes with the load aimed at it.
// Every process started here is remembered and ended by stopAll(), on success, on error and on
// Ctrl-C; every load tool has a deadline after which it is killed.
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** The full path of a program on PATH (or the sbin folders, where the servers live), or undefined. */
export function which(program: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    const file = path.join(dir || '.', program);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Where servers and load run: core 0 for every server, core 1 for the load, when `taskset` exists
 * and this process may use two cores. Otherwise nothing is pinned, and the table says so.
 */
export interface Pinning {
  server: string[];
  load: string[];
  note: string;
}

export function choosePinning(): Pinning {
  const cores = os.availableParallelism();
  if (!which('taskset')) return { server: [], load: [], note: 'not pinned: taskset is missing (util-linux)' };
  if (cores < 2) return { server: [], load: [], note: 'not pinned: only one core' };
  return { server: ['taskset', '-c', '0'], load: ['taskset', '-c', '1'], note: `servers on core 0, load on core 1 (taskset; ${cores} cores)` };
}

const children = new Set<ChildProcess>();

/**
 * Start a server, in its own process group so that stopping it ends whatever it started too (nginx's
 * worker, tsx's child). Its output goes to `logFile`, for when it will not start.
 */
export function startServer(command: string, args: string[], opts: { pin: string[]; logFile: string; env?: NodeJS.ProcessEnv; cwd?: string }): ChildProcess {
  const out = fs.openSync(opts.logFile, 'a');
  const [file, ...rest] = [...opts.pin, command, ...args];
  const child = spawn(file!, rest, { stdio: ['ignore', out, out], detached: true, env: opts.env ?? process.env, cwd: opts.cwd });
  fs.closeSync(out);
  children.add(child);
  child.on('exit', () => children.delete(child));
  child.on('error', () => children.delete(child));
  return child;
}

/** Stop one server: SIGTERM to its group, SIGKILL if it is still there after `graceMs`. */
export async function stopServer(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  signalGroup(child.pid, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(child.pid!, 'SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
  // A worker that outlived its master (it should not) goes too.
  signalGroup(child.pid, 'SIGKILL');
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((c) => stopServer(c)));
}

/** Synchronous last resort for `exit`: no waiting, just SIGKILL every group we started. */
export function killAllNow(): void {
  for (const c of children) if (c.pid !== undefined) signalGroup(c.pid, 'SIGKILL');
}

/**
 * Run a load tool (or any short command) to the end and return what it printed. It is killed at
 * `timeoutMs`: a load that does not stop by itself must not hold the bench.
 */
export function runTool(command: string, args: string[], opts: { pin?: string[]; timeoutMs: number; input?: string }): Promise<{ code: number | null; output: string }> {
  const [file, ...rest] = [...(opts.pin ?? []), command, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(file!, rest, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    children.add(child);
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (output += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (output += s));
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
    const timer = setTimeout(() => {
      output += `\n(killed after ${opts.timeoutMs / 1000} s)`;
      if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
    }, opts.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      children.delete(child);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, output });
    });
  });
}

/** A port free for both TCP and UDP on `host` (DNS servers want both). Asked of the kernel, then released. */
export async function freePort(host: string): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, host, () => {
        const { port } = s.address() as net.AddressInfo;
        s.close(() => resolve(port));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const u = dgram.createSocket('udp4');
      u.once('error', () => resolve(false));
      u.bind(port, host, () => u.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error(`no free port on ${host}`);
}

/** Poll `check` until it returns true, or fail with `what` after `timeoutMs`. */
export async function waitUntil(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Does something accept TCP connections at host:port? */
export function tcpOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/** A process and all its descendants, from /proc (Linux only). */
export function processTree(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name, in parentheses, may hold spaces: the fields after its last ')' are fixed.
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // it ended while we looked
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(parents.get(tree[i]!) ?? []));
  return tree;
}

/**
 * CPU time a process and its descendants have used, every thread of each, in seconds: utime and
 * stime from /proc/<pid>/stat, in USER_HZ ticks (100 a second on every Linux Node runs on).
 */
export function cpuSeconds(pid: number): number {
  let ticks = 0;
  for (const p of processTree(pid)) {
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from the 3rd (state) on
      ticks += Number(fields[11]) + Number(fields[12]); // utime and stime: the 14th and 15th
    } catch {
      // it ended while we looked
    }
  }
  return ticks / 100;
}

/** Resident memory (VmRSS) of a process, in MB; 0 if it is gone. */
export function rssMb(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Keep this process (the conductor) off the servers' core: it is idle while loads run, but not always. */
export function pinSelf(pinning: Pinning): void {
  if (pinning.load.length === 0) return;
  spawn('taskset', ['-a', '-p', '-c', pinning.load[2]!, String(process.pid)], { stdio: 'ignore' }).on('error', () => {});
}

/** The end of a server's log, for the one line that says why it would not start. */
export function lastLines(file: string, n = 3): string {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-n).join(' | ');
  } catch {
    return '(no log)';
  }
}
