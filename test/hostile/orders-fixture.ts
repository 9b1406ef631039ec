// App servers as real processes for the hostile order tests: `node --import tsx
// servers/order-service-cli.ts`, optionally inside a pid namespace of its own (as in a container).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

export const SEED_ORDER = { date: '2018-07-01', className: '趣谈网络协议', Author: '刘超', price: '68' };
const CLI = path.join(import.meta.dirname, '..', '..', 'servers', 'order-service-cli.ts');

export interface AppProcess {
  url: string;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, for clean-up. */
  kill(): void;
}

/** Can this machine run a process in a new pid namespace? (root, or user namespaces allowed) */
export const CAN_UNSHARE_PID =
  process.platform === 'linux' && spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], { timeout: 5_000 }).status === 0;

export function tempDir(cleanups: (() => unknown)[], prefix = 'orders-hostile-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Start one app server process on 127.0.0.1:0 with the given order log; resolves once it listens. */
export async function startAppProcess(
  cleanups: (() => unknown)[],
  opts: { name: string; store: string; ownPidNamespace?: boolean },
): Promise<AppProcess> {
  const node = [process.execPath, '--import', 'tsx', CLI, '--name', opts.name, '--listen', '127.0.0.1:0', '--store', opts.store];
  // --kill-child: if unshare dies, so does the app (pid 1 of its namespace).
  const [cmd, ...args] = opts.ownPidNamespace ? ['unshare', '--pid', '--fork', '--mount-proc', '--kill-child=SIGKILL', ...node] : node;
  const child: ChildProcess = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  // 'close', not 'exit': by then everything it printed has been read.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));

  // The process to signal: node itself, which inside unshare is unshare's only child.
  const appPid = (): number | undefined => {
    if (!opts.ownPidNamespace) return child.pid;
    try {
      const kids = fs.readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim();
      return kids === '' ? undefined : Number(kids.split(' ')[0]);
    } catch {
      return undefined;
    }
  };
  const kill = () => {
    const pid = appPid();
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    child.kill('SIGKILL');
  };
  cleanups.push(kill);

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${opts.name} did not listen within 20 s:\n${out}`)), 20_000);
    child.stdout!.on('data', () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${opts.name} exited ${code} before listening:\n${out}`));
    });
  });

  return {
    url,
    output: () => out,
    kill,
    async stop() {
      const pid = appPid();
      if (pid !== undefined) process.kill(pid, 'SIGTERM');
      return exited;
    },
  };
}

export function postOrder(url: string, order: object, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}/purchaseOrder`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ order }),
  });
}

export function logRecords(file: string): any[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}
