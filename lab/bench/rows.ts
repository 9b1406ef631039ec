// The rows of the bench (issue 14's table): for each, the lab's role and its peer serving the same
// zone or object, checked to give the same answers before either is measured, and one load that
// both get. A row whose peer or load tool is missing, or whose check fails, is skipped with the
// reason in one line; the other rows go on.
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DnsAddresses } from '../../servers/dns/lab-zones.ts';
import { labZones } from '../../servers/dns/lab-zones.ts';
import { sendQuery } from '../../servers/dns/query.ts';
import { EDGE_REGIONS } from '../topology.ts';
import type { BenchLab } from './lab.ts';
import { startKnot, findGeoipModule, type RunningKnot } from './knot.ts';
import { startUnbound } from './unbound.ts';
import { startNginx, httpGet } from './nginx.ts';
import { startHaproxy } from './haproxy.ts';
import { dnsperf, wrk, type DnsLoad, type HttpLoad } from './load.ts';
import { checkNoResumption, watchHandshakes } from './tls-check.ts';
import { startServer, waitUntil, which, type Pinning } from './procs.ts';
import type { Run, Target } from './results.ts';

export interface Side {
  /** "Knot 3", "nginx proxy_cache": what the peer column is. */
  name: string;
  /** One run of the row's load for this many seconds. */
  run(seconds: number): Promise<Run>;
  /**
   * The processes that serve this side's answers: their CPU time (and their children's) is read
   * around every run. A peer in front of the lab's own servers (HAProxy before the app servers)
   * lists the lab too, so that both sides count the same backends.
   */
  pids: number[];
}

export interface Row {
  id: string;
  what: string;
  /** The load, as a person would type it (for the JSON and the notes). */
  load: string;
  target: Target;
  lab?: Side;
  peer?: Side;
  /** The same load on bare Node (bare-node.ts): what the runtime itself does, without the lab's code. */
  bare?: Side;
  /** Why this row is not measured: a missing peer or tool, or a check that failed. */
  skip?: string;
  /**
   * A row before this one whose warm-up warms this one too: the same servers, asked the same
   * question, only at another rate or concurrency. Its warm-up is not run twice.
   */
  warmedBy?: string;
  /** What was checked before measuring, and anything else worth saying. */
  notes: string[];
}

export interface BenchContext {
  tmp: string;
  pinning: Pinning;
  lab: BenchLab;
  /** Every peer started, for the caller to stop. */
  stoppers: Array<() => Promise<void>>;
  /** Say what is happening (stderr), so a long run is not silent. */
  progress: (line: string) => void;
  /** Is this row asked for (--rows)? A peer that no such row needs is not started. */
  wanted: (id: string) => boolean;
}

/** Every row, in the table's order (`--rows` takes these; `rss` is the cli's own). */
export const ROW_IDS = ['auth', 'auth-latency', 'gslb', 'gslb-latency', 'resolver', 'edge-6k', 'edge-6k-p99', 'edge-2m', 'slb-keepalive', 'slb-handshakes', 'rss'] as const;

/**
 * The latency rows' offered load, in queries a second: well below what either side answers at
 * most. At full speed dnsperf keeps up to 100 queries in flight, and a server that cannot keep up
 * holds them in its queue: its average latency is then that queue over its rate (Little's law),
 * and the throughput ratio again, not how long it takes to answer one query. So the throughput
 * rows show the latency at full speed, and the latency rows compare it under the same load.
 */
export const LATENCY_RATE = 5_000;

const SHOP_NAME = 'www.geektime.test';
const STATIC_NAME = 'static.geektime.test';
const NORTH = EDGE_REGIONS[0]!;
const SOUTH = EDGE_REGIONS[1]!;
const SMALL = '/images/phone.png'; // ~6 KB
const LARGE = '/images/phone-large.png'; // ~2 MB

/** A peer's address beside the lab role's: 127.0.0.12 → 127.0.1.12 (one address per role), else the same. */
function peerHost(lab: BenchLab, labHost: string): string {
  return lab.state.addressing === 'per-role' ? labHost.replace(/^127\.0\.0\./, '127.0.1.') : labHost;
}

