// `npm run lab -- exercises [N]` lists the exercises or prints one page with this lab's addresses;
// `npm run lab -- check N name=value …` checks one; `check --all` re-checks every one with the
// answers saved so far (.lab/work/answers.json) and prints a summary to hand in. Pages live in
// en/ and zh/ (the same page in each language); every word printed here comes from words/.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { lang, type Lang } from '../lang.ts';
import { labDir } from '../paths.ts';
import { displayPath, isAlive, statePath, type LabState } from '../state.ts';
import { columns } from '../text-width.ts';
import { EXERCISES } from './index.ts';
import { asked, runCheck, type CheckContext, type Exercise, type Verdict } from './exercise.ts';
import { say } from './words/index.ts';

/** The running lab, or why there is none (said here, in the learner's language, from the facts). */
function runningLab(): LabState | { notRunning: string } {
  const file = displayPath(statePath());
  let state: LabState;
  try {
    state = JSON.parse(fs.readFileSync(statePath(), 'utf8')) as LabState;
  } catch {
    return { notRunning: say().runner.noLab.missing(file) };
  }
  return isAlive(state.pid) ? state : { notRunning: say().runner.noLab.dead(file, state.pid) };
}

/** An exercise's page in one language: en/NN-slug.md or zh/NN-slug.md. */
export const pageFile = (e: Exercise, l: Lang = lang()) => path.join(path.dirname(new URL(import.meta.url).pathname), l, `${String(e.n).padStart(2, '0')}-${e.slug}.md`);

/** The page with this lab's addresses and ports in place of {role}, {role.port}, {@role}. */
export function renderPage(e: Exercise, lab: LabState | { notRunning: string }, l: Lang = lang()): string {
  const text = fs.readFileSync(pageFile(e, l), 'utf8');
  const noRole = say(l).runner.noRole;
  return text.replace(/\{(@?)([a-z-]+)(\.port)?\}/g, (whole, at: string, name: string, port: string | undefined) => {
    if (name === 'capture-interface') return 'notRunning' in lab || lab.addressing !== 'namespaces' ? 'lo' : 'eth0';
    const r = 'notRunning' in lab ? undefined : lab.roles.find((x) => x.name === name);
    if (!r) return at ? noRole.at(name) : port ? noRole.port(name) : noRole.address(name);
    if (at) return `${r.host} -p ${r.port}`;
    return port ? String(r.port) : r.host;
  });
}

function answersFile(): string {
  return path.join(labDir(), 'work', 'answers.json');
}

function savedAnswers(): Record<string, Record<string, string>> {
  try {
    return JSON.parse(fs.readFileSync(answersFile(), 'utf8')) as Record<string, Record<string, string>>;
  } catch {
    return {};
  }
}

async function checkOne(e: Exercise, answers: Record<string, string>): Promise<Verdict> {
  const ctx: CheckContext = { lab: runningLab(), dir: labDir(), answers };
  try {
    return await runCheck(e, ctx);
  } catch (err) {
    return { ok: false, lines: [`✗ ${say().runner.couldNotFinish((err as Error).message)}`] };
  }
}

export async function exercisesCommand(argv: string[]): Promise<number> {
  const lab = runningLab();
  const w = say().runner;
  if (argv[0]) {
    const e = EXERCISES.find((x) => String(x.n) === argv[0] || x.slug === argv[0]);
    if (!e) throw new Error(w.noExercise(argv[0], EXERCISES.length));
    console.log(renderPage(e, lab));
    return 0;
  }
  console.log(w.listHead);
  // Columns by display width: a Chinese title takes two columns a character.
  const rows = EXERCISES.map((e) => [`  ${String(e.n).padStart(2)}`, e.words().title, w.seed(e.seed), w.needsColumn(w.needs[e.needs])]);
  for (const line of columns(rows)) console.log(line);
  console.log(w.listFoot);
  return 0;
}

export async function checkCommand(argv: string[]): Promise<number> {
  const saved = savedAnswers();
  if (argv[0] === '--all') {
    const w = say().runner;
    const rows: string[][] = [];
    let done = 0;
    for (const e of EXERCISES) {
      const answers = saved[e.n] ?? {};
      const v = await checkOne(e, answers);
      if (v.ok) done++;
      const wrongs = v.lines.filter((l) => l.startsWith('✗')).length;
      const status = v.ok ? w.summaryDone : Object.keys(answers).length === 0 && wrongs === v.lines.length ? w.summaryNotStarted : w.summaryWrong(wrongs);
      rows.push([`  ${String(e.n).padStart(2)}`, e.words().title, status]);
    }
    console.log(w.summaryHead(done, EXERCISES.length, new Date().toISOString()));
    console.log(columns(rows).join('\n'));
    return done === EXERCISES.length ? 0 : 1;
  }
  // In ns mode nothing links the lab's hosts to this machine's own network: the checks ask the lab
  // from the north phone's namespace, where the learner asked from (root, as ns mode is).
  const lab = runningLab();
  if (!('notRunning' in lab) && lab.net && !process.env.LAB_CHECK_INSIDE) {
    const inside = spawnSync('ip', ['netns', 'exec', lab.net.phones.north.namespace, process.execPath, ...process.execArgv, process.argv[1]!, 'check', ...argv], { stdio: 'inherit', env: { ...process.env, LAB_CHECK_INSIDE: '1' } });
    // The child inherits the language through LAB_LANG (setLang put it in process.env).
    if (inside.error || inside.status === null) throw new Error(say().runner.nsReexecFailed(lab.net.phones.north.namespace, inside.error?.message ?? say().runner.signal(String(inside.signal))));
    return inside.status;
  }
  const w = say().runner;
  const e = EXERCISES.find((x) => String(x.n) === argv[0] || x.slug === argv[0]);
  if (!e) throw new Error(argv[0] ? w.noExercise(argv[0], EXERCISES.length) : w.usage);
  const asks = asked(e);
  const given: Record<string, string> = {};
  for (const a of argv.slice(1)) {
    const i = a.indexOf('=');
    if (i <= 0) throw new Error(w.notNameValue(a, e.n, asks));
    const name = a.slice(0, i);
    if (!asks.includes(name)) throw new Error(w.notAsked(e.n, name, asks));
    given[name] = a.slice(i + 1);
  }
  const answers = { ...(saved[e.n] ?? {}), ...given };
  if (Object.keys(given).length) {
    fs.mkdirSync(path.dirname(answersFile()), { recursive: true });
    fs.writeFileSync(answersFile(), JSON.stringify({ ...saved, [e.n]: answers }, null, 2) + '\n');
  }
  const v = await checkOne(e, answers);
  console.log(w.heading(e.n, e.words().title));
  for (const l of v.lines) console.log(`  ${l}`);
  console.log(v.ok ? w.done : w.notYet);
  return v.ok ? 0 : 1;
}
