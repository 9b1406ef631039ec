// The capture of the run: tcpdump on the loopback interface, only the lab's own traffic, turned at
// the end into a pcapng file that carries this run's TLS secrets, so Wireshark and tshark open it
// decrypted with nothing to set up. Without tcpdump (or without the right to capture) the
// walkthrough says so in one line and goes on.
//
// tcpdump writes only classic pcap, so it writes a temporary file and the lab rewrites it as
// pcapng (lab/observe/pcapng.ts) with a Decryption Secrets Block ahead of the packets.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { parseIpv4 } from '../servers/net/ipv4.ts';
import { readCapture, writePcapng, type CaptureFile } from './observe/pcapng.ts';
import { clientRandoms, keyLogLinesFor } from './observe/keylog.ts';
import { runWords } from './words/run.ts';

/**
 * The kernel's packet ring for tcpdump, in KiB. In immediate mode libpcap gives each frame a
 * slot as big as the largest frame (on `lo`, MTU 65536: about 64 KiB), and on `lo` each frame
 * passes the ring twice (out and in). The default 2 MiB is ~16 frames ahead of tcpdump: a burst
 * while it waits for a CPU is lost. 32 MiB is ~250 frames, more than a whole walkthrough
 * (about 110 frames), so even a tcpdump that is not scheduled at all until the end loses none.
 */
export const CAPTURE_BUFFER_KIB = 32 * 1024;

/** The largest frame on `lo`: an IPv4 packet of at most 65535 bytes and a 14-byte Ethernet header. */
const SNAP_LENGTH = 65535 + 14;

/** What tcpdump says about a capture when it stops (stderr, after SIGINT). */
export interface CaptureStats {
  /** "N packets captured": written to the file. */
  captured?: number;
  /** "N packets received by filter". */
  receivedByFilter?: number;
  /** "N packets dropped by kernel": no room in the ring; these frames are missing from the file. */
  droppedByKernel?: number;
  /** "N packets dropped by interface" (some platforms): lost before the kernel saw them. */
  droppedByInterface?: number;
}

export function parseTcpdumpStats(stderr: string): CaptureStats {
  const count = (what: string) => {
    const m = new RegExp(`^(\\d+) packets? ${what}$`, 'm').exec(stderr);
    return m ? Number(m[1]) : undefined;
  };
  return { captured: count('captured'), receivedByFilter: count('received by filter'), droppedByKernel: count('dropped by kernel'), droppedByInterface: count('dropped by interface') };
}

/** Frames the capture lost, by tcpdump's own count; undefined if it did not say (it always does on Linux). */
export function lostFrames(stats: CaptureStats): number | undefined {
  if (stats.droppedByKernel === undefined && stats.droppedByInterface === undefined) return undefined;
  return (stats.droppedByKernel ?? 0) + (stats.droppedByInterface ?? 0);
}

export interface RunningCapture {
  /** The pcapng file the run leaves (written by finishCapture). */
  file: string;
  /** tcpdump's own pcap, removed once rewritten. */
  rawFile: string;
  filter: string;
  /** The interface it captures on: `lo`, or in ns mode the phone's own `eth0`. */
  iface: string;
  /** SIGINT to tcpdump; resolves with its counts once it has closed the file. */
  stop(): Promise<CaptureStats>;
}

/** Is tcpdump there? One sentence if not, saying how to get it and what is missing without it. */
export function captureUnavailable(): string | undefined {
  const w = runWords().capture;
  if (os.platform() !== 'linux') return w.notLinux;
  if (spawnSync('tcpdump', ['--version']).error) return w.noTcpdump;
  return undefined;
}

/**
 * A BPF filter for the lab's traffic only: every packet to or from one of its roles' listening
 * sockets (address and port: another lab in the same network namespace has the same 127.0.0.x
 * addresses, but never the same address with the same port), and the ICMP errors about those
 * sockets (a "port unreachable" from a role that is down). On one address, its ports on 127.0.0.1.
 * `quiet` addresses are left out even when they talk to a role: the health checks' own source
 * addresses (lab/topology.ts).
 */
export function labFilter(roles: Array<{ host: string; port: number }>, perRole: boolean, quiet: string[] = []): string {
  const story = perRole ? perRoleFilter(roles) : [...new Set(roles.map((r) => `port ${r.port}`))].join(' or ');
  if (quiet.length === 0) return story;
  return `(${story}) and not (${[...new Set(quiet)].map((h) => `host ${h}`).join(' or ')})`;
}

/**
 * Each role's socket, and the ICMP errors about it. An ICMP error quotes the IP header and the
 * first 8 bytes of the datagram it is about (RFC 792): after the ICMP header's 8 bytes, the quoted
 * source address is at icmp[20:4] and its destination at icmp[24:4], the UDP or TCP ports at
 * icmp[28:2] and icmp[30:2] (a 20-byte quoted IP header: the lab sends no IP options). The address
 * goes in as a number: BPF compares words, not dotted quads.
 */
function perRoleFilter(roles: Array<{ host: string; port: number }>): string {
  const endpoints = [...new Set(roles.map((r) => `(host ${r.host} and port ${r.port})`))];
  const icmpAbout = [
    ...new Set(
      roles.map((r) => {
        const word = `0x${parseIpv4(r.host).toString(16).padStart(8, '0')}`;
        return `(icmp[24:4] == ${word} and icmp[30:2] == ${r.port}) or (icmp[20:4] == ${word} and icmp[28:2] == ${r.port})`;
      }),
    ),
  ];
  return `${endpoints.join(' or ')} or (icmp and (${icmpAbout.join(' or ')}))`;
}

