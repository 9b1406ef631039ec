// The lab on its little internet (ns mode): every role a process of its own in its host's network
// namespace (lab/role-process.ts), listening on the host's own address and the standard port, and
// configured from the same specs as the loopback lab (lab/roles.ts) with the plan's addresses.
// The network itself is built before (lab/net-ns/build.ts) and torn down after, by the caller.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { chainFiles, ensureChain } from '../../certs/chain.ts';
import type { Resolution } from '../../servers/dns/resolver.ts';
import { NAME_SERVERS } from '../../servers/dns/lab-zones.ts';
import { headerLimitBehind, MAX_HEADER_BYTES } from '../../servers/cdn/cache.ts';
import { labDir } from '../paths.ts';
import { startRoleProcess, type RoleProcess } from '../role-process.ts';
import { OBSERVED, type RoleSpec } from '../roles.ts';
import { startControl } from '../control.ts';
import { FaultSwitches, faultContext, withFaults } from '../faults.ts';
import { assertNoRunningLab, writeState, removeState, type LabState, type RoleState } from '../state.ts';
import type { RoleControl, RoleRecord } from '../supervisor.ts';
import { EDGE_REGIONS, SHOP_HOST, edgeTlsRole } from '../topology.ts';
import type { RunningLab } from '../up.ts';
import type { NetPlan, RoleName } from './plan.ts';
import { netWords } from './words/index.ts';
import { roleWhat } from '../story/words/en/roles.ts'; // state.json is data: English

/** The SLB's classic port (the seed's TLS 1.2 RSA key exchange), as in the loopback lab. */
const CLASSIC_PORT = 4433;

/** The roles, in the order state.json lists them. */
const ORDER: RoleName[] = ['root', 'tld', 'shop-dns', 'cdn-dns', 'origin', 'parent', 'edge-north', 'edge-south', 'gslb', 'local-dns', 'app-1', 'app-2', 'slb'];

/** Each role's spec, with the plan's addresses and the standard ports. */
export function nsRoleSpecs(
  plan: NetPlan,
  files: { dir: string; certFile: string; keyFile: string; cdnCertFile: string; cdnKeyFile: string; keyLog: string; orderLog: string; walkLog: string; purgeToken: string },
): RoleSpec[] {
  const at = (name: RoleName) => plan.roles[name].address;
  const addresses = { root: at('root'), tld: at('tld'), shop: at('shop-dns'), cdn: at('cdn-dns'), gslb: at('gslb'), slb: at('slb') };
  // The SLB is two-armed: the VIP on the data centre's public network, and its own address on the
  // app servers' private subnet, which is where its connections to them come from.
  const slbHost = plan.hosts.find((h) => h.name === plan.roles.slb.host)!;
  const slbInside = slbHost.interfaces.find((i) => i.address && i.address !== at('slb'))!.address!;
  const http = (name: RoleName, port = 80) => `http://${at(name)}${port === 80 ? '' : `:${port}`}`;
  return [
    { kind: 'authoritative', name: 'root', host: at('root'), port: 53, zone: 'root', addresses },
    { kind: 'authoritative', name: 'tld', host: at('tld'), port: 53, zone: 'tld', addresses },
    { kind: 'authoritative', name: 'shop-dns', host: at('shop-dns'), port: 53, zone: 'shop', addresses },
    { kind: 'authoritative', name: 'cdn-dns', host: at('cdn-dns'), port: 53, zone: 'cdn', addresses },
    { kind: 'origin', name: 'origin', host: at('origin'), port: 80, contentDir: path.join(files.dir, 'origin') },
    { kind: 'cache', name: 'parent', host: at('parent'), port: 80, upstream: http('origin'), maxHeaderBytes: headerLimitBehind(MAX_HEADER_BYTES), purgeToken: files.purgeToken },
    // The edges serve HTTPS too, on 443 at their own address, with the CDN's leaf (static.geektime.test).
    ...EDGE_REGIONS.map(({ edge }) => ({
      kind: 'cache' as const,
      name: edge,
      host: at(edge as RoleName),
      port: 80,
      upstream: http('parent'),
      maxHeaderBytes: MAX_HEADER_BYTES,
      purgeToken: files.purgeToken,
      tls: { certFile: files.cdnCertFile, keyFile: files.cdnKeyFile, port: 443 },
    })),
    {
      kind: 'gslb',
      name: 'gslb',
      host: at('gslb'),
      port: 53,
      edges: EDGE_REGIONS.map(({ edge, region }) => ({ name: edge, region, address: at(edge as RoleName), healthUrl: `${http(edge as RoleName)}/healthz` })),
      // The regions are the phones' access networks: a client's subnet tells where it is.
      regions: EDGE_REGIONS.map(({ region, nearest }) => ({ name: region, subnets: [plan.phones[region].network], nearest })),
      defaultRegion: 'north',
    },
    {
      kind: 'resolver',
      name: 'local-dns',
      host: at('local-dns'),
      port: 53,
      rootHints: [{ name: NAME_SERVERS.root, address: at('root') }],
      nsPorts: {},
      clientSubnets: Object.values(plan.phones).map((p) => p.network),
      walkLog: files.walkLog,
    },
    ...(['app-1', 'app-2'] as const).map((name) => ({ kind: 'app' as const, name, host: at(name), port: 8080, orderLog: files.orderLog, trustedProxies: [slbInside], cdn: 'https://static.geektime.test' })),
    {
      kind: 'slb',
      name: 'slb',
      host: at('slb'),
      port: 443,
      certFile: files.certFile,
      keyFile: files.keyFile,
      serverNames: [SHOP_HOST, 'geektime.test'],
      backends: (['app-1', 'app-2'] as const).map((name) => ({ name, url: http(name, 8080) })),
      tls: 'both',
      classicPort: CLASSIC_PORT,
      keyLogFile: files.keyLog,
    },
  ];
}

