// report.html in a real browser (Debian's chromium, driven by playwright-core; no browser is
// downloaded): a fresh run's report at a projector's 1280×720 and at 1920×1080 — no sideways page
// scroll, every role's lane inside the diagram panel, arrows in wire-time order, ← → move the
// highlight and open the message, the ClientHello's detail shows the random the trace has, 16 px
// text, and not one request leaves the page. A screenshot of each size is kept in .lab/ (CI artifact).
// A second run with --lang zh: its report is in Chinese (the zh catalogues, the seed's own words,
// no English sentence left in what the page shows or builds), fits the projector with CJK text, and
// shows the same values as the English report built from the same run.
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReport, type ReportInput } from '../lab/report.ts';
import { shorten } from '../lab/report/diagram.ts';
import { reportWords } from '../lab/report/words/index.ts';
import type { Lang } from '../lab/lang.ts';
import { planNetwork } from '../lab/net-ns/plan.ts';
import { planRoles } from '../lab/topology.ts';
import { renderSummary } from '../lab/story/render/summary.ts';
import { renderTerminal, stepTitle } from '../lab/story/render/terminal.ts';
import { words } from '../lab/story/words/index.ts';
import type { TraceEvent, TracedEvent } from '../lab/trace.ts';

const run = promisify(execFile);
const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
const why = os.platform() !== 'linux' ? 'Linux only' : !chromium ? 'no Chromium (apt-get install chromium)' : spawnSync('tcpdump', ['--version']).status !== 0 ? 'no tcpdump' : '';

/** A run of the walkthrough into its own folder, in a language. */
async function walkthrough(dir: string, l: Lang): Promise<void> {
  await run(path.resolve('node_modules/.bin/tsx'), ['lab/cli.ts', '--ephemeral', '--mode', 'classic', '--lang', l], { env: { ...process.env, LAB_DIR: dir, NO_COLOR: '1' }, timeout: 60_000 });
}

/** The report of a finished run, built again from its artifacts in a language (as the walkthrough builds it). */
function reportOf(dir: string, l: Lang): string {
  const trace = JSON.parse(fs.readFileSync(path.join(dir, 'trace.json'), 'utf8')) as { events: TracedEvent[]; roles: ReportInput['roles'] };
  const query = trace.events.find((e) => e.kind === 'dns-query')!;
  return buildReport({
    lang: l,
    title: reportWords(l).run.title,
    subtitle: '',
    roles: trace.roles,
    phone: (query.data as { client: { address: string } }).client.address,
    events: trace.events,
    capture: { file: 'capture.pcapng', bytes: fs.readFileSync(path.join(dir, 'capture.pcapng')) },
    keyLog: { file: 'keylog.txt', text: fs.readFileSync(path.join(dir, 'keylog.txt'), 'utf8') },
  });
}

describe('report.html in Chinese, without a run', () => {
  it('every role and host the page can show is described in Chinese, not in the state\'s English', () => {
    const net = planNetwork();
    const names = [...planRoles().map((r) => r.name), 'edge-north-tls', 'edge-south-tls', 'slb-classic', ...net.hosts.map((h) => h.name)];
    for (const name of names) expect(words('zh').roles.whatIs(name, ''), name).toMatch(/\p{Script=Han}/u);
    expect(words('en').roles.whatIs('gslb', 'as the state says')).toBe('as the state says');
  });

  it('ns mode: the map of hosts and routers, its cables and its hosts in Chinese', () => {
    const net = planNetwork();
    const roles = Object.entries(net.roles).map(([name, r]) => ({ name, what: 'English', host: r.address, port: 53, protocol: 'dns' as const, namespace: r.namespace }));
    const html = buildReport({ lang: 'zh', title: 't', subtitle: 's', roles, phone: net.phones.north.address, events: [], net });
    const w = reportWords('zh').html;
    expect(html).toContain(`<p class="hint">${w.mapHintNs + w.mapClick}</p>`);
    const cables = [...html.matchAll(/class="map-edge"[^>]*><title>([^<]*)<\/title>/g)].map((m) => m[1]!);
    expect(cables.length).toBe(net.links.filter((l) => l.a.host !== l.b.host).length);
    for (const c of cables) expect(c).toMatch(/^\S+ — \S+：\d+\.\d+\.\d+\.\d+\/\d+，单向延迟 \d+ ms$/);
    const data = pageData(html) as unknown as { roles: Record<string, { what: string; router?: boolean }> };
    for (const [name, r] of Object.entries(data.roles)) expect(r.what, name).toMatch(/\p{Script=Han}/u);
    expect(Object.values(data.roles).some((r) => r.router)).toBe(true);
  });
});

