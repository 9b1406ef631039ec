// The workshop's fault switches (lab/faults.ts), driven as a user drives them: one `lab up`, each
// fault switched on with `npm run lab -- fault NAME on`, its effect seen with a real client (dig,
// curl, the lab's order client, plain HTTP), switched off, and the lab seen as it was. Faults are
// independent, so one lab serves them all, one after another. Nothing waits on luck: every change
// that takes time (health checks) is waited for by bounded polling.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { placeOrder } from '../client/order-client.ts';
import { FAULT_NAMES, LINK_DELAY_MS, linkFaultsShown, netemSupport, radioNetem } from '../lab/faults.ts';
import type { LabState } from '../lab/state.ts';
import { HAVE_CURL, IS_LINUX, SHOP_HOST, TSX, cleanup, freshLabDir, labCli, onPath, run, show, startLabCommand, startUp, type UpLab } from './lab-process.ts';

const HAVE_DIG = await onPath('dig');
const NORTH_PHONE = '127.10.1.10';
const NORTH_EDGE = '127.0.0.21';
const SOUTH_EDGE = '127.0.0.22';

afterAll(cleanup);

/** Poll `probe` until `ok` holds for its value; fail with the last value after `timeoutMs`. */
async function waitFor<T>(what: string, probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T;
  for (;;) {
    last = await probe();
    if (ok(last)) return last;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms; last seen: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.skipIf(!IS_LINUX)('fault switches on a running lab (npm run lab -- fault NAME on|off)', () => {
  let lab: UpLab;
  const role = (name: string) => lab.role(name);
  const stateNow = () => JSON.parse(fs.readFileSync(path.join(lab.labDir, 'state.json'), 'utf8')) as LabState;

  /** Switch a fault with the CLI; it must succeed and say what it did. */
  async function fault(name: string, on: boolean): Promise<string> {
    const result = await labCli(lab.labDir, ['fault', name, on ? 'on' : 'off']);
    expect(result.code, show(result)).toBe(0);
    expect(result.stdout).toContain(`${name} is ${on ? 'on' : 'off'}`);
    expect(stateNow().faults).toEqual(on ? [name] : []);
    return result.stdout;
  }

  // ── clients ──
  const dig = async (server: string, args: string[]) => {
    const r = role(server);
    const result = await run('dig', [`@${r.host}`, '-p', String(r.port), '+time=5', '+tries=1', ...args], { timeoutMs: 15_000 });
    const status = /status: (\w+)/.exec(result.stdout)?.[1];
    return { status, out: result.stdout };
  };
  /** The GSLB's A answer for the north phone (asked from the phone's own address). */
  const gslbForNorth = async () => (await run('dig', [`@${role('gslb').host}`, '-p', String(role('gslb').port), '-b', NORTH_PHONE, '+short', 'geektime.gslb.cdn.test'])).stdout.trim();
  /** A picture from the north edge over plain HTTP, as the phone's browser would ask for it. */
  const picture = (query = '') =>
    new Promise<{ status: number; cacheStatus: string; body: string; ms: number }>((resolve, reject) => {
      const edge = role('edge-north');
      const started = Date.now();
      const req = http.get({ host: edge.host, port: edge.port, path: `/images/phone.png${query}`, headers: { host: 'static.geektime.test' }, agent: false, timeout: 15_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, cacheStatus: String(res.headers['cache-status'] ?? ''), body: Buffer.concat(chunks).toString('utf8'), ms: Date.now() - started }));
      });
      req.on('timeout', () => req.destroy(new Error('no answer within 15 s')));
      req.on('error', reject);
    });
  /** The seed's order through the SLB with the lab's own client: which app server took it. */
  const order = async () => {
    const slb = role('slb');
    const result = await placeOrder({ hostname: SHOP_HOST, address: slb.host, port: slb.port, rootCaPem: fs.readFileSync(lab.state.rootCa, 'utf8'), mode: 'modern' });
    return { status: result.status, app: String(result.headers['x-served-by']) };
  };
  /** curl to the shop, verifying against the lab's root: exit code and its error line. */
  const curlShop = async () => {
    const slb = role('slb');
    const result = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--cacert', lab.state.rootCa, '--resolve', `${SHOP_HOST}:${slb.port}:${slb.host}`, `https://${SHOP_HOST}:${slb.port}/`]);
    return { code: result.code, error: result.stderr.split('\n')[0]!, http: result.stdout };
  };
  /** The certificates the SLB sends (fingerprints, leaf first), verification aside. */
  const servedChain = () =>
    new Promise<string[]>((resolve, reject) => {
      const slb = role('slb');
      const socket = tls.connect({ host: slb.host, port: slb.port, servername: SHOP_HOST, rejectUnauthorized: false }, () => {
        const out: string[] = [];
        let cert: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
        const seen = new Set<string>();
        while (cert && cert.fingerprint256 && !seen.has(cert.fingerprint256)) {
          seen.add(cert.fingerprint256);
          out.push(cert.fingerprint256);
          cert = cert.issuerCertificate;
        }
        socket.destroy();
        resolve(out);
      });
      socket.on('error', reject);
    });

  beforeAll(async () => {
    lab = await startUp();
  });
  // A test that failed half-way leaves its fault on: switch it off, so the next test starts clean.
  afterEach(async () => {
    for (const name of stateNow().faults ?? []) await labCli(lab.labDir, ['fault', name, 'off']);
  });

  it('lists every fault, all off; state.json says so; a wrong name or a link fault on loopback gets one precise line', async () => {
    expect(lab.state.faults).toEqual([]);
    const list = await labCli(lab.labDir, ['faults']);
    expect(list.code, show(list)).toBe(0);
    for (const name of FAULT_NAMES) expect(list.stdout).toMatch(new RegExp(`^  ${name} +off  \\S`, 'm'));

    const unknown = await labCli(lab.labDir, ['fault', 'edge-gone', 'on']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toBe(`lab: no fault "edge-gone"; the faults are: ${FAULT_NAMES.join(', ')}`);

    const link = await labCli(lab.labDir, ['fault', 'link-delay', 'on']);
    expect(link.code).toBe(1);
    expect(link.stderr.trim().split('\n')).toHaveLength(1);
    expect(link.stderr).toMatch(/^lab: link-delay needs the lab in ns mode \(sudo npm run lab -- up --net ns\)/);
    if (netemSupport() === 'absent') expect(link.stderr).toContain('this kernel has no netem qdisc either (CONFIG_NET_SCH_NETEM is not set)');

    // No lab in that folder: the switch says so and how to start one.
    const none = await labCli(freshLabDir(), ['fault', 'edge-down', 'on']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no running lab found \(.*state\.json is missing\): start one with `npm run lab -- up`/);
  });

  it.skipIf(!HAVE_DIG)('edge-down: after its health checks fail the GSLB answers the south edge for the north phone; off, the north edge again', async () => {
    expect(await gslbForNorth()).toBe(NORTH_EDGE);
    const said = await fault('edge-down', true);
    expect(said).toContain('edge-north stopped');
    // fall 2 at 1 s intervals: within a few seconds, never instantly required.
    await waitFor('the GSLB answers the south edge', gslbForNorth, (a) => a === SOUTH_EDGE);
    const why = await run('dig', [`@${role('gslb').host}`, '-p', String(role('gslb').port), '-b', NORTH_PHONE, '+short', 'TXT', 'geektime.gslb.cdn.test']);
    expect(why.stdout).toMatch(/region north .*edge-north (down|unhealthy).*edge-south/);
    const listed = await labCli(lab.labDir, ['faults']);
    expect(listed.stdout).toMatch(/^  edge-down +ON /m);
    await fault('edge-down', false);
    await waitFor('the GSLB answers the north edge again (rise 2)', gslbForNorth, (a) => a === NORTH_EDGE);
  });

  it('origin-down: a cached picture is still a HIT; an uncached one gets the parent\'s 502 naming the refused connection; off, misses work again', async () => {
    expect((await picture()).status).toBe(200); // now cached at the edge (a day, CDN-Cache-Control)
    await fault('origin-down', true);
    const cached = await picture();
    expect(cached.status).toBe(200);
    expect(cached.cacheStatus).toMatch(/^edge-north; hit/);
    const miss = await picture('?origin-down=1');
    expect(miss.status).toBe(502);
    expect(JSON.parse(miss.body)).toEqual({
      error: 'bad gateway',
      reason: `parent could not get static.geektime.test/images/phone.png?origin-down=1 from its upstream ${role('origin').url ?? `http://${role('origin').host}:${role('origin').port}`}: connection refused (ECONNREFUSED): nothing listens there`,
    });
    await fault('origin-down', false);
    expect((await picture('?origin-down=2')).status).toBe(200);
  });

  it('slow-origin: a miss takes the origin\'s 3 s, a HIT does not; off, misses are fast again', async () => {
    await fault('slow-origin', true);
    const miss = await picture('?slow=1');
    expect(miss.status).toBe(200);
    expect(miss.ms).toBeGreaterThanOrEqual(3_000);
    // The edge stores the copy as the body ends, which may be just after curl has it all: until
    // then the parent answers (a hit there). Either way no cached answer waits for the origin.
    const hit = await waitFor('the edge answers from its cache', () => picture('?slow=1'), (p) => /^edge-north; hit/.test(p.cacheStatus));
    expect(hit.ms).toBeLessThan(1_000);
    await fault('slow-origin', false);
    const fast = await picture('?slow=2');
    expect(fast.status).toBe(200);
    expect(fast.ms).toBeLessThan(1_500);
  });

  it('app-down: every order lands on app-2; off, app-1 takes orders again', async () => {
    await fault('app-down', true);
    for (let i = 0; i < 3; i++) expect(await order()).toEqual({ status: 201, app: 'app-2' });
    await fault('app-down', false);
    await waitFor('an order lands on app-1 again', order, (o) => o.status === 201 && o.app === 'app-1');
  });

  it('slb-health-failing: app-1 still serves but its /healthz says 503, so after 2 failed checks the SLB sends every order to app-2', async () => {
    await fault('slb-health-failing', true);
    const app1 = role('app-1');
    const health = await fetch(`http://${app1.host}:${app1.port}/healthz`);
    expect(health.status).toBe(503);
    // It still takes an order when asked directly.
    const direct = await fetch(`http://${app1.host}:${app1.port}/purchaseOrder`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ order: { date: '2018-07-01', className: 'x', Author: 'y', price: '68' } }) });
    expect(direct.status).toBe(201);
    // Round robin alternates while both are in: two in a row on app-2 means app-1 is out.
    let previous = '';
    await waitFor('two orders in a row on app-2', async () => {
      const now = (await order()).app;
      const both = previous === 'app-2' && now === 'app-2';
      previous = now;
      return both;
    }, (b) => b);
    for (let i = 0; i < 3; i++) expect(await order()).toEqual({ status: 201, app: 'app-2' });
    await fault('slb-health-failing', false);
    expect((await fetch(`http://${app1.host}:${app1.port}/healthz`)).status).toBe(200);
    await waitFor('an order lands on app-1 again (rise 2)', order, (o) => o.status === 201 && o.app === 'app-1');
  });

  it.skipIf(!HAVE_CURL)('expired-leaf, missing-intermediate, wrong-san: curl refuses each with its own error; off, the same certificates as before', async () => {
    const before = await servedChain();
    expect(before).toHaveLength(2); // leaf + intermediate
    expect(await curlShop()).toMatchObject({ code: 0, http: '200' });
    const cases: Array<[string, string]> = [
      ['expired-leaf', 'curl: (60) SSL certificate problem: certificate has expired'],
      ['missing-intermediate', 'curl: (60) SSL certificate problem: unable to get local issuer certificate'],
      ['wrong-san', `curl: (60) SSL: no alternative certificate subject name matches target host name '${SHOP_HOST}'`],
    ];
    for (const [name, error] of cases) {
      await fault(name, true);
      expect(await curlShop(), name).toMatchObject({ code: 60, error });
      if (name === 'missing-intermediate') expect(await servedChain()).toEqual([before[0]]);
      await fault(name, false);
      expect(await servedChain(), `${name} off`).toEqual(before);
      expect(await curlShop(), `${name} off`).toMatchObject({ code: 0, http: '200' });
    }
    // The broken keys are private like every key of the lab.
    for (const key of ['expired.key', 'wrong-name.key']) expect(fs.statSync(path.join(lab.labDir, 'certs', 'faults', key)).mode & 0o777).toBe(0o600);
  });

  it.skipIf(!HAVE_DIG)('gslb-misconfigured: the north phone gets the south edge at once, and the GSLB\'s TXT says its subnet is filed under the south', async () => {
    await fault('gslb-misconfigured', true);
    expect(await gslbForNorth()).toBe(SOUTH_EDGE);
    const why = await run('dig', [`@${role('gslb').host}`, '-p', String(role('gslb').port), '-b', NORTH_PHONE, '+short', 'TXT', 'geektime.gslb.cdn.test']);
    expect(why.stdout).toContain('region south (127.10.1.10 is inside south\'s 127.10.1.0/24)');
    await fault('gslb-misconfigured', false);
    expect(await gslbForNorth()).toBe(NORTH_EDGE);
  });

  it.skipIf(!HAVE_DIG)('dns-down: the local DNS answers SERVFAIL with "No Reachable Authority"; off, the shop resolves again', async () => {
    const ask = () => dig('local-dns', ['-b', NORTH_PHONE, 'www.geektime.test']);
    expect((await ask()).status).toBe('NOERROR');
    await fault('dns-down', true);
    const failed = await ask();
    expect(failed.status).toBe('SERVFAIL');
    expect(failed.out).toMatch(/EDE: 22 \(No Reachable Authority\).*ns1\.geektime\.test \(127\.0\.0\.12\)/);
    await fault('dns-down', false);
    const back = await ask();
    expect(back.status).toBe('NOERROR');
    expect(back.out).toMatch(/www\.geektime\.test\.\s+\d+\s+IN\s+A\s+127\.0\.0\.80/);
  });

  it.skipIf(!HAVE_DIG)('lame-delegation: the TLD refers geektime.test to ns1.cdn.test, which says REFUSED; the local DNS answers SERVFAIL; off, as before', async () => {
    await fault('lame-delegation', true);
    const referral = await dig('tld', ['+norec', 'www.geektime.test']);
    expect(referral.out).toMatch(/^geektime\.test\.\s+\d+\s+IN\s+NS\s+ns1\.cdn\.test\.$/m);
    const lame = await dig('cdn-dns', ['+norec', 'www.geektime.test']);
    expect(lame.status).toBe('REFUSED');
    expect(lame.out).not.toMatch(/flags: qr aa/);
    const resolved = await dig('local-dns', ['-b', NORTH_PHONE, 'www.geektime.test']);
    expect(resolved.status).toBe('SERVFAIL');
    expect(resolved.out).toContain('ns1.cdn.test (127.0.0.13): answered REFUSED');
    await fault('lame-delegation', false);
    expect((await dig('tld', ['+norec', 'www.geektime.test'])).out).toMatch(/^geektime\.test\.\s+\d+\s+IN\s+NS\s+ns1\.geektime\.test\.$/m);
    expect((await dig('local-dns', ['-b', NORTH_PHONE, 'www.geektime.test'])).status).toBe('NOERROR');
  });

  it('after every fault went off: every role is up on the port it started on, and state.json lists no fault', async () => {
    const now = stateNow();
    expect(now.faults).toEqual([]);
    for (const r of lab.state.roles) {
      const same = now.roles.find((x) => x.name === r.name)!;
      expect({ name: same.name, host: same.host, port: same.port, status: same.status }).toEqual({ name: r.name, host: r.host, port: r.port, status: 'up' });
    }
  });
});