/**
 * Start every role in its namespace and write state.json; a role that fails to start stops the
 * start. With `control`, the operator socket is opened there (`npm run lab -- status`, `role`,
 * `fault`), as `up` does on loopback.
 */
export async function startNsLab(plan: NetPlan, opts: { log?: (line: string) => void; control?: string } = {}): Promise<RunningLab> {
  const log = opts.log ?? (() => {});
  const dir = labDir();
  assertNoRunningLab();
  const certs = ensureChain({ dir: path.join(dir, 'certs') });
  const chain = chainFiles(path.join(dir, 'certs'));
  const files = {
    dir,
    certFile: chain.fullChain,
    keyFile: chain.leafKey,
    cdnCertFile: chain.cdnChain,
    cdnKeyFile: chain.cdnKey,
    keyLog: path.join(dir, 'keylog.txt'),
    orderLog: path.join(dir, 'orders.jsonl'),
    walkLog: path.join(dir, 'dns-walks.jsonl'),
    purgeToken: randomBytes(24).toString('base64url'),
  };
  const specs = nsRoleSpecs(plan, files);
  let state: LabState | undefined;
  const running = new Map<string, RoleProcess>();
  const down = new Set<string>();
  // One emitter per role that outlives its processes: what the walkthrough listens to keeps
  // working across a restart.
  const hubs = new Map(ORDER.map((name) => [name, new EventEmitter()]));
  const restarts = new Map<string, number[]>();
  let stopping = false;
  const restarting = new Set<Promise<void>>();
  const stopAll = async () => {
    stopping = true;
    await Promise.all(restarting); // a role coming back right now is stopped with the others
    await Promise.all([...running.values()].map((r) => r.close()));
    running.clear();
  };
  // The workshop's faults (lab/faults.ts): a role starts from its spec as the faults that are on change it.
  const certDir = path.join(dir, 'certs');
  const faultCtx = faultContext(certDir);
  const faults = new FaultSwitches(roleControl(), certDir, () => {
    if (!state) return;
    state.faults = faults.list();
    writeState(state);
  });
  /** Roles stopped on purpose (by the operator or a fault): an exit is not a crash, and nobody restarts them. */
  const held = new Map<string, string>();
  /** Roles being closed on purpose right now (a stop or a restart): their exit is expected. */
  const closing = new Set<string>();
  const records = new Map<string, RoleRecord>();
  const record = (name: string, status: RoleRecord['status'], reason?: string) => {
    records.set(name, { name, status, ...(reason && { reason }), since: new Date().toISOString(), restarts: (restarts.get(name) ?? []).length });
    // state.json says each role's status, as on loopback: exercises and learners read it there.
    for (const r of state?.roles.filter((x) => x.name === name || x.partOf === name) ?? []) {
      r.status = status;
      if (reason) r.reason = reason;
      else delete r.reason;
    }
    if (state && !stopping) writeState(state);
    return records.get(name)!;
  };
  const start = async (name: RoleName) => {
    const spec = withFaults(specs.find((s) => s.name === name)!, faults.on, faultCtx);
    const role = await startRoleProcess(spec, { namespace: plan.roles[name].namespace, log });
    for (const event of OBSERVED[spec.kind] ?? []) role.events.on(event, (...args: unknown[]) => hubs.get(name)!.emit(event, ...args));
    role.lifecycle.on('exit', (code, signal) => {
      if (closing.has(name) || held.has(name)) return;
      void crashed(name, `${signal ?? `code ${code}`}`);
    });
    record(name, 'up');
    running.set(name, role);
    down.delete(name);
    // state.json (written once every role is up) names each role's process: keep it true.
    const listed = state?.roles.filter((r) => r.name === name || r.partOf === name) ?? [];
    for (const r of listed) r.pid = role.pid;
    if (state && !stopping) writeState(state);
  };
  // A role that dies is reported and started again on the same address and port, as the loopback
  // lab's supervisor does: 5 times a minute, then it is left down. The others go on meanwhile.
  const crashed = async (name: RoleName, how: string) => {
    down.add(name);
    record(name, 'crashed', how);
    if (stopping) return;
    const recent = (restarts.get(name) ?? []).filter((t) => Date.now() - t < 60_000);
    if (recent.length >= 5) return log(`${name}: exited (${how}); left down after 5 restarts in a minute`);
    restarts.set(name, [...recent, Date.now()]);
    log(`${name}: exited (${how}); starting it again (restart ${recent.length + 1}); the other roles go on`);
    const again = start(name).then(
      () => log(`${name}: up again (restart ${recent.length + 1})`),
      (err: Error) => log(`${name}: could not start again: ${err.message}`),
    );
    restarting.add(again);
    await again;
    restarting.delete(again);
  };
  /** What the operator socket and the faults use: stop, restart, crash a role process, and each one's status. */
  function roleControl(): RoleControl {
    const known = (name: string): RoleName => {
      if (!ORDER.includes(name as RoleName)) throw new Error(netWords().nsLab.noRole(name, ORDER));
      return name as RoleName;
    };
    const close = async (name: RoleName) => {
      const r = running.get(name);
      if (!r) return;
      closing.add(name);
      try {
        await r.close();
      } finally {
        closing.delete(name);
        running.delete(name);
        down.add(name);
      }
    };
    return {
      status: () => ORDER.map((name) => records.get(name) ?? record(name, 'starting')),
      stop: async (name, reason = netWords().nsLab.stoppedByOperator) => {
        const role = known(name);
        held.set(role, reason);
        await close(role);
        return record(role, 'stopped', reason);
      },
      restart: async (name) => {
        const role = known(name);
        held.delete(role);
        await close(role);
        try {
          await start(role);
        } catch (err) {
          return record(role, 'failed', (err as Error).message);
        }
        return records.get(role)!;
      },
      // A crash for real: the process is killed, and comes back as after any crash.
      crash: (name) => {
        const r = running.get(known(name));
        if (r) process.kill(r.pid, 'SIGKILL');
      },
    };
  }

  // In two waves. Every address and port is known from the plan, and most roles need nothing of
  // another to start (a cache asks its upstream, a resolver its servers, only when a request
  // comes), so they start all at once. The two that check others' health start after them: a
  // GSLB whose first checks found the edges not yet listening would count them down and send the
  // phone to the other region until they rose again (and the SLB likewise with the app servers).
  const checkers: RoleName[] = ['gslb', 'slb'];
  const first = await Promise.allSettled(ORDER.filter((name) => !checkers.includes(name)).map(start));
  const results = first.some((r) => r.status === 'rejected') ? first : [...first, ...(await Promise.allSettled(checkers.map(start)))];
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) {
    await stopAll();
    throw failure.reason;
  }
  // Up means the GSLB knows its edges are: until its first checks have answered, its choice for a
  // phone is a guess (bounded wait; an edge still not healthy by then is the lab's news, not a hang).
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    const edges = (await running.get('gslb')!.call('health').catch(() => null)) as Array<{ healthy: unknown }> | null;
    if (edges?.every((e) => e.healthy === true)) break;
  }

  // Listed as in the loopback lab: an edge's https port right after the edge, as a part of it.
  const roles: RoleState[] = ORDER.flatMap((name) => {
    const r = running.get(name)!;
    const spec = specs.find((s) => s.name === name)!;
    const protocol: RoleState['protocol'] = spec.kind === 'slb' ? 'https' : spec.kind === 'authoritative' || spec.kind === 'gslb' || spec.kind === 'resolver' ? 'dns' : 'http';
    const role: RoleState = { name, what: roleWhat[name], host: r.host, port: r.port, protocol, namespace: plan.roles[name].namespace, pid: r.pid };
    return r.tlsPort !== undefined ? [role, edgeTlsRole(role, r.tlsPort)] : [role];
  });
  const slb = running.get('slb')!;
  if (slb.classicPort !== undefined) {
    roles.push({ name: 'slb-classic', partOf: 'slb', what: roleWhat['slb-classic'], host: slb.host, port: slb.classicPort, protocol: 'https', namespace: slb.namespace, pid: slb.pid });
  }
  const stateNow: LabState = {
    pid: process.pid,
    startedAt: new Date().toISOString(),
    addressing: 'namespaces',
    shopHost: SHOP_HOST,
    roles,
    rootCa: chain.rootCert,
    intermediateCa: chain.intermediateCert,
    keyLog: files.keyLog,
    orderLog: files.orderLog,
    walkLog: files.walkLog,
    purge: { token: files.purgeToken, how: 'PURGE <path> with Authorization: Bearer <token>, from the cache host itself (ip netns exec <its namespace> curl …)' },
    net: plan,
  };
  state = stateNow;
  let closeControl = async () => {};
  if (opts.control) {
    const control = await startControl(opts.control, roleControl(), faults);
    closeControl = control.close;
    stateNow.control = opts.control;
    stateNow.faults = [];
  }
  const statePath = writeState(state);

  // What the walkthrough reads, built from the events the role processes send.
  const resolutions = new Map<string, Resolution>();
  hubs.get('local-dns')!.on('resolved', (r: Resolution, q?: { port: number | null; id: number | null }) => {
    if (q?.port == null || q.id == null) return;
    resolutions.set(`${r.client} ${q.port} ${q.id}`, r);
    if (resolutions.size > 1000) resolutions.delete(resolutions.keys().next().value!); // as the resolver keeps its own
  });
  const originCounts = new Map<string, number>();
  hubs.get('origin')!.on('request', (e: { path: string }) => originCounts.set(e.path, (originCounts.get(e.path) ?? 0) + 1));
  const need = (name: string) => {
    const r = running.get(name);
    if (!r || down.has(name)) throw new Error(netWords().nsLab.notRunning(name));
    return r;
  };
  return {
    state: stateNow,
    statePath,
    certs,
    notes: plan.moved.map((m) => netWords().nsLab.moved(m.block, m.from, m.to, m.because)),
    failed: [],
    settle: async () => {
      // Each call has a deadline (lab/role-process.ts): a frozen role is named, the story goes on.
      await Promise.all([...running.entries()].filter(([name]) => !down.has(name)).map(([, r]) => r.sync().catch((err: Error) => log(err.message))));
    },
    isUp: (name) => running.has(name) && !down.has(name),
    get slb() {
      const r = need('slb');
      return { events: hubs.get('slb')!, flushKeyLog: async () => void (await r.call('flushKeyLog')) };
    },
    get gslb() {
      need('gslb');
      return { events: hubs.get('gslb')! };
    },
    get resolver() {
      need('local-dns');
      return { resolutionFor: (client: { address: string; port: number }, id: number) => resolutions.get(`${client.address} ${client.port} ${id}`) };
    },
    get origin() {
      need('origin');
      return { events: hubs.get('origin')!, requestCount: (p?: string) => (p === undefined ? [...originCounts.values()].reduce((a, b) => a + b, 0) : (originCounts.get(p) ?? 0)) };
    },
    stop: async () => {
      removeState();
      await closeControl();
      await stopAll();
    },
  };
}
