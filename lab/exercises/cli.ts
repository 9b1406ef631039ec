// `npm run lab -- exercises [N]` lists the exercises or prints one page with this lab's addresses;
// `npm run lab -- check N name=value …` checks one; `check --all` re-checks every one with the
// answers saved so far (.lab/work/answers.json) and prints a summary to hand in.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { labDir } from '../paths.ts';
import { readState, type LabState } from '../state.ts';
import { EXERCISES } from './index.ts';
import { runCheck, type CheckContext, type Exercise, type Verdict } from './exercise.ts';

function runningLab(): LabState | { notRunning: string } {
  try {
    return readState();
  } catch (err) {
    return { notRunning: `no lab is running (${(err as Error).message.split('\n')[0]})` };
  }
}

const pageFile = (e: Exercise) => path.join(path.dirname(new URL(import.meta.url).pathname), `${String(e.n).padStart(2, '0')}-${e.slug}.md`);

/** The page with this lab's addresses and ports in place of {role}, {role.port}, {@role}. */
export function renderPage(e: Exercise, lab: LabState | { notRunning: string }): string {
  const text = fs.readFileSync(pageFile(e), 'utf8');
  return text.replace(/\{(@?)([a-z-]+)(\.port)?\}/g, (whole, at: string, name: string, port: string | undefined) => {
    if (name === 'capture-interface') return 'notRunning' in lab || lab.addressing !== 'namespaces' ? 'lo' : 'eth0';
    const r = 'notRunning' in lab ? undefined : lab.roles.find((x) => x.name === name);
    if (!r) return at ? `@<${name}'s address> -p <its port>` : port ? `<${name}'s port>` : `<${name}'s address>`;
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
    return { ok: false, lines: [`✗ the check could not finish: ${(err as Error).message} (is every role of the lab up? npm run lab -- status)`] };
  }
}

export async function exercisesCommand(argv: string[]): Promise<number> {
  const lab = runningLab();
  if (argv[0]) {
    const e = EXERCISES.find((x) => String(x.n) === argv[0] || x.slug === argv[0]);
    if (!e) throw new Error(`no exercise ${argv[0]}: there are ${EXERCISES.length} (npm run lab -- exercises)`);
    console.log(renderPage(e, lab));
    return 0;
  }
  console.log('The workshop (lab/exercises/README.md for instructors). `npm run lab -- exercises N` prints one with this lab\'s addresses.\n');
  for (const e of EXERCISES) console.log(`  ${String(e.n).padStart(2)}  ${e.title.padEnd(66)} seed ${e.seed}  needs: ${e.needs}`);
  console.log('\nCheck one: npm run lab -- check N name=value …   Everything so far: npm run lab -- check --all');
  return 0;
}

export async function checkCommand(argv: string[]): Promise<number> {
  const saved = savedAnswers();
  if (argv[0] === '--all') {
    const lines: string[] = [];
    let done = 0;
    for (const e of EXERCISES) {
      const answers = saved[e.n] ?? {};
      const v = await checkOne(e, answers);
      if (v.ok) done++;
      const wrongs = v.lines.filter((l) => l.startsWith('✗')).length;
      lines.push(`  ${String(e.n).padStart(2)}  ${e.title.padEnd(66)} ${v.ok ? '✓ done' : Object.keys(answers).length === 0 && wrongs === v.lines.length ? '· not done yet' : `✗ ${wrongs} still wrong`}`);
    }
    console.log(`Workshop: ${done} of ${EXERCISES.length} exercises done (checked ${new Date().toISOString()})`);
    console.log(lines.join('\n'));
    return done === EXERCISES.length ? 0 : 1;
  }
  // In ns mode nothing links the lab's hosts to this machine's own network: the checks ask the lab
  // from the north phone's namespace, where the learner asked from (root, as ns mode is).
  const lab = runningLab();
  if (!('notRunning' in lab) && lab.net && !process.env.LAB_CHECK_INSIDE) {
    const inside = spawnSync('ip', ['netns', 'exec', lab.net.phones.north.namespace, process.execPath, ...process.execArgv, process.argv[1]!, 'check', ...argv], { stdio: 'inherit', env: { ...process.env, LAB_CHECK_INSIDE: '1' } });
    if (inside.error || inside.status === null) throw new Error(`could not check from the phone's namespace ${lab.net.phones.north.namespace} (${inside.error?.message ?? `signal ${inside.signal}`}): ns mode needs root (sudo)`);
    return inside.status;
  }
  const e = EXERCISES.find((x) => String(x.n) === argv[0] || x.slug === argv[0]);
  if (!e) throw new Error(argv[0] ? `no exercise ${argv[0]}: there are ${EXERCISES.length} (npm run lab -- exercises)` : 'usage: npm run lab -- check N name=value … | check --all');
  const given: Record<string, string> = {};
  for (const a of argv.slice(1)) {
    const i = a.indexOf('=');
    if (i <= 0) throw new Error(`"${a}" is not name=value; exercise ${e.n} asks for ${Object.keys(e.asks).map((k) => `${k}=…`).join(' ') || 'no answers, only files'}`);
    const name = a.slice(0, i);
    if (!(name in e.asks)) throw new Error(`exercise ${e.n} asks for no "${name}"; it asks for ${Object.keys(e.asks).join(', ') || 'nothing (it reads your files)'}`);
    given[name] = a.slice(i + 1);
  }
  const answers = { ...(saved[e.n] ?? {}), ...given };
  if (Object.keys(given).length) {
    fs.mkdirSync(path.dirname(answersFile()), { recursive: true });
    fs.writeFileSync(answersFile(), JSON.stringify({ ...saved, [e.n]: answers }, null, 2) + '\n');
  }
  const v = await checkOne(e, answers);
  console.log(`Exercise ${e.n}: ${e.title}`);
  for (const l of v.lines) console.log(`  ${l}`);
  console.log(v.ok ? 'Done.' : 'Not yet: fix what is marked ✗ and check again.');
  return v.ok ? 0 : 1;
}
