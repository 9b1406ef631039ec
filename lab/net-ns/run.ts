// `npm run lab -- --net ns`: build the little internet, run the walkthrough as the phone (inside
// the phone's network namespace: Node cannot switch namespaces, so it is a process started there),
// and remove the network afterwards, however the run ends.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { removeTraceInstance } from '../observe/socket-trace.ts';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { labDir } from '../paths.ts';
import { buildNetwork, canBuild, readHostTables, removeOnExit, teardownNetwork, type BuiltNetwork } from './build.ts';
import { planFor, type LinkKind, type NetPlan, type Region } from './plan.ts';
import { netWords } from './words/index.ts';

const CLI = path.join(path.dirname(path.dirname(fileURLToPath(import.meta.url))), 'cli.ts');

/** Where the inner run finds the plan (in the lab's folder: the same files on both sides of a namespace). */
export function planFile(): string {
  return path.join(labDir(), 'net-plan.json');
}

/**
 * The network's lifecycle, once for every command that needs it (net up, up --net ns, --net ns):
 * refuse in one line without privilege; plan clear of this machine's networks; arm the removal
 * before building, so a Ctrl-C or a crash during the build removes what was built so far; build;
 * run `body`; remove the network however it ended (SIGKILL aside: then `net down`). `stopped`
 * resolves on the first Ctrl-C, SIGTERM or SIGHUP.
 */
export async function withNetwork(
  command: string,
  opts: { delaysMs?: Partial<Record<LinkKind, number>> },
  body: (plan: NetPlan, built: BuiltNetwork, stopped: Promise<NodeJS.Signals>) => Promise<number>,
): Promise<number> {
  const check = canBuild();
  if (!check.ok) {
    console.error(netWords().cannotBuildLine(check.reason, command));
    return 1;
  }
  const plan = planFor(await readHostTables(), opts);
  const undoExitHook = removeOnExit(plan.prefix);
  // `on`, not `once`: a Ctrl-C reaches the whole process group, and under tsx the same signal can
  // come again (tsx relays it when we have not acknowledged it within 30 ms); a second one without
  // a handler would kill us halfway through the teardown.
  let signalled: NodeJS.Signals | undefined;
  let onSignal: (signal: NodeJS.Signals) => void = () => {};
  const stopped = new Promise<NodeJS.Signals>((resolve) => (onSignal = (signal) => resolve((signalled ??= signal))));
  for (const signal of SIGNALS) process.on(signal, onSignal);
  // Signal handlers do not keep Node running: a timer waits with us.
  const keepAlive = setInterval(() => {}, 1 << 30);
  try {
    const built = await buildNetwork(plan);
    // Stopped while building: remove it (below) and go no further.
    if (signalled) return 128 + (os.constants.signals[signalled] ?? 2);
    return await body(plan, built, stopped);
  } finally {
    clearInterval(keepAlive);
    await teardownNetwork(plan.prefix).catch(() => {}); // the exit hook tries again if this fails
    undoExitHook();
    for (const signal of SIGNALS) process.off(signal, onSignal);
  }
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * `--net ns`: run `lab/cli.ts <argv> --net-attached <plan>` in the phone's namespace with the
 * terminal handed over (a Ctrl-C reaches it too: same process group), then remove the network.
 * `argv` is the walkthrough's own, without `--net ns`.
 */
export function runInNamespaces(argv: string[], region: Region): Promise<number> {
  return withNetwork('--net ns', {}, async (plan, built, stopped) => {
    fs.mkdirSync(labDir(), { recursive: true });
    fs.writeFileSync(planFile(), JSON.stringify({ ...plan, built: { ms: built.ms, delays: built.delays } }, null, 2) + '\n', { mode: 0o600 });
    try {
      const child = spawn('ip', ['netns', 'exec', plan.phones[region].namespace, process.execPath, '--import', 'tsx', CLI, ...argv, '--net-attached', planFile()], { stdio: 'inherit' });
      // A signal for us is one for the phone's run too (a Ctrl-C reaches both already; a `kill`
      // or a CI timeout reaches only us): pass it on, then wait for the run to end.
      void stopped.then((signal) => child.kill(signal));
      const code = await new Promise<number>((resolve, reject) => {
        child.on('error', reject);
        child.on('exit', (c, signal) => resolve(c ?? 128 + (signal ? (os.constants.signals[signal] ?? 2) : 1)));
      });
      // What a run killed before its own cleanup can leave behind: its kernel trace instance.
      if (child.pid) removeTraceInstance(`bol-trace-${child.pid}`);
      return code;
    } finally {
      fs.rmSync(planFile(), { force: true });
    }
  });
}

/** The plan the outer run built, for the run inside the phone's namespace. */
export function readAttachedPlan(file: string): NetPlan & { built?: { ms: { total: number }; delays: { applied: boolean; reason?: string } } } {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as NetPlan;
}
