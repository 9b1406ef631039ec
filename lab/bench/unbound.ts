// Unbound as the peer of the lab's local DNS: a recursive resolver that walks the lab's own name
// servers (not the internet's), so both resolvers hold the same answers in their caches.
//
// Referrals carry addresses, never ports, and with --ephemeral each lab name server has a port of
// its own: so Unbound is given each zone's server with its port as a stub zone, as the lab's
// resolver is given its `nsPorts`. `do-not-query-localhost: no` lets it ask loopback servers at all,
// and `local-zone: "test." nodefault` stops it answering the reserved `test.` itself (RFC 6761).
import fs from 'node:fs';
import path from 'node:path';
import { sendQuery } from '../../servers/dns/query.ts';
import { freePort, lastLines, startServer, stopServer, waitUntil, which, type Pinning } from './procs.ts';

export interface RunningUnbound {
  /** The server's process (its workers are its children): what the bench reads CPU time from. */
  pid: number;
  host: string;
  port: number;
  stop(): Promise<void>;
}

/** `zones`: each zone the lab serves and the address:port of its server, e.g. ['geektime.test', '127.0.0.12', 5353]. */
export async function startUnbound(opts: { dir: string; host: string; zones: Array<[zone: string, host: string, port: number]>; pinning: Pinning }): Promise<RunningUnbound> {
  const unbound = which('unbound');
  if (!unbound) throw new Error('unbound is missing (apt-get install unbound)');
  const dir = opts.dir;
  fs.mkdirSync(dir, { recursive: true });
  const port = await freePort(opts.host);
  const conf = [
    'server:',
    `    interface: ${opts.host}`,
    `    port: ${port}`,
    // One thread: the lab's resolver is one Node process.
    '    num-threads: 1',
    '    so-reuseport: no',
    '    access-control: 127.0.0.0/8 allow',
    '    do-not-query-localhost: no',
    '    local-zone: "test." nodefault',
    // The lab's zones are not signed, and the lab's resolver does not validate: iterate only.
    '    module-config: "iterator"',
    // Everything in the bench's own folder, nothing of the system's: no chroot, no user switch.
    '    username: ""',
    '    chroot: ""',
    `    directory: "${dir}"`,
    `    pidfile: "${dir}/unbound.pid"`,
    '    use-syslog: no',
    '    logfile: ""',
    '    verbosity: 0',
    ...opts.zones.flatMap(([zone, host, p]) => ['stub-zone:', `    name: "${zone === '' ? '.' : `${zone}.`}"`, `    stub-addr: ${host}@${p}`]),
    '',
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'unbound.conf'), conf);
  const child = startServer(unbound, ['-d', '-c', path.join(dir, 'unbound.conf')], { pin: opts.pinning.server, logFile: path.join(dir, 'unbound.log') });
  try {
    await waitUntil(async () => {
      if (child.exitCode !== null) throw new Error('exited');
      const r = await sendQuery({ server: { host: opts.host, port }, name: 'www.geektime.test', type: 'A', rd: true, timeoutMs: 1000 });
      return r.response.answers.length > 0;
    }, 15_000, 'unbound');
  } catch (err) {
    await stopServer(child);
    throw new Error(`unbound did not start: ${(err as Error).message}; ${lastLines(path.join(dir, 'unbound.log'))}`);
  }
  return { host: opts.host, port, pid: child.pid!, stop: () => stopServer(child) };
}
