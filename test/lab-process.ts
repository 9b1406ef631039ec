// Running the lab's CLI the way a user does (`npm run lab -- …` as `tsx lab/cli.ts …`), for the
// tests that drive whole labs: each in its own LAB_DIR and process group, cleaned up after.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { LabState, RoleState } from '../lab/state.ts';

export const REPO = path.resolve(import.meta.dirname, '..');
export const TSX = path.join(REPO, 'node_modules', '.bin', 'tsx');
export const SHOP_HOST = 'www.geektime.test';
export const SEED_BODY = '{"order":{"date":"2018-07-01","className":"趣谈网络协议","Author":"刘超","price":"68"}}';
export const IS_LINUX = os.platform() === 'linux';

export const READY_TIMEOUT_MS = 15_000;
export const EXIT_TIMEOUT_MS = 10_000;
export const TEST_TIMEOUT_MS = 20_000;

// ───────────────────────────────────────── cleanup ────────────────────────────────────────

// tsx runs the script in a child node process of its own, so killing the spawned pid alone could
// leave the lab's real process (the one holding the ports) behind. Each `up` is therefore started
// as the leader of its own process group, and cleanup kills that group.
export const started = new Set<ChildProcess>();
export const dirs: string[] = [];

export function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

export async function cleanup(): Promise<void> {
  for (const child of started) {
    killGroup(child);
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2_000);
        child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
  started.clear();
  while (dirs.length > 0) fs.rmSync(dirs.pop()!, { recursive: true, force: true });
}


export function freshLabDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-up-'));
  dirs.push(dir);
  return dir;
}

// ───────────────────────────────────── running commands ───────────────────────────────────

/** A long-running command whose output we watch as it arrives. */
export class Running {
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8');
    child.stderr!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => (this.stdout += chunk));
    child.stderr!.on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get pid(): number {
    return this.child.pid!;
  }

  output(): string {
    return `--- stdout ---\n${this.stdout}\n--- stderr ---\n${this.stderr}`;
  }

  /** Resolve when `text` has appeared on stdout; fail with everything captured if the process
   *  exits first or the time runs out. */
  waitForStdout(text: string, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
    if (this.stdout.includes(text)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        this.child.stdout!.off('data', onData);
        this.child.off('exit', onExit);
        if (err) reject(err);
        else resolve();
      };
      const onData = () => {
        if (this.stdout.includes(text)) done();
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        // let the last chunks of output arrive before judging
        void this.drained().then(() => {
          if (this.stdout.includes(text)) done();
          else done(new Error(`process exited (code ${code}, signal ${signal}) before printing "${text}"\n${this.output()}`));
        });
      };
      const timer = setTimeout(
        () => done(new Error(`no "${text}" on stdout within ${timeoutMs} ms\n${this.output()}`)),
        timeoutMs,
      );
      this.child.stdout!.on('data', onData);
      this.child.once('exit', onExit);
    });
  }

  /** Resolve with the exit code and signal; fail with everything captured on timeout. */
  waitForExit(timeoutMs = EXIT_TIMEOUT_MS): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`process ${this.pid} still running after ${timeoutMs} ms\n${this.output()}`)),
        timeoutMs,
      );
      void this.exited.then(async (result) => {
        clearTimeout(timer);
        await this.drained();
        resolve(result);
      });
    });
  }

  /** 'exit' can come before the last output is read: wait (briefly) for both pipes to end. */
  private drained(): Promise<void> {
    const ended = (s: Readable) => new Promise<void>((r) => (s.readableEnded || s.destroyed ? r() : s.once('close', () => r())));
    const bounded = new Promise<void>((r) => setTimeout(r, 1_000).unref());
    return Promise.race([Promise.all([ended(this.child.stdout!), ended(this.child.stderr!)]).then(() => {}), bounded]);
  }
}

/** `npm run lab -- <args>` as `tsx lab/cli.ts <args>`, in its own process group (see cleanup). */
export function startLabCommand(labDir: string, args: string[]): Running {
  // As `npm run lab` runs it: node with tsx's loader, one process. (The tsx command relays a
  // signal to its child and SIGKILLs it when the child has not said within 60 ms that it got it:
  // on a busy machine that cut the lab's teardown short.)
  const child = spawn(process.execPath, ['--import', 'tsx', 'lab/cli.ts', ...args], {
    cwd: REPO,
    env: { ...process.env, LAB_DIR: labDir },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  started.add(child);
  return new Running(child);
}

export interface UpLab {
  up: Running;
  labDir: string;
  state: LabState;
  role(name: string): RoleState;
}

/** `up --ephemeral --quiet` in a fresh LAB_DIR, ready to be reached. */
export async function startUp(extra: string[] = [], labDir = freshLabDir()): Promise<UpLab> {
  const up = startLabCommand(labDir, ['up', '--ephemeral', '--quiet', ...extra]);
  await up.waitForStdout('Lab is up.');
  const state = JSON.parse(fs.readFileSync(path.join(labDir, 'state.json'), 'utf8')) as LabState;
  const role = (name: string) => {
    const found = state.roles.find((r) => r.name === name);
    if (!found) throw new Error(`state.json has no role "${name}": ${JSON.stringify(state.roles)}`);
    return found;
  };
  return { up, labDir, state, role };
}

export interface Finished {
  /** exit code; for a command that could not be started, the spawn error's code */
  code: number | string;
  stdout: string;
  stderr: string;
}

/** Run a command to the end with stdin closed (input ''); never throws for a non-zero exit. */
export function run(file: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Finished> {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      { cwd: REPO, env: opts.env ?? process.env, encoding: 'utf8', timeout: opts.timeoutMs ?? EXIT_TIMEOUT_MS, maxBuffer: 10 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? ((err as NodeJS.ErrnoException & { code?: number | string }).code ?? `signal ${err.signal}`) : 0;
        resolve({ code: code as number | string, stdout, stderr });
      },
    );
    child.stdin?.end();
  });
}

/** `lab/cli.ts <args>` run to the end with LAB_DIR set. */
export function labCli(labDir: string, args: string[]): Promise<Finished> {
  return run(TSX, ['lab/cli.ts', ...args], { env: { ...process.env, LAB_DIR: labDir }, timeoutMs: 15_000 });
}

export async function onPath(tool: string): Promise<boolean> {
  return (await run('which', [tool], { timeoutMs: 5_000 })).code === 0;
}

export const HAVE_CURL = await onPath('curl');
export const HAVE_OPENSSL = await onPath('openssl');

export function show(result: Finished): string {
  return `exit ${result.code}\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`;
}

/** The parent pid of a process (Linux: /proc; elsewhere: ps). */
export async function parentPid(pid: number): Promise<number> {
  if (IS_LINUX) {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ..." — comm may contain spaces, so read after the last ')'
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  }
  return Number((await run('ps', ['-o', 'ppid=', '-p', String(pid)])).stdout.trim());
}

/** Processes still running with this LAB_DIR in their environment (Linux only; [] elsewhere). */
export function processesUsing(labDir: string): number[] {
  if (!IS_LINUX) return [];
  const wanted = `\0LAB_DIR=${labDir}\0`;
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const environ = fs.readFileSync(`/proc/${entry}/environ`, 'utf8');
      if (`\0${environ}\0`.includes(wanted)) found.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** Try a TCP connection; resolve with 'connected' or the error code. */
export function tryConnect(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(5_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

