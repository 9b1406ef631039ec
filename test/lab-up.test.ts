// `npm run lab -- up` driven the way a user drives it: start the real command, wait for
// "Lab is up.", then reach the lab with curl, openssl and the lab's own `order` command, stop it
// with Ctrl-C (SIGINT), and watch what it says when its port is taken.
//
// Every test gets its own LAB_DIR (certificates, key log, order log, state.json) and ephemeral
// ports, so this file runs beside the rest of the suite.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { LabState, RoleState } from '../lab/state.ts';

const REPO = path.resolve(import.meta.dirname, '..');
const TSX = path.join(REPO, 'node_modules', '.bin', 'tsx');
const SHOP_HOST = 'www.geektime.test';
const SEED_BODY = '{"order":{"date":"2018-07-01","className":"趣谈网络协议","Author":"刘超","price":"68"}}';
const IS_LINUX = os.platform() === 'linux';

const READY_TIMEOUT_MS = 15_000;
const EXIT_TIMEOUT_MS = 10_000;
const TEST_TIMEOUT_MS = 20_000;

// ───────────────────────────────────────── cleanup ────────────────────────────────────────

// tsx runs the script in a child node process of its own, so killing the spawned pid alone could
// leave the lab's real process (the one holding the ports) behind. Each `up` is therefore started
// as the leader of its own process group, and cleanup kills that group.
const started = new Set<ChildProcess>();
const dirs: string[] = [];

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

async function cleanup(): Promise<void> {
  for (const child of started) {
    killGroup(child);
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2_000);
        child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
  started.clear();
  while (dirs.length > 0) fs.rmSync(dirs.pop()!, { recursive: true, force: true });
}

afterEach(cleanup);
afterAll(cleanup);

function freshLabDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-up-'));
  dirs.push(dir);
  return dir;
}

// ───────────────────────────────────── running commands ───────────────────────────────────

/** A long-running command whose output we watch as it arrives. */
class Running {
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8');
    child.stderr!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => (this.stdout += chunk));
    child.stderr!.on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get pid(): number {
    return this.child.pid!;
  }

  output(): string {
    return `--- stdout ---\n${this.stdout}\n--- stderr ---\n${this.stderr}`;
  }

  /** Resolve when `text` has appeared on stdout; fail with everything captured if the process
   *  exits first or the time runs out. */
  waitForStdout(text: string, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
    if (this.stdout.includes(text)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        this.child.stdout!.off('data', onData);
        this.child.off('exit', onExit);
        if (err) reject(err);
        else resolve();
      };
      const onData = () => {
        if (this.stdout.includes(text)) done();
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        // let the last chunks of output arrive before judging
        void this.drained().then(() => {
          if (this.stdout.includes(text)) done();
          else done(new Error(`process exited (code ${code}, signal ${signal}) before printing "${text}"\n${this.output()}`));
        });
      };
      const timer = setTimeout(
        () => done(new Error(`no "${text}" on stdout within ${timeoutMs} ms\n${this.output()}`)),
        timeoutMs,
      );
      this.child.stdout!.on('data', onData);
      this.child.once('exit', onExit);
    });
  }

  /** Resolve with the exit code and signal; fail with everything captured on timeout. */
  waitForExit(timeoutMs = EXIT_TIMEOUT_MS): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`process ${this.pid} still running after ${timeoutMs} ms\n${this.output()}`)),
        timeoutMs,
      );
      void this.exited.then(async (result) => {
        clearTimeout(timer);
        await this.drained();
        resolve(result);
      });
    });
  }

  /** 'exit' can come before the last output is read: wait (briefly) for both pipes to end. */
  private drained(): Promise<void> {
    const ended = (s: Readable) => new Promise<void>((r) => (s.readableEnded || s.destroyed ? r() : s.once('close', () => r())));
    const bounded = new Promise<void>((r) => setTimeout(r, 1_000).unref());
    return Promise.race([Promise.all([ended(this.child.stdout!), ended(this.child.stderr!)]).then(() => {}), bounded]);
  }
}

