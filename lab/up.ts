// Starting every role of the lab, and `npm run lab -- up`, which keeps them running until Ctrl-C.
import { roleWhat } from './story/words/en/roles.ts';
import { words } from './story/words/index.ts';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ensureChain, chainFiles, type EnsureChainResult } from '../certs/chain.ts';
import { OrderStore } from '../servers/order-store.ts';
import type { RunningSlb } from '../servers/slb.ts';
import { NAME_SERVERS } from '../servers/dns/lab-zones.ts';
import type { RunningOrigin } from '../servers/cdn/origin.ts';
import { headerLimitBehind, MAX_HEADER_BYTES } from '../servers/cdn/cache.ts';
import type { RunningGslb } from '../servers/dns/gslb.ts';
import type { RunningResolver } from '../servers/dns/resolver.ts';
import { startRole, type AuthoritativeSpec, type RoleSpec, type StartContext } from './roles.ts';
import { FaultSwitches, faultContext, withFaults } from './faults.ts';
import { startNsLab } from './net-ns/lab.ts';
import { withNetwork } from './net-ns/run.ts';
import type { NetPlan } from './net-ns/plan.ts';
import { ListenError } from '../servers/net/listen.ts';
import { startControl } from './control.ts';
import { rateLimitedSink } from './log-sink.ts';
import { Supervisor, type RoleInstance } from './supervisor.ts';
import { labDir } from './paths.ts';
import { assertNoRunningLab, displayPath, writeState, removeState, type LabState, type RoleState } from './state.ts';
import { planRoles, unprivilegedNotes, EDGE_REGIONS, defaultAddressing, edgeTlsRole, healthCheckSource, SHOP_HOST, type Addressing } from './topology.ts';
import { parseSlbTlsMode, type SlbTlsMode } from '../servers/net/tls-modes.ts';
import { columns } from './text-width.ts';
import { cliWords } from './words/cli.ts';
import { upWords } from './words/up.ts';

export interface LabOptions {
  addressing?: Addressing;
  ephemeral?: boolean;
  slbPort?: number;
  slbTls?: SlbTlsMode;
  /** Where the servers' own log lines go. */
  log?: (line: string) => void;
  /**
   * `up`: a role that fails to start (other than by its address) is reported and the others
   * start. The walkthrough needs every role, so by default any failure stops the start.
   */
  allowPartial?: boolean;
  /** Own the process: a crash in one role restarts that role instead of ending the process. */
  crashGuard?: boolean;
  /** Workshop faults on from the start (lab/faults.ts), e.g. the walkthrough's --fault. */
  faults?: string[];
}

/**
 * What the walkthrough reads from the roles: the same whether a role runs in this process or as a
 * process of its own in its namespace (lab/net-ns/lab.ts), where `settle()` must come first.
 */
export interface LabViews {
  readonly slb: Pick<RunningSlb, 'events' | 'flushKeyLog'>;
  readonly gslb: Pick<RunningGslb, 'events'>;
  readonly resolver: Pick<RunningResolver, 'resolutionFor'>;
  readonly origin: Pick<RunningOrigin, 'events' | 'requestCount'>;
  /** Resolves once every event the roles emitted so far has reached this process (no-op in one process). */
  settle(): Promise<void>;
  /** Is the role up now? */
  isUp(name: string): boolean;
}

export interface RunningLab extends LabViews {
  state: LabState;
  statePath: string;
  certs: EnsureChainResult;
  /** Roles that could not start (only with allowPartial). */
  failed: { name: string; reason: string }[];
  /** Notes for the person running it (e.g. "port 443 not allowed, using 8443"). */
  notes: string[];
  stop(): Promise<void>;
}

/**
 * Start the roles in dependency order and write state.json: the DNS tree (root, TLD, the shop's and
 * the CDN's authoritative servers), the GSLB, the local resolver that walks them, then the app
 * servers and the SLB in front of them. Each role runs under the supervisor (lab/supervisor.ts),
 * which keeps one role's failure from stopping the others.
 */
