// `npm run lab -- --net ns`: the whole story over the lab's little internet (root on Linux only).
// Checked from the captures with tshark where it is installed, and with the lab's own reader: the
// phone's ARP for its gateway, the SYN from the phone's MAC to the gateway's, the same SYN on the
// SLB's link three routers later (TTL 61, new MACs, the same addresses), the decrypted order; and
// afterwards, or after a SIGKILL and `net down`, nothing of the network is left.
import { execFile, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeFrame } from '../lab/observe/packets.ts';
import { readCapture } from '../lab/observe/pcapng.ts';
import { tracePath, type NetPlan } from '../lab/net-ns/plan.ts';

const run = promisify(execFile);
const tsx = path.resolve('node_modules/.bin/tsx');
const isRoot = process.getuid?.() === 0;
const hasTools = ['tcpdump', 'ip'].every((tool) => !spawnSync(tool, tool === 'ip' ? ['-V'] : ['--version']).error);
const hasTshark = !spawnSync('tshark', ['--version']).error;
const why = os.platform() !== 'linux' ? 'Linux only' : !isRoot ? 'needs root (CAP_NET_ADMIN)' : !hasTools ? 'needs ip and tcpdump' : '';

const SEED = '{"order":{"date":"2018-07-01","className":"趣谈网络协议","Author":"刘超","price":"68"}}';
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const namespacesOf = (pid: number) => (spawnSync('ip', ['netns', 'list']).stdout?.toString() ?? '').split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(`bol-${pid}-`));
const tshark = async (file: string, ...args: string[]) => (await run('tshark', ['-r', file, ...args], { env: { ...process.env, LC_ALL: 'C.UTF-8' } })).stdout;