/** `npm run lab -- <args>` as `tsx lab/cli.ts <args>`, in its own process group (see cleanup). */
function startLabCommand(labDir: string, args: string[]): Running {
  const child = spawn(TSX, ['lab/cli.ts', ...args], {
    cwd: REPO,
    env: { ...process.env, LAB_DIR: labDir },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  started.add(child);
  return new Running(child);
}

interface UpLab {
  up: Running;
  labDir: string;
  state: LabState;
  role(name: string): RoleState;
}

/** `up --ephemeral --quiet` in a fresh LAB_DIR, ready to be reached. */
async function startUp(extra: string[] = []): Promise<UpLab> {
  const labDir = freshLabDir();
  const up = startLabCommand(labDir, ['up', '--ephemeral', '--quiet', ...extra]);
  await up.waitForStdout('Lab is up.');
  const state = JSON.parse(fs.readFileSync(path.join(labDir, 'state.json'), 'utf8')) as LabState;
  const role = (name: string) => {
    const found = state.roles.find((r) => r.name === name);
    if (!found) throw new Error(`state.json has no role "${name}": ${JSON.stringify(state.roles)}`);
    return found;
  };
  return { up, labDir, state, role };
}

interface Finished {
  /** exit code; for a command that could not be started, the spawn error's code */
  code: number | string;
  stdout: string;
  stderr: string;
}

/** Run a command to the end with stdin closed (input ''); never throws for a non-zero exit. */
function run(file: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Finished> {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      { cwd: REPO, env: opts.env ?? process.env, encoding: 'utf8', timeout: opts.timeoutMs ?? EXIT_TIMEOUT_MS, maxBuffer: 10 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? ((err as NodeJS.ErrnoException & { code?: number | string }).code ?? `signal ${err.signal}`) : 0;
        resolve({ code: code as number | string, stdout, stderr });
      },
    );
    child.stdin?.end();
  });
}

/** `lab/cli.ts <args>` run to the end with LAB_DIR set. */
function labCli(labDir: string, args: string[]): Promise<Finished> {
  return run(TSX, ['lab/cli.ts', ...args], { env: { ...process.env, LAB_DIR: labDir }, timeoutMs: 15_000 });
}

async function onPath(tool: string): Promise<boolean> {
  return (await run('which', [tool], { timeoutMs: 5_000 })).code === 0;
}

const HAVE_CURL = await onPath('curl');
const HAVE_OPENSSL = await onPath('openssl');

function show(result: Finished): string {
  return `exit ${result.code}\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`;
}

/** The parent pid of a process (Linux: /proc; elsewhere: ps). */
async function parentPid(pid: number): Promise<number> {
  if (IS_LINUX) {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ..." — comm may contain spaces, so read after the last ')'
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  }
  return Number((await run('ps', ['-o', 'ppid=', '-p', String(pid)])).stdout.trim());
}

