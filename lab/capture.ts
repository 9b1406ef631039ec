// An optional packet capture of the run, for Wireshark: tcpdump on the loopback interface, only
// the lab's own traffic. With the TLS key log beside it, Wireshark shows the order in clear text.
// Without tcpdump (or without the right to capture) the walkthrough says so in one line and goes on.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import os from 'node:os';

export interface RunningCapture {
  file: string;
  filter: string;
  stop(): Promise<void>;
}

/** Is tcpdump there? One sentence if not, saying how to get it. */
export function captureUnavailable(): string | undefined {
  if (os.platform() !== 'linux') return 'no capture: the lab captures on Linux loopback only (use Wireshark on lo0 yourself)';
  if (spawnSync('tcpdump', ['--version']).error) return 'no capture: tcpdump is not installed (apt install tcpdump) — the run is the same without it';
  return undefined;
}

/**
 * A BPF filter for the lab's traffic only: its addresses when each role has its own (127.0.0.x and
 * the phone's 127.10.x.x), else its ports on 127.0.0.1.
 */
export function labFilter(hosts: string[], ports: number[], perRole: boolean): string {
  if (perRole) return [...new Set(hosts)].map((h) => `host ${h}`).join(' or ');
  return [...new Set(ports)].map((p) => `port ${p}`).join(' or ');
}

/** Start tcpdump and wait until it really listens (it says so on stderr). */
export function startCapture(file: string, filter: string, timeoutMs = 5000): Promise<RunningCapture> {
  return new Promise((resolve, reject) => {
    // --immediate-mode and -U: hand over and write each packet at once (else the kernel holds them
    // in blocks, and a short run ends before the first block is full); -s 0: whole packets; -Z root: keep the right to write the file
    // into the lab's folder (tcpdump otherwise drops to its own user after opening the interface).
    const asRoot = process.getuid?.() === 0 ? ['-Z', 'root'] : [];
    const child: ChildProcess = spawn('tcpdump', ['-i', 'lo', '--immediate-mode', '-U', '-s', '0', ...asRoot, '-w', file, filter], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`tcpdump did not start within ${timeoutMs} ms: ${stderr.trim()}`));
    }, timeoutMs);
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk;
      if (/listening on/.test(stderr)) {
        clearTimeout(timer);
        resolve({
          file,
          filter,
          stop: () =>
            new Promise<void>((done) => {
              if (child.exitCode !== null) return done();
              child.once('exit', () => done());
              child.kill('SIGINT'); // tcpdump flushes and closes the file on SIGINT
            }),
        });
      }
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tcpdump stopped (exit ${code}): ${stderr.trim() || 'no reason given'}`));
    });
  });
}
