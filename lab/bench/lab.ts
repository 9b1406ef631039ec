// The lab's side of the bench: every role started exactly as `npm run lab -- up --ephemeral` starts
// them (one Node process, all roles in it), in a LAB_DIR of the bench's own so that a lab the user
// has running is left alone. The roles' addresses and ports come from its .lab/state.json.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { LabState, RoleState } from '../state.ts';
import { repoRoot } from '../paths.ts';
import { processTree, rssMb, startServer, stopServer, waitUntil, type Pinning } from './procs.ts';

export interface BenchLab {
  state: LabState;
  dir: string;
  pid: number;
  role(name: string): RoleState;
  /** Resident memory of the lab's processes (the `up` process and anything it started), in MB. */
  rss(): { mb: number; processes: number };
  stop(): Promise<void>;
}

/** Long enough for a first run on a busy 2-core machine: certificates are made, tsx compiles. */
const START_TIMEOUT_MS = 90_000;

export async function startBenchLab(tmp: string, pinning: Pinning): Promise<BenchLab> {
  const dir = path.join(tmp, 'lab');
  const statePath = path.join(dir, 'state.json');
  // `node --import tsx` rather than `npm run lab`: the same code in one process, without npm's and
  // tsx's wrapper processes, whose memory is not the lab's.
  const child: ChildProcess = startServer(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'lab', 'cli.ts'), 'up', '--ephemeral'], {
    pin: pinning.server,
    logFile: path.join(tmp, 'lab-up.log'),
    env: { ...process.env, LAB_DIR: dir, NO_COLOR: '1' },
    cwd: repoRoot,
  });
  let exited = false;
  child.once('exit', () => (exited = true));
  try {
    await waitUntil(() => {
      if (exited) throw new Error('exited');
      return fs.existsSync(statePath);
    }, START_TIMEOUT_MS, 'the lab (up --ephemeral)');
  } catch (err) {
    await stopServer(child);
    const log = fs.existsSync(path.join(tmp, 'lab-up.log')) ? fs.readFileSync(path.join(tmp, 'lab-up.log'), 'utf8').trim().split('\n').slice(-5).join('\n  ') : '';
    throw new Error(`the lab did not start (${(err as Error).message}):\n  ${log}`);
  }
  const state = JSON.parse(fs.readFileSync(statePath, 'utf8')) as LabState;
  const pid = child.pid!;
  return {
    state,
    dir,
    pid,
    role(name) {
      const r = state.roles.find((x) => x.name === name);
      if (!r) throw new Error(`the lab's state.json has no role ${name}`);
      if (r.status && r.status !== 'up') throw new Error(`the lab's ${name} is ${r.status}`);
      return r;
    },
    rss() {
      const pids = processTree(pid);
      return { mb: pids.reduce((sum, p) => sum + rssMb(p), 0), processes: pids.length };
    },
    stop: () => stopServer(child),
  };
}