/** Start tcpdump and wait until it really listens (it says so on stderr). `file` is the pcapng to leave. */
export function startCapture(file: string, filter: string, { iface = 'lo', netns, timeoutMs = 5000 }: { iface?: string; netns?: string; timeoutMs?: number } = {}): Promise<RunningCapture> {
  const rawFile = `${file.replace(/\.pcapng$/, '')}.tcpdump.pcap`;
  return new Promise((resolve, reject) => {
    // --immediate-mode and -U: hand over and write each packet at once (else the kernel holds them
    // in blocks until one is full or a second has passed, and frames still in a block when tcpdump
    // stops are lost without being counted); -B: the ring (above); -s: whole frames;
    // nanosecond timestamps; -Z root: keep the right to write into the lab's folder (tcpdump
    // otherwise drops to its own user after opening the interface).
    const asRoot = process.getuid?.() === 0 ? ['-Z', 'root'] : [];
    const args = ['-i', iface, '--immediate-mode', '-U', '-B', String(CAPTURE_BUFFER_KIB), '-s', String(SNAP_LENGTH), '--time-stamp-precision=nano', ...asRoot, '-w', rawFile, ...(filter ? [filter] : [])];
    // In another host's namespace (ns mode: the SLB's link), tcpdump runs there: `ip netns exec` execs it.
    const [command, commandArgs] = netns ? ['ip', ['netns', 'exec', netns, 'tcpdump', ...args]] : ['tcpdump', args];
    const child: ChildProcess = spawn(command, commandArgs as string[], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let listening = false;
    // 'close', not 'exit': 'exit' can come before the last of stderr (tcpdump's counts) is read.
    const exited = new Promise<void>((done) => child.once('close', () => done()));
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(runWords().capture.didNotStart(timeoutMs, stderr.trim())));
    }, timeoutMs);
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk;
      if (!listening && /listening on/.test(stderr)) {
        listening = true;
        clearTimeout(timer);
        resolve({
          file,
          rawFile,
          filter,
          iface,
          stop: async () => {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT'); // tcpdump flushes, closes the file and prints its counts
            await exited;
            return parseTcpdumpStats(stderr);
          },
        });
      }
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!listening) reject(new Error(runWords().capture.stopped(code, stderr.trim())));
    });
  });
}

/**
 * Read the frames tcpdump has written so far, while it runs (-U writes each packet at once), until
 * `until` holds or `timeoutMs` passes: the narration of a step can then name the frames of that
 * step. Frame numbers are final: the pcapng written at the end keeps every frame in this order.
 * A record tcpdump is still writing makes the file end inside it: that look is simply retried.
 */
export async function captureSoFar(capture: RunningCapture, until: (c: CaptureFile) => boolean, timeoutMs = 3000): Promise<CaptureFile | undefined> {
  const deadline = Date.now() + timeoutMs;
  let last: CaptureFile | undefined;
  for (;;) {
    try {
      last = readCapture(fs.readFileSync(capture.rawFile));
      if (until(last)) return last;
    } catch {
      /* not written yet, or a record half written: look again */
    }
    if (Date.now() > deadline) return last;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** What the run's capture holds, for the narration and the trace. */
export interface CaptureRecord {
  file: string;
  filter: string;
  frames: number;
  bytes: number;
  stats: CaptureStats;
  /** Frames tcpdump says it lost (0 in a good run); undefined if it did not say. */
  lost: number | undefined;
  /** TLS connections in the capture (by their ClientHello) and the key log lines embedded for them. */
  tlsConnections: number;
  secretLines: number;
}

/**
 * Stop tcpdump, then write the pcapng: the frames tcpdump wrote, and the key log lines of the
 * ClientHellos among them in a Decryption Secrets Block. `keyLogReady` waits until the servers
 * have written every secret of the run (the SLB writes its key log off the request path).
 */
export async function finishCapture(capture: RunningCapture, keyLogFile: string, keyLogReady: () => Promise<void> = async () => {}): Promise<CaptureRecord> {
  const stats = await capture.stop();
  await keyLogReady();
  const raw = readCapture(fs.readFileSync(capture.rawFile));
  const randoms = clientRandoms(raw);
  const keyLog = fs.existsSync(keyLogFile) ? fs.readFileSync(keyLogFile, 'utf8') : '';
  const lines = keyLogLinesFor(keyLog, randoms);
  const iface = raw.interfaces[0] ?? { linkType: 1, snapLength: SNAP_LENGTH };
  const out = writePcapng({
    interface: { linkType: iface.linkType, snapLength: iface.snapLength, name: capture.iface },
    frames: raw.frames,
    tlsKeyLog: lines.length ? `${lines.join('\n')}\n` : undefined,
    application: 'buy-online-lab (tcpdump, then lab/observe/pcapng.ts)',
  });
  // 0600, like the key log: the file carries the run's TLS secrets (the Decryption Secrets Block).
  fs.rmSync(capture.file, { force: true });
  fs.writeFileSync(capture.file, out, { mode: 0o600 });
  fs.rmSync(capture.rawFile, { force: true });
  return { file: capture.file, filter: capture.filter, frames: raw.frames.length, bytes: out.length, stats, lost: lostFrames(stats), tlsConnections: randoms.size, secretLines: lines.length };
}

/** The warning a run that lost frames must print: loud, and saying what it means. */
export function lostFramesWarning(record: Pick<CaptureRecord, 'lost' | 'file'>): string | undefined {
  const w = runWords().capture;
  if (record.lost === undefined) return w.lostUnknown(record.file);
  if (record.lost === 0) return undefined;
  return w.lost(record.lost, record.file);
}
