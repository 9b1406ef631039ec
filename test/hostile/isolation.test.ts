// One role's failure is its own: crash, stop or fail to start one role of a running `lab up`, and
// the others keep answering; `status` names the dead role and `role NAME restart` brings it back.
import fs from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { control } from '../../lab/control.ts';
import type { LabState } from '../../lab/state.ts';
import { cleanup, freshLabDir, labCli, run, SEED_BODY, SHOP_HOST, show, startLabCommand, startUp, TEST_TIMEOUT_MS, type UpLab } from '../lab-process.ts';

afterEach(cleanup);
afterAll(cleanup);

const HAVE_DIG = (await run('which', ['dig'], { timeoutMs: 5_000 })).code === 0;

/** POST the seed's order to the SLB, trusting the lab root; resolves with the status code. */
function order(lab: UpLab): Promise<number> {
  const slb = lab.role('slb');
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: slb.host,
        port: slb.port,
        servername: SHOP_HOST,
        method: 'POST',
        path: '/purchaseOrder',
        ca: fs.readFileSync(lab.state.rootCa),
        headers: { host: SHOP_HOST, 'content-type': 'application/json', 'idempotency-key': `iso-${Math.random()}` },
        agent: false,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      },
    );
    req.on('error', reject);
    req.end(SEED_BODY);
  });
}

function get(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    }).on('error', reject);
  });
}

/** GET /healthz from an edge's https port, trusting the lab root. */
function getTls(lab: UpLab, edge: { host: string; port: number }): Promise<number> {
  return new Promise((resolve, reject) => {
    https
      .get({ host: edge.host, port: edge.port, path: '/healthz', servername: 'static.geektime.test', ca: fs.readFileSync(lab.state.rootCa), agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      })
      .on('error', reject);
  });
}

/** The local DNS answers the phone's question (dig, as a learner would ask it). */
async function digAnswers(lab: UpLab): Promise<string> {
  const dns = lab.role('local-dns');
  const r = await run('dig', [`@${dns.host}`, '-p', String(dns.port), '+short', '+tries=1', '+time=3', 'www.geektime.test']);
  return r.stdout.trim();
}

function readState(labDir: string): LabState {
  return JSON.parse(fs.readFileSync(path.join(labDir, 'state.json'), 'utf8')) as LabState;
}

