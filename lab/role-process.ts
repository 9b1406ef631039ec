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
import { isAlive } from './state.ts';
import { upWords } from './words/up.ts';

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
    const dir = path.join(REPO, 'node_modules', '.cache', 'buy-online-lab');
    const outfile = path.join(dir, `role-host-${process.pid}.mjs`);
    // A lab killed before its exit hook leaves its bundle: remove those whose process is gone.
    for (const old of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
      const pid = Number(/^role-host-(\d+)\.mjs$/.exec(old)?.[1]);
      if (pid && !isAlive(pid)) fs.rmSync(path.join(dir, old), { force: true });
    }
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
        // The role CLIs ask import.meta.url whether they are the program being run: in the bundle
        // they are not (it is role-host). The repository's root comes from LAB_REPO_ROOT.
        define: { 'import.meta.url': JSON.stringify('bundled:role-host') },
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
/** A call to a role (sync, flushKeyLog): it answers in microseconds unless it is stuck. */
const CALL_TIMEOUT_MS = 2_000;

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
  call(method: Method, timeoutMs?: number): Promise<unknown>;
  /** Every event the role emitted so far has arrived here. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** The command that starts a role: in its namespace when it has one, with the lab's own node (and tsx without a bundle). */
export function roleCommand(spec: RoleSpec, namespace?: string, bundle?: string): { file: string; args: string[] } {
  // The role's name only, for `ps`: the spec itself goes over the channel (it holds a token).
  const node = bundle ? [process.execPath, bundle, spec.name] : [process.execPath, '--import', 'tsx', HOST_SCRIPT, spec.name];
  return namespace ? { file: 'ip', args: ['netns', 'exec', namespace, ...node] } : { file: node[0]!, args: node.slice(1) };
}

export async function startRoleProcess(spec: RoleSpec, opts: { namespace?: string; log?: (line: string) => void } = {}): Promise<RoleProcess> {
  const log = opts.log ?? (() => {});
  const said = upWords().process;
  const { file, args } = roleCommand(spec, opts.namespace, await roleHostBundle());
  // stdin ignored, stdout/stderr to the lab's log (a crash's stack trace lands there), fd 3 the IPC channel.
  // LAB_REPO_ROOT: where the sources are, for servers/net/paths.ts inside the bundle (which lives elsewhere).
  const child: ChildProcess = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], cwd: REPO, env: { ...process.env, LAB_REPO_ROOT: REPO } });
  child.send({ type: 'spec', spec } satisfies ParentMessage);
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
      reject(new Error(said.notListening(spec.name, START_TIMEOUT_MS / 1000)));
    }, START_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(said.couldNotStart(spec.name, file, err.message)));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      for (const p of pending.values()) p.reject(new Error(said.exited(spec.name)));
      pending.clear();
      reject(new Error(said.exitedEarly(spec.name, signal ?? said.exitCode(code))));
      if (!stopping) lifecycle.emit('exit', code, signal);
    });
    child.on('message', (m: HostMessage) => {
      switch (m.type) {
        case 'ready': {
          clearTimeout(timer);
          // Every call has a deadline: a frozen role must not freeze the lab with it.
          const call = (method: Method, timeoutMs = CALL_TIMEOUT_MS) =>
            new Promise<unknown>((res, rej) => {
              const id = nextId++;
              const timer = setTimeout(() => {
                pending.delete(id);
                rej(new Error(said.didNotAnswer(spec.name, method, timeoutMs / 1000)));
              }, timeoutMs);
              timer.unref();
              pending.set(id, {
                resolve: (v) => (clearTimeout(timer), res(v)),
                reject: (e) => (clearTimeout(timer), rej(e)),
              });
              if (child.connected) child.send({ type: 'call', id, method } satisfies ParentMessage);
              else pending.get(id)!.reject(new Error(said.gone(spec.name)));
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
