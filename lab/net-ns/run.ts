// `npm run lab -- --net ns`: build the little internet, run the walkthrough as the phone (inside
// the phone's network namespace: Node cannot switch namespaces, so it is a process started there),
// and remove the network afterwards, however the run ends.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { labDir } from '../paths.ts';
import { buildNetwork, canBuild, readHostTables, removeOnExit, teardownNetwork } from './build.ts';
import { planFor, type NetPlan, type Region } from './plan.ts';
import { cannotBuildLine } from './words.ts';

const CLI = path.join(path.dirname(path.dirname(fileURLToPath(import.meta.url))), 'cli.ts');

/** Where the inner run finds the plan (in the lab's folder: the same files on both sides of a namespace). */
export function planFile(): string {
  return path.join(labDir(), 'net-plan.json');
}

/**
 * Build, then run `lab/cli.ts <argv> --net-attached <plan>` in the phone's namespace with the
 * terminal handed over, then tear down. `argv` is the walkthrough's own, without `--net ns`.
 */
export async function runInNamespaces(argv: string[], region: Region): Promise<number> {
  const check = canBuild();
  if (!check.ok) {
    console.error(cannotBuildLine(check, '--net ns'));
    return 1;
  }
  const plan = planFor(await readHostTables());
  const undoExitHook = removeOnExit(plan.prefix); // Ctrl-C, a crash: the namespaces go with us
  // A Ctrl-C reaches the phone's process too (same process group); we wait for it, then clean up.
  const ignore = () => {};
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, ignore);
  try {
    const built = await buildNetwork(plan);
    fs.mkdirSync(labDir(), { recursive: true });
    fs.writeFileSync(planFile(), JSON.stringify({ ...plan, built: { ms: built.ms, delays: built.delays } }, null, 2) + '\n', { mode: 0o600 });
    const phone = plan.phones[region];
    const child = spawn('ip', ['netns', 'exec', phone.namespace, process.execPath, '--import', 'tsx', CLI, ...argv, '--net-attached', planFile()], { stdio: 'inherit' });
    return await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + 2 : 1)));
    });
  } finally {
    await teardownNetwork(plan.prefix).catch(() => {}); // the exit hook tries again if this fails
    fs.rmSync(planFile(), { force: true });
    undoExitHook();
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(signal, ignore);
  }
}

/** The plan the outer run built, for the run inside the phone's namespace. */
export function readAttachedPlan(file: string): NetPlan & { built?: { ms: { total: number }; delays: { applied: boolean; reason?: string } } } {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as NetPlan;
}