describe.skipIf(why !== '')(`npm run lab -- --net ns ${why}`, () => {
  for (const mode of ['classic', 'modern'] as const) {
    it(`${mode}: the story over a routed network: ARP for the gateway, the SYN to the gateway's MAC, TTL 64 → 61 on the SLB's link, the order decrypted, nothing left after`, { timeout: 240_000 }, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-ns-'));
      dirs.push(dir);
      // Classic also captures every link (--capture all).
      const child = spawn(tsx, ['lab/cli.ts', '--net', 'ns', '--mode', mode, ...(mode === 'classic' ? ['--capture', 'all'] : [])], { env: { ...process.env, LAB_DIR: dir, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (c) => (out += c));
      child.stderr.on('data', (c) => (out += c));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(code, out).toBe(0);
      expect(out).toMatch(/All three steps done/);
      expect(out).toMatch(/Answer: 201/);
      expect(out).toMatch(/The lab is up \(every host its own network namespace/);
      // SYN-SENT and SYN-RECEIVED, observed: the kernel's own record of each state change of both ends.
      expect(out).toMatch(/\+ +0 µs {2}phone CLOSED → SYN-SENT/);
      expect(out).toMatch(/µs {2}SLB {3}LISTEN → SYN-RECEIVED\n.*µs {2}SLB {3}SYN-RECEIVED → ESTABLISHED/);
      expect(out).toMatch(/µs {2}(SLB {3}|phone )ESTABLISHED → FIN-WAIT-1/); // whichever closes first

      // The plan the run used is gone with the network; the trace keeps the roles and their namespaces.
      const trace = JSON.parse(fs.readFileSync(path.join(dir, 'trace.json'), 'utf8')) as { roles: Array<{ name: string; host: string; namespace?: string }>; events: Array<{ kind: string; data: unknown }> };
      const slb = trace.roles.find((r) => r.name === 'slb')!;
      expect(slb.namespace).toMatch(/^bol-\d+-slb$/);
      const pid = Number(/^bol-(\d+)-/.exec(slb.namespace!)![1]);
      expect(namespacesOf(pid)).toEqual([]); // torn down

      // The phone's link, with the lab's own reader: ARP first, then the SYN to the gateway's MAC.
      const phoneLink = readCapture(fs.readFileSync(path.join(dir, 'capture.pcapng')));
      const frames = phoneLink.frames.map(decodeFrame);
      const layers = trace.events.find((e) => e.kind === 'layers')!.data as { arp: Array<{ operation: number; senderIp: string; targetIp: string; senderMac: string; to: string }> };
      const [question, answer] = layers.arp;
      expect(question).toMatchObject({ operation: 1, senderIp: '100.64.1.10', targetIp: '100.64.1.1', to: 'ff:ff:ff:ff:ff:ff' });
      expect(answer).toMatchObject({ operation: 2, senderIp: '100.64.1.1', targetIp: '100.64.1.10' });
      const gatewayMac = answer!.senderMac;
      const syn = frames.find((d) => d.tcp && d.tcp.destinationPort === (mode === 'classic' ? 4433 : 443) && d.ipv4?.destination === slb.host && d.tcp.flags.syn && !d.tcp.flags.ack)!;
      expect(syn).toBeDefined();
      expect(syn.ethernet!.destination).toBe(gatewayMac);
      expect(syn.ipv4!.ttl).toBe(64);

      // The SLB's link: the same SYN, TTL lower by the three routers, new MACs, the same addresses and ports.
      const slbLink = readCapture(fs.readFileSync(path.join(dir, 'capture-slb.pcapng'))).frames.map(decodeFrame);
      const there = slbLink.find((d) => d.tcp?.seq === syn.tcp!.seq && d.tcp.sourcePort === syn.tcp!.sourcePort)!;
      expect(there).toBeDefined();
      expect(there.ipv4!.ttl).toBe(61);
      expect([there.ipv4!.source, there.ipv4!.destination, there.tcp!.destinationPort]).toEqual([syn.ipv4!.source, syn.ipv4!.destination, syn.tcp!.destinationPort]);
      expect(there.ethernet!.source).not.toBe(syn.ethernet!.source);
      const path_ = trace.events.find((e) => e.kind === 'ip-path')!.data as { routers: string[] };
      expect(path_.routers).toEqual(['pgw-north', 'core', 'shop-router']);
      expect(out).toContain('TTL 64 − 61 = 3');

      // --capture all: one file per link; the DNS walk on the root's link, the SLB's hop on an app server's.
      if (mode === 'classic') {
        const captures = fs.readdirSync(path.join(dir, 'captures')).sort();
        expect(captures).toHaveLength(18);
        const onLink = (name: string) => readCapture(fs.readFileSync(path.join(dir, 'captures', name))).frames.map(decodeFrame);
        const rootServer = trace.roles.find((r) => r.name === 'root')!.host;
        expect(onLink('dns--root.pcapng').some((d) => d.udp?.destinationPort === 53 && d.ipv4?.destination === rootServer)).toBe(true);
        const apps = ['shop-apps--app-1.pcapng', 'shop-apps--app-2.pcapng'].flatMap(onLink);
        expect(apps.some((d) => d.tcp?.destinationPort === 8080 && d.frame.data.includes('POST /purchaseOrder'))).toBe(true);
        expect(out).toMatch(/Every link \(--capture all\): .*captures\/ \(18 files, \d+ frames, none lost/);
      }

      // tshark agrees, and decrypts the order on the phone's link with no options.
      if (hasTshark) {
        const file = path.join(dir, 'capture.pcapng');
        expect(await tshark(file, '-Y', 'arp.opcode == 1', '-T', 'fields', '-e', 'arp.src.proto_ipv4', '-e', 'arp.dst.proto_ipv4')).toBe('100.64.1.10\t100.64.1.1\n');
        const synFields = (await tshark(file, '-Y', `tcp.flags.syn == 1 && tcp.flags.ack == 0 && ip.dst == ${slb.host}`, '-T', 'fields', '-e', 'eth.dst', '-e', 'ip.ttl')).trim();
        expect(synFields).toBe(`${gatewayMac}\t64`);
        const http = await tshark(file, '-Y', 'http', '-T', 'fields', '-e', 'http.request.method', '-e', 'http.response.code');
        expect(http).toMatch(/POST/);
        expect(http).toMatch(/201/);
        const slbTtl = (await tshark(path.join(dir, 'capture-slb.pcapng'), '-Y', `tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.srcport == ${syn.tcp!.sourcePort}`, '-T', 'fields', '-e', 'ip.ttl')).trim();
        expect(slbTtl).toBe('61');
      }
    });
  }

  const hasDigCurl = ['dig', 'curl'].every((tool) => !spawnSync(tool, ['-v']).error);
  it.skipIf(!hasDigCurl)('up --net ns: dig, curl and traceroute inside the phone\'s namespace: the lab\'s own DNS, the order, the three routers; a killed role comes back; Ctrl-C removes everything', { timeout: 240_000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-ns-up-'));
    dirs.push(dir);
    const child = spawn(process.execPath, ['--import', 'tsx', 'lab/cli.ts', 'up', '--net', 'ns', '--quiet'], { env: { ...process.env, LAB_DIR: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    const exited = new Promise((r) => child.on('exit', r));
    try {
      for (let i = 0; i < 1200 && !out.includes('Press Ctrl-C to stop.') && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100));
      expect(out, out).toContain('Press Ctrl-C to stop.');
      const state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')) as { net: NetPlan; rootCa: string; roles: Array<{ name: string; partOf?: string; host: string; port: number; protocol: string }> };
      const phone = state.net.phones.north.namespace;
      const edge = state.net.roles['edge-north'].address;
      // No @server: the phone's resolv.conf (/etc/netns/<namespace>/resolv.conf) names the lab's local DNS.
      const dig = await run('ip', ['netns', 'exec', phone, 'dig', '+short', 'static.geektime.test']);
      expect(dig.stdout.trim().split('\n')).toEqual(['geektime.cdn.test.', 'geektime.gslb.cdn.test.', edge]);
      const order = await run('ip', ['netns', 'exec', phone, 'curl', '-s', '-w', '\n%{http_code}', '--cacert', state.rootCa, '-H', 'content-type: application/json', '-d', SEED, `https://www.geektime.test/purchaseOrder`]);
      const [body, status] = order.stdout.trim().split('\n');
      expect(status).toBe('201');
      expect(JSON.parse(body!)).toMatchObject({ forwarded: { for: state.net.phones.north.address } });
      // traceroute from the phone: each router on the way answers when the TTL runs out there
      // (RFC 792 Time Exceeded), the SLB's host at last; the same hops as the plan's routing tables.
      if (!spawnSync('traceroute', ['--version']).error) {
        const slbVip = state.net.roles.slb.address;
        const trace = await run('ip', ['netns', 'exec', phone, 'traceroute', '-n', '-q', '1', '-w', '2', '-m', '8', slbVip]);
        const hops = trace.stdout.split('\n').slice(1).map((l) => l.trim().split(/\s+/)[1]).filter(Boolean);
        expect(hops).toEqual(tracePath(state.net, state.net.phones.north.host, slbVip).hops.map((h) => h.nextHop));
      }
      // The picture over HTTPS, as a page at https://www.geektime.test/ loads it: the edge the GSLB
      // chose answers on 443 with the CDN's certificate for static.geektime.test.
      expect(state.roles.find((r) => r.name === 'edge-north-tls')).toMatchObject({ partOf: 'edge-north', host: edge, port: 443, protocol: 'https' });
      const picture = await run('ip', ['netns', 'exec', phone, 'curl', '-sS', '-o', '/dev/null', '-D', '-', '--cacert', state.rootCa, 'https://static.geektime.test/images/phone.png']);
      expect(picture.stdout, picture.stdout + picture.stderr).toMatch(/^HTTP\/1\.1 200 OK\r$/m);
      expect(picture.stdout).toMatch(/^content-type: image\/png\r$/im);
      expect(picture.stdout).toMatch(/^cache-status: .*edge-north; fwd=uri-miss; stored; ttl=\d+\r$/im);
      // A role that dies is started again in its host: kill the origin, and a picture no cache has
      // yet comes through edge → parent → the origin's new process.
      const originPid = (state as unknown as { roles: Array<{ name: string; pid: number }> }).roles.find((r) => r.name === 'origin')!.pid;
      process.kill(originPid, 'SIGKILL');
      let large = '';
      for (let i = 0; i < 60 && large !== '200'; i++) {
        await new Promise((r) => setTimeout(r, 500));
        large = (await run('ip', ['netns', 'exec', phone, 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '5', 'http://static.geektime.test/images/phone-large.png']).catch(() => ({ stdout: '' }))).stdout;
      }
      expect(large).toBe('200');
    } finally {
      child.kill('SIGINT');
      await exited;
    }
    expect(out).toContain('network removed');
    expect(namespacesOf(child.pid!)).toEqual([]);
  });

  it('a SIGTERM to --net ns (a kill, a CI timeout) reaches the phone\'s run too: it ends, and the network goes', { timeout: 240_000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-ns-term-'));
    dirs.push(dir);
    const child = spawn(process.execPath, ['--import', 'tsx', 'lab/cli.ts', '--net', 'ns', '--stay', '--no-capture'], { env: { ...process.env, LAB_DIR: dir, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    for (let i = 0; i < 1200 && !out.includes('Press Ctrl-C to stop.') && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100));
    expect(out, out).toContain('Press Ctrl-C to stop.');
    child.kill('SIGTERM'); // to the outer process only, not its group: it must pass it on
    expect(await exited).toBe(0); // --stay ends on SIGTERM as on Ctrl-C: the lab stops cleanly
    expect(namespacesOf(child.pid!)).toEqual([]);
  });

  it('after a SIGKILL of the lab, `net down` removes its namespaces and every process in them', { timeout: 240_000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-ns-kill-'));
    dirs.push(dir);
    const child = spawn(process.execPath, ['--import', 'tsx', 'lab/cli.ts', '--net', 'ns', '--stay', '--no-capture'], { env: { ...process.env, LAB_DIR: dir, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    // Up and staying: the story is done and the roles run in their namespaces.
    for (let i = 0; i < 1200 && !out.includes('Press Ctrl-C to stop.') && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100));
    expect(out, out).toContain('Press Ctrl-C to stop.');
    const state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')) as { net: NetPlan; roles: Array<{ pid?: number }> };
    const pids = state.roles.flatMap((r) => (r.pid ? [r.pid] : []));
    expect(pids.length).toBeGreaterThan(10);
    expect(namespacesOf(child.pid!).length).toBe(state.net.hosts.length);
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));

    const down = await run(tsx, ['lab/cli.ts', 'net', 'down'], { env: { ...process.env, LAB_DIR: dir } });
    expect(down.stdout + down.stderr).toMatch(/removed/i);
    expect(namespacesOf(child.pid!)).toEqual([]);
    // Killed: gone, or a zombie waiting for whoever reaps orphans (it runs no more).
    const running = (p: number) => {
      try {
        return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${p}/stat`, 'utf8'));
      } catch {
        return false;
      }
    };
    expect(pids.filter(running)).toEqual([]);
  });
});
