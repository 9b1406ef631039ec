// The lab's side of a role that runs as a process of its own (lab/role-host.ts), in a network
// namespace when one is given: `ip netns exec <namespace> node lab/role-host.ts <spec>`. What the
// walkthrough reads from an in-process role it reads here the same way: `events` re-emits what the
// role emitted, and a few calls go over the IPC channel. Before reading what a role observed, the
// walkthrough awaits `sync()`: the reply comes after every event the role emitted before it.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HostMessage, Method, ParentMessage } from './role-host.ts';
import type { RoleSpec } from './roles.ts';

const HOST_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'role-host.ts');
const REPO = path.dirname(path.dirname(HOST_SCRIPT));

/**
 * lab/role-host.ts and what it imports, as one JavaScript file, built once per lab process with
 * esbuild (what tsx itself uses). A role process then starts with plain `node` in ~0.1 s instead
 * of compiling TypeScript under tsx for ~0.7 s: thirteen at once in ns mode is the difference
 * between a few seconds and ten. It lives under node_modules/.cache, inside the repository, so its
 * packages (express, dns2, node-forge) resolve as they do for the sources. Built from the sources
 * every time a lab starts, so it is never stale; if it cannot be built, tsx runs the sources.
 */
let bundled: Promise<string | undefined> | undefined;
function roleHostBundle(): Promise<string | undefined> {
  bundled ??= (async () => {
    const outfile = path.join(REPO, 'node_modules', '.cache', 'buy-online-lab', `role-host-${process.pid}.mjs`);
    try {
      const esbuild = await import('esbuild');
      await esbuild.build({
        entryPoints: [HOST_SCRIPT],
        outfile,
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        packages: 'external',
        logLevel: 'silent',
        // Two sources ask import.meta where they are: servers/net/paths.ts for the repository's
        // root (its own folder, as the sources have it), and the role CLIs whether they are the
        // program being run (in the bundle they are not: the bundle is role-host).
        define: { 'import.meta.dirname': JSON.stringify(path.join(REPO, 'servers', 'net')), 'import.meta.url': JSON.stringify('bundled:role-host') },
      });
      process.once('exit', () => fs.rmSync(outfile, { force: true }));
      return outfile;
    } catch {
      return undefined;
    }
  })();
  return bundled;
}

/**
 * How long a role may take to listen (a bound, not an expectation: thirteen roles starting at once
 * on a busy two-core machine each compile their TypeScript first), and to close when asked.
 */
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 3_000;

export interface RoleProcess {
  name: string;
  host: string;
  port: number;
  classicPort?: number;
  /** An edge's https port. */
  tlsPort?: number;
  pid: number;
  namespace?: string;
  /** What the role emitted that the walkthrough observes (lab/role-host.ts OBSERVED), re-emitted here. */
  events: EventEmitter;
  /** 'exit' (code, signal) when the process ends without being asked to. */
  lifecycle: EventEmitter;
  call(method: Method): Promise<unknown>;
  /** Every event the role emitted so far has arrived here. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** The command that starts a role: in its namespace when it has one, with the lab's own node (and tsx without a bundle). */
export function roleCommand(spec: RoleSpec, namespace?: string, bundle?: string): { file: string; args: string[] } {
  const node = bundle ? [process.execPath, bundle, JSON.stringify(spec)] : [process.execPath, '--import', 'tsx', HOST_SCRIPT, JSON.stringify(spec)];
  return namespace ? { file: 'ip', args: ['netns', 'exec', namespace, ...node] } : { file: node[0]!, args: node.slice(1) };
}

export async function startRoleProcess(spec: RoleSpec, opts: { namespace?: string; log?: (line: string) => void } = {}): Promise<RoleProcess> {
  const log = opts.log ?? (() => {});
  const { file, args } = roleCommand(spec, opts.namespace, await roleHostBundle());
  // stdin ignored, stdout/stderr to the lab's log (a crash's stack trace lands there), fd 3 the IPC channel.
  const child: ChildProcess = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], cwd: path.dirname(path.dirname(HOST_SCRIPT)) });
  const events = new EventEmitter();
  const lifecycle = new EventEmitter();
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let stopping = false;
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding('utf8');
    stream?.on('data', (text: string) => {
      for (const line of text.split('\n')) if (line.trim()) log(`${spec.name}: ${line}`);
    });
  }

  return new Promise<RoleProcess>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${spec.name}: not listening after ${START_TIMEOUT_MS / 1000} s`));
    }, START_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${spec.name}: could not start ${file}: ${err.message}`));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      for (const p of pending.values()) p.reject(new Error(`${spec.name} exited`));
      pending.clear();
      reject(new Error(`${spec.name}: exited before it was listening (${signal ?? `code ${code}`})`));
      if (!stopping) lifecycle.emit('exit', code, signal);
    });
    child.on('message', (m: HostMessage) => {
      switch (m.type) {
        case 'ready': {
          clearTimeout(timer);
          const call = (method: Method) =>
            new Promise<unknown>((res, rej) => {
              const id = nextId++;
              pending.set(id, { resolve: res, reject: rej });
              child.send({ type: 'call', id, method } satisfies ParentMessage);
            });
          resolve({
            name: spec.name,
            host: m.host,
            port: m.port,
            ...(m.classicPort !== undefined && { classicPort: m.classicPort }),
            ...(m.tlsPort !== undefined && { tlsPort: m.tlsPort }),
            pid: m.pid,
            namespace: opts.namespace,
            events,
            lifecycle,
            call,
            sync: async () => void (await call('sync')),
            close: () => stop(child, () => (stopping = true)),
          });
          break;
        }
        case 'failed':
          clearTimeout(timer);
          reject(new Error(m.message));
          break;
        case 'event':
          events.emit(m.name, ...m.args);
          break;
        case 'log':
          log(m.line);
          break;
        case 'reply': {
          const p = pending.get(m.id);
          pending.delete(m.id);
          if (m.error !== undefined) p?.reject(new Error(m.error));
          else p?.resolve(m.value);
          break;
        }
      }
    });
  });
}

/** Ask it to close; after STOP_TIMEOUT_MS, kill it. */
function stop(child: ChildProcess, markStopping: () => void): Promise<void> {
  markStopping();
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    if (child.connected) child.send({ type: 'stop' } satisfies ParentMessage);
    else child.kill('SIGTERM');
  });
}
