// `npm run lab -- browser`: a real browser as the phone. Chromium (or Chrome) opens the shop's
// page https://www.geektime.test/ of a running lab, shows the pictures from the CDN and places the
// seed's order with a button. In ns mode it runs inside the phone's namespace, so its DNS really
// goes to the lab's local DNS and its packets leave by the phone's interface; on loopback its
// resolver is told where the two names are (--host-resolver-rules), and it says so.
//
// A throwaway profile trusts the lab's root CA and nothing else on the machine changes: the CA is
// put in an NSS database of the profile's own (certutil, from libnss3-tools), which Chromium on
// Linux reads from $HOME/.pki/nssdb. `--check` runs it headless and drives the page over the
// DevTools protocol on a pipe (--remote-debugging-pipe: NUL-separated JSON on fds 3 and 4), the
// way a test does: load, every picture, the button, the answer.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { readState, type LabState } from './state.ts';
import { SHOP_HOST } from './topology.ts';
import { browserWords } from './words/browser.ts';
import { cliWords } from './words/cli.ts';

const BROWSERS = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

function onPath(tool: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => {
    try {
      fs.accessSync(path.join(dir, tool), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Where the browser goes and how it finds the names there. */
function target(state: LabState, region: 'north' | 'south'): { url: string; namespace?: string; resolverRules?: string } {
  const slb = state.roles.find((r) => r.name === 'slb')!;
  const url = `https://${SHOP_HOST}${slb.port === 443 ? '' : `:${slb.port}`}/`;
  if (state.net) return { url, namespace: state.net.phones[region].namespace };
  // Loopback: no DNS server a browser can be pointed at, so the names are mapped to the roles the
  // lab's DNS would answer with (the shop's SLB; the CDN edge of the phone's region).
  const edge = state.roles.find((r) => r.name === `edge-${region}`)!;
  return { url, resolverRules: `MAP ${SHOP_HOST} ${slb.host}, MAP static.geektime.test ${edge.host}` };
}

/** A fresh profile whose NSS database trusts the lab's root CA (and only what the system already trusts). */
function makeProfile(rootCa: string): string {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-browser-'));
  const db = `sql:${path.join(home, '.pki', 'nssdb')}`;
  fs.mkdirSync(path.join(home, '.pki', 'nssdb'), { recursive: true });
  for (const args of [['-N', '--empty-password', '-d', db], ['-A', '-d', db, '-t', 'C,,', '-n', 'Geektime Lab Root CA', '-i', rootCa]]) {
    const r = spawnSync('certutil', args);
    if (r.status !== 0) {
      fs.rmSync(home, { recursive: true, force: true });
      throw new Error(browserWords().certutilFailed(args[0]!, r.stderr.toString().trim()));
    }
  }
  return home;
}

function browserArgs(home: string, t: ReturnType<typeof target>, extra: string[]): string[] {
  return [
    `--user-data-dir=${path.join(home, 'chrome')}`,
    '--no-first-run',
    '--no-default-browser-check',
    // Offline: no update checks, sync, translation or other calls home during the lesson.
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), // Chromium's sandbox refuses to run as root
    ...(t.resolverRules ? [`--host-resolver-rules=${t.resolverRules}`] : []),
    ...extra,
  ];
}

/** In the phone's namespace when there is one; HOME points at the profile (its NSS database), and
 *  TMPDIR too: Chromium makes a folder there for its SingletonSocket, which it leaves behind. */
function launch(browser: string, args: string[], home: string, namespace: string | undefined, stdio: Parameters<typeof spawn>[2]['stdio']): ChildProcess {
  const env = { ...process.env, HOME: home, TMPDIR: home };
  // A process group of its own: the browser's helper processes (zygote, renderers, GPU) go with it.
  return namespace ? spawn('ip', ['netns', 'exec', namespace, browser, ...args], { env, stdio, detached: true }) : spawn(browser, args, { env, stdio, detached: true });
}

/** The browser and its helper processes (zygote, renderers, GPU): its whole process group. */
function killGroup(child: ChildProcess): void {
  try {
    if (child.pid) process.kill(-child.pid, 'SIGKILL');
  } catch {
    /* gone already */
  }
}

export interface PageCheck {
  url: string;
  secure: boolean;
  images: Array<{ src: string; ok: boolean }>;
  status: string;
  result: string;
}

/** Load the page headless, wait for every picture, press the button, read the answer. */
async function checkPage(child: ChildProcess, url: string, timeoutMs = 30_000): Promise<PageCheck> {
  const said = browserWords();
  const toBrowser = child.stdio[3] as Writable;
  const fromBrowser = child.stdio[4] as Readable;
  let nextId = 1;
  const waiting = new Map<number, (m: { result?: unknown; error?: { message: string } }) => void>();
  const events: Array<{ method: string; sessionId?: string }> = [];
  let buffered = '';
  let gone: Error | undefined;
  const fail = (err: Error) => {
    gone ??= err;
    for (const answer of waiting.values()) answer({ error: { message: gone.message } });
    waiting.clear();
  };
  // A browser that dies (or never starts) closes the pipes: every call waiting gets that answer.
  toBrowser.on('error', (err) => fail(new Error(said.pipe(err.message))));
  fromBrowser.on('error', (err) => fail(new Error(said.pipe(err.message))));
  child.once('exit', (code, signal) => fail(new Error(said.exited(signal ?? said.exitCode(code)))));
  fromBrowser.setEncoding('utf8');
  fromBrowser.on('data', (chunk: string) => {
    buffered += chunk;
    for (let end = buffered.indexOf('\0'); end !== -1; end = buffered.indexOf('\0')) {
      const message = JSON.parse(buffered.slice(0, end)) as { id?: number; method?: string; sessionId?: string; result?: unknown; error?: { message: string } };
      buffered = buffered.slice(end + 1);
      if (message.id !== undefined) waiting.get(message.id)?.(message);
      else if (message.method) events.push({ method: message.method, sessionId: message.sessionId });
    }
  });
  const deadline = Date.now() + timeoutMs;
  const send = <T>(method: string, params: object = {}, sessionId?: string) =>
    new Promise<T>((resolve, reject) => {
      if (gone) return reject(gone);
      const id = nextId++;
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error(said.noAnswer(method, timeoutMs / 1000)));
      }, Math.max(0, deadline - Date.now()));
      waiting.set(id, (m) => {
        clearTimeout(timer);
        if (m.error) reject(new Error(`${method}: ${m.error.message}`));
        else resolve(m.result as T);
      });
      toBrowser.write(`${JSON.stringify({ id, method, params, ...(sessionId && { sessionId }) })}\0`);
    });
  const until = async (late: string, test: () => boolean) => {
    while (!test()) {
      if (Date.now() > deadline) throw new Error(late);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const { targetId } = await send<{ targetId: string }>('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = await send<{ sessionId: string }>('Target.attachToTarget', { targetId, flatten: true });
  await send('Page.enable', {}, sessionId);
  await send('Page.navigate', { url }, sessionId);
  await until(said.noLoad(timeoutMs / 1000), () => events.some((e) => e.method === 'Page.loadEventFired' && e.sessionId === sessionId));
  const script = `(async () => {
    const wait = async (test) => { for (let i = 0; i < 200 && !test(); i++) await new Promise((r) => setTimeout(r, 50)); return test(); };
    const shown = [...document.images].filter((i) => i.loading !== 'lazy'); // the full-size one waits until opened
    await wait(() => shown.every((i) => i.complete));
    const images = shown.map((i) => ({ src: i.currentSrc, ok: i.complete && i.naturalWidth > 0 }));
    document.getElementById('buy').click();
    const result = document.getElementById('result');
    await wait(() => result.dataset.status);
    return { url: location.href, secure: window.isSecureContext, images, status: result.dataset.status ?? 'no answer', result: result.textContent };
  })()`;
  const evaluated = await send<{ result: { value: PageCheck }; exceptionDetails?: { text: string } }>('Runtime.evaluate', { expression: script, awaitPromise: true, returnByValue: true }, sessionId);
  if (evaluated.exceptionDetails) throw new Error(said.scriptFailed(evaluated.exceptionDetails.text));
  return evaluated.result.value;
}

export async function browserCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { from: { type: 'string', default: 'north' }, check: { type: 'boolean', default: false } } });
  const said = browserWords();
  const region = values.from;
  if (region !== 'north' && region !== 'south') throw new Error(cliWords().mustBe('--from', ['north', 'south'], region));
  const browser = BROWSERS.find(onPath);
  if (!browser) throw new Error(said.noBrowser);
  if (!onPath('certutil')) throw new Error(said.noCertutil);
  const state = readState();
  const t = target(state, region);
  let home: string | undefined;
  try {
    home = makeProfile(state.rootCa);
    if (t.resolverRules) console.log(said.loopbackResolver(t.resolverRules));
    if (!values.check) {
      console.log(said.opening(t.url, t.namespace));
      const child = launch(browser, browserArgs(home, t, [t.url]), home, t.namespace, 'inherit');
      // The browser has a process group of its own: a Ctrl-C here ends it too.
      const end = () => killGroup(child);
      process.once('SIGINT', end);
      process.once('SIGTERM', end);
      return await new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 0)));
    }
    const child = launch(browser, browserArgs(home, t, ['--headless=new', '--remote-debugging-pipe', 'about:blank']), home, t.namespace, ['ignore', 'ignore', 'pipe', 'pipe', 'pipe']);
    let stderr = '';
    child.stderr?.on('data', (c) => (stderr += c));
    try {
      const page = await checkPage(child, t.url);
      console.log(JSON.stringify(page));
      return page.status === '201' && page.images.every((i) => i.ok) ? 0 : 1;
    } catch (err) {
      throw new Error(`${(err as Error).message}${stderr ? said.browserSaid(stderr.trim().split('\n').at(-1) ?? '') : ''}`);
    } finally {
      const exited = new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
      killGroup(child);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000).unref())]);
    }
  } finally {
    // Its helper processes may still be writing the profile for a moment after the browser is gone.
    try {
      if (home) fs.rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    } catch (err) {
      console.error(`lab: ${said.cannotRemoveProfile(home, (err as Error).message)}`);
    }
  }
}
