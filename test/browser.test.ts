// A real browser as the phone (lab/browser.ts): headless Chromium opens the shop's page of a running
// lab, every picture comes from the CDN over HTTPS, the button places the seed's order, and the app
// has it. On loopback and, as root, inside the phone's namespace (its DNS the lab's own).
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type { PageCheck } from '../lab/browser.ts';

const run = promisify(execFile);
const onPath = (tool: string) => !spawnSync('sh', ['-c', `command -v ${tool}`]).status;
const browser = ['chromium', 'chromium-browser', 'google-chrome'].some(onPath);
const why = os.platform() !== 'linux' ? 'Linux only' : !browser ? 'no Chromium on PATH' : !onPath('certutil') ? 'no certutil (libnss3-tools)' : '';
const root = process.getuid?.() === 0;

const labs: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const lab of labs.splice(0)) {
    lab.kill('SIGINT');
    await new Promise((r) => (lab.exitCode !== null ? r(null) : lab.on('exit', r)));
  }
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

async function startLab(args: string[]): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-browser-test-'));
  dirs.push(dir);
  const lab = spawn(process.execPath, ['--import', 'tsx', 'lab/cli.ts', 'up', '--quiet', ...args], { env: { ...process.env, LAB_DIR: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
  labs.push(lab);
  let out = '';
  lab.stdout!.on('data', (c) => (out += c));
  lab.stderr!.on('data', (c) => (out += c));
  for (let i = 0; i < 1200 && !out.includes('Press Ctrl-C to stop.') && lab.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100));
  expect(out, out).toContain('Press Ctrl-C to stop.');
  return dir;
}

describe.skipIf(why !== '')(`npm run lab -- browser ${why}`, () => {
  for (const mode of ['loopback', 'ns'] as const) {
    it.skipIf(mode === 'ns' && !root)(`${mode}: the shop's page shows the CDN's pictures over HTTPS and its button places the seed's order`, { timeout: 240_000 }, async () => {
      const dir = await startLab(mode === 'ns' ? ['--net', 'ns'] : ['--ephemeral']);
      // Its own temporary folder, to see that the browser leaves nothing there (Chromium makes a
      // folder for its SingletonSocket in TMPDIR and does not remove it).
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-browser-tmp-'));
      dirs.push(tmp);
      const { stdout } = await run(process.execPath, ['--import', 'tsx', 'lab/cli.ts', 'browser', '--check'], { env: { ...process.env, LAB_DIR: dir, TMPDIR: tmp }, timeout: 90_000 });
      expect(fs.readdirSync(tmp).filter((f) => !f.startsWith('tsx-'))).toEqual([]); // tsx keeps its compile cache there
      const page = JSON.parse(stdout.trim().split('\n').at(-1)!) as PageCheck;
      expect(page.url).toMatch(/^https:\/\/www\.geektime\.test(:\d+)?\/$/);
      expect(page.secure).toBe(true);
      expect(page.images.length).toBeGreaterThan(0);
      for (const image of page.images) {
        expect(image.src).toMatch(/^https:\/\/static\.geektime\.test(:\d+)?\/images\//);
        expect(image.ok, image.src).toBe(true);
      }
      expect(page.status).toBe('201');
      const body = JSON.parse(page.result.slice(page.result.indexOf('{'))) as { id: string; order: unknown };
      expect(body.order).toEqual({ date: '2018-07-01', className: '趣谈网络协议', Author: '刘超', price: '68' });
      // The app has it, on disk.
      const stored = fs.readFileSync(path.join(dir, 'orders.jsonl'), 'utf8');
      expect(stored).toContain(`"${body.id}"`);
    });
  }
});
