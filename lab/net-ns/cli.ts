// `npm run lab -- net up|down|plan`: the lab's network of namespaces on its own, before any role
// runs in it. `up` builds it and stays until Ctrl-C, then removes it; `down` removes what earlier
// runs left (after a crash or a SIGKILL); `plan` prints it without building (no privilege needed).
import os from 'node:os';
import { parseArgs } from 'node:util';
import { buildScript, canBuild, netDown, readHostTables, teardownNetwork } from './build.ts';
import { withNetwork } from './run.ts';
import { planFor, planNetwork, type LinkKind, type NetPlan } from './plan.ts';
import { netWords } from './words/index.ts';

export async function netCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'up') return netUp(rest);
  if (sub === 'down') return netDownCommand(rest);
  if (sub === 'plan') return netPlan(rest);
  const w = netWords().cli;
  if (sub === 'help' || sub === '--help' || sub === undefined) {
    console.log(w.usage);
    return sub === undefined ? 2 : 0;
  }
  console.error(`${w.unknownCommand(sub)}\n\n${w.usage}`);
  return 2;
}

/** The networks, every host's interfaces, and the routers' routes. */
function printPlan(plan: NetPlan): void {
  const w = netWords();
  console.log(w.cli.networks);
  for (const line of w.networkLines(plan)) console.log(`  ${line}`);
  console.log(w.cli.hosts);
  for (const line of w.planTable(plan)) console.log(`  ${line}`);
  console.log(w.cli.routes);
  for (const line of w.routeLines(plan)) console.log(`  ${line}`);
}

async function netUp(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { delay: { type: 'string', multiple: true } } });
  const w = netWords();
  return withNetwork('net up', { delaysMs: parseDelays(values.delay) }, async (plan, built, stopped) => {
    for (const line of w.movedLines(plan)) console.log(line);
    printPlan(plan);
    for (const line of w.builtLines(built)) console.log(line);
    for (const line of w.howToLines(plan)) console.log(line);
    console.log(w.cli.isUp);
    const signal = await stopped;
    console.log(w.cli.removing(signal));
    console.log(w.teardownLine(await teardownNetwork(plan.prefix)));
    return 0;
  });
}

async function netDownCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { all: { type: 'boolean', default: false } } });
  const w = netWords();
  const check = canBuild();
  if (!check.ok) {
    console.error(w.cannotBuildLine(check.reason, 'net down'));
    return 1;
  }
  for (const line of w.netDownLines(await netDown({ all: values.all }))) console.log(line);
  return 0;
}

async function netPlan(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean', default: false }, commands: { type: 'boolean', default: false }, delay: { type: 'string', multiple: true } },
  });
  const w = netWords();
  const delaysMs = parseDelays(values.delay);
  // The plan for this machine when its tables can be read (Linux with iproute2), else the preferred one.
  let plan: NetPlan;
  let unchecked = '';
  if (os.platform() === 'linux') {
    plan = planFor(await readHostTables(), { delaysMs });
  } else {
    plan = planNetwork({ delaysMs });
    unchecked = w.cli.unchecked(os.platform());
  }
  if (values.json) {
    console.log(JSON.stringify(plan, null, 2));
    return 0;
  }
  if (values.commands) {
    for (const line of buildScript(plan)) console.log(line);
    return 0;
  }
  for (const line of w.movedLines(plan)) console.log(line);
  if (unchecked) console.log(unchecked);
  printPlan(plan);
  console.log(w.cli.nothingBuilt(plan.runId));
  console.log(w.cli.buildIt);
  return 0;
}

/** ["radio=30", "dns=2"] → { radio: 30, dns: 2 }; planNetwork checks the kinds and the values. */
function parseDelays(specs: string[] | undefined): Partial<Record<LinkKind, number>> {
  const delays: Partial<Record<LinkKind, number>> = {};
  for (const spec of specs ?? []) {
    const m = /^([a-z-]+)=(\d+(?:\.\d+)?)$/.exec(spec);
    if (!m) throw new Error(netWords().buildErrors.badDelaySpec(spec));
    delays[m[1] as LinkKind] = Number(m[2]);
  }
  return delays;
}
