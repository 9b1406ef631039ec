// The pure half of `npm run bench`: turning dnsperf's and wrk's reports into numbers, the median of
// repeated runs, the lab/peer ratio, and whether the issue's target is met. No process is started
// here, so test/bench.test.ts checks all of it against output captured from the real tools.
import type { AcceptWait } from './accept-queue.ts';

/** One run of a load tool against one server. */
export interface Run {
  /** Queries or requests answered per second. */
  rate: number;
  /** Average latency (dnsperf's "Average Latency", wrk's latency Avg). */
  avgMs: number;
  /** 99th percentile latency (wrk --latency only). */
  p99Ms?: number;
  /** Why this run does not count (lost queries, error answers, socket errors); absent when clean. */
  problem?: string;
  /** Queries or requests answered in the run, as the tool counted them. */
  count?: number;
  /** CPU time the server's processes used per answer during the run, in µs (all its threads, /proc). */
  cpuUsPerOp?: number;
  /** Connections left waiting to be accepted during the run (accept-queue.ts; wrk runs on Linux). */
  acceptWait?: AcceptWait;
}

// ── dnsperf ──────────────────────────────────────────────────────────────────────────────────
// The part of its report we read:
//   Queries completed:    1064 (100.00%)
//   Queries lost:         0 (0.00%)
//   Response codes:       NOERROR 1064 (100.00%)
//   Queries per second:   1023.440047
//   Average Latency (s):  0.091484 (min 0.010122, max 0.311378)

export function parseDnsperf(text: string): Run {
  const num = (re: RegExp, what: string) => {
    const m = re.exec(text);
    if (!m) throw new Error(`dnsperf printed no "${what}" line: ${tail(text)}`);
    return Number(m[1]);
  };
  const rate = num(/Queries per second:\s+([\d.]+)/, 'Queries per second');
  const avgMs = num(/Average Latency \(s\):\s+([\d.]+)/, 'Average Latency') * 1000;
  const completed = num(/Queries completed:\s+(\d+)/, 'Queries completed');
  const lost = num(/Queries lost:\s+(\d+)/, 'Queries lost');
  const codes = /Response codes:\s+(.*)/.exec(text)?.[1] ?? '';
  // "NOERROR 1064 (100.00%), SERVFAIL 3 (0.28%)": anything but NOERROR means a server that did
  // not answer what it was asked, and its speed is not comparable.
  const bad = [...codes.matchAll(/([A-Z]+) (\d+)/g)].filter(([, code]) => code !== 'NOERROR');
  const problems = [
    ...(completed === 0 ? ['no answers'] : []),
    // A few lost at the very end of the time limit are dnsperf's own cut-off, not the server's.
    ...(lost > Math.max(10, completed * 0.001) ? [`${lost} queries lost`] : []),
    ...bad.map(([, code, n]) => `${n} ${code}`),
  ];
  return { rate, avgMs, count: completed, ...(problems.length && { problem: problems.join(', ') }) };
}

// ── wrk ──────────────────────────────────────────────────────────────────────────────────────
//     Latency    99.49ms  144.79ms 977.73ms   91.63%
//   Latency Distribution        (with --latency)
//      99%  768.93ms
//   Non-2xx or 3xx responses: 12
//   Socket errors: connect 0, read 3, write 0, timeout 0
//   Requests/sec:    366.33

/** "99.49ms", "812.00us", "1.02s", "2.00m" → milliseconds. */
export function wrkDuration(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text.trim());
  if (!m) throw new Error(`not a wrk duration: "${text}"`);
  const scale = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'us' | 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * scale;
}

