// What an exercise is, and what its checker may use. An exercise is a page (NN-name.md: goal,
// steps with the real commands, what to observe, questions) and a checker (NN-name.ts) that looks
// at the learner's answers and at the truth: the running lab itself (asked the same way the
// learner asked it), its files, a capture. A checker says what is right and what is still wrong,
// never the answer. Every page exists in English and Chinese (en/, zh/), and every word a checker
// says comes from the catalogue (words/): checkers compute facts, the catalogue phrases them.
import fs from 'node:fs';
import path from 'node:path';
import { sendQuery } from '../../servers/dns/query.ts';
import type { Lang } from '../lang.ts';
import type { LabState, RoleState } from '../state.ts';
import { EDGE_REGIONS } from '../topology.ts';
import { say } from './words/index.ts';

export interface Verdict {
  ok: boolean;
  /** What the learner reads: each line one thing that is right (✓) or still wrong (✗), with a hint. */
  lines: string[];
}

export interface CheckContext {
  /** The running lab (state.json), or why there is none. */
  lab: LabState | { notRunning: string };
  /** The lab folder (.lab/). */
  dir: string;
  /** The learner's answers, as given: `name=value`. */
  answers: Record<string, string>;
}

/** An exercise's own words in one language: its title, and each answer it asks for by name, with what to put there (without giving it away). */
export interface ExerciseWords {
  title: string;
  asks: Record<string, string>;
}

interface About {
  /** Its number in the sequence (the workshop's order) and its file name without NN-. */
  n: number;
  slug: string;
  /** The seed chapter's section it belongs to. */
  seed: string;
  /** Its title and the answers it asks for, in the process's language or the one asked. */
  words(l?: Lang): ExerciseWords;
}

/** The names of the answers an exercise asks for (the same in every language). */
export const asked = (e: Exercise): string[] => Object.keys(e.words('en').asks);

/**
 * An exercise and its checker. The runner (cli.ts) first makes sure of what it needs (the lab up,
 * in ns mode if so, and an answer for each thing it asks), so a checker is only the comparison.
 */
export type Exercise = About &
  (
    | { needs: 'lab' | 'lab in ns mode'; check(ctx: CheckContext, lab: LabState): Promise<Verdict> }
    | { needs: 'a walkthrough run'; check(ctx: CheckContext): Promise<Verdict> }
  );

/** What an exercise needs before its checker can run (the list says it in words). */
export type Needs = Exercise['needs'];

/** Run one checker: first what it needs (the lab, every answer), then its comparison. */
export async function runCheck(e: Exercise, ctx: CheckContext): Promise<Verdict> {
  let lab: LabState | undefined;
  if (e.needs !== 'a walkthrough run') {
    const state = needLab(ctx, e.needs === 'lab in ns mode');
    if ('ok' in state) return state;
    lab = state;
  }
  const gaps = missing(ctx, e.words().asks);
  if (gaps.length) return verdict(gaps);
  return e.needs === 'a walkthrough run' ? e.check(ctx) : e.check(ctx, lab!);
}

// ─────────────────────────────────────────── helpers ───────────────────────────────────────────

export const right = (what: string) => `✓ ${what}`;
export const wrong = (what: string) => `✗ ${what}`;

export function verdict(lines: string[]): Verdict {
  return { ok: lines.length > 0 && lines.every((l) => l.startsWith('✓')), lines };
}

/** The running lab's state, or a verdict saying what to start. */
export function needLab(ctx: CheckContext, ns = false): LabState | Verdict {
  if ('notRunning' in ctx.lab) return verdict([wrong(say().runner.startLab(ctx.lab.notRunning, `npm run lab -- up${ns ? ' --net ns' : ''}`))]);
  if (ns && ctx.lab.addressing !== 'namespaces') return verdict([wrong(say().runner.needsNs('sudo npm run lab -- up --net ns'))]);
  return ctx.lab;
}

export function role(state: LabState, name: string): RoleState {
  const r = state.roles.find((x) => x.name === name);
  if (!r) throw new Error(say().runner.noSuchRole(name));
  return r;
}

/** Each answer asked for and not given: one line saying which and what it is. */
export function missing(ctx: CheckContext, asks: Record<string, string>): string[] {
  return Object.entries(asks)
    .filter(([k]) => !(k in ctx.answers) || ctx.answers[k] === '')
    .map(([k, what]) => wrong(say().runner.noAnswer(k, what)));
}

/** Compare one answer with the truth: case and a trailing dot do not matter for names. */
export function same(answer: string | undefined, truth: string): boolean {
  const norm = (s: string) => s.trim().toLowerCase().replace(/\.$/, '');
  return answer !== undefined && norm(answer) === norm(truth);
}

/** Ask one DNS server one question without recursion (as `dig +norec @server -p port name` does). */
export async function ask(server: { host: string; port: number }, name: string, opts: { rd?: boolean; clientSubnet?: string; localAddress?: string } = {}) {
  const { response } = await sendQuery({ server, name, type: 'A', rd: opts.rd ?? false, timeoutMs: 3000, ...(opts.clientSubnet && { clientSubnet: opts.clientSubnet }), ...(opts.localAddress && { localAddress: opts.localAddress }) });
  const all = [...response.answers, ...response.authorities, ...response.additionals] as Array<{ name: string; type: number; ttl: number; address?: string; domain?: string; ns?: string }>;
  return {
    rcode: response.header.rcode,
    aa: response.header.aa === 1,
    answers: response.answers as typeof all,
    authorities: response.authorities as typeof all,
    additionals: response.additionals as typeof all,
    all,
  };
}

/**
 * What the GSLB answers a phone in `region` now, as the learner asks it: the name at the end of the
 * CNAME chain the local DNS gives, asked of the GSLB with that region's subnet (ECS). A string when
 * there is no such answer right now (it says why).
 */
export async function gslbAnswer(lab: LabState, region: 'north' | 'south'): Promise<{ address: string; ttl: number } | string> {
  const resolver = role(lab, 'local-dns');
  const chain = await ask({ host: resolver.host, port: resolver.port }, 'static.geektime.test', { rd: true });
  const last = [...chain.answers].reverse().find((r) => r.type === 5)?.domain;
  if (!last) return say().runner.noChain;
  const gslb = role(lab, 'gslb');
  const subnet = lab.net ? lab.net.phones[region].network : EDGE_REGIONS.find((e) => e.region === region)!.subnet;
  const a = (await ask({ host: gslb.host, port: gslb.port }, last, { clientSubnet: subnet })).answers.find((r) => r.type === 1);
  return a?.address ? { address: a.address, ttl: a.ttl } : say().runner.gslbNoAddress(region);
}

/** A file the learner made, under the lab folder's work/ (relative names are taken from there). */
export function workFile(ctx: CheckContext, name: string): string {
  return path.isAbsolute(name) ? name : path.join(ctx.dir, 'work', name);
}

export function readIfThere(file: string): Buffer | undefined {
  try {
    return fs.readFileSync(file);
  } catch {
    return undefined;
  }
}

/** Headers of a `curl -sI` dump, names in lower case (the last value of a repeated header). */
export function curlHeaders(text: string): { status: number; h: Record<string, string> } {
  const blocks = text.replace(/\r/g, '').trim().split(/\n\n/); // after redirects or 100s, the last answer counts
  const lines = blocks.at(-1)!.split('\n');
  const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
  const h: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) h[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status, h };
}
