// `npm run bench`: the lab's servers side by side with the servers people compare them with
// (Knot, Unbound, nginx, HAProxy), under the same load from the tools of the trade (dnsperf, wrk),
// on this machine. Issue 14's table, measured: medians of repeated runs, lab/peer ratios, and
// whether each target is met; then the CPU time each side used per answer, and what a target allows.
//
//   npm run bench                  3 repetitions of 3 s per side and row (about 4¾ minutes)
//   npm run bench -- --quick       1 repetition of 1 s: does every row work? (about a minute)
//   npm run bench -- --json        the same, as JSON on stdout
//   npm run bench -- --rows auth,edge-6k     only these rows (ids as in the JSON)
//   npm run bench -- --keep        keep its folder (every config, log and zone file) afterwards
//
// It installs nothing: a peer or a load tool that is missing skips its rows, in one line each. The
// lab runs as `npm run lab -- up --ephemeral` runs it, in a folder of its own; every peer gets one
// worker, as the lab's roles share one Node process; servers are pinned to core 0 and the load to
// core 1. Traffic stays on loopback. Not part of `npm test`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startBenchLab, type BenchLab } from './lab.ts';
import { prepareRows, ROW_IDS, type Row, type Side } from './rows.ts';
import { choosePinning, cpuSeconds, killAllNow, pinSelf, stopAll } from './procs.ts';
import { UNSTEADY_FACTOR, cpuBudgetUs, missReason, ms, p99Shortfall, short, shortfall, steadied, summarise, table, unsteady, us, verdict, type MissReason, type Run, type Target, type Verdict } from './results.ts';

/** Whatever happens, the bench ends by then: its own processes stopped, its folder removed. */
const DEADLINE_MS = 9 * 60_000;
const RSS_TARGET_MB = 200;
const WARM_UP_SECONDS = 1;
/** The most warm-up runs the lab's side gets before it is measured anyway (see steadied). */
const MAX_WARM_UP_RUNS = 5;

interface RowResult {
  id: string;
  what: string;
  load: string;
  lab?: { name: string; median: Run; runs: Run[] };
  peer?: { name: string; median: Run; runs: Run[] };
  /** The same load on bare Node (bare-node.ts), where the row has one. */
  bare?: { median: Run; runs: Run[] };
  target: Target;
  verdict: Verdict;
  /** Why a target was missed: the allowance, bare Node's share, the lab's; in CPU per answer, or for a p99 in ms (results.ts). */
  miss?: MissReason;
  skipped?: string;
  /** A side's rate moved more than UNSTEADY_FACTOR between repetitions: the machine's speed changed. */
  unsteady?: true;
  notes: string[];
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      reps: { type: 'string' },
      seconds: { type: 'string' },
      rows: { type: 'string' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    // The comment at the top of this file is the help.
    const lines = fs.readFileSync(new URL(import.meta.url), 'utf8').split('\n');
    console.log(lines.slice(0, lines.findIndex((l) => !l.startsWith('//'))).map((l) => l.slice(3)).join('\n'));
    return 0;
  }
  const reps = positive(values.reps ?? (values.quick ? '1' : '3'), '--reps');
  const seconds = positive(values.seconds ?? (values.quick ? '1' : '3'), '--seconds');
  const only = values.rows?.split(',').map((s) => s.trim());
  const unknown = only?.filter((id) => !(ROW_IDS as readonly string[]).includes(id)) ?? [];
  if (unknown.length) throw new Error(`no row ${unknown.join(', ')}; the rows are ${ROW_IDS.join(', ')}`);
  const progress = (line: string) => process.stderr.write(`bench: ${line}\n`);

  if (process.platform !== 'linux') {
    console.error('npm run bench needs Linux (/proc, loopback addresses per role, taskset).');
    return 1;
  }
  const pinning = choosePinning();
  pinSelf(pinning);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-bench-'));
  // Ctrl-C, a kill, an error or the deadline: every process we started goes, and so does the folder.
  const cleanup = () => {
    killAllNow();
    if (values.keep) console.error(`bench: kept ${tmp}`);
    else fs.rmSync(tmp, { recursive: true, force: true });
  };
  process.once('exit', cleanup);
  // `on`, not `once`: Ctrl-C reaches npm, tsx and this process, so a second SIGINT follows the
  // first, and with no listener left it would kill this process in the middle of its cleanup.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => process.exit(130));
  setTimeout(() => {
    console.error(`bench: still running after ${DEADLINE_MS / 60_000} minutes; stopping`);
    process.exit(1);
  }, DEADLINE_MS).unref();