describe('one role down, the others serve', () => {
  it('a crash in one role (edge-north) is that role\'s alone: reported, restarted, everyone else answers', { timeout: TEST_TIMEOUT_MS * 2 }, async () => {
    const lab = await startUp();
    const crash = await labCli(lab.labDir, ['role', 'edge-north', 'crash']);
    expect(crash.code, show(crash)).toBe(0);
    await lab.up.waitForStdout('edge-north: crashed: edge-north was told to crash');
    await lab.up.waitForStdout('edge-north: up again (restart 1)');

    // The process did not die with it: the order path and the other cache still answer.
    expect(await order(lab)).toBe(201);
    expect(await get(`${lab.role('edge-south').url}/healthz`)).toBe(200);
    expect(await get(`${lab.role('edge-north').url}/healthz`)).toBe(200); // back on its old address and port
    expect(await getTls(lab, lab.role('edge-north-tls'))).toBe(200); // and its https port too
    if (HAVE_DIG) expect(await digAnswers(lab)).toBe(lab.role('slb').host);

    const status = await labCli(lab.labDir, ['status']);
    expect(status.code, show(status)).toBe(0);
    expect(status.stdout).toMatch(/edge-north\s+up .*restarted 1×/);
    expect(readState(lab.labDir).roles.find((r) => r.name === 'edge-north')).toMatchObject({ status: 'up', restarts: 1 });
  });

  it('a role that keeps crashing is left down and said so; `status` exits 3; `role restart` brings it back', { timeout: TEST_TIMEOUT_MS * 2 }, async () => {
    const lab = await startUp();
    for (let i = 1; i <= 6; i++) {
      // The control socket itself (what `role gslb crash` sends), to keep six rounds quick.
      expect(await control(lab.state.control!, { cmd: 'crash', role: 'gslb' })).toEqual({ ok: true });
      await lab.up.waitForStdout(i <= 5 ? `gslb: up again (restart ${i})` : 'crashed 6 times in a minute, left down');
    }
    const status = await labCli(lab.labDir, ['status']);
    expect(status.code, show(status)).toBe(3);
    expect(status.stdout).toMatch(/gslb\s+crashed .*left down/);
    expect(status.stdout).toMatch(/slb\s+up/);
    expect(await order(lab)).toBe(201);

    const back = await labCli(lab.labDir, ['role', 'gslb', 'restart']);
    expect(back.code, show(back)).toBe(0);
    expect(back.stdout).toMatch(/gslb\s+up/);
    expect((await labCli(lab.labDir, ['status'])).code).toBe(0);
  });

  it('with one app server stopped the SLB sends orders to the other; restarted, it serves again', { timeout: TEST_TIMEOUT_MS * 2 }, async () => {
    const lab = await startUp();
    const stop = await labCli(lab.labDir, ['role', 'app-1', 'stop']);
    expect(stop.stdout, show(stop)).toMatch(/app-1\s+stopped/);
    // Whatever the SLB's health checks have noticed yet, no order is refused: a refused
    // connection to app-1 is retried on app-2 (it cannot have arrived).
    for (let i = 0; i < 4; i++) expect(await order(lab)).toBe(201);
    expect((await labCli(lab.labDir, ['status'])).stdout).toMatch(/app-1\s+stopped\s.*stopped by the operator/);
    expect(readState(lab.labDir).roles.find((r) => r.name === 'app-1')?.status).toBe('stopped');

    const again = await labCli(lab.labDir, ['role', 'app-1', 'restart']);
    expect(again.stdout, show(again)).toMatch(/app-1\s+up/);
    expect(await get(`${lab.role('app-1').url}/healthz`)).toBe(200);
  });

  it('an order log that cannot be opened fails the app servers only: the rest of the lab starts and says which are down', { timeout: TEST_TIMEOUT_MS }, async () => {
    const labDir = freshLabDir();
    fs.mkdirSync(path.join(labDir, 'orders.jsonl')); // a folder where the log should be
    const up = startLabCommand(labDir, ['up', '--ephemeral', '--quiet']);
    await up.waitForStdout('Lab is up.');
    expect(up.stdout).toMatch(/DOWN: app-1 could not start: cannot open the order log/);
    expect(up.stdout).toMatch(/DOWN: app-2 could not start/);
    const state = readState(labDir);
    expect(state.roles.find((r) => r.name === 'app-1')?.status).toBe('failed');
    expect(state.roles.find((r) => r.name === 'slb')?.status).toBe('up');
    const status = await labCli(labDir, ['status']);
    expect(status.code).toBe(3);
    expect(status.stdout).toMatch(/app-2\s+failed/);
    expect(status.stdout).toMatch(/local-dns\s+up/);
  });

  it('a damaged line in the middle of the order log is set aside and said; every role starts and orders go on', { timeout: TEST_TIMEOUT_MS }, async () => {
    const labDir = freshLabDir();
    const first = await startUp([], labDir);
    expect(await order(first)).toBe(201);
    expect(await order(first)).toBe(201);
    first.up.child.kill('SIGINT');
    await first.up.waitForExit();
    const file = path.join(labDir, 'orders.jsonl');
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    lines.splice(1, 0, '{"id":"po-000007","half a rec');
    fs.writeFileSync(file, lines.join('\n'));

    const lab = await startUp([], labDir);
    expect(lab.up.stdout).toMatch(/Note: order log .*orders\.jsonl:2: not a valid order record; skipped, and kept in .*orders\.jsonl\.damaged/);
    expect(lab.up.stdout).not.toMatch(/DOWN:/);
    const status = await labCli(labDir, ['status']);
    expect(status.code, show(status)).toBe(0);
    expect(await order(lab)).toBe(201);
    // po-000007 may have been an order: its number is never handed out again.
    expect(fs.readFileSync(file, 'utf8')).toMatch(/"id":"po-000008"/);
  });

  it('`status` without a running lab says how to start one', { timeout: TEST_TIMEOUT_MS }, async () => {
    const r = await labCli(freshLabDir(), ['status']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no running lab found .*npm run lab -- up/);
  });
});
