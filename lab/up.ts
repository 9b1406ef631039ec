// Starting every role of the lab, and `npm run lab -- up`, which keeps them running until Ctrl-C.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ensureChain, chainFiles, type EnsureChainResult } from '../certs/chain.ts';
import { OrderStore } from '../servers/order-store.ts';
import { startOrderServer } from '../servers/order-service.ts';
import { startSlb, type RunningSlb } from '../servers/slb.ts';
import { ListenError } from './listen.ts';
import { labDir } from './paths.ts';
import { assertNoRunningLab, displayPath, writeState, removeState, type LabState, type RoleState } from './state.ts';
import { planRoles, defaultAddressing, SHOP_HOST, type Addressing, type RolePlan } from './topology.ts';
import type { TlsMode } from './tls-modes.ts';

export interface LabOptions {
  addressing?: Addressing;
  ephemeral?: boolean;
  slbPort?: number;
  slbTls?: TlsMode | 'both';
  /** Where the servers' own log lines go. */
  log?: (line: string) => void;
}

export interface RunningLab {
  state: LabState;
  statePath: string;
  certs: EnsureChainResult;
  slb: RunningSlb;
  /** Notes for the person running it (e.g. "port 443 not allowed, using 8443"). */
  notes: string[];
  stop(): Promise<void>;
}

/** Start the roles in dependency order (apps, then the SLB in front of them) and write state.json. */
export async function startLab(opts: LabOptions = {}): Promise<RunningLab> {
  const addressing = opts.addressing ?? defaultAddressing();
  const log = opts.log ?? (() => {});
  const dir = labDir();
  assertNoRunningLab();
  const certs = ensureChain({ dir: path.join(dir, 'certs') });
  const files = chainFiles(path.join(dir, 'certs'));
  const orderLog = path.join(dir, 'orders.jsonl');
  const keyLog = path.join(dir, 'keylog.txt');
  const notes: string[] = [];
  const stops: Array<() => Promise<void>> = [];
  const roles: RoleState[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  };

  const plans = planRoles({ addressing, ephemeral: opts.ephemeral, slbPort: opts.slbPort });
  const plan = (name: string) => plans.find((p) => p.name === name)!;
  try {
    // The two app servers share one order store, as real app servers share one database.
    const store = OrderStore.open(orderLog);
    stops.push(async () => store.close());
    const appUrls: { name: string; url: string }[] = [];
    for (const name of ['app-1', 'app-2']) {
      const p = plan(name);
      const app = await withPortFallback(p, notes, (port) => startOrderServer({ name, store, host: p.host, port, log }));
      stops.push(() => app.close());
      appUrls.push({ name, url: app.url });
      roles.push({ name, what: p.what, host: app.host, port: app.port, protocol: 'http', url: app.url });
    }

    const p = plan('slb');
    const slb = await withPortFallback(p, notes, (port) =>
      startSlb({
        host: p.host,
        port,
        cert: fs.readFileSync(files.fullChain, 'utf8'),
        key: fs.readFileSync(files.leafKey, 'utf8'),
        serverNames: ['www.geektime.test', 'geektime.test'],
        backends: appUrls,
        tls: opts.slbTls ?? 'both',
        keyLogFile: keyLog,
        log,
      }),
    );
    stops.push(() => slb.close());
    const slbUrl = `https://${SHOP_HOST}${slb.port === 443 ? '' : `:${slb.port}`}/`;
    roles.push({ name: 'slb', what: p.what, host: slb.host, port: slb.port, protocol: 'https', url: slbUrl });

    const state: LabState = {
      pid: process.pid,
      startedAt: new Date().toISOString(),
      addressing,
      shopHost: SHOP_HOST,
      roles,
      rootCa: files.rootCert,
      intermediateCa: files.intermediateCert,
      keyLog,
      orderLog,
    };
    const statePath = writeState(state);
    return {
      state,
      statePath,
      certs,
      slb,
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

/** Try the plan's ports in order; a port we may not bind (443 without privilege) falls back. */
async function withPortFallback<T>(plan: RolePlan, notes: string[], start: (port: number) => Promise<T>): Promise<T> {
  for (const [i, port] of plan.ports.entries()) {
    try {
      return await start(port);
    } catch (err) {
      const last = i === plan.ports.length - 1;
      if (err instanceof ListenError && err.code === 'EACCES' && !last) {
        notes.push(
          `${plan.name}: port ${port} needs privilege, so it listens on ${plan.ports[i + 1]} instead ` +
            `(for ${port}: run as root, or \`sudo sysctl net.ipv4.ip_unprivileged_port_start=${port}\`)`,
        );
        continue;
      }
      throw err;
    }
  }
  throw new Error(`${plan.name}: no port to try`);
}

/** How to reach the running lab with everyday tools. */
export function howToReach(lab: RunningLab): string[] {
  const slb = lab.state.roles.find((r) => r.name === 'slb')!;
  const rel = displayPath;
  const portPart = slb.port === 443 ? '' : `:${slb.port}`;
  const body = `'{"order":{"date":"2018-07-01","className":"趣谈网络协议","Author":"刘超","price":"68"}}'`;
  return [
    `curl --cacert ${rel(lab.state.rootCa)} --resolve ${SHOP_HOST}:${slb.port}:${slb.host} \\`,
    `     -H 'content-type: application/json' -d ${body} https://${SHOP_HOST}${portPart}/purchaseOrder`,
    `openssl s_client -connect ${slb.host}:${slb.port} -servername ${SHOP_HOST} -CAfile ${rel(lab.state.rootCa)} -tls1_2 -cipher AES128-GCM-SHA256`,
    `npm run lab -- order --mode classic      (or --mode modern)`,
    `Wireshark: capture on loopback, filter "tcp.port == ${slb.port}", TLS key log: ${rel(lab.state.keyLog)}`,
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
    },
  });
  const tlsChoice = values.tls;
  if (tlsChoice !== 'both' && tlsChoice !== 'classic' && tlsChoice !== 'modern') {
    throw new Error(`--tls must be both, classic or modern, not "${tlsChoice}"`);
  }
  const lab = await startLab({
    addressing: values['single-address'] ? 'single' : undefined,
    ephemeral: values.ephemeral,
    slbPort: values['slb-port'] !== undefined ? parsePort(values['slb-port'], '--slb-port') : undefined,
    slbTls: tlsChoice,
    log: values.quiet ? undefined : (line) => console.log(`  | ${line}`),
  });

  const made = lab.certs.made.length ? `made ${lab.certs.made.join(', ')}` : 'reused';
  console.log(`Certificates: ${made} (${displayPath(path.dirname(lab.state.rootCa))}/)`);
  for (const note of lab.notes) console.log(`Note: ${note}`);
  console.log(`Roles (${lab.state.addressing === 'per-role' ? 'one loopback address per role' : 'one address, one port per role'}):`);
  for (const r of lab.state.roles) {
    console.log(`  ${r.name.padEnd(6)} ${`${r.protocol}://${r.host}:${r.port}`.padEnd(28)} ${r.what}`);
  }
  console.log('Reach it with:');
  for (const line of howToReach(lab)) console.log(`  ${line}`);
  console.log(`State: ${displayPath(lab.statePath)}`);
  console.log('Lab is up. Press Ctrl-C to stop.');

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  console.log('Stopping...');
  await lab.stop();
  console.log('Lab stopped.');
  return 0;
}

export function parsePort(value: string, flag: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${flag} must be a port number 0-65535, not "${value}"`);
  return port;
}