/** What a DNS server answered, in a form that compares across servers: owner, type and data, no TTL. */
async function answers(server: { host: string; port: number }, name: string, type: string, opts: { rd?: boolean; clientSubnet?: string } = {}): Promise<string> {
  const r = await sendQuery({ server, name, type, rd: opts.rd ?? false, ...(opts.clientSubnet && { clientSubnet: opts.clientSubnet }), timeoutMs: 3000 });
  const rcode = r.response.header.rcode;
  const lines = r.response.answers.map((a) => {
    const { name: owner, type: t, class: _c, ttl: _t, ...data } = a as unknown as Record<string, unknown>;
    return `${String(owner).toLowerCase()} ${t} ${JSON.stringify(data)}`;
  });
  return `rcode ${rcode}: ${lines.sort().join('; ')}`;
}

/** Both servers answer every question alike (else their speeds are not comparable). */
async function sameAnswers(labServer: { host: string; port: number }, peerServer: { host: string; port: number }, questions: Array<{ name: string; type: string; clientSubnet?: string }>, rd = false): Promise<string | undefined> {
  for (const q of questions) {
    const [a, b] = [await answers(labServer, q.name, q.type, { rd, clientSubnet: q.clientSubnet }), await answers(peerServer, q.name, q.type, { rd, clientSubnet: q.clientSubnet })];
    if (a !== b) return `${q.name} ${q.type}${q.clientSubnet ? ` (ECS ${q.clientSubnet})` : ''}: the lab answers ${a}, the peer ${b}`;
    if (!a.startsWith('rcode 0:') || a === 'rcode 0: ') return `${q.name} ${q.type}: no answer (${a})`;
  }
  return undefined;
}

function queryFile(ctx: BenchContext, name: string, questions: Array<{ name: string; type: string }>): string {
  const file = path.join(ctx.tmp, name);
  fs.writeFileSync(file, questions.map((q) => `${q.name} ${q.type}\n`).join(''));
  return file;
}

async function attempt<T>(start: () => Promise<T>): Promise<T | string> {
  try {
    return await start();
  } catch (err) {
    return (err as Error).message.split('\n')[0]!;
  }
}

/**
 * Start one of the bench's bare-Node scripts (bare-node.ts, bare-node-proxy.ts) on the servers'
 * core, as the lab is run: `node --import tsx`, the same Node. Each prints one JSON line (its
 * ports) once it listens on 127.0.0.1.
 */
async function startBareScript<Ports>(ctx: BenchContext, name: string, args: string[]): Promise<Ports & { host: string; pid: number }> {
  const logFile = path.join(ctx.tmp, `${name}.log`);
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), `${name}.ts`);
  const child = startServer(process.execPath, ['--import', 'tsx', script, '127.0.0.1', ...args], { pin: ctx.pinning.server, logFile });
  let ports: Ports | undefined;
  await waitUntil(() => {
    const line = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').find((l) => l.startsWith('{')) : undefined;
    if (line) ports = JSON.parse(line) as Ports;
    return ports !== undefined;
  }, 30_000, `bare Node (lab/bench/${name}.ts)`);
  return { host: '127.0.0.1', ...ports!, pid: child.pid! };
}

const startBareNode = (ctx: BenchContext) => startBareScript<{ udp: number; http: number }>(ctx, 'bare-node', []);

/** bare-node-proxy.ts in front of the lab's app servers, connecting from the SLB's address. */
const startBareProxy = (ctx: BenchContext, opts: { certChainFile: string; keyFile: string; source: string; apps: Array<{ host: string; port: number }> }) =>
  startBareScript<{ https: number }>(ctx, 'bare-node-proxy', [opts.certChainFile, opts.keyFile, opts.source, ...opts.apps.map((a) => `${a.host}:${a.port}`)]);

