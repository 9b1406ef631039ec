// The load generators, each run once for a fixed time on the load core, its report parsed into a
// Run (results.ts). The same function drives the lab and the peer, so both get exactly the same load.
import fs from 'node:fs';
import path from 'node:path';
import { parseDnsperf, parseWrk, type Run } from './results.ts';
import { runTool, type Pinning } from './procs.ts';
import { watchAcceptQueue } from './accept-queue.ts';

export interface DnsLoad {
  /** A dnsperf data file: one "name type" per line, sent in turn. */
  queryFile: string;
  clients: number;
  /** EDNS Client Subnet to send with every query (RFC 7871), as a CIDR: "127.10.1.0/24". */
  clientSubnet?: string;
  /** Send at most this many queries a second (dnsperf -Q); without it, as fast as answers come. */
  rate?: number;
}

/** dnsperf's -E takes an EDNS option as code:hex. ECS is option 8: family, source prefix, scope, address bytes. */
export function ecsOption(cidr: string): string {
  const [ip, prefix] = cidr.split('/');
  const bits = Number(prefix);
  const octets = ip!.split('.').map(Number).slice(0, Math.ceil(bits / 8));
  const hex = (n: number, width = 2) => n.toString(16).padStart(width, '0');
  return `8:${hex(1, 4)}${hex(bits)}00${octets.map((o) => hex(o)).join('')}`;
}

export async function dnsperf(server: { host: string; port: number }, load: DnsLoad, seconds: number, pinning: Pinning): Promise<Run> {
  const args = ['-s', server.host, '-p', String(server.port), '-d', load.queryFile, '-c', String(load.clients), '-T', '1', '-l', String(seconds), '-t', '2'];
  if (load.clientSubnet) args.push('-E', ecsOption(load.clientSubnet));
  if (load.rate) args.push('-Q', String(load.rate));
  const { output } = await runTool('dnsperf', args, { pin: pinning.load, timeoutMs: (seconds + 15) * 1000 });
  return parseDnsperf(output);
}

export interface HttpLoad {
  /** The URL as the client means it: its host name is the Host header and, over https, the SNI. */
  url: string;
  connections: number;
  /** Connect here instead of resolving the URL's host name (which only the lab's DNS knows). */
  connectTo?: string;
  headers?: Record<string, string>;
  /** Watch the server's accept queue during the run (accept-queue.ts); the result's acceptWait. */
  watchAcceptQueue?: boolean;
}

/**
 * wrk sends the URL's host as Host and as SNI, and resolves it with the system's resolver, which
 * does not know the lab's names. A script that replaces wrk.resolve connects to the lab's address
 * instead, so the request and the handshake carry the real name, as a browser's would.
 */
function resolveScript(dir: string, address: string): string {
  const file = path.join(dir, `resolve-${address}.lua`);
  fs.writeFileSync(file, `-- connect to ${address} whatever the URL's host name\nwrk.resolve = function(host, service)\n  wrk.addrs = wrk.lookup("${address}", service)\nend\n`);
  return file;
}

export async function wrk(load: HttpLoad, seconds: number, pinning: Pinning, scratchDir: string): Promise<Run> {
  // One thread: the load core is one core.
  const args = ['-t', '1', '-c', String(load.connections), '-d', `${seconds}s`, '--latency', '--timeout', '5s'];
  for (const [k, v] of Object.entries(load.headers ?? {})) args.push('-H', `${k}: ${v}`);
  if (load.connectTo) args.push('-s', resolveScript(scratchDir, load.connectTo));
  args.push(load.url);
  // The server's accept queue meanwhile, when asked (accept-queue.ts): what makes a p99 of a second.
  const url = new URL(load.url);
  const queue = load.watchAcceptQueue ? watchAcceptQueue(load.connectTo ?? url.hostname, Number(url.port) || (url.protocol === 'https:' ? 443 : 80)) : undefined;
  try {
    const { output } = await runTool('wrk', args, { pin: pinning.load, timeoutMs: (seconds + 15) * 1000 });
    const acceptWait = queue?.stop();
    const run = parseWrk(output);
    return acceptWait ? { ...run, acceptWait } : run;
  } finally {
    queue?.stop(); // again, if wrk failed: stopping twice is harmless
  }
}