  const started = Date.now();
  const loadAtStart = Number(os.loadavg()[0]!.toFixed(2));
  progress(`starting the lab (up --ephemeral) in ${tmp}`);
  const lab = await startBenchLab(tmp, pinning);
  const stoppers: Array<() => Promise<void>> = [];
  let results: RowResult[];
  let rss: { idleMb: number; afterMb: number; processes: number };
  try {
    // Idle: every role up, health checks running, nothing asked yet.
    await sleep(2000);
    const idle = lab.rss();
    const wanted = (id: string) => !only || only.includes(id);
    const rows = (await prepareRows({ tmp, pinning, lab, stoppers, progress, wanted })).filter((r) => wanted(r.id));
    results = await measure(rows, reps, seconds, values.quick ? 1 : MAX_WARM_UP_RUNS, progress);
    const after = lab.rss();
    rss = { idleMb: idle.mb, afterMb: after.mb, processes: after.processes };
  } finally {
    for (const stop of stoppers) await stop().catch(() => {});
    await lab.stop().catch(() => {});
    await stopAll();
  }
  const rssRow: RowResult = {
    id: 'rss',
    what: 'whole lab RSS, idle / after the loads',
    load: '/proc/<pid>/status VmRSS',
    target: { kind: 'rss', maxMb: RSS_TARGET_MB },
    verdict: verdict({ kind: 'rss', maxMb: RSS_TARGET_MB }, undefined, undefined, rss.idleMb),
    notes: [`${rss.processes} process(es): node lab/cli.ts up --ephemeral (every role in one process)`],
  };
  if (!only || only.includes('rss')) results.push(rssRow);

  const report = {
    when: new Date(started).toISOString(),
    seconds: Math.round((Date.now() - started) / 1000),
    command: benchCommand(process.argv.slice(2)),
    // The 1-minute load average before and after: on a shared machine, how much else was running.
    machine: { cores: os.cpus().length, node: process.version, loadAverage: { start: loadAtStart, end: Number(os.loadavg()[0]!.toFixed(2)) } },
    settings: { repetitions: reps, secondsPerRun: seconds, warmUpSeconds: WARM_UP_SECONDS, labWarmUpRunsAtMost: values.quick ? 1 : MAX_WARM_UP_RUNS, pinning: pinning.note },
    rss,
    rows: results,
  };
  if (values.json) console.log(JSON.stringify(report, null, 2));
  else printReport(report, results, lab, rss);
  return 0;
}

/** One run of a side's load, with the CPU its processes spent per answer. */
async function timedRun(who: Side, seconds: number): Promise<Run> {
  const cpu = () => who.pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  const cpuBefore = cpu();
  const run = await who.run(seconds).catch((err: Error): Run => ({ rate: NaN, avgMs: NaN, problem: err.message.split('\n')[0] }));
  if (run.count) run.cpuUsPerOp = ((cpu() - cpuBefore) * 1e6) / run.count;
  return run;
}

/**
 * Every row's lab and peer, `reps` times. The two alternate who goes first, so that neither always
 * runs right after the other's load (a warm CPU cache, a GC debt, the neighbours' noise).
 */