export function parseWrk(text: string): Run {
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(text);
  const avg = /^\s*Latency\s+(\S+)/m.exec(text);
  if (!rate || !avg) throw new Error(`wrk printed no Requests/sec or Latency line: ${tail(text)}`);
  const p99 = /^\s*99(?:\.0+)?%\s+(\S+)/m.exec(text);
  const requests = Number(/(\d+) requests in/.exec(text)?.[1] ?? 0);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const problems: string[] = [];
  if (requests === 0) problems.push('no answers');
  if (non2xx > 0) problems.push(`${non2xx} non-2xx answers`);
  if (socket) {
    const [connect, read, write, timeout] = socket.slice(1).map(Number) as [number, number, number, number];
    // With `Connection: close` the server ends every connection, and wrk counts a read that finds
    // it closed as a read error: only the other kinds say the server failed.
    const counted = { connect, write, timeout };
    for (const [kind, n] of Object.entries(counted)) if (n > 0) problems.push(`${n} ${kind} errors`);
    if (read > requests * 0.01 && read > 10) problems.push(`${read} read errors`);
  }
  return {
    rate: Number(rate[1]),
    avgMs: wrkDuration(avg[1]!),
    count: requests,
    ...(p99 && { p99Ms: wrkDuration(p99[1]!) }),
    ...(problems.length && { problem: problems.join(', ') }),
  };
}

function tail(text: string): string {
  const lines = text.trim().split('\n');
  return lines.slice(-3).join(' | ') || '(nothing)';
}

// ── Repetitions ──────────────────────────────────────────────────────────────────────────────

/** The middle value (the mean of the middle two for an even count): robust to one disturbed run. */
export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The median of each number over the clean runs; a problem if any run had one. */
export function summarise(runs: Run[]): Run {
  const clean = runs.filter((r) => !r.problem);
  const problem = runs.find((r) => r.problem)?.problem;
  const use = clean.length ? clean : runs;
  const p99s = use.flatMap((r) => (r.p99Ms === undefined ? [] : [r.p99Ms]));
  const cpus = use.flatMap((r) => (r.cpuUsPerOp === undefined ? [] : [r.cpuUsPerOp]));
  const waits = use.flatMap((r) => (r.acceptWait === undefined ? [] : [r.acceptWait]));
  return {
    rate: median(use.map((r) => r.rate)),
    avgMs: median(use.map((r) => r.avgMs)),
    ...(p99s.length && { p99Ms: median(p99s) }),
    ...(cpus.length && { cpuUsPerOp: median(cpus) }),
    ...(waits.length && { acceptWait: { peak: median(waits.map((w) => w.peak)), ms: median(waits.map((w) => w.ms)) } }),
    ...(problem && { problem: `${runs.length - clean.length} of ${runs.length} runs: ${problem}` }),
  };
}

/**
 * Is a side warmed up: has its CPU per answer stopped falling? A run that costs no less than 95% of
 * the one before is past the JIT's climb (a run that costs more is the machine's noise, not more
 * warming). Runs without a CPU figure (no count) cannot tell, and end the warm-up.
 */
export function steadied(before: Run | undefined, run: Run, fall = 0.05): boolean {
  if (run.cpuUsPerOp === undefined) return true;
  if (before?.cpuUsPerOp === undefined) return false;
  return run.cpuUsPerOp >= (1 - fall) * before.cpuUsPerOp;
}

/** How far a side's rate may move between repetitions before its row is called unsteady. */
export const UNSTEADY_FACTOR = 1.5;

/**
 * Did the rate move more than `factor` from one repetition to another? On a shared machine (a VM
 * whose neighbours come and go) the same server's rate moved 2.5× within one run, the lab's and
 * bare Node's far more than Knot's or nginx's: a verdict from such a row says more about the
 * machine than about the lab.
 */
export function unsteady(runs: Run[], factor = UNSTEADY_FACTOR): boolean {
  const rates = runs.filter((r) => !r.problem && Number.isFinite(r.rate) && r.rate > 0).map((r) => r.rate);
  return rates.length > 1 && Math.max(...rates) / Math.min(...rates) > factor;
}

// ── Targets (issue 14) ───────────────────────────────────────────────────────────────────────

/**
 * What a row must show. `rate`: lab rate / peer rate at least `min`. `latency`: lab's average
 * latency at most `max` times the peer's. `p99`: the lab's p99 at most `max` times the peer's.
 * `rss`: the lab's own number, no peer, at most `maxMb`.
 */