// The link faults need tc netem on a real link: the lab in ns mode (root) on a kernel with netem.
// Checked in a VM with Debian's 6.1 kernel (this one has no netem): link-delay on took the ping's
// minimum from 74.7 to 836.9 ms, link-loss lost about 20% of pings. It also found the two faults
// undoing each other (each wrote the whole qdisc): these pin the composition down.
describe('the radio link\'s qdisc with the link faults (pure: no kernel needed)', () => {
  it('adds link-delay\'s 400 ms to the planned delay, adds the loss, and keeps one while the other changes', () => {
    expect(radioNetem(20, { delay: false, loss: false })).toBe('delay 20ms');
    expect(radioNetem(20, { delay: true, loss: false })).toBe(`delay ${20 + LINK_DELAY_MS}ms`);
    expect(radioNetem(20, { delay: true, loss: true })).toBe(`delay ${20 + LINK_DELAY_MS}ms loss 10%`);
    expect(radioNetem(20, { delay: false, loss: true })).toBe('delay 20ms loss 10%');
    expect(radioNetem(0, { delay: false, loss: false })).toBe(''); // nothing planned: no qdisc at all
    expect(radioNetem(0.5, { delay: false, loss: true })).toBe('delay 0.5ms loss 10%');
  });
  it('reads back from tc qdisc show which link faults are on', () => {
    const show = (netem: string) => `qdisc netem 8005: root refcnt 3 limit 1000 ${netem}\n`;
    expect(linkFaultsShown(show('delay 20ms'), 20)).toEqual({ delay: false, loss: false });
    expect(linkFaultsShown(show('delay 420ms loss 10%'), 20)).toEqual({ delay: true, loss: true });
    expect(linkFaultsShown(show('delay 20ms loss 10%'), 20)).toEqual({ delay: false, loss: true });
    expect(linkFaultsShown(show('delay 499us'), 0.5)).toEqual({ delay: false, loss: false });
    expect(linkFaultsShown('qdisc noqueue 0: root refcnt 2\n', 0)).toEqual({ delay: false, loss: false });
  });
});