/** Processes still running with this LAB_DIR in their environment (Linux only; [] elsewhere). */
function processesUsing(labDir: string): number[] {
  if (!IS_LINUX) return [];
  const wanted = `\0LAB_DIR=${labDir}\0`;
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const environ = fs.readFileSync(`/proc/${entry}/environ`, 'utf8');
      if (`\0${environ}\0`.includes(wanted)) found.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** Try a TCP connection; resolve with 'connected' or the error code. */
function tryConnect(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(5_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

// ───────────────────────────────────────────── tests ──────────────────────────────────────

describe('npm run lab -- up', () => {
  it('writes state.json once ready: pid, every role, the CA and key log paths; keys are 0600', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { up, labDir, state, role } = await startUp();

    // tsx runs the script in a child node process: the pid in state.json is the process that
    // holds the ports, which is the spawned process itself or its direct child.
    expect(typeof state.pid).toBe('number');
    if (state.pid !== up.pid) expect(await parentPid(state.pid)).toBe(up.pid);
    expect(() => process.kill(state.pid, 0)).not.toThrow();
    // (and the helper the later tests use to prove nothing is left behind does see it)
    if (IS_LINUX) expect(processesUsing(labDir)).toContain(state.pid);

    const expected = { slb: 'https', 'app-1': 'http', 'app-2': 'http' } as const;
    for (const [name, protocol] of Object.entries(expected)) {
      const r = role(name);
      expect(r.protocol, name).toBe(protocol);
      expect(typeof r.host, name).toBe('string');
      expect(r.host.length, name).toBeGreaterThan(0);
      expect(Number.isInteger(r.port), name).toBe(true);
      expect(r.port, name).toBeGreaterThan(0);
      expect(r.port, name).toBeLessThan(65536);
    }
    if (IS_LINUX) {
      expect(state.addressing).toBe('per-role');
      expect(role('slb').host).toBe('127.0.0.80');
      expect(role('app-1').host).toBe('127.0.0.81');
      expect(role('app-2').host).toBe('127.0.0.82');
    }

    for (const file of [state.rootCa, state.intermediateCa, state.keyLog]) {
      expect(path.isAbsolute(file), file).toBe(true);
      expect(path.relative(labDir, file).startsWith('..'), `${file} is not under ${labDir}`).toBe(false);
    }
    expect(fs.existsSync(state.rootCa)).toBe(true);
    expect(fs.readFileSync(state.rootCa, 'utf8')).toContain('-----BEGIN CERTIFICATE-----');

    const certDir = path.dirname(state.rootCa);
    const keys = fs.readdirSync(certDir).filter((f) => f.endsWith('.key'));
    expect(keys.sort()).toEqual(['intermediate.key', 'leaf.key', 'root.key']);
    for (const key of keys) {
      expect((fs.statSync(path.join(certDir, key)).mode & 0o777).toString(8), key).toBe('600');
    }
  });

  it.skipIf(!HAVE_CURL)('takes the seed order over HTTPS from curl trusting the lab root, and curl without it refuses (curl on PATH)', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { state, role } = await startUp();
    const slb = role('slb');
    const url = `https://${SHOP_HOST}:${slb.port}/purchaseOrder`;
    const common = ['--resolve', `${SHOP_HOST}:${slb.port}:${slb.host}`, '-H', 'content-type: application/json', '-d', SEED_BODY, url, '-sS', '-i'];

    const ok = await run('curl', ['--cacert', state.rootCa, ...common]);
    expect(ok.code, show(ok)).toBe(0);
    const [head = '', body = ''] = ok.stdout.split('\r\n\r\n');
    expect(head, show(ok)).toMatch(/^HTTP\/1\.1 201\b/);
    expect(head, show(ok)).toMatch(/^location: \/purchaseOrder\/po-\S+/im);
    const json = JSON.parse(body) as { forwarded?: { proto?: string }; order?: unknown };
    expect(json.forwarded?.proto).toBe('https');
    expect(json.order).toEqual(JSON.parse(SEED_BODY).order);

    const untrusted = await run('curl', common);
    expect(untrusted.code, show(untrusted)).toBe(60); // CURLE_PEER_FAILED_VERIFICATION
  });

  it.skipIf(!HAVE_OPENSSL)('speaks the seed\'s TLS 1.2 RSA suite to openssl s_client, without EMS, and logs CLIENT_RANDOM (openssl on PATH)', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { state, role } = await startUp();
    const slb = role('slb-classic'); // the shop's own port is forward secret only
    const result = await run('openssl', [
      's_client',
      '-connect', `${slb.host}:${slb.port}`,
      '-servername', SHOP_HOST,
      '-CAfile', state.rootCa,
      '-tls1_2',
      '-cipher', 'AES128-GCM-SHA256',
    ]);
    const out = `${result.stdout}\n${result.stderr}`;
    expect(out, show(result)).toMatch(/Cipher is AES128-GCM-SHA256|Cipher\s*: AES128-GCM-SHA256/);
    expect(out, show(result)).toContain('Verify return code: 0 (ok)');
    expect(out, show(result)).toContain('Extended master secret: no');

    const keyLog = fs.readFileSync(state.keyLog, 'utf8');
    expect(keyLog).toMatch(/^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}$/m);
    // session secrets decrypt the traffic: as private as the keys
    expect((fs.statSync(state.keyLog).mode & 0o777).toString(8)).toBe('600');
  });

  it('serves `order --mode classic` (TLS 1.2 RSA) and `order --mode modern` (TLS 1.3)', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { labDir } = await startUp();

    const classic = await labCli(labDir, ['order', '--mode', 'classic']);
    expect(classic.code, show(classic)).toBe(0);
    expect(classic.stdout, show(classic)).toContain('TLSv1.2');
    expect(classic.stdout, show(classic)).toContain('TLS_RSA_WITH_AES_128_GCM_SHA256');

    const modern = await labCli(labDir, ['order', '--mode', 'modern']);
    expect(modern.code, show(modern)).toBe(0);
    expect(modern.stdout, show(modern)).toContain('TLSv1.3');
  });

  it('stops cleanly on Ctrl-C: "Lab stopped.", exit 0, state.json gone, the SLB port closed', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { up, labDir, role } = await startUp();
    const slb = role('slb');
    expect(await tryConnect(slb.host, slb.port)).toBe('connected');

    process.kill(up.pid, 'SIGINT');
    const { code, signal } = await up.waitForExit();
    expect(up.stdout, up.output()).toContain('Lab stopped.');
    expect({ code, signal }, up.output()).toEqual({ code: 0, signal: null });
    expect(fs.existsSync(path.join(labDir, 'state.json'))).toBe(false);
    expect(await tryConnect(slb.host, slb.port)).toBe('ECONNREFUSED');
    expect(processesUsing(labDir)).toEqual([]);
  });

  it('fails with one clear line when the SLB port is taken, and leaves nothing behind', { timeout: TEST_TIMEOUT_MS }, async () => {
    const blocker = net.createServer();
    const host = IS_LINUX ? '127.0.0.80' : '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      blocker.once('error', reject);
      blocker.listen(0, host, () => resolve());
    });
    try {
      const port = (blocker.address() as net.AddressInfo).port;
      const labDir = freshLabDir();
      // --slb-port wins over --ephemeral for the SLB (lab/topology.ts); the apps stay ephemeral.
      const up = startLabCommand(labDir, ['up', '--ephemeral', '--quiet', '--slb-port', String(port)]);
      const { code, signal } = await up.waitForExit();
      expect(signal, up.output()).toBeNull();
      expect(code, up.output()).not.toBe(0);
      expect(up.stdout, up.output()).not.toContain('Lab is up.');

      const lines = up.stderr.split('\n').filter((l) => l.includes('already in use'));
      expect(lines, up.output()).toHaveLength(1);
      expect(lines[0]).toMatch(/\bslb\b/);
      expect(lines[0]).toContain(`${host}:${port}`);

      expect(fs.existsSync(path.join(labDir, 'state.json'))).toBe(false);
      // the apps it had started went down with it: no process of this lab is left
      expect(processesUsing(labDir)).toEqual([]);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it('serves DNS: dig through the local DNS gets the CNAME chain and an edge, the root gives a referral, and `lab dig` shows the walk', { timeout: TEST_TIMEOUT_MS }, async (ctx) => {
    if (!(await onPath('dig'))) ctx.skip();
    const { labDir, role } = await startUp();
    const localDns = role('local-dns');
    const root = role('root');
    expect(localDns.protocol).toBe('dns');
    // First, with a cold cache, the lab's own dig shows the walk from the root.
    const walk = await labCli(labDir, ['dig', 'www.geektime.test', '--from', 'north']);
    expect(walk.code, show(walk)).toBe(0);
    expect(walk.stdout).toMatch(/a\.root-servers\.test \(127\.0\.0\.10:\d+\): A www\.geektime\.test\?/);
    expect(walk.stdout).toMatch(/www\.geektime\.test\.\s+600\s+IN\s+A\s+127\.0\.0\.80/);
    const viaResolver = await run('dig', [`@${localDns.host}`, '-p', String(localDns.port), '-b', '127.10.2.10', 'static.geektime.test']);
    expect(viaResolver.stdout, show(viaResolver)).toMatch(/flags: qr rd ra;/);
    expect(viaResolver.stdout).toMatch(/static\.geektime\.test\.\s+600\s+IN\s+CNAME\s+geektime\.cdn\.test\./);
    expect(viaResolver.stdout).toMatch(/geektime\.cdn\.test\.\s+600\s+IN\s+CNAME\s+geektime\.gslb\.cdn\.test\./);
    expect(viaResolver.stdout).toMatch(/geektime\.gslb\.cdn\.test\.\s+30\s+IN\s+A\s+127\.0\.0\.22/);
    const referral = await run('dig', [`@${root.host}`, '-p', String(root.port), '+norec', 'www.geektime.test']);
    expect(referral.stdout, show(referral)).toMatch(/flags: qr;[\s\S]*AUTHORITY SECTION:\ntest\.\s+172800\s+IN\s+NS\s+ns\.nic\.test\./);
  });

  it('refuses a second lab on the same folder, naming the running one; the first keeps its state', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { labDir, state } = await startUp();
    const second = await labCli(labDir, ['up', '--ephemeral', '--quiet']);
    expect(second.code, show(second)).toBe(1);
    expect(second.stderr).toContain(`a lab is already running from ${labDir} (process ${state.pid}`);
    const after = JSON.parse(fs.readFileSync(path.join(labDir, 'state.json'), 'utf8')) as LabState;
    expect(after.pid).toBe(state.pid);
    expect((await labCli(labDir, ['order'])).code).toBe(0);
  });

  it('`order` without a running lab exits 1 and says how to start one', { timeout: TEST_TIMEOUT_MS }, async () => {
    const labDir = freshLabDir();
    const result = await labCli(labDir, ['order']);
    expect(result.code, show(result)).toBe(1);
    expect(result.stderr, show(result)).toContain('npm run lab -- up');
  });

  it('an unknown command exits 2 and prints the usage', { timeout: TEST_TIMEOUT_MS }, async () => {
    const labDir = freshLabDir();
    const result = await labCli(labDir, ['bogus']);
    expect(result.code, show(result)).toBe(2);
    expect(result.stderr, show(result)).toContain('unknown command "bogus"');
    expect(result.stderr, show(result)).toContain('usage: npm run lab');
  });
});
