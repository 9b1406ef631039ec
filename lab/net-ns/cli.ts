// `npm run lab -- net up|down|plan`: the lab's network of namespaces on its own, before any role
// runs in it. `up` builds it and stays until Ctrl-C, then removes it; `down` removes what earlier
// runs left (after a crash or a SIGKILL); `plan` prints it without building (no privilege needed).
import os from 'node:os';
import { parseArgs } from 'node:util';
import { buildScript, canBuild, netDown, readHostTables, teardownNetwork } from './build.ts';
import { withNetwork } from './run.ts';
import { planFor, planNetwork, type LinkKind, type NetPlan } from './plan.ts';
import { builtLines, cannotBuildLine, howToLines, movedLines, netDownLines, networkLines, planTable, routeLines, teardownLine } from './words.ts';

const NET_USAGE = `usage: npm run lab -- net <up|down|plan> [options]

  up     build the network, print it, stay until Ctrl-C, then remove it   [--delay KIND=MS ...]
  down   remove what earlier runs left (runs whose process is gone)        [--all: running ones too]
  plan   print the plan, build nothing (no privilege needed)               [--json] [--commands] [--delay KIND=MS ...]

  KIND is one of radio, backbone, transit, dns, cdn-edge, cdn-core, dc; MS the one-way delay in ms.`;

export async function netCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'up') return netUp(rest);
  if (sub === 'down') return netDownCommand(rest);
  if (sub === 'plan') return netPlan(rest);
  if (sub === 'help' || sub === '--help' || sub === undefined) {
    console.log(NET_USAGE);
    return sub === undefined ? 2 : 0;
  }
  console.error(`lab net: unknown command "${sub}"\n\n${NET_USAGE}`);
  return 2;
}

/** The networks, every host's interfaces, and the routers' routes. */
function printPlan(plan: NetPlan): void {
  console.log('Networks:');
  for (const line of networkLines(plan)) console.log(`  ${line}`);
  console.log('Hosts:');
  for (const line of planTable(plan)) console.log(`  ${line}`);
  console.log("Routers' routes (besides the networks they are on):");
  for (const line of routeLines(plan)) console.log(`  ${line}`);
}

async function netUp(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { delay: { type: 'string', multiple: true } } });
  return withNetwork('net up', { delaysMs: parseDelays(values.delay) }, async (plan, built, stopped) => {
    for (const line of movedLines(plan)) console.log(line);
    printPlan(plan);
    for (const line of builtLines(built)) console.log(line);
    for (const line of howToLines(plan)) console.log(line);
    console.log('The network is up. Press Ctrl-C to remove it.');
    const signal = await stopped;
    console.log(`${signal}: removing the network...`);
    console.log(teardownLine(await teardownNetwork(plan.prefix)));
    return 0;
  });
}

async function netDownCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { all: { type: 'boolean', default: false } } });
  const check = canBuild();
  if (!check.ok) {
    console.error(cannotBuildLine(check, 'net down'));
    return 1;
  }
  for (const line of netDownLines(await netDown({ all: values.all }))) console.log(line);
  return 0;
}

async function netPlan(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean', default: false }, commands: { type: 'boolean', default: false }, delay: { type: 'string', multiple: true } },
  });
  const delaysMs = parseDelays(values.delay);
  // The plan for this machine when its tables can be read (Linux with iproute2), else the preferred one.
  let plan: NetPlan;
  let unchecked = '';
  if (os.platform() === 'linux') {
    plan = planFor(await readHostTables(), { delaysMs });
  } else {
    plan = planNetwork({ delaysMs });
    unchecked = `Not checked against this machine's addresses (${os.platform()}: no ip command).`;
  }
  if (values.json) {
    console.log(JSON.stringify(plan, null, 2));
    return 0;
  }
  if (values.commands) {
    for (const line of buildScript(plan)) console.log(line);
    return 0;
  }
  for (const line of movedLines(plan)) console.log(line);
  if (unchecked) console.log(unchecked);
  printPlan(plan);
  console.log(`Nothing is built. The namespaces' names carry the id of the process that builds them (here ${plan.runId}).`);
  console.log('Build it: sudo npm run lab -- net up    The commands it runs: npm run lab -- net plan --commands');
  return 0;
}

/** ["radio=30", "dns=2"] → { radio: 30, dns: 2 }; planNetwork checks the kinds and the values. */
function parseDelays(specs: string[] | undefined): Partial<Record<LinkKind, number>> {
  const delays: Partial<Record<LinkKind, number>> = {};
  for (const spec of specs ?? []) {
    const m = /^([a-z-]+)=(\d+(?:\.\d+)?)$/.exec(spec);
    if (!m) throw new Error(`--delay takes KIND=MS, such as radio=30, not "${spec}"`);
    delays[m[1] as LinkKind] = Number(m[2]);
  }
  return delays;
}