export async function startLab(opts: LabOptions = {}): Promise<RunningLab> {
  const addressing = opts.addressing ?? defaultAddressing();
  const log = opts.log ?? (() => {});
  const dir = labDir();
  assertNoRunningLab();
  const certs = ensureChain({ dir: path.join(dir, 'certs') });
  const files = chainFiles(path.join(dir, 'certs'));
  const orderLog = path.join(dir, 'orders.jsonl');
  const keyLog = path.join(dir, 'keylog.txt');
  const walkLog = path.join(dir, 'dns-walks.jsonl');
  const controlSocket = path.join(dir, 'control.sock');
  const purgeToken = randomBytes(24).toString('base64url');
  const notes: string[] = [];
  const failed: { name: string; reason: string }[] = [];
  const roles: RoleState[] = [];
  let state: LabState | undefined;
  const supervisor = new Supervisor(
    (line) => log(`supervisor: ${line}`),
    () => {
      if (state) writeState(withStatus(state, supervisor));
    },
  );
  const releaseGuard = opts.crashGuard ? supervisor.installCrashGuard() : () => {};
  let closeControl = async () => {};
  let store: OrderStore | undefined;
  const stopAll = async () => {
    await closeControl();
    await supervisor.stopAll();
    store?.close();
    releaseGuard();
  };

  const ctx: StartContext = { log };
  // Every spec goes through withFaults: a role (re)started while a fault is on gets the fault's
  // change (lab/faults.ts), and once it is off, exactly the spec of before.
  const certDir = path.join(dir, 'certs');
  const faults = new FaultSwitches(supervisor, certDir, () => {
    if (!state) return;
    state.faults = faults.list();
    writeState(withStatus(state, supervisor));
  });
  const faultCtx = faultContext(certDir);
  const faulty = <S extends RoleSpec>(spec: S): S => withFaults(spec, faults.on, faultCtx);
  const plans = planRoles({ addressing, ephemeral: opts.ephemeral, slbPort: opts.slbPort });
  notes.push(...unprivilegedNotes(plans));
  const plan = (name: string) => plans.find((p) => p.name === name)!;

  /**
   * Start one role under the supervisor. Its address goes into state.json either way; a role that
   * failed (allowPartial) is listed with its planned address, so its clients see it as down.
   */
  const run = async <T extends RoleInstance>(
    name: string,
    protocol: RoleState['protocol'],
    start: (port: number) => Promise<T>,
    urlOf: (r: T) => string | undefined = () => undefined,
  ): Promise<T | undefined> => {
    const p = plan(name);
    try {
      const instance = await supervisor.start({ name, start }, () => withPortFallback(p, notes, start));
      const url = urlOf(instance);
      roles.push({ name, what: p.what, host: instance.host, port: instance.port, protocol, ...(url ? { url } : {}) });
      return instance;
    } catch (err) {
      if (!opts.allowPartial || err instanceof ListenError) throw err;
      failed.push({ name, reason: (err as Error).message });
      roles.push({ name, what: p.what, host: p.host, port: p.ports.find((port) => port !== 0) ?? 0, protocol });
      return undefined;
    }
  };
  // Where a role is reached: where it listens, or (if it failed to start) where it was planned to.
  const urlFor = (name: string) => {
    const r = roles.find((role) => role.name === name)!;
    return r.url ?? `http://${r.host.includes(':') ? `[${r.host}]` : r.host}:${r.port}`;
  };

  try {
    for (const name of opts.faults ?? []) faults.preset(name);
    // ── DNS ───────────────────────────────────────────────────────────────────────────────
    const addresses = {
      root: plan('root').host,
      tld: plan('tld').host,
      shop: plan('shop-dns').host,
      cdn: plan('cdn-dns').host,
      gslb: plan('gslb').host,
      slb: plan('slb').host,
    };
    // Referrals carry addresses, never ports. On a real network every name server listens on 53;
    // here some may not, so the resolver is told which port each name server really has.
    const nsPorts = new Map<string, number>();
    const authoritative: Array<[string, AuthoritativeSpec['zone'], string]> = [
      ['root', 'root', NAME_SERVERS.root],
      ['tld', 'tld', NAME_SERVERS.tld],
      ['shop-dns', 'shop', NAME_SERVERS.shop],
      ['cdn-dns', 'cdn', NAME_SERVERS.cdn],
    ];
    for (const [name, zone, nsName] of authoritative) {
      const host = plan(name).host;
      const server = await run(name, 'dns', (port) => startRole(faulty({ kind: 'authoritative', name, host, port, zone, addresses }), ctx));
      if (server) nsPorts.set(nsName, server.port);
    }

    // ── The CDN: origin ← parent cache ← edge caches, and the GSLB that picks an edge ────────────
    const originHost = plan('origin').host;
    await run(
      'origin',
      'http',
      (port) => startRole(faulty({ kind: 'origin', name: 'origin', host: originHost, port, contentDir: path.join(dir, 'origin') }), ctx),
      (o) => o.url,
    );
    // Header limits grow inward (a request the edge accepts is one the parent accepts), and PURGE
    // takes the operator's token, made here and written to state.json for the operator alone.
    // The edges also serve HTTPS with the CDN's own leaf; the parent is reached by the edges
    // alone, over http.
    const startTier = async (name: string, upstream: string, maxHeaderBytes: number) => {
      const p = plan(name);
      const spec = (port: number, tlsPort?: number) => ({
        kind: 'cache' as const, name, host: p.host, port, upstream, maxHeaderBytes, purgeToken,
        ...(tlsPort !== undefined && { tls: { certFile: files.cdnChain, keyFile: files.cdnKey, port: tlsPort } }),
      });
      // The https port falls back like any port (443 → 8443), apart from the http one.
      let tlsPorts = p.tls?.ports;
      const cache = await run(
        name,
        'http',
        (port) => (tlsPorts ? withPortFallback({ name: upWords().httpsOf(name), host: p.host, ports: tlsPorts }, notes, (tlsPort) => startRole(faulty(spec(port, tlsPort)), ctx)) : startRole(faulty(spec(port)), ctx)),
        (c) => c.url,
      );
      if (cache?.tlsPort !== undefined) {
        tlsPorts = [cache.tlsPort]; // a restart comes back on the same port
        roles.push(edgeTlsRole(roles.find((r) => r.name === name)!, cache.tlsPort));
      }
    };
    await startTier('parent', urlFor('origin'), headerLimitBehind(MAX_HEADER_BYTES));
    for (const { edge } of EDGE_REGIONS) await startTier(edge, urlFor('parent'), MAX_HEADER_BYTES);

    const gslbHost = plan('gslb').host;
    const gslb = await run('gslb', 'dns', (port) =>
      startRole(faulty({
        kind: 'gslb',
        name: 'gslb',
        host: gslbHost,
        port,
        edges: EDGE_REGIONS.map(({ edge, region }) => {
          const r = roles.find((role) => role.name === edge)!;
          return { name: edge, region, address: r.host, healthUrl: `${urlFor(edge)}/healthz` };
        }),
        regions: EDGE_REGIONS.map(({ region, subnet, nearest }) => ({ name: region, subnets: [subnet], nearest })),
        defaultRegion: 'north',
        healthCheckFrom: healthCheckSource('gslb', addressing),
      }), ctx),
    );
    if (gslb) nsPorts.set(NAME_SERVERS.gslb, gslb.port);
    noteHealthSource(roles, 'gslb', healthCheckSource('gslb', addressing));

    const resolverHost = plan('local-dns').host;
    await run('local-dns', 'dns', (port) =>
      startRole(faulty({ kind: 'resolver', name: 'local-dns', host: resolverHost, port, rootHints: [{ name: NAME_SERVERS.root, address: plan('root').host }], nsPorts: Object.fromEntries(nsPorts), walkLog }), ctx),
    );

    // ── The order path ────────────────────────────────────────────────────────────────────
    // The two app servers share one order store, as real app servers share one database. A store
    // that cannot be opened fails the app servers, not the lab.
    let storeError: Error | undefined;
    try {
      // Damaged lines found on opening are said with the other start-up notes; later ones in the log.
      let opening = true;
      store = OrderStore.open(orderLog, { log: (m) => (opening ? notes.push(m) : log(`order store: ${m}`)) });
      opening = false;
    } catch (err) {
      storeError = err as Error;
    }
    const appUrls: { name: string; url: string }[] = [];
    // The product page's pictures: the CDN over HTTPS, at the north edge's port (both edges share
    // it but with --ephemeral, where a browser from the south would need its own edge's port).
    const cdnOrigin = () => {
      const tls = roles.find((r) => r.name === 'edge-north-tls');
      return tls && `https://static.geektime.test${tls.port === 443 ? '' : `:${tls.port}`}`;
    };
    for (const name of ['app-1', 'app-2']) {
      const host = plan(name).host;
      await run(
        name,
        'http',
        async (port) => {
          const opened = store;
          if (!opened) throw new Error(upWords().cannotOpenOrderLog(orderLog, storeError?.message ?? ''));
          return startRole(faulty({ kind: 'app', name, host, port, orderLog, trustedProxies: [plan('slb').host], cdn: cdnOrigin() }), { ...ctx, store: () => opened });
        },
        (a) => a.url,
      );
      appUrls.push({ name, url: urlFor(name) });
    }

    const slbHost = plan('slb').host;
    // The seed's RSA key exchange gets a port of its own, so the shop's port stays forward secret.
    let classicPort = opts.ephemeral ? 0 : SLB_CLASSIC_PORT;
    await run('slb', 'https', (port) =>
      startRole(faulty({
        kind: 'slb',
        name: 'slb',
        host: slbHost,
        port,
        certFile: files.fullChain,
        keyFile: files.leafKey,
        serverNames: ['www.geektime.test', 'geektime.test'],
        backends: appUrls,
        tls: opts.slbTls ?? 'both',
        classicPort,
        keyLogFile: keyLog,
        healthCheckFrom: healthCheckSource('slb', addressing),
      }), ctx),
    );
    noteHealthSource(roles, 'slb', healthCheckSource('slb', addressing));
    const slbRole = roles.find((r) => r.name === 'slb')!;
    slbRole.url = `https://${SHOP_HOST}${slbRole.port === 443 ? '' : `:${slbRole.port}`}/`;
    const slb = supervisor.instance<RunningSlb>('slb');
    if (slb?.classicPort !== undefined && slb.classicPort !== slb.port) {
      classicPort = slb.classicPort; // a restart comes back on the same port
      const what = roleWhat['slb-classic'];
      roles.push({ name: 'slb-classic', partOf: 'slb', what, host: slb.host, port: slb.classicPort, protocol: 'https', url: `https://${SHOP_HOST}:${slb.classicPort}/` });
    }

    if (opts.crashGuard) {
      const control = await startControl(controlSocket, supervisor, faults);
      closeControl = () => control.close();
    }
    state = {
      pid: process.pid,
      startedAt: new Date().toISOString(),
      addressing,
      shopHost: SHOP_HOST,
      roles,
      rootCa: files.rootCert,
      intermediateCa: files.intermediateCert,
      keyLog,
      orderLog,
      walkLog,
      purge: { token: purgeToken, how: 'PURGE <path> with Authorization: Bearer <token>, from loopback; each tier purges only itself: the parent first, then the edges' },
      ...(opts.crashGuard ? { control: controlSocket } : {}),
      faults: faults.list(),
    };
    await faults.afterStart(); // the roles of 'stop' faults on from the start go down now
    const statePath = writeState(withStatus(state, supervisor));
    const need = <T extends RoleInstance>(name: string): T => {
      const instance = supervisor.instance<T>(name);
      if (!instance) throw new Error(upWords().notRunning(name, supervisor.status().find((r) => r.name === name)?.reason));
      return instance;
    };
    return {
      state,
      statePath,
      certs,
      settle: async () => {},
      isUp: (name) => supervisor.instance(name) !== undefined,
      get slb() {
        return need<RunningSlb>('slb');
      },
      get gslb() {
        return need<RunningGslb>('gslb');
      },
      get resolver() {
        return need<RunningResolver>('local-dns');
      },
      get origin() {
        return need<RunningOrigin>('origin');
      },
      failed,
      notes,
      stop: async () => {
        removeState();
        await stopAll();
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** state.json says where a role's health checks come from, for captures that leave them out. */
function noteHealthSource(roles: RoleState[], name: string, from: string | undefined): void {
  const role = roles.find((r) => r.name === name);
  if (role && from) role.healthChecksFrom = from;
}

/** The capture (or display) filter that hides the health checks of a running lab. */
export function healthCheckAddresses(state: LabState): string[] {
  return state.roles.flatMap((r) => (r.healthChecksFrom ? [r.healthChecksFrom] : []));
}

/** state.json with each role's current status from the supervisor. */
function withStatus(state: LabState, supervisor: Supervisor): LabState {
  const status = new Map(supervisor.status().map((r) => [r.name, r]));
  return {
    ...state,
    roles: state.roles.map((r) => {
      const s = status.get(r.partOf ?? r.name);
      return s ? { ...r, status: s.status, ...(s.reason ? { reason: s.reason } : {}), restarts: s.restarts } : r;
    }),
  };
}

/**
 * Try the plan's ports in order. A standard port we may not bind (443 without privilege), or one
 * already taken (127.0.0.53:53 is systemd-resolved's on many Linux desktops), falls back to the
 * role's high port, with a note saying so. A taken high port is an error: the user must choose.
 * Only this listener's own port moves: an edge's http port stays where it is when its https port
 * is the one that could not be bound, and the other way round.
 */
async function withPortFallback<T>(plan: { name: string; host: string; ports: number[] }, notes: string[], start: (port: number) => Promise<T>): Promise<T> {
  for (const [i, port] of plan.ports.entries()) {
    try {
      return await start(port);
    } catch (err) {
      const next = plan.ports[i + 1];
      if (!(err instanceof ListenError) || err.port !== port || next === undefined) throw err;
      if (err.code === 'EACCES') notes.push(upWords().portNeedsPrivilege(plan.name, port, next));
      else if (err.code === 'EADDRINUSE') notes.push(upWords().portTaken(plan.name, `${plan.host}:${port}`, next));
      else throw err;
    }
  }
  throw new Error(upWords().noPortToTry(plan.name));
}

/** The SLB's classic port (tls 'both'): openssl s_server's default port, familiar from TLS tutorials. */
export const SLB_CLASSIC_PORT = 4433;

/** ns mode: the lab is reached from the phone's own namespace, with the tools people know. */
export function howToReachAsPhone(state: LabState, plan: NetPlan): string[] {
  const phone = plan.phones.north;
  const slb = state.roles.find((r) => r.name === 'slb')!;
  const body = `'{"order":{"date":"2018-07-01","className":"趣谈网络协议","Author":"刘超","price":"68"}}'`;
  const said = upWords().reach;
  const { north, south } = plan.phones;
  return [
    said.phones(`${north.address} (${north.namespace})`, `${south.address} (${south.namespace})`),
    `  ip netns exec ${phone.namespace} dig static.geektime.test`,
    `  ip netns exec ${phone.namespace} curl -sI --cacert ${displayPath(state.rootCa)} https://static.geektime.test/images/phone.png   ${said.cdnOverHttps}`,
    `  ip netns exec ${phone.namespace} curl --cacert ${displayPath(state.rootCa)} -H 'content-type: application/json' -d ${body} https://${SHOP_HOST}/purchaseOrder`,
    `  ip netns exec ${phone.namespace} ip route get ${slb.host}; ip -n ${phone.namespace} neigh`,
    `  ip netns exec ${phone.namespace} traceroute -n ${slb.host}       ${said.routers}`,
    `  ip netns exec ${phone.namespace} tcpdump -eni eth0        ${said.wiresharkNs(`ip netns exec ${phone.namespace} wireshark`)}`,
    `  npm run lab -- browser                 ${said.browserNs}`,
  ];
}

/** How to reach the running lab with everyday tools. */
export function howToReach(lab: RunningLab): string[] {
  if (lab.state.net) return howToReachAsPhone(lab.state, lab.state.net);
  const slb = lab.state.roles.find((r) => r.name === 'slb')!;
  const classic = lab.state.roles.find((r) => r.name === 'slb-classic') ?? slb;
  const rel = displayPath;
  const portPart = slb.port === 443 ? '' : `:${slb.port}`;
  const body = `'{"order":{"date":"2018-07-01","className":"趣谈网络协议","Author":"刘超","price":"68"}}'`;
  const dns = (name: string) => lab.state.roles.find((r) => r.name === name)!;
  const port = (r: { port: number }) => (r.port === 53 ? '' : ` -p ${r.port}`);
  const phone = lab.state.addressing === 'per-role' ? ' -b 127.10.1.10' : '';
  const quiet = healthCheckAddresses(lab.state);
  const edgeTls = lab.state.roles.find((r) => r.name === 'edge-north-tls');
  const said = upWords().reach;
  return [
    `dig @${dns('local-dns').host}${port(dns('local-dns'))}${phone} static.geektime.test        # ${said.phoneQuestion}`,
    `dig @${dns('root').host}${port(dns('root'))} +norec www.geektime.test              # ${said.rootReferral}`,
    ...(edgeTls
      ? [`curl -sI --cacert ${rel(lab.state.rootCa)} --resolve static.geektime.test:${edgeTls.port}:${edgeTls.host} ${edgeTls.url}images/phone.png   # ${said.pictureOverHttps}`]
      : []),
    `curl --cacert ${rel(lab.state.rootCa)} --resolve ${SHOP_HOST}:${slb.port}:${slb.host} \\`,
    `     -H 'content-type: application/json' -d ${body} https://${SHOP_HOST}${portPart}/purchaseOrder`,
    `openssl s_client -connect ${classic.host}:${classic.port} -servername ${SHOP_HOST} -CAfile ${rel(lab.state.rootCa)} -tls1_2 -cipher AES128-GCM-SHA256`,
    `npm run lab -- order --mode classic      ${said.orModern}`,
    said.wireshark(quiet.length ? quiet.map((a) => `not host ${a}`).join(' and ') : undefined, rel(lab.state.keyLog)),
  ];
}

export async function upCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'single-address': { type: 'boolean', default: false },
      ephemeral: { type: 'boolean', default: false },
      'slb-port': { type: 'string' },
      tls: { type: 'string', default: 'both' },
      quiet: { type: 'boolean', default: false },
      net: { type: 'string', default: 'loopback' },
    },
  });
  if (values.net === 'ns') return upInNamespaces(values.quiet);
  if (values.net !== 'loopback') throw new Error(cliWords().mustBe('--net', ['loopback', 'ns'], values.net));
  const tlsChoice = parseSlbTlsMode(values.tls, 'both');
  const lab = await startLab({
    addressing: values['single-address'] ? 'single' : undefined,
    ephemeral: values.ephemeral,
    slbPort: values['slb-port'] !== undefined ? parsePort(values['slb-port'], '--slb-port') : undefined,
    slbTls: tlsChoice,
    // A role's crash or restart is always said, even with --quiet: the operator must know.
    log: values.quiet
      ? (line) => line.startsWith('supervisor: ') && console.log(`  | ${line}`)
      : rateLimitedSink((line) => console.log(`  | ${line}`), { always: (line) => line.startsWith('supervisor: ') }),
    allowPartial: true,
    crashGuard: true,
  });

  const said = upWords();
  console.log(said.certificates(lab.certs.made, displayPath(path.dirname(lab.state.rootCa))));
  for (const note of lab.notes) console.log(said.note(note));
  console.log(lab.state.addressing === 'per-role' ? said.rolesPerRole : said.rolesSingle);
  for (const line of roleListing(lab.state.roles, (r) => `${words().roles.whatIs(r.name, r.what)}${lab.failed.some((f) => f.name === r.name) ? `  ${said.down}` : ''}`, 26)) console.log(line);
  for (const { name, reason } of lab.failed) console.log(said.couldNotStart(name, reason));
  if (lab.failed.length) console.log(said.othersUp(lab.failed[0]!.name));
  console.log(said.reachWith);
  for (const line of howToReach(lab)) console.log(`  ${line}`);
  console.log(said.state(displayPath(lab.statePath)));
  // Listen for Ctrl-C before saying so: whoever reads the line may press it at once, and until a
  // listener is in place a SIGINT ends the process without stopping the lab (a test caught that).
  const stopAsked = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  console.log(said.isUp);
  await stopAsked;
  console.log(said.stopping);
  await lab.stop();
  console.log(said.stopped);
  return 0;
}