export async function prepareRows(ctx: BenchContext): Promise<Row[]> {
  const { lab, pinning } = ctx;
  let bareStart: Promise<{ host: string; udp: number; http: number; pid: number } | string> | undefined;
  /** bare-node.ts, started the first time a row asks for it (a failure to start is told, not thrown). */
  const bare = () => (bareStart ??= attempt(() => startBareNode(ctx)));
  const missing = (tool: string, pkg = tool) => (which(tool) ? undefined : `${tool} is missing (apt-get install ${pkg})`);
  const noDnsperf = missing('dnsperf');
  const noWrk = missing('wrk');
  const rows: Row[] = [];

  // ── DNS: the shop's authoritative server and the GSLB, against Knot ──────────────────────────
  const addresses: DnsAddresses = {
    root: lab.role('root').host,
    tld: lab.role('tld').host,
    shop: lab.role('shop-dns').host,
    cdn: lab.role('cdn-dns').host,
    gslb: lab.role('gslb').host,
    slb: lab.role('slb').host,
  };
  const dnsAt = (name: string) => ({ host: lab.role(name).host, port: lab.role(name).port });
  /**
   * A DNS row's sides: the lab's role and the peer under the same dnsperf load, and bare Node on the
   * throughput rows (the latency rows go without it, as does the 2 MB row: the bench must end
   * within five minutes).
   */
  const dnsSides = async (row: Row, role: string, peerName: string, peer: { host: string; port: number; pid: number }, load: DnsLoad) => {
    row.lab = { name: role, pids: [lab.pid], run: (seconds) => dnsperf(dnsAt(role), load, seconds, pinning) };
    row.peer = { name: peerName, pids: [peer.pid], run: (seconds) => dnsperf(peer, load, seconds, pinning) };
    if (load.rate) return;
    const node = await bare();
    if (typeof node === 'string') row.notes.push(`bare Node did not start: ${node}`);
    else row.bare = { name: 'bare Node', pids: [node.pid], run: (seconds) => dnsperf({ host: node.host, port: node.udp }, load, seconds, pinning) };
  };
  let knot: RunningKnot | string = 'not started';
  if (!noDnsperf && ['auth', 'auth-latency', 'gslb', 'gslb-latency'].some(ctx.wanted)) {
    ctx.progress('starting Knot');
    knot = await attempt(() => startKnot({ dir: path.join(ctx.tmp, 'knot'), host: peerHost(lab, addresses.shop), addresses, edgeAddress: (edge) => lab.role(edge).host, pinning }));
    if (typeof knot !== 'string') ctx.stoppers.push(knot.stop);
  }

  // Every name of the shop's zone, asked as a client would (an alias is asked for its A).
  const shopZone = labZones(addresses).shop;
  const shopQuestions = [...new Map(shopZone.records.map((r) => [`${r.name} ${r.type}`, { name: r.name, type: r.type === 'CNAME' ? 'A' : r.type }])).values()];
  const auth: Row = { id: 'auth', what: 'authoritative geektime.test', load: 'dnsperf -c 10', target: { kind: 'rate', min: 0.3 }, notes: [] };
  const authLatency: Row = { id: 'auth-latency', what: 'authoritative, latency', load: `dnsperf -c 10 -Q ${LATENCY_RATE}`, target: { kind: 'latency', max: 3, offered: LATENCY_RATE }, warmedBy: 'auth', notes: [] };
  rows.push(auth, authLatency);
  for (const row of [auth, authLatency]) {
    if (noDnsperf) row.skip = noDnsperf;
    else if (typeof knot === 'string') row.skip = knot;
  }
  if (typeof knot !== 'string' && !auth.skip) {
    const peer = knot;
    const problem = await sameAnswers(dnsAt('shop-dns'), peer, shopQuestions);
    if (problem) auth.skip = authLatency.skip = `the answers differ: ${problem}`;
    else {
      const file = queryFile(ctx, 'auth.queries', shopQuestions);
      auth.notes.push(`same answers from both for the ${shopQuestions.length} questions of the zone (${shopQuestions.map((q) => `${q.name || '.'} ${q.type}`).join(', ')})`);
      await dnsSides(auth, 'shop-dns', 'Knot', peer, { queryFile: file, clients: 10 });
      await dnsSides(authLatency, 'shop-dns', 'Knot', peer, { queryFile: file, clients: 10, rate: LATENCY_RATE });
    }
  }

  const gslbName = 'geektime.gslb.cdn.test';
  const gslb: Row = { id: 'gslb', what: `GSLB with ECS (${NORTH.subnet})`, load: 'dnsperf -c 10 -E (ECS)', target: { kind: 'rate', min: 0.3 }, notes: [] };
  const gslbLatency: Row = { id: 'gslb-latency', what: 'GSLB with ECS, latency', load: `dnsperf -c 10 -E (ECS) -Q ${LATENCY_RATE}`, target: { kind: 'latency', max: 3, offered: LATENCY_RATE }, warmedBy: 'gslb', notes: [] };
  rows.push(gslb, gslbLatency);
  for (const row of [gslb, gslbLatency]) {
    if (noDnsperf) row.skip = noDnsperf;
    else if (typeof knot === 'string') row.skip = knot;
    else if (!knot.geoip || !findGeoipModule()) row.skip = "Knot's geoip module is missing (apt-get install knot-module-geoip)";
  }
  if (typeof knot !== 'string' && !gslb.skip) {
    const peer = knot;
    const questions = [NORTH, SOUTH].map((r) => ({ name: gslbName, type: 'A', clientSubnet: r.subnet }));
    const problem = await sameAnswers(dnsAt('gslb'), peer, questions);
    if (problem) gslb.skip = gslbLatency.skip = `the answers differ: ${problem}`;
    else {
      const load: DnsLoad = { queryFile: queryFile(ctx, 'gslb.queries', [{ name: gslbName, type: 'A' }]), clients: 10, clientSubnet: NORTH.subnet };
      gslb.notes.push(`same edge from both for ${NORTH.subnet} and ${SOUTH.subnet}; Knot: mod-geoip, mode subnet`);
      await dnsSides(gslb, 'gslb', 'Knot + geoip', peer, load);
      await dnsSides(gslbLatency, 'gslb', 'Knot + geoip', peer, { ...load, rate: LATENCY_RATE });
    }
  }

  // ── The local DNS from its cache, against Unbound walking the same servers ───────────────────
  const resolver: Row = { id: 'resolver', what: 'local DNS, cached answers', load: 'dnsperf -c 10', target: { kind: 'rate', min: 0.3 }, notes: [] };
  rows.push(resolver);
  const noUnbound = missing('unbound');
  if (noDnsperf || noUnbound) resolver.skip = noDnsperf ?? noUnbound;
  else if (ctx.wanted(resolver.id)) {
    ctx.progress('starting Unbound');
    const zones: Array<[string, string, number]> = [
      ['', ...hostPort(lab, 'root')],
      ['test', ...hostPort(lab, 'tld')],
      ['geektime.test', ...hostPort(lab, 'shop-dns')],
      ['cdn.test', ...hostPort(lab, 'cdn-dns')],
      ['gslb.cdn.test', ...hostPort(lab, 'gslb')],
    ];
    const unbound = await attempt(() => startUnbound({ dir: path.join(ctx.tmp, 'unbound'), host: peerHost(lab, lab.role('local-dns').host), zones, pinning }));
    if (typeof unbound === 'string') resolver.skip = unbound;
    else {
      ctx.stoppers.push(unbound.stop);
      const questions = [{ name: STATIC_NAME, type: 'A' }, { name: SHOP_NAME, type: 'A' }];
      // The first round walks the tree and fills both caches; the second is answered from them.
      // (The GSLB's answer lives 30 s: during the runs both resolvers now and then ask it again,
      // as they would for real.)
      await sameAnswers(dnsAt('local-dns'), unbound, questions, true).catch(() => {});
      const problem = await sameAnswers(dnsAt('local-dns'), unbound, questions, true);
      if (problem) resolver.skip = `the answers differ: ${problem}`;
      else {
        const load: DnsLoad = { queryFile: queryFile(ctx, 'resolver.queries', questions), clients: 10 };
        resolver.notes.push(`both warmed and giving the same answers for ${questions.map((q) => q.name).join(' and ')}; Unbound: stub zones to the lab's root, TLD, shop, CDN and GSLB`);
        await dnsSides(resolver, 'local-dns', 'Unbound', unbound, load);
      }
    }
  }

  // ── The edge cache, against nginx proxy_cache in front of the same origin ───────────────────
  const edgeRows: Row[] = [
    { id: 'edge-6k', what: 'edge HIT, 6 KB', load: 'wrk -c 50', target: { kind: 'rate', min: 0.6 }, notes: [] },
    { id: 'edge-6k-p99', what: 'edge HIT, 6 KB, c=200, p99', load: 'wrk -c 200 --latency', target: { kind: 'p99', max: 3 }, warmedBy: 'edge-6k', notes: [] },
    { id: 'edge-2m', what: 'edge HIT, 2 MB', load: 'wrk -c 50', target: { kind: 'none' }, notes: [] },
  ];
  rows.push(...edgeRows);
  const noNginx = missing('nginx', 'nginx-light');
  if (noWrk || noNginx) for (const r of edgeRows) r.skip = noWrk ?? noNginx;
  else if (edgeRows.some((r) => ctx.wanted(r.id))) {
    ctx.progress('starting nginx');
    const edge = lab.role(NORTH.edge);
    const origin = lab.role('origin');
    const nginx = await attempt(() => startNginx({ dir: path.join(ctx.tmp, 'nginx'), host: peerHost(lab, edge.host), origin, siteName: STATIC_NAME, pinning }));
    if (typeof nginx === 'string') for (const r of edgeRows) r.skip = nginx;
    else {
      ctx.stoppers.push(nginx.stop);
      const labUrl = (p: string) => `http://${edge.host}:${edge.port}${p}`;
      const peerUrl = (p: string) => `http://${nginx.host}:${nginx.port}${p}`;
      // Both must answer from their cache: ask twice (the first may be a MISS), then read the verdict.
      const hit = async (p: string) => {
        await httpGet(labUrl(p), STATIC_NAME);
        await httpGet(peerUrl(p), STATIC_NAME);
        const a = await httpGet(labUrl(p), STATIC_NAME);
        const b = await httpGet(peerUrl(p), STATIC_NAME);
        const labStatus = String(a.headers['cache-status'] ?? '').split(',').pop()!.trim(); // the last cache is the one nearest the client (RFC 9211)
        const peerStatus = String(b.headers['x-cache-status'] ?? '');
        if (a.status !== 200 || !/;\s*hit\b/.test(labStatus)) return `the lab's edge did not answer ${p} from its cache (${a.status}, Cache-Status: ${labStatus || 'none'})`;
        if (b.status !== 200 || peerStatus !== 'HIT') return `nginx did not answer ${p} from its cache (${b.status}, X-Cache-Status: ${peerStatus || 'none'})`;
        if (a.bytes !== b.bytes) return `${p}: the lab sent ${a.bytes} bytes, nginx ${b.bytes}`;
        return `${p} (${a.bytes} bytes): a HIT at both (Cache-Status: ${labStatus}; X-Cache-Status: HIT)`;
      };
      const small = await attempt(() => hit(SMALL));
      const large = await attempt(() => hit(LARGE));
      const measure = async (row: Row, p: string, check: string, connections: number) => {
        if (!check.includes('a HIT at both')) {
          row.skip = check;
          return;
        }
        row.notes.push(check);
        // At c=200, how long connections wait to be accepted is what the p99 is made of: watch it.
        const load = (url: string): HttpLoad => ({ url, connections, headers: { Host: STATIC_NAME }, watchAcceptQueue: connections === 200 });
        row.lab = { name: NORTH.edge, pids: [lab.pid], run: (seconds) => wrk(load(labUrl(p)), seconds, pinning, ctx.tmp) };
        row.peer = { name: 'nginx proxy_cache', pids: [nginx.pid], run: (seconds) => wrk(load(peerUrl(p)), seconds, pinning, ctx.tmp) };
        if (p !== SMALL) return;
        const node = await bare();
        const bytes = Number(/\((\d+) bytes\)/.exec(check)?.[1]);
        if (typeof node === 'string') row.notes.push(`bare Node did not start: ${node}`);
        else row.bare = { name: 'bare Node', pids: [node.pid], run: (seconds) => wrk(load(`http://${node.host}:${node.http}/${bytes}`), seconds, pinning, ctx.tmp) };
      };
      await measure(edgeRows[0]!, SMALL, small, 50);
      await measure(edgeRows[1]!, SMALL, small, 200);
      await measure(edgeRows[2]!, LARGE, large, 50);
    }
  }

  // ── The SLB, against HAProxy terminating TLS in front of the same app servers ───────────────
  const keepAlive: Row = { id: 'slb-keepalive', what: 'SLB keep-alive HTTPS GET /', load: 'wrk -c 50', target: { kind: 'rate', min: 0.6 }, notes: [] };
  const fresh: Row = { id: 'slb-handshakes', what: 'SLB TLS 1.2 RSA full handshakes', load: "wrk -c 50 -H 'Connection: close'", target: { kind: 'rate', min: 0.6 }, notes: [] };
  rows.push(keepAlive, fresh);
  const noHaproxy = missing('haproxy');
  if (noWrk || noHaproxy) keepAlive.skip = fresh.skip = noWrk ?? noHaproxy;
  else if (ctx.wanted(keepAlive.id) || ctx.wanted(fresh.id)) {
    ctx.progress('starting HAProxy');
    const slb = lab.role('slb');
    const classic = lab.role('slb-classic');
    const apps = ['app-1', 'app-2'].map((name) => ({ name, host: lab.role(name).host, port: lab.role(name).port }));
    const certDir = path.dirname(lab.state.rootCa);
    const haproxy = await attempt(() =>
      startHaproxy({ dir: path.join(ctx.tmp, 'haproxy'), host: peerHost(lab, slb.host), certChainFile: path.join(certDir, 'chain.crt'), keyFile: path.join(certDir, 'leaf.key'), apps, sourceAddress: slb.host, pinning }),
    );
    if (typeof haproxy === 'string') keepAlive.skip = fresh.skip = haproxy;
    else {
      ctx.stoppers.push(haproxy.stop);
      const url = (port: number) => `https://${SHOP_NAME}:${port}/`;
      const get = (host: string, port: number) => httpsGet(host, port, lab.state.rootCa);
      const okBoth = async (labPort: number, peerPort: number) => {
        const [a, b] = [await get(slb.host, labPort), await get(haproxy.host, peerPort)];
        if (a !== 200 || b !== 200) return `GET / answered ${a} at the SLB, ${b} at HAProxy`;
        return undefined;
      };
      const ka = await attempt(() => okBoth(slb.port, haproxy.port));
      if (ka) keepAlive.skip = ka;
      else {
        keepAlive.notes.push('GET / → 200 from both (the product page from app-1/app-2)');
        const load = (port: number, to: string): HttpLoad => ({ url: url(port), connections: 50, connectTo: to });
        keepAlive.lab = { name: 'slb', pids: [lab.pid], run: (seconds) => wrk(load(slb.port, slb.host), seconds, pinning, ctx.tmp) };
        keepAlive.peer = { name: 'HAProxy', pids: [haproxy.pid, lab.pid], run: (seconds) => wrk(load(haproxy.port, haproxy.host), seconds, pinning, ctx.tmp) };
        // Bare Node's load balancer (bare-node-proxy.ts) in front of the same app servers, counted
        // with them as HAProxy is.
        const proxy = await attempt(async () => {
          const started = await startBareProxy(ctx, { certChainFile: path.join(certDir, 'chain.crt'), keyFile: path.join(certDir, 'leaf.key'), source: slb.host, apps });
          const status = await get(started.host, started.https);
          if (status !== 200) throw new Error(`GET / answered ${status}`);
          return started;
        });
        if (typeof proxy === 'string') keepAlive.notes.push(`bare Node did not start: ${proxy}`);
        else keepAlive.bare = { name: 'bare Node', pids: [proxy.pid, lab.pid], run: (seconds) => wrk(load(proxy.https, proxy.host), seconds, pinning, ctx.tmp) };
      }

      const closeLoad = (port: number, to: string, connections = 50): HttpLoad => ({ url: url(port), connections, connectTo: to, headers: { Connection: 'close' } });
      const checks = await attempt(async () => {
        const status = await okBoth(classic.port, haproxy.classicPort);
        if (status) return status;
        for (const [who, host, port] of [['the SLB', classic.host, classic.port], ['HAProxy', haproxy.host, haproxy.classicPort]] as const) {
          const problem = await checkNoResumption(host, port, SHOP_NAME);
          if (problem) return `${who}: ${problem}`;
          // wrk itself, on the wire, for about a second at a few connections.
          const seen = await watchHandshakes(host, port, ctx.tmp, 5, () => wrk(closeLoad(port, host, 5), 1, pinning, ctx.tmp));
          if (!seen.ok) return `${who}: ${seen.text}`;
          fresh.notes.push(`${who}: ${seen.text}`);
        }
        return undefined;
      });
      if (checks) fresh.skip = checks;
      else {
        fresh.notes.unshift('both choose TLS 1.2 TLS_RSA_WITH_AES_128_GCM_SHA256 and refuse to resume a session (Node TLS client offering it back)');
        fresh.lab = { name: 'slb-classic', pids: [lab.pid], run: (seconds) => wrk(closeLoad(classic.port, classic.host), seconds, pinning, ctx.tmp) };
        fresh.peer = { name: 'HAProxy', pids: [haproxy.pid, lab.pid], run: (seconds) => wrk(closeLoad(haproxy.classicPort, haproxy.host), seconds, pinning, ctx.tmp) };
      }
    }
  }
  return rows;
}

function hostPort(lab: BenchLab, name: string): [string, number] {
  const r = lab.role(name);
  return [r.host, r.port];
}

/** GET / over HTTPS as the shop's name (SNI and Host), trusting the lab's root: the status. */
function httpsGet(host: string, port: number, rootCa: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      { host, port, path: '/', servername: SHOP_NAME, headers: { host: `${SHOP_NAME}:${port}` }, ca: fs.readFileSync(rootCa), agent: false, timeout: 10_000 },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer in 10 s')));
    req.on('error', reject);
  });
}