/** The page script's data (#run) of a report. */
function pageData(html: string): { ui: unknown; messages: Array<Record<string, unknown>>; frames: Record<string, { layers: unknown; hex: string }>; words: { fields: unknown }; tls: Record<string, unknown> } {
  return JSON.parse(/<script type="application\/json" id="run">(.*?)<\/script>/s.exec(html)![1]!);
}

describe.skipIf(why !== '')(`report.html in headless Chromium ${why}`, () => {
  let dir: string;
  let zhDir: string;
  let events: TraceEvent[];
  let browser: import('playwright-core').Browser;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-report-'));
    zhDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-report-zh-'));
    await Promise.all([walkthrough(dir, 'en'), walkthrough(zhDir, 'zh')]);
    events = (JSON.parse(fs.readFileSync(path.join(dir, 'trace.json'), 'utf8')) as { events: TraceEvent[] }).events;
    const { chromium: driver } = await import('playwright-core');
    browser = await driver.launch({ executablePath: chromium, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    if (zhDir) fs.rmSync(zhDir, { recursive: true, force: true });
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

  // ── the same run's report in Chinese ──────────────────────────────────────────────────────

  it('--lang zh: the report is in Chinese, from the zh catalogues and the seed itself', () => {
    const html = fs.readFileSync(path.join(zhDir, 'report.html'), 'utf8');
    expect((JSON.parse(fs.readFileSync(path.join(zhDir, 'trace.json'), 'utf8')) as { lang: string }).lang).toBe('zh');
    expect(html).toContain('<html lang="zh-CN">');
    const w = reportWords('zh').html;
    const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
    for (const text of [reportWords('zh').run.title, w.mapHeading, w.mapHintLoopback + w.mapClick, w.storyHeading, w.detailHint, w.wireOrder.split('{filter}')[0]!, w.prev, w.next, w.zoomIn, w.zoomOut, w.zoomFit, w.timeFrame, w.message, w.lanesAria, w.mapAria, w.stageAria, w.groups.names, w.groups.cdn, w.groups.shop, w.stepNames[1]!, w.stepNames[2]!, w.stepNames[3]!]) {
      expect(html, text).toContain(esc(text));
    }
    // The seed's own sentences, in the story and (the first one) on each part of the diagram.
    for (const seed of Object.values(words('zh').fields.SEED_WORDS)) {
      expect(html).toContain(`<blockquote>${esc(w.seed(seed.section) + seed.text)}</blockquote>`);
      expect(html).toContain(`<span class="seed">${esc(w.seed(seed.section) + seed.text.slice(0, seed.text.indexOf('。') + 1))}</span>`);
    }
    // What page.js builds its text from, and the fields' meanings, are the zh catalogues'.
    const data = pageData(html);
    expect(data.ui).toEqual(reportWords('zh').page);
    expect(data.words.fields).toEqual(words('zh').fields.FIELD_WORDS);
    expect(data.tls.words).toBe(words('zh').fields.CLASSIC_WORDS);
    // Not one of the English catalogue's strings is left in the page's text outside the run's data
    // (the captured bytes may hold any words: an origin's 404 body says "not found"), the narration,
    // and the script's and style's source (its comments are English, like every comment here).
    const en = reportWords('en');
    const page = html.replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/g, '').replace(/<pre>[\s\S]*?<\/pre>/g, '');
    for (const text of [...Object.values(en.html), ...Object.values(en.page)].filter((t): t is string => typeof t === 'string' && t.includes(' ') && t.length > 8)) {
      expect(page, text).not.toContain(esc(text));
    }
  });

  it('the zh and en reports of one run show the same values: messages, frames, bytes, randoms and secrets', () => {
    const zh = fs.readFileSync(path.join(zhDir, 'report.html'), 'utf8');
    const en = reportOf(zhDir, 'en');
    expect(reportOf(zhDir, 'zh')).toContain('<html lang="zh-CN">');
    // Arrows: the same messages, frames and wire times, in the same order.
    const arrows = (html: string) => [...html.matchAll(/<g class="message"([^>]*)>/g)].map((m) => m[1]);
    expect(arrows(zh).length).toBeGreaterThan(40);
    expect(arrows(zh)).toEqual(arrows(en));
    const a = pageData(zh);
    const b = pageData(en);
    const facts = (m: Record<string, unknown>) => ({ i: m.i, step: m.step, kind: m.kind, from: m.from, to: m.to, frames: m.frames, wireAt: m.wireAt, tlsType: m.tlsType });
    expect(a.messages.map(facts)).toEqual(b.messages.map(facts));
    // Every dissected frame, byte for byte and field for field.
    expect(a.frames).toEqual(b.frames);
    // The TLS values: both randoms, the pre-master and master secrets, the key log line.
    const { words: _zhWords, ...zhTls } = a.tls;
    const { words: _enWords, ...enTls } = b.tls;
    expect(zhTls).toEqual(enTls);
    expect(zhTls.clientRandom).toMatch(/^[0-9a-f]{64}$/);
  });

  for (const [width, height] of [[1280, 720], [1920, 1080]] as const) {
    it(`zh, ${width}×${height}: fits with CJK text, no English sentence shown, the same random`, { timeout: 60_000 }, async () => {
      const trace = JSON.parse(fs.readFileSync(path.join(zhDir, 'trace.json'), 'utf8')) as { events: TracedEvent[] };
      const zhEvents = trace.events;
      // The narration and each message's line are the story renderers' (lab/story/render), checked there:
      // what is left is the page's own text, which must have no English sentence in it.
      const said = zhEvents.flatMap((e) => {
        const summary = renderSummary(e, 'zh');
        return [summary, shorten(summary, 34), ...renderTerminal(e, 'zh'), ...(e.kind === 'step' ? [stepTitle(e, 'zh')] : [])];
      });
      const page = await browser.newPage({ viewport: { width, height } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(pathToFileURL(path.join(zhDir, 'report.html')).href);

      const english = async (where: string) => {
        const texts = await page.evaluate(() => {
          // Values, code, names and the dissector's rows (field names and values) are not prose.
          const exempt = 'script, style, code, pre, .mono, .value, .kv .value, .hex, .fields td, .fields th, .explain > b, svg .time, svg .frame, svg .actor-name, svg .node-name, svg .node-address';
          const out: string[] = [];
          const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
          for (let n = walker.nextNode(); n; n = walker.nextNode()) if (!n.parentElement?.closest(exempt) && n.textContent!.trim()) out.push(n.textContent!);
          for (const e of document.querySelectorAll('[title], [aria-label]')) out.push(e.getAttribute('title') ?? '', e.getAttribute('aria-label') ?? '');
          out.push(document.title);
          return out;
        });
        const sorted = [...new Set(said)].filter((t) => t.length > 2).sort((x, y) => y.length - x.length);
        const prose = /\b(the|an|of|and|or|to|in|on|is|are|this|that|with|for|from|by|its|it|not|no|one|each|at|as|be|was|has|have|what|which|click|press|hover|step|message|messages|frame|frames|bytes?|time|fit|smaller|larger|previous|next|run|role|map|story|seed|router|interfaces|routes|found|shown|part)\b|\b(The|This|Press|Click|Hover|Frame|Frames|Step|Every|Decrypted|Check|Run|It|In|No|Pictures|What|Bytes)\b/;
        const left = texts.map((t) => sorted.reduce((rest, s) => rest.split(s).join(' '), t)).filter((t) => prose.test(t));
        expect(left, `English in the page's own text (${where})`).toEqual([]);
      };

      // No sideways scroll of the page with CJK text; every lane's name inside the diagram panel;
      // each message's text ends before the first lane; each group's name inside its band.
      const layout = await page.evaluate(() => {
        const panel = document.getElementById('diagram')!.getBoundingClientRect();
        const firstLane = Math.min(...[...document.querySelectorAll('.diagram-part line.lifeline')].map((l) => l.getBoundingClientRect().left));
        const bands = [...document.querySelectorAll('svg .band')].map((b, i) => ({ band: b.getBoundingClientRect(), label: document.querySelectorAll('svg .band-label')[i]!.getBoundingClientRect() }));
        return {
          scrollWidth: document.documentElement.scrollWidth,
          innerWidth: window.innerWidth,
          lanesInside: [...document.querySelectorAll('#diagram .actor')].every((a) => {
            const r = a.getBoundingClientRect();
            return r.left >= panel.left - 0.5 && r.right <= panel.right + 0.5 && r.width > 0;
          }),
          labelsOverLane: [...document.querySelectorAll('.diagram-part text.label')].filter((t) => t.getBoundingClientRect().right > firstLane - 2).map((t) => t.textContent),
          bandsOverflow: bands.filter(({ band, label }) => label.left < band.left || label.right > band.right).length,
          font: getComputedStyle(document.body).fontFamily,
        };
      });
      expect(layout.scrollWidth).toBeLessThanOrEqual(layout.innerWidth);
      expect(layout.lanesInside).toBe(true);
      expect(layout.labelsOverLane).toEqual([]);
      expect(layout.bandsOverflow).toBe(0);
      expect(layout.font).toContain('Noto Sans CJK SC');
      await english('the page as loaded');

      // Step to the ClientHello: the random is the trace's, its meaning the zh catalogue's.
      const title = () => page.evaluate(() => document.querySelector('#detail h3')?.textContent ?? '');
      const count = await page.evaluate(() => document.querySelectorAll('#diagram g.message').length);
      await page.keyboard.press('Home');
      for (let i = 0; i < count && !(await title()).includes('ClientHello'); i++) await page.keyboard.press('ArrowRight');
      const hello = zhEvents.find((e) => e.kind === 'tls' && (e.data as { type?: string }).type === 'ClientHello')!;
      const random = (hello.data as { fields: { random: string } }).fields.random;
      expect(await page.evaluate(() => document.querySelector('#detail tr[data-ws="tls.handshake.random"] td.value')?.textContent)).toBe(random);
      await page.click('#detail tr[data-ws="tls.handshake.random"]');
      const explain = (await page.textContent('#detail .explain'))!;
      expect(explain).toContain(words('zh').fields.FIELD_WORDS['tls.handshake.random']);
      expect(explain).toContain(`-Y 'frame.number == ${hello.frames![0]}' -T fields -e tls.handshake.random`);
      expect(explain).toContain('（32 字节）');
      await english('the ClientHello and its random');

      // The ClientKeyExchange: the three randoms' box.
      for (let i = 0; i < count && !(await title()).includes('ClientKeyExchange'); i++) await page.keyboard.press('ArrowRight');
      expect(await page.textContent('#detail .tls-keys')).toContain(reportWords('zh').page.preMaster);
      await english('the ClientKeyExchange');

      // The order, opened with the key log.
      for (let i = 0; i < count && !(await title()).includes('POST /purchaseOrder'); i++) await page.keyboard.press('ArrowRight');
      expect(await page.evaluate(() => [...document.querySelectorAll('#detail h4')].map((h) => h.textContent).join(' | '))).toMatch(/解密后：客户端的 TLS 记录（这个连接的第 \d+ 个记录），用密钥日志里的 TLS 1\.2 key block/);
      await english('the order');
      fs.mkdirSync('.lab', { recursive: true });
      await page.screenshot({ path: path.join('.lab', `report-zh-${width}x${height}.png`) });

      // A role on the map: what it is, in Chinese.
      await page.click('svg.map .node[data-role="gslb"]');
      expect(await page.textContent('#detail')).toContain(words('zh').roles.whatIs('gslb', ''));
      await english('the GSLB on the map');

      await page.close();
      expect(errors).toEqual([]);
    });
  }
});