const linkSkip = netemSupport() === 'absent' ? 'this kernel has no netem qdisc (CONFIG_NET_SCH_NETEM is not set)' : process.getuid?.() !== 0 ? 'ns mode needs root' : undefined;
describe.skipIf(linkSkip !== undefined)(`link-loss, link-delay in ns mode${linkSkip ? ` (skipped: ${linkSkip})` : ''}`, () => {
  it('link-delay makes a ping across the phone\'s radio link take 2 × 400 ms more; off, as planned', { timeout: 120_000 }, async () => {
    const labDir = freshLabDir();
    const up = startLabCommand(labDir, ['up', '--net', 'ns', '--quiet']);
    await up.waitForStdout('Lab is up.', 90_000);
    const state = JSON.parse(fs.readFileSync(path.join(labDir, 'state.json'), 'utf8')) as LabState;
    const phone = state.net!.phones.north;
    const rtt = async () => Number(/time=([\d.]+) ms/.exec((await run('ip', ['netns', 'exec', phone.namespace, 'ping', '-c', '1', '-W', '3', phone.gateway])).stdout)?.[1]);
    const planned = await rtt();
    const on = await labCli(labDir, ['fault', 'link-delay', 'on']);
    expect(on.code, show(on)).toBe(0);
    expect(await rtt()).toBeGreaterThanOrEqual(planned + 2 * 400 - 50);
    const off = await labCli(labDir, ['fault', 'link-delay', 'off']);
    expect(off.code, show(off)).toBe(0);
    expect(await rtt()).toBeLessThan(planned + 100);
  });
});

describe.skipIf(!IS_LINUX)('the walkthrough with a fault on (npm run lab -- --fault NAME)', () => {
  const walk = async (name: string) => {
    const started = Date.now();
    const result = await run(TSX, ['lab/cli.ts', '--ephemeral', '--no-capture', '--fault', name], { env: { ...process.env, LAB_DIR: freshLabDir(), NO_COLOR: '1' }, timeoutMs: 50_000 });
    return { ...result, ms: Date.now() - started };
  };

  it('expired-leaf: the story stops at the TLS step with the real reason, and does not hang', { timeout: 60_000 }, async () => {
    const result = await walk('expired-leaf');
    expect(result.code, show(result)).not.toBe(0);
    expect(result.stdout + result.stderr).toMatch(/certificate has expired|CERT_HAS_EXPIRED/);
  });

  it('dns-down: the story stops at the DNS step with SERVFAIL, and does not hang', { timeout: 60_000 }, async () => {
    const result = await walk('dns-down');
    expect(result.code, show(result)).not.toBe(0);
    expect(result.stdout + result.stderr).toContain('SERVFAIL');
  });
});
