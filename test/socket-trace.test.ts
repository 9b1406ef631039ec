// The kernel's record of TCP state changes (lab/observe/socket-trace.ts): the tracepoint's lines
// parsed, one connection's changes picked out (its first one comes before it has a port), and, as
// root, a real connection's handshake caught in SYN-SENT and SYN-RECEIVED however fast it was.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { changesOf, parseTrace, startSocketTrace } from '../lab/observe/socket-trace.ts';

const line = (t: string, sport: number, dport: number, saddr: string, daddr: string, from: string, to: string) =>
  `  node-1  [001] ..... ${t}: inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP sport=${sport} dport=${dport} saddr=${saddr} daddr=${daddr} saddrv6=::ffff:${saddr} daddrv6=::ffff:${daddr} oldstate=${from} newstate=${to}`;

describe('the kernel tracepoint sock:inet_sock_set_state', () => {
  it('parses its lines and picks one connection, both ends, the port-less SYN-SENT included', () => {
    const text = [
      '# tracer: nop',
      line('10.000100', 0, 443, '100.64.1.10', '203.0.113.80', 'TCP_CLOSE', 'TCP_SYN_SENT'),
      line('10.000300', 40000, 443, '100.64.1.10', '203.0.113.80', 'TCP_SYN_SENT', 'TCP_ESTABLISHED'),
      line('10.000310', 443, 40000, '203.0.113.80', '100.64.1.10', 'TCP_LISTEN', 'TCP_SYN_RECV'),
      line('10.000320', 443, 51111, '203.0.113.80', '100.64.2.10', 'TCP_LISTEN', 'TCP_SYN_RECV'), // another client
      line('10.000330', 443, 40000, '203.0.113.80', '100.64.1.10', 'TCP_SYN_RECV', 'TCP_ESTABLISHED'),
    ].join('\n');
    const all = parseTrace(text);
    expect(all).toHaveLength(5);
    expect(all[0]).toMatchObject({ time: 10.0001, sport: 0, dport: 443, oldstate: 'TCP_CLOSE', newstate: 'TCP_SYN_SENT' });
    const own = changesOf(all, { address: '100.64.1.10', port: 40000 }, { address: '203.0.113.80', port: 443 });
    expect(own.map((c) => `${c.side} ${c.newstate}`)).toEqual(['client TCP_SYN_SENT', 'client TCP_ESTABLISHED', 'server TCP_SYN_RECV', 'server TCP_ESTABLISHED']);
  });

  const root = process.platform === 'linux' && process.getuid?.() === 0;
  it.skipIf(!root)('as root, catches a real handshake in SYN-SENT and SYN-RECEIVED', async () => {
    const server = net.createServer((s) => s.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const trace = startSocketTrace(port, `bol-test-${process.pid}`);
    if (!('stop' in trace)) throw new Error(trace.unavailable);
    const client = net.connect(port, '127.0.0.1');
    let localPort = 0;
    client.on('connect', () => (localPort = client.localPort!));
    await new Promise((r) => client.on('close', r).resume());
    server.close();
    const own = changesOf(trace.stop(), { address: '127.0.0.1', port: localPort }, { address: '127.0.0.1', port });
    const seen = own.map((c) => `${c.side} ${c.oldstate}→${c.newstate}`);
    expect(seen).toEqual(expect.arrayContaining(['client TCP_CLOSE→TCP_SYN_SENT', 'client TCP_SYN_SENT→TCP_ESTABLISHED', 'server TCP_LISTEN→TCP_SYN_RECV', 'server TCP_SYN_RECV→TCP_ESTABLISHED']));
  });
});

describe('tracefs, when the lab had to mount it', () => {
  const root = process.platform === 'linux' && process.getuid?.() === 0;
  it.skipIf(!root)('is unmounted again after the trace (in a mount namespace of its own, where it starts unmounted)', async () => {
    const { spawnSync } = await import('node:child_process');
    // A private mount namespace: unmounting tracefs there touches nothing of the machine's. And a
    // temporary folder of its own: other tests (and other suites) trace at the same time, each
    // with its own /tmp/lab-tracefs-* while it runs, and /tmp is shared. The trace instance is
    // named by the process too: every tracefs mount shows the same instances, machine-wide.
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-trace-test-'));
    const script = [
      `export TMPDIR=${tmp}`,
      'umount /sys/kernel/tracing 2>/dev/null',
      'test -d /sys/kernel/tracing/instances && { echo STILL-MOUNTED; exit 1; }',
      `node --import tsx -e "import('./lab/observe/socket-trace.ts').then(({ startSocketTrace }) => { const t = startSocketTrace(4999, 'lab-test-umount-' + process.pid); if ('unavailable' in t) { console.log('UNAVAILABLE', t.unavailable); process.exit(1); } t.stop(); console.log('TRACED'); })"`,
      // Its own mount is gone too: no tracefs left mounted anywhere by the lab, no directory of its own left.
      `grep -q " ${tmp}/lab-tracefs-" /proc/self/mounts && echo MOUNT-LEFT`,
      `ls -d ${tmp}/lab-tracefs-* 2>/dev/null && echo DIR-LEFT`,
      'test -d /sys/kernel/tracing/instances && echo LEFT-MOUNTED || echo UNMOUNTED',
    ].join('\n');
    const out = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], { encoding: 'utf8' });
    fs.rmSync(tmp, { recursive: true, force: true });
    expect(out.stdout, out.stderr).toContain('TRACED');
    expect(out.stdout).not.toMatch(/MOUNT-LEFT|DIR-LEFT/);
    expect(out.stdout.trim().split('\n').at(-1)).toBe('UNMOUNTED');
  });
});
