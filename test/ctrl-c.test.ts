// A server started from the command line listens for Ctrl-C before it says it is listening.
// Whoever reads that line (a person, a script, a test) may press Ctrl-C at once, and until a
// listener is in place a SIGINT ends the process with its default action: nothing is closed, the
// order log is not flushed. `lab up` lost that race once under load (CI, 2 December); racing it
// again would test timing luck, so instead a preload counts the SIGINT listeners at the moment
// each line is written, and the test reads that count.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, expect, it } from 'vitest';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-ctrl-c-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

// Before every line that says where the server listens, or how to stop it: how many SIGINT listeners.
const preload = path.join(dir, 'count-listeners.mjs');
fs.writeFileSync(
  preload,
  `const write = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, ...rest) => {
  if (/listening on|Ctrl-C/.test(String(chunk))) process.stderr.write('SIGINT-LISTENERS ' + process.listenerCount('SIGINT') + '\\n');
  return write(chunk, ...rest);
};
`,
);

/** Start a command, wait for its listening line, stop it with SIGINT; the counts and the exit. */
async function countsAtListening(args: string[], listening: RegExp, env: Record<string, string> = {}): Promise<{ counts: number[]; code: number | null; signal: NodeJS.Signals | null; output: string }> {
  // LC_ALL: English lines, whatever the machine's locale.
  const child = spawn(process.execPath, ['--import', preload, '--import', 'tsx', ...args], { cwd: process.cwd(), env: { ...process.env, LC_ALL: 'en_US.UTF-8', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  try {
    for (let i = 0; i < 300 && !listening.test(stdout) && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
    expect(stdout, stdout + stderr).toMatch(listening);
    child.kill('SIGINT');
    const { code, signal } = await exited;
    const counts = [...stderr.matchAll(/SIGINT-LISTENERS (\d+)/g)].map((m) => Number(m[1]));
    return { counts, code, signal, output: stdout + stderr };
  } finally {
    child.kill('SIGKILL');
  }
}

it('a cache tier started alone', async () => {
  const run = await countsAtListening(
    ['--input-type=module', '-e', "const { cacheCommand } = await import('./servers/cdn/cache-cli.ts'); process.exit(await cacheCommand(process.argv.slice(1)))", '--', '--name', 'edge-x', '--listen', '127.0.0.1:0', '--upstream', 'http://127.0.0.1:9', '--hostname', 'img.example.test'],
    /edge-x listening on/,
  );
  expect(run.counts.length, run.output).toBeGreaterThan(0);
  expect(run.counts.every((n) => n >= 1), run.output).toBe(true);
  expect(run, run.output).toMatchObject({ code: 0, signal: null });
});

it('an origin started alone', async () => {
  const run = await countsAtListening(['servers/cdn/origin.ts', '--listen', '127.0.0.1:0', '--dir', path.join(dir, 'origin')], /Ctrl-C to stop/);
  expect(run.counts.length, run.output).toBeGreaterThan(0);
  expect(run.counts.every((n) => n >= 1), run.output).toBe(true);
  expect(run, run.output).toMatchObject({ code: 0, signal: null });
});

it('an app server started alone', async () => {
  const run = await countsAtListening(['servers/order-service-cli.ts', '--name', 'app-9', '--listen', '127.0.0.1:0', '--store', path.join(dir, 'orders.jsonl')], /app-9 listening on/);
  expect(run.counts.length, run.output).toBeGreaterThan(0);
  expect(run.counts.every((n) => n >= 1), run.output).toBe(true);
  expect(run, run.output).toMatchObject({ code: 0, signal: null });
});

it('the whole lab (`npm run lab -- up`)', { timeout: 30_000 }, async () => {
  const run = await countsAtListening(['lab/cli.ts', 'up', '--ephemeral', '--quiet'], /Lab is up/, { LAB_DIR: path.join(dir, 'lab') });
  expect(run.counts.length, run.output).toBeGreaterThan(0);
  expect(run.counts.every((n) => n >= 1), run.output).toBe(true);
  expect(run.output).toContain('Lab stopped.');
  expect(run, run.output).toMatchObject({ code: 0, signal: null });
});