async function measure(rows: Row[], reps: number, seconds: number, warmUpRuns: number, progress: (line: string) => void): Promise<RowResult[]> {
  const runs = new Map<string, { lab: Run[]; peer: Run[]; bare: Run[] }>(rows.map((r) => [r.id, { lab: [], peer: [], bare: [] }]));
  // Warm-up runs, not counted. A Node process answers its first seconds of load with code the JIT
  // has not optimised yet: the lab's edge took 94, 60, 55, 44 µs of CPU per HIT in its first four
  // seconds under wrk, then stayed at 40-45 (Node 26). So the lab's side runs until its cost per
  // answer stops falling (steadied), at most MAX_WARM_UP_RUNS seconds (one with --quick,
  // which only checks that every row works); nginx, Knot and the
  // 30-line bare Node are steady after a second. A cache's first requests also fill the page cache.
  const warmed = new Set<string>();
  for (const row of rows) {
    if (!row.lab || !row.peer) continue;
    if (row.warmedBy && warmed.has(row.warmedBy)) {
      progress(`${row.id}: warm already (the same servers and question as ${row.warmedBy})`);
      continue;
    }
    progress(`warming up ${row.id}`);
    const costs: string[] = [];
    let before: Run | undefined;
    for (let i = 0; i < warmUpRuns; i++) {
      const run = await timedRun(row.lab, WARM_UP_SECONDS);
      costs.push(us(run.cpuUsPerOp));
      if (run.problem) break;
      // Only a warm-up that ran warms the rows that share it.
      warmed.add(row.id);
      if (steadied(before, run)) break;
      before = run;
    }
    progress(`  the lab's side, CPU per answer in each warm-up second: ${costs.join(', ')}`);
    await timedRun(row.peer, WARM_UP_SECONDS);
    if (row.bare) await timedRun(row.bare, WARM_UP_SECONDS);
  }
  for (let rep = 0; rep < reps; rep++) {
    for (const row of rows) {
      if (!row.lab || !row.peer) continue;
      const sides = (['lab', 'peer', 'bare'] as const).filter((side) => row[side]);
      const order = sides.map((_, i) => sides[(i + rep) % sides.length]!); // each side goes first in turn
      for (const side of order) {
        const who = row[side]!;
        progress(`${rep + 1}/${reps} ${row.id}: ${side === 'lab' ? 'lab' : who.name}`);
        runs.get(row.id)![side].push(await timedRun(who, seconds));
      }
    }
  }
  return rows.map((row) => {
    const r = runs.get(row.id)!;
    const lab = row.lab && r.lab.length ? { name: row.lab.name, median: summarise(r.lab), runs: r.lab } : undefined;
    const peer = row.peer && r.peer.length ? { name: row.peer.name, median: summarise(r.peer), runs: r.peer } : undefined;
    const bare = row.bare && r.bare.length ? { median: summarise(r.bare), runs: r.bare } : undefined;
    const judged = verdict(row.target, lab?.median, peer?.median);
    const figures = row.target.kind === 'p99' ? p99Shortfall(row.target, lab?.median, peer?.median, bare?.median) : shortfall(row.target, lab?.median, peer?.median, bare?.median);
    const missed = judged.met === false ? missReason(figures, { lab: lab?.runs, peer: peer?.runs, bare: bare?.runs }) : undefined;
    return {
      id: row.id,
      what: row.what,
      load: row.load,
      ...(lab && { lab }),
      ...(peer && { peer }),
      ...(bare && { bare }),
      target: row.target,
      verdict: judged,
      ...(missed && { miss: missed }),
      ...(row.skip && { skipped: row.skip }),
      ...([lab, peer, bare].some((side) => side && unsteady(side.runs)) && { unsteady: true as const }),
      notes: row.notes,
    };
  });
}

// ── The table ────────────────────────────────────────────────────────────────────────────────

function describe(run: Run, id: string): string {
  const unit = ['auth', 'gslb', 'resolver', 'auth-latency', 'gslb-latency'].includes(id) ? 'qps' : id === 'slb-handshakes' ? 'handshakes/s' : 'req/s';
  if (id === 'edge-6k-p99') return `p99 ${ms(run.p99Ms ?? NaN)} (${short(run.rate)} ${unit})`;
  if (id.endsWith('-latency')) return `${ms(run.avgMs)} avg at ${short(run.rate)} ${unit}`;
  return `${short(run.rate)} ${unit}, ${ms(run.avgMs)} avg`;
}