export type Target =
  | { kind: 'rate'; min: number; avgLatencyMax?: number }
  /** Both sides under the same offered load, below what either can answer: then the average
   *  latency is each server's own time, not the length of its queue (see LATENCY_RATE in rows.ts). */
  | { kind: 'latency'; max: number; offered: number }
  | { kind: 'p99'; max: number }
  | { kind: 'rss'; maxMb: number }
  | { kind: 'none' };

export interface Verdict {
  /** The ratio as printed: "0.18", "34× p99". */
  ratio: string;
  target: string;
  /** true/false, or undefined when there is no target or nothing to compare. */
  met?: boolean;
}

export function verdict(target: Target, lab: Run | undefined, peer: Run | undefined, labRssMb?: number): Verdict {
  const targetText = describeTarget(target);
  if (target.kind === 'rss') {
    if (labRssMb === undefined) return { ratio: '—', target: targetText };
    return { ratio: '—', target: targetText, met: labRssMb <= target.maxMb };
  }
  if (!lab || !peer) return { ratio: '—', target: targetText };
  if (target.kind === 'p99') {
    if (lab.p99Ms === undefined || peer.p99Ms === undefined) return { ratio: '—', target: targetText };
    const times = lab.p99Ms / peer.p99Ms;
    return { ratio: `${fixed(times)}× p99`, target: targetText, met: times <= target.max };
  }
  const ratio = lab.rate / peer.rate;
  const latency = lab.avgMs / peer.avgMs;
  if (target.kind === 'latency') {
    // A side that could not keep up with the offered load was measuring its queue after all.
    const keptUp = lab.rate >= target.offered * 0.95 && peer.rate >= target.offered * 0.95;
    return { ratio: `${fixed(latency)}× avg`, target: targetText, met: keptUp && latency <= target.max && !lab.problem };
  }
  if (target.kind === 'none') return { ratio: fixed(ratio), target: targetText };
  const met = ratio >= target.min && (target.avgLatencyMax === undefined || latency <= target.avgLatencyMax);
  const ratioText = target.avgLatencyMax === undefined ? fixed(ratio) : `${fixed(ratio)}, ${fixed(latency)}× avg`;
  // A run with a problem (errors, lost queries) cannot meet a target, whatever its speed.
  return { ratio: ratioText, target: targetText, met: met && !lab.problem };
}

/**
 * The CPU a server may spend on one answer and still meet a rate target, when it is bound by one
 * core (every side runs on the servers' core): a second of CPU over target × the peer's rate. A
 * lab side that uses more cannot meet the target at any load; bare Node's number is how much of
 * that budget Node itself takes before any of the lab's code runs.
 */
export function cpuBudgetUs(target: Target, peer: Run | undefined): number | undefined {
  if (target.kind !== 'rate' || !peer || !(peer.rate > 0)) return undefined;
  return 1e6 / (target.min * peer.rate);
}

/**
 * A missed rate target in CPU per answer: what the target allows one core (cpuBudgetUs), what bare
 * Node spends on the same load with none of the lab's code, and what the lab spends.
 */
export interface Shortfall {
  allowedUs: number;
  labUs: number;
  bareUs: number;
}

export function shortfall(target: Target, lab: Run | undefined, peer: Run | undefined, bare: Run | undefined): Shortfall | undefined {
  const allowedUs = cpuBudgetUs(target, peer);
  const labUs = lab?.cpuUsPerOp;
  const bareUs = bare?.cpuUsPerOp;
  if (allowedUs === undefined || labUs === undefined || bareUs === undefined) return undefined;
  return { allowedUs, labUs, bareUs };
}

/**
 * A missed p99 target in milliseconds: what the target allows (its factor × the peer's p99), bare
 * Node's own p99 on the same load, and the lab's. Bare Node's p99 comes from the same place as the
 * lab's (connections waiting to be accepted, one per turn of the event loop: accept-queue.ts), so
 * a bare Node over the allowance says one Node process cannot meet the target, whatever its code.
 */
export interface P99Shortfall {
  allowedMs: number;
  labMs: number;
  bareMs: number;
}