/**
 * The roles one a line: name, where it listens (at least `urlWidth` wide, as the listing has always
 * been), then `last` (what it is, or its namespace), by display width (lab/text-width.ts).
 */
function roleListing(roles: readonly RoleState[], last: (r: RoleState) => string, urlWidth: number): string[] {
  const rows = roles.map((r) => [r.name, `${r.protocol}://${r.host}:${r.port}`.padEnd(urlWidth), last(r)]);
  return columns(rows, 1).map((line) => `  ${line}`);
}

/**
 * `up --net ns`: the network of namespaces with every role running in its host, until Ctrl-C.
 * Learners reach it from the hosts themselves: the phone's namespace resolves through the lab's
 * local DNS (/etc/netns/<namespace>/resolv.conf), so dig and curl there just work.
 */
async function upInNamespaces(quiet: boolean): Promise<number> {
  const said = upWords();
  return withNetwork('up --net ns', {}, async (plan, _built, stopped) => {
    const lab = await startNsLab(plan, { log: quiet ? () => {} : rateLimitedSink((line) => console.log(`  | ${line}`)), control: path.join(labDir(), 'control.sock') });
    try {
      for (const note of lab.notes) console.log(said.note(note));
      console.log(said.rolesNs);
      for (const line of roleListing(lab.state.roles, (r) => r.namespace ?? '', 28)) console.log(line);
      for (const line of howToReachAsPhone(lab.state, plan)) console.log(line);
      console.log(said.stateNs(displayPath(lab.statePath)));
      console.log(said.isUp);
      await stopped;
      console.log(said.stopping);
    } finally {
      await lab.stop();
    }
    console.log(said.stoppedNs);
    return 0;
  });
}

export function parsePort(value: string, flag: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(cliWords().portNumber(flag, value));
  return port;
}
