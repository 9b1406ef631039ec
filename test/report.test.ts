// report.html in a real browser (Debian's chromium, driven by playwright-core; no browser is
// downloaded): a fresh run's report at a projector's 1280×720 and at 1920×1080 — no sideways page
// scroll, every role's lane inside the diagram panel, arrows in wire-time order, ← → move the
// highlight and open the message, the ClientHello's detail shows the random the trace has, 16 px
// text, and not one request leaves the page. A screenshot of each size is kept in .lab/ (CI artifact).
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TraceEvent } from '../lab/trace.ts';

const run = promisify(execFile);
const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
const why = os.platform() !== 'linux' ? 'Linux only' : !chromium ? 'no Chromium (apt-get install chromium)' : spawnSync('tcpdump', ['--version']).status !== 0 ? 'no tcpdump' : '';

describe.skipIf(why !== '')(`report.html in headless Chromium ${why}`, () => {
  let dir: string;
  let events: TraceEvent[];
  let browser: import('playwright-core').Browser;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-report-'));
    await run(path.resolve('node_modules/.bin/tsx'), ['lab/cli.ts', '--ephemeral', '--mode', 'classic'], { env: { ...process.env, LAB_DIR: dir, NO_COLOR: '1' }, timeout: 60_000 });
    events = (JSON.parse(fs.readFileSync(path.join(dir, 'trace.json'), 'utf8')) as { events: TraceEvent[] }).events;
    const { chromium: driver } = await import('playwright-core');
    browser = await driver.launch({ executablePath: chromium, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const [width, height] of [[1280, 720], [1920, 1080]] as const) {
    it(`${width}×${height}: fits, every lane in view, wire order, keyboard stepping, the ClientHello's random, offline`, { timeout: 60_000 }, async () => {
      const page = await browser.newPage({ viewport: { width, height } });
      const requests: string[] = [];
      const errors: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      page.on('pageerror', (e) => errors.push(String(e)));
      const url = pathToFileURL(path.join(dir, 'report.html')).href;
      await page.goto(url);

      // No sideways scroll of the page itself; text is projector size.
      const layout = await page.evaluate(() => ({
        scrollWidth: document.documentElement.scrollWidth,
        innerWidth: window.innerWidth,
        body: parseFloat(getComputedStyle(document.body).fontSize),
        pre: parseFloat(getComputedStyle(document.querySelector('#story pre')!).fontSize),
      }));
      expect(layout.scrollWidth).toBeLessThanOrEqual(layout.innerWidth);
      expect(layout.body).toBeGreaterThanOrEqual(16);
      expect(layout.pre).toBeGreaterThanOrEqual(16);

      // Every role that sent or received a message has its lane, and the lane's name is inside the diagram panel.
      const roles = new Set(events.filter((e) => e.from && e.to).flatMap((e) => [e.from!, e.to!]));
      const lanes = await page.evaluate(() => {
        const panel = document.getElementById('diagram')!.getBoundingClientRect();
        return [...document.querySelectorAll<SVGGElement>('#diagram .actor')].map((a) => {
          const r = a.getBoundingClientRect();
          return { role: a.dataset.role!, inside: r.left >= panel.left - 0.5 && r.right <= panel.right + 0.5 && r.width > 0 };
        });
      });
      expect(new Set(lanes.map((l) => l.role))).toEqual(roles);
      for (const l of lanes) expect(l.inside, `${l.role}'s lane name is inside the diagram panel`).toBe(true);

      // Arrows are in wire-time order, and each is a message the trace has at that wire time.
      const arrows = await page.evaluate(() => [...document.querySelectorAll<SVGGElement>('#diagram g.message')].map((g) => ({ time: Number(g.dataset.wireTime), from: g.dataset.from, to: g.dataset.to })));
      expect(arrows.length).toBeGreaterThan(40);
      arrows.forEach((a, i) => {
        if (i > 0) expect(a.time, `arrow ${i + 1}`).toBeGreaterThanOrEqual(arrows[i - 1]!.time);
        expect(events.some((e) => e.wireTime === a.time && e.from === a.from && e.to === a.to), `arrow ${i + 1} is a message of the trace`).toBe(true);
      });

      // The keyboard moves the highlight, keeps it in the panel's view, and opens the message.
      const current = () =>
        page.evaluate(() => {
          const g = document.querySelector<SVGGElement>('#diagram g.message.current');
          const panel = document.getElementById('diagram')!.getBoundingClientRect();
          const r = g?.getBoundingClientRect();
          return { index: g ? Number(g.dataset.index) : -1, visible: !!r && r.top >= panel.top && r.bottom <= panel.bottom + 1, title: document.querySelector('#detail h3')?.textContent ?? '' };
        });
      await page.keyboard.press('ArrowRight');
      expect((await current()).index).toBe(0);
      for (let i = 0; i < 30; i++) await page.keyboard.press('ArrowRight');
      const after = await current();
      expect(after.index).toBe(30);
      expect(after.visible).toBe(true);
      expect(after.title.startsWith('31. ')).toBe(true);
      await page.keyboard.press('ArrowLeft');
      expect((await current()).index).toBe(29);

      // Step on to the ClientHello: its detail shows the client random the trace recorded, from the frame's bytes.
      const hello = events.find((e) => e.kind === 'tls' && (e.data as { type?: string }).type === 'ClientHello')!;
      const random = (hello.data as { fields: { random: string } }).fields.random;
      await page.keyboard.press('Home');
      for (let i = 0; i < arrows.length && !(await current()).title.includes('ClientHello'); i++) await page.keyboard.press('ArrowRight');
      expect((await current()).title).toContain('ClientHello');
      const shown = await page.evaluate(() => document.querySelector('#detail tr[data-ws="tls.handshake.random"] td.value')?.textContent);
      expect(shown).toBe(random);
      // Clicking the field highlights exactly its 32 bytes in the hex and says how to check it with tshark.
      await page.click('#detail tr[data-ws="tls.handshake.random"]');
      const highlighted = await page.evaluate(() => [...document.querySelectorAll('#detail .hex span.b.on')].map((b) => b.textContent).join(''));
      expect(highlighted).toBe(random);
      expect(await page.textContent('#detail .explain')).toContain(`-Y 'frame.number == ${hello.frames![0]}' -T fields -e tls.handshake.random`);

      // The order: its frame's encrypted record, opened with the key log in the capture, is the POST with the seed's JSON.
      for (let i = 0; i < arrows.length && !(await current()).title.includes('POST /purchaseOrder'); i++) await page.keyboard.press('ArrowRight');
      expect((await current()).title).toContain('POST /purchaseOrder');
      const opened = await page.evaluate(() => ({
        title: [...document.querySelectorAll('#detail h4')].map((h) => h.textContent).join(' | '),
        method: document.querySelector('#detail tr[data-ws="http.request.method"] td.value')?.textContent,
        body: document.querySelector('#detail tr[data-ws="http.file_data"] td.value')?.textContent,
      }));
      expect(opened.title).toMatch(/Decrypted: the client's TLS record .* opened with TLS 1\.2 key block/);
      expect(opened.method).toBe('POST');
      expect(opened.body).toContain('趣谈网络协议');

      fs.mkdirSync('.lab', { recursive: true });
      await page.screenshot({ path: path.join('.lab', `report-${width}x${height}.png`) });
      await page.close();
      expect(errors).toEqual([]);
      expect(requests).toEqual([url]); // the page itself, nothing else
    });
  }
});
