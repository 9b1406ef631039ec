// `npm run lab -- up` driven the way a user drives it: start the real command, wait for
// "Lab is up.", then reach the lab with curl, openssl and the lab's own `order` command, stop it
// with Ctrl-C (SIGINT), and watch what it says when its port is taken.
//
// Every test gets its own LAB_DIR (certificates, key log, order log, state.json) and ephemeral
// ports, so this file runs beside the rest of the suite.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import type tls from 'node:tls';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { LabState } from '../lab/state.ts';
import {
  SHOP_HOST,
  SEED_BODY,
  IS_LINUX,
  TEST_TIMEOUT_MS,
  freshLabDir,
  startLabCommand,
  startUp,
  run,
  labCli,
  onPath,
  HAVE_CURL,
  HAVE_OPENSSL,
  show,
  parentPid,
  processesUsing,
  tryConnect,
  cleanup,
} from './lab-process.ts';

afterEach(cleanup);
afterAll(cleanup);

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
    expect(keys.sort()).toEqual(['cdn.key', 'intermediate.key', 'leaf.key', 'root.key']);
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

    // The SLB writes its key log off the request path: wait (bounded) for this session's line, by
    // the master secret s_client printed.
    const master = /Master-Key: ([0-9A-F]{96})/.exec(out)?.[1]?.toLowerCase();
    expect(master, show(result)).toBeDefined();
    const line = new RegExp(`^CLIENT_RANDOM [0-9a-f]{64} ${master}$`, 'm');
    const readKeyLog = () => (fs.existsSync(state.keyLog) ? fs.readFileSync(state.keyLog, 'utf8') : '');
    for (let i = 0; i < 100 && !line.test(readKeyLog()); i++) await new Promise((r) => setTimeout(r, 50));
    expect(readKeyLog()).toMatch(line);
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

  it('PURGE at a cache needs the operator token that only state.json (0600) carries', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { labDir, state, role } = await startUp();
    expect(fs.statSync(path.join(labDir, 'state.json')).mode & 0o777).toBe(0o600);
    expect(state.purge?.token).toMatch(/^[\w-]{32}$/);
    const edge = role('edge-north');
    const purge = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        http
          .request(`${edge.url}/images/phone.png`, { method: 'PURGE', headers: { host: 'static.geektime.test', ...headers }, agent: false, localAddress: IS_LINUX ? '127.10.1.10' : undefined }, (res) => {
            res.resume();
            resolve(res.statusCode!);
          })
          .on('error', reject)
          .end();
      });
    expect(await purge({})).toBe(403); // the phone's address, no token
    expect(await purge({ authorization: 'Bearer not-the-token' })).toBe(403);
    expect([200, 404]).toContain(await purge({ authorization: `Bearer ${state.purge!.token}` }));
  });

  it('the edges serve the pictures over HTTPS too, listed in state.json as parts of the edges; http stays as it was', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { state, role } = await startUp();
    for (const name of ['edge-north', 'edge-south']) {
      const edge = role(name);
      const tls = role(`${name}-tls`);
      expect(tls).toMatchObject({ partOf: name, protocol: 'https', host: edge.host, status: 'up', url: `https://static.geektime.test:${tls.port}/` });
      expect(tls.port).not.toBe(edge.port);
      expect(edge.protocol).toBe('http');
    }
    expect(role('parent').protocol).toBe('http'); // the parent is reached by the edges alone
    expect(state.roles.some((r) => r.name === 'parent-tls')).toBe(false);

    // As a browser on an https page fetches a picture: only the lab's root trusted.
    const edge = role('edge-north-tls');
    const get = () =>
      new Promise<{ status: number; headers: http.IncomingHttpHeaders; protocol: string | null }>((resolve, reject) => {
        https
          .get({ host: edge.host, port: edge.port, path: '/images/phone.png', servername: 'static.geektime.test', ca: fs.readFileSync(state.rootCa), headers: { host: `static.geektime.test:${edge.port}` }, agent: false }, (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, protocol: (res.socket as tls.TLSSocket).getProtocol() }));
          })
          .on('error', reject);
      });
    const first = await get();
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toBe('image/png');
    expect(first.headers['cache-status']).toMatch(/^parent; fwd=uri-miss; stored; ttl=\d+, edge-north; fwd=uri-miss; stored; ttl=\d+$/);
    expect(['TLSv1.2', 'TLSv1.3']).toContain(first.protocol);
    expect((await get()).headers['cache-status']).toMatch(/^edge-north; hit; ttl=\d+$/);

    // The same edge over http: the same store.
    const overHttp = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get(`${role('edge-north').url}/images/phone.png`, { headers: { host: 'static.geektime.test' }, agent: false }, resolve).on('error', reject);
    });
    overHttp.resume();
    expect(overHttp.statusCode).toBe(200);
    expect(overHttp.headers['cache-status']).toMatch(/^edge-north; hit; ttl=\d+$/);
  });

  it.skipIf(!HAVE_CURL)('curl --cacert root --resolve gets a picture from the south edge over HTTPS (curl on PATH)', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { state, role } = await startUp();
    const edge = role('edge-south-tls');
    const result = await run('curl', ['-sS', '-o', '/dev/null', '-D', '-', '--cacert', state.rootCa, '--resolve', `static.geektime.test:${edge.port}:${edge.host}`, `${edge.url}images/phone.png`]);
    expect(result.code, show(result)).toBe(0);
    expect(result.stdout, show(result)).toMatch(/^HTTP\/1\.1 200 OK\r$/m);
    expect(result.stdout, show(result)).toMatch(/^content-type: image\/png\r$/im);
    expect(result.stdout, show(result)).toMatch(/^cache-status: .*edge-south; fwd=uri-miss; stored; ttl=\d+\r$/im);
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
