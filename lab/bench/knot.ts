// Knot DNS as the peer of the lab's authoritative servers: the shop's zone `geektime.test` written
// out from the lab's own zone data (servers/dns/lab-zones.ts), and the GSLB's zone `gslb.cdn.test`
// with Knot's geoip module in subnet mode, which picks the answer by the client's subnet (from
// EDNS Client Subnet when the query has one) as the lab's GSLB does. One worker of each kind: the
// lab's servers are one Node process.
import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { labZones, type DnsAddresses } from '../../servers/dns/lab-zones.ts';
import type { SoaData, Zone, ZoneRecord } from '../../servers/dns/zone.ts';
import { EDGE_REGIONS } from '../topology.ts';
import { sendQuery } from '../../servers/dns/query.ts';
import { freePort, lastLines, startServer, stopServer, waitUntil, which, type Pinning } from './procs.ts';

/** A zone in the master-file format of RFC 1035 §5, which every DNS server reads. */
export function zoneFile(zone: Zone): string {
  const abs = (name: string) => (name === '' ? '.' : `${name}.`);
  const rdata = (r: ZoneRecord): string => {
    switch (r.type) {
      case 'SOA': {
        const s = r.data as SoaData;
        return `${abs(s.primary)} ${abs(s.admin)} ${s.serial} ${s.refresh} ${s.retry} ${s.expiration} ${s.minimum}`;
      }
      case 'NS':
      case 'CNAME':
        return abs(r.data as string);
      case 'MX': {
        const [pref, host] = (r.data as string).split(/\s+/);
        return `${pref} ${abs(host!)}`;
      }
      case 'TXT':
        return JSON.stringify(r.data);
      default:
        return r.data as string;
    }
  };
  return [`$ORIGIN ${abs(zone.origin)}`, ...zone.records.map((r) => `${abs(r.name)} ${r.ttl} IN ${r.type} ${rdata(r)}`), ''].join('\n');
}

/**
 * The GSLB's zone as the lab's GSLB answers it (servers/dns/gslb.ts: SOA, NS, its name server's
 * A), plus the default answer Knot's geoip module asks for: the default region's edge.
 */
function gslbZone(gslbHost: string, defaultEdge: string): string {
  return [
    '$ORIGIN gslb.cdn.test.',
    '@ 3600 IN SOA ns1.gslb.cdn.test. hostmaster.gslb.cdn.test. 2026112501 3600 600 86400 30',
    '@ 3600 IN NS ns1.gslb.cdn.test.',
    `ns1 3600 IN A ${gslbHost}`,
    `geektime 30 IN A ${defaultEdge}`,
    '',
  ].join('\n');
}

/** The geoip module's answers: each region's subnet → that region's edge, as the GSLB's map says. */
function geoipConfig(edgeAddress: (edge: string) => string): string {
  const lines = ['geektime.gslb.cdn.test:'];
  for (const { subnet, edge } of EDGE_REGIONS) lines.push(`  - net: ${subnet}`, `    A: ${edgeAddress(edge)}`);
  return `${lines.join('\n')}\n`;
}

/** Knot's shared modules live in a folder named after its version: look for geoip.so in any. */
export function findGeoipModule(): string | undefined {
  for (const lib of ['/usr/lib', '/usr/lib64', '/usr/local/lib', ...fs.readdirSync('/usr/lib').filter((d) => d.includes('-linux-')).map((d) => `/usr/lib/${d}`)]) {
    const knot = path.join(lib, 'knot');
    if (!fs.existsSync(knot)) continue;
    for (const dir of fs.readdirSync(knot)) if (fs.existsSync(path.join(knot, dir, 'geoip.so'))) return path.join(knot, dir, 'geoip.so');
  }
  return undefined;
}

export interface RunningKnot {
  /** The server's process (its workers are its children): what the bench reads CPU time from. */
  pid: number;
  host: string;
  port: number;
  /** Serves gslb.cdn.test with the geoip module (false when the module is not installed). */
  geoip: boolean;
  stop(): Promise<void>;
}

export async function startKnot(opts: { dir: string; host: string; addresses: DnsAddresses; edgeAddress: (edge: string) => string; pinning: Pinning }): Promise<RunningKnot> {
  const knotd = which('knotd');
  if (!knotd) throw new Error('knotd is missing (apt-get install knot)');
  const geoip = findGeoipModule() !== undefined;
  const dir = opts.dir;
  fs.mkdirSync(path.join(dir, 'run'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'db'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'geektime.test.zone'), zoneFile(labZones(opts.addresses).shop));
  const north = EDGE_REGIONS[0]!.edge; // the GSLB's default region is the north
  fs.writeFileSync(path.join(dir, 'gslb.cdn.test.zone'), gslbZone(opts.addresses.gslb, opts.edgeAddress(north)));
  fs.writeFileSync(path.join(dir, 'geo.conf'), geoipConfig(opts.edgeAddress));
  const port = await freePort(opts.host);
  const conf = [
    'server:',
    `    rundir: "${dir}/run"`,
    `    listen: ${opts.host}@${port}`,
    // One thread each, as the lab's DNS is one Node process (Knot's default is one per core).
    '    udp-workers: 1',
    '    tcp-workers: 1',
    '    background-workers: 1',
    // Read EDNS Client Subnet (the geoip module then places the client by it) and echo it, as the lab's GSLB does.
    '    edns-client-subnet: on',
    'log:',
    '  - target: stderr',
    '    any: warning',
    'database:',
    `    storage: "${dir}/db"`,
    ...(geoip ? ['mod-geoip:', '  - id: gslb', `    config-file: "${dir}/geo.conf"`, '    ttl: 30', '    mode: subnet'] : []),
    'template:',
    '  - id: default',
    `    storage: "${dir}"`,
    '    file: "%s.zone"',
    'zone:',
    '  - domain: geektime.test',
    ...(geoip ? ['  - domain: gslb.cdn.test', '    module: mod-geoip/gslb'] : []),
    '',
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'knot.conf'), conf);
  const child: ChildProcess = startServer(knotd, ['-c', path.join(dir, 'knot.conf')], { pin: opts.pinning.server, logFile: path.join(dir, 'knotd.log') });
  try {
    // Ready when it answers for its zone (it loads zones after it starts listening).
    await waitUntil(async () => {
      if (child.exitCode !== null) throw new Error('exited');
      const r = await sendQuery({ server: { host: opts.host, port }, name: 'geektime.test', type: 'SOA', rd: false, timeoutMs: 300 });
      return r.response.answers.length > 0;
    }, 15_000, 'knotd');
  } catch (err) {
    await stopServer(child);
    throw new Error(`knotd did not start: ${(err as Error).message}; ${lastLines(path.join(dir, 'knotd.log'))}`);
  }
  return { host: opts.host, port, geoip, pid: child.pid!, stop: () => stopServer(child) };
}