function printReport(report: { when: string; seconds: number; command: string; machine: { cores: number; node: string; loadAverage: { start: number; end: number } }; settings: { repetitions: number; secondsPerRun: number; labWarmUpRunsAtMost: number; pinning: string } }, results: RowResult[], lab: BenchLab, rss: { idleMb: number; afterMb: number }): void {
  const { settings, machine } = report;
  console.log(`Lab vs peers, ${report.when} (${report.seconds} s): ${settings.repetitions} repetition(s) of ${settings.secondsPerRun} s per side after ${settings.labWarmUpRunsAtMost > 1 ? `a warm-up (the lab's side until steady, at most ${settings.labWarmUpRunsAtMost * WARM_UP_SECONDS} s; the others ${WARM_UP_SECONDS} s)` : `${WARM_UP_SECONDS} s of warm-up per side`}, medians`);
  console.log(`Node ${machine.node}, ${machine.cores} cores, load average ${machine.loadAverage.start} at the start, ${machine.loadAverage.end} at the end; ${settings.pinning}`);
  console.log('');
  const body = results.map((r) => {
    if (r.id === 'rss') {
      return [r.what, '—', `${rss.idleMb.toFixed(0)} / ${rss.afterMb.toFixed(0)} MB`, '—', '—', '—', r.verdict.target, mark(r.verdict.met)];
    }
    if (r.skipped) return [r.what, r.load, '—', '—', '—', '—', r.verdict.target, 'skipped'];
    const problem = r.lab?.median.problem || r.peer?.median.problem ? ' *' : '';
    return [
      r.what,
      r.load,
      r.lab ? describe(r.lab.median, r.id) : '—',
      r.peer ? `${r.peer.name}: ${describe(r.peer.median, r.id)}` : '—',
      r.bare ? describe(r.bare.median, r.id) : '—',
      r.verdict.ratio + problem,
      r.verdict.target,
      mark(r.verdict.met) + (r.miss?.kind === 'node-limit' ? ": Node's limit" : ''),
    ];
  });
  console.log(table(['what', 'load', 'lab', 'peer', 'bare Node', 'lab/peer', 'target', 'verdict'], body));
  if (results.some((r) => r.bare)) {
    console.log('\nbare Node: the same load on a 30-line server on this Node (lab/bench/bare-node.ts: UDP that sends each query back as');
    console.log('its answer, http that sends from memory the answer the edge sends: its thirteen header fields and body), and for');
    console.log('the SLB a 30-line load balancer on Node\'s https and http (bare-node-proxy.ts) before the same app servers. What');
    console.log('Node itself does here, without any of the lab\'s code.');
  }
  // Where the time goes: CPU per answer is steadier than a rate on a shared machine, and it says
  // what a rate cannot: how much of a missed target is Node's own, and how much the lab's code.
  const cpu = results.flatMap((r) => {
    if (!r.lab?.median.cpuUsPerOp) return [];
    const sides = [`lab ${us(r.lab.median.cpuUsPerOp)}`, ...(r.peer?.median.cpuUsPerOp ? [`${r.peer.name} ${us(r.peer.median.cpuUsPerOp)}`] : []), ...(r.bare?.median.cpuUsPerOp ? [`bare Node ${us(r.bare.median.cpuUsPerOp)}`] : [])];
    const budget = cpuBudgetUs(r.target, r.peer?.median);
    const within = budget === undefined ? '' : `; the target allows ${us(budget)} of one core per answer`;
    return [`  ${r.id}: ${sides.join(', ')}${within}`];
  });
  if (cpu.length) {
    console.log('\nCPU time per answer (every thread of the processes that serve it, from /proc; medians). HAProxy\'s includes the');
    console.log('lab\'s app servers behind it, as the lab\'s SLB\'s does:');
    console.log(cpu.join('\n'));
  }
  // A missed target, split in two: what Node itself spends on the same load, and what the lab adds.
  const why = results.flatMap((r) => {
    if (r.verdict.met !== false) return [];
    const [lab, bare] = [r.lab?.median.cpuUsPerOp, r.bare?.median.cpuUsPerOp];
    if (r.target.kind === 'p99' && lab !== undefined && bare !== undefined) {
      const bareP99 = r.bare!.median.p99Ms! / r.peer!.median.p99Ms!;
      const bareText = `bare Node ${us(bare)} (whose p99 was ${Number.isFinite(bareP99) ? bareP99.toFixed(1) : '?'}× ${r.peer!.name}'s)`;
      const m = r.miss && 'allowedMs' in r.miss ? r.miss : undefined;
      // Bare Node over the allowance too: one Node process does not meet this p99, whatever runs in it.
      const limit =
        m?.kind === 'node-limit'
          ? [`    Bare Node's p99, ${ms(m.bareMs)}, is itself over the ${ms(m.allowedMs)} the target allows, in three steady runs: a limit of one`, `    process on Node ${process.version}; ${m.labMs > m.bareMs ? `the lab adds ${ms(m.labMs - m.bareMs)} to it` : 'the lab\'s own was no longer'}.`]
          : [];
      const wait = r.lab!.median.acceptWait;
      if (!wait || !(wait.peak > 0)) return [`  ${r.id}: no connection was seen waiting to be accepted; CPU per answer: lab ${us(lab)}, ${bareText}.`, ...limit];
      // Waits shorter than the p99 itself are not what made it: then it is the time in flight, which
      // with every connection always busy is the connections over the rate (Little's law).
      const inFlight = Number(/-c (\d+)/.exec(r.load)?.[1]);
      if (wait.ms < r.lab!.median.p99Ms! && inFlight > 0) {
        const perRequest = (run: Run) => ms((inFlight / run.rate) * 1000);
        return [
          `  ${r.id}: not the accept queue (no connection waited longer than the p99): with ${inFlight} requests always in flight, each takes`,
          `    about ${inFlight} over the rate (Little's law): lab ${perRequest(r.lab!.median)}, ${r.peer!.name} ${perRequest(r.peer!.median)}, bare Node ${perRequest(r.bare!.median)}; the p99 is`,
          `    the slowest of those. CPU per answer: lab ${us(lab)}, ${bareText}.`,
          ...limit,
        ];
      }
      return [
        `  ${r.id}: mostly connections waiting to be accepted (below). Node takes one per turn of its event loop, and a turn lasts`,
        `    one answer on every connection it holds, so the wait grows with the CPU per answer: lab ${us(lab)},`,
        `    ${bareText}.`,
        ...limit,
      ];
    }
    const m = r.miss && 'allowedUs' in r.miss ? r.miss : undefined;
    if (!m) return [];
    const again = `Run the row again: ${benchCommand(['--rows', r.id])}`;
    switch (m.kind) {
      case 'node-limit':
        return [
          `  ${r.id}: the target allows ${us(m.allowedUs)} per answer, and bare Node alone spends ${us(m.bareUs)}: no server on the http and https`,
          `    of Node ${process.version} meets it on one core. A limit of the platform; the lab adds ${us(m.labUs - m.bareUs)} to it.`,
        ];
      case 'unconfirmed':
        return [
          `  ${r.id}: bare Node alone spent ${us(m.bareUs)} per answer of the ${us(m.allowedUs)} the target allows, the lab ${us(m.labUs)}; but in`,
          `    runs too few or too unsteady to call that Node's limit. ${again}`,
        ];
      case 'lab-over':
        return [
          `  ${r.id}: the target allows ${us(m.allowedUs)} per answer; bare Node spends ${us(m.bareUs)} of it (${Math.round((m.bareUs / m.allowedUs) * 100)}%), the lab ${us(m.labUs)}.`,
          `    The lab's own work adds ${us(m.labUs - m.bareUs)} on top; the target leaves it ${us(m.allowedUs - m.bareUs)}.`,
        ];
      case 'errors':
        return [`  ${r.id}: the lab's runs had errors (below), and a run with errors meets no target; its CPU per answer was ${us(m.labUs)} of the ${us(m.allowedUs)} allowed.`];
      case 'not-cpu':
        return [
          `  ${r.id}: the lab's CPU per answer, ${us(m.labUs)}, fits the ${us(m.allowedUs)} the target allows (bare Node ${us(m.bareUs)}): the rate was lost`,
          `    elsewhere, most likely in the machine's speed during its runs. ${again}`,
        ];
    }
  });
  if (why.length) {
    console.log('\nNot met, and why (CPU per answer, as above; "bare Node" is Node\'s own share, before any of the lab\'s code):');
    console.log(why.join('\n'));
  }
  // A p99 of a second is connections waiting to be accepted, not slow answers (accept-queue.ts).
  const waits = results.flatMap((r) => {
    const sides = [
      ['lab', r.lab?.median.acceptWait],
      [r.peer?.name, r.peer?.median.acceptWait],
      ['bare Node', r.bare?.median.acceptWait],
    ] as const;
    if (!sides.some(([, w]) => w && w.peak > 0)) return [];
    const text = sides.flatMap(([name, w]) => (w ? [`${name} ${Math.round(w.peak)}${w.peak > 0 ? ` for ${Math.round(w.ms).toLocaleString('en-US')} ms` : ''}`] : []));
    return [`  ${r.id}: ${text.join(', ')}`];
  });
  if (waits.length) {
    console.log('\nConnections waiting to be accepted (the listening socket\'s queue in /proc/net/tcp, every 20 ms; medians of the most');
    console.log('at once, and of how long any waited). Node 20 and later accept one connection per turn of the event loop');
    console.log('(libuv/libuv#3696): a server busy with the connections it holds lets new ones wait, and wrk counts each such');
    console.log('first request many times over (it corrects for coordinated omission). README: "Why the p99 at c=200".');
    console.log(waits.join('\n'));
  }
  const skipped = results.filter((r) => r.skipped);
  if (skipped.length) {
    console.log('\nSkipped:');
    for (const r of skipped) console.log(`  ${r.id}: ${r.skipped}`);
  }
  const problems = results.flatMap((r) => [
    ...(r.lab?.median.problem ? [`  ${r.id}, lab: ${r.lab.median.problem}`] : []),
    ...(r.peer?.median.problem ? [`  ${r.id}, ${r.peer.name}: ${r.peer.median.problem}`] : []),
  ]);
  if (problems.length) console.log(`\n* Runs with errors (their numbers left out of the medians where other runs were clean):\n${problems.join('\n')}`);
  // How far apart the repetitions were: a wide spread says the machine was busy with other things.
  const spread = (runs: Run[]) => {
    const rates = runs.map((r) => r.rate).filter(Number.isFinite);
    return rates.length > 1 ? `${short(Math.min(...rates))}–${short(Math.max(...rates))}` : undefined;
  };
  const spreads = results.flatMap((r) => {
    const [a, b, c] = [r.lab && spread(r.lab.runs), r.peer && spread(r.peer.runs), r.bare && spread(r.bare.runs)];
    return a && b ? [`  ${r.id}: lab ${a}, ${r.peer!.name} ${b}${c ? `, bare Node ${c}` : ''}`] : [];
  });
  if (spreads.length) console.log(`\nSpread of the repetitions (lowest–highest rate):\n${spreads.join('\n')}`);
  const shaky = results.filter((r) => r.unsteady).map((r) => r.id);
  if (shaky.length) {
    console.log(`\nUnsteady: a side's rate moved more than ${UNSTEADY_FACTOR}× between repetitions in ${shaky.join(', ')}.`);
    console.log('The machine\'s own speed changed during the run (other work, or the neighbours of a shared VM), so those verdicts');
    console.log(`say more about the machine than about the lab. Run them again at a quieter moment: ${benchCommand(['--rows', shaky.join(',')])}`);
  }
  console.log('\nChecked before measuring:');
  for (const r of results) for (const note of r.notes) console.log(`  ${r.id}: ${note}`);
  console.log(`\nThe lab's roles: ${lab.state.roles.map((r) => `${r.name} ${r.host}:${r.port}`).join(', ')}`);
  console.log(`Every run, as JSON: ${benchCommand([...process.argv.slice(2), '--json'])}`);
}

/** How to type this run again. */
function benchCommand(args: string[]): string {
  return args.length ? `npm run bench -- ${args.join(' ')}` : 'npm run bench';
}

function mark(met: boolean | undefined): string {
  return met === undefined ? '—' : met ? 'met' : 'NOT met';
}

function positive(value: string, flag: string): number {
  // Whole numbers: wrk takes its duration in whole seconds.
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} must be a whole number above 0, not "${value}"`);
  return n;
}

const sleep = (msec: number) => new Promise((r) => setTimeout(r, msec));

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`bench: ${err.message}`);
    process.exit(1);
  },
);