export function p99Shortfall(target: Target, lab: Run | undefined, peer: Run | undefined, bare: Run | undefined): P99Shortfall | undefined {
  if (target.kind !== 'p99' || lab?.p99Ms === undefined || peer?.p99Ms === undefined || bare?.p99Ms === undefined) return undefined;
  return { allowedMs: target.max * peer.p99Ms, labMs: lab.p99Ms, bareMs: bare.p99Ms };
}

/**
 * Why a target was missed, as far as CPU per answer (a rate target) or bare Node's own p99 (a p99
 * target) can tell:
 *   node-limit   bare Node alone spends at least what the target allows, in three clean, steady
 *                runs of every side: no server written on this Node's http and https meets the
 *                target on one core, and the lab's own code is only what it adds;
 *   unconfirmed  bare Node spent that much, but in runs too few or unsteady to say so (a cold or
 *                disturbed bare Node, with --quick or a busy neighbour, spends far more than at rest);
 *   lab-over     the lab spends more than the target allows, and bare Node less;
 *   errors       the lab's runs had errors, which meet no target whatever their speed;
 *   not-cpu      the lab's CPU per answer fits: the rate was lost elsewhere (the machine's speed).
 */
export type MissReason = { kind: 'node-limit' | 'unconfirmed' | 'lab-over' | 'errors' | 'not-cpu' } & (Shortfall | P99Shortfall);

export function missReason(s: Shortfall | P99Shortfall | undefined, sides: { lab?: Run[]; peer?: Run[]; bare?: Run[] }, repetitions = 3): MissReason | undefined {
  if (!s) return undefined;
  const [allowed, lab, bare] = 'allowedUs' in s ? [s.allowedUs, s.labUs, s.bareUs] : [s.allowedMs, s.labMs, s.bareMs];
  if (sides.lab?.some((r) => r.problem)) return { kind: 'errors', ...s };
  if (bare >= allowed) {
    const steady = [sides.lab, sides.peer, sides.bare].every((runs) => runs !== undefined && runs.filter((r) => !r.problem).length >= repetitions && !unsteady(runs));
    return { kind: steady ? 'node-limit' : 'unconfirmed', ...s };
  }
  return { kind: lab > allowed ? 'lab-over' : 'not-cpu', ...s };
}

/** "37 µs", "8.7 µs", "0.42 µs". */
export function us(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '?';
  // From 99.5 up, two significant digits would be "1.0e+2".
  return `${n >= 99.5 ? n.toFixed(0) : n.toPrecision(2)} µs`;
}

export function describeTarget(target: Target): string {
  switch (target.kind) {
    case 'rate':
      return `≥ ${target.min}×${target.avgLatencyMax !== undefined ? `, avg ≤ ${target.avgLatencyMax}×` : ''}`;
    case 'latency':
      return `avg ≤ ${target.max}×`;
    case 'p99':
      return `p99 ≤ ${target.max}×`;
    case 'rss':
      return `≤ ${target.maxMb} MB`;
    case 'none':
      return '—';
  }
}

// ── Printing ─────────────────────────────────────────────────────────────────────────────────

/** 17612 → "17.6k", 554 → "554", 0.47 → "0.47". */
export function short(n: number): string {
  if (!Number.isFinite(n)) return '?';
  if (n >= 10_000) return `${(n / 1000).toFixed(1)}k`;
  if (n >= 1000) return `${(n / 1000).toFixed(2)}k`;
  return n >= 100 ? n.toFixed(0) : n.toPrecision(3);
}

/** A latency in the unit people read it in: "0.47 ms", "721 ms", "1.20 s". */
export function ms(n: number): string {
  if (!Number.isFinite(n)) return '?';
  if (n >= 999.5) return `${(n / 1000).toFixed(2)} s`; // not "1000 ms"
  return `${n >= 99.5 ? n.toFixed(0) : n.toPrecision(2)} ms`;
}

function fixed(n: number): string {
  if (!Number.isFinite(n)) return '?';
  return n >= 10 ? n.toFixed(0) : n.toFixed(2);
}

/** A plain-text table: columns as wide as their widest cell, the header underlined. */
export function table(header: string[], rows: string[][]): string {
  const width = (s: string) => [...s].length;
  const widths = header.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: string[]) => cells.map((c, i) => c + ' '.repeat(widths[i]! - width(c))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
