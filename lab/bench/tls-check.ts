// Is the handshake row measuring what it says: full TLS 1.2 handshakes with RSA key exchange
// (TLS_RSA_WITH_AES_128_GCM_SHA256), none resumed? Two checks, for the lab and the peer alike:
//   1. Ask twice, offering the first session back: the server must choose the seed's suite and
//      must not resume (no session ticket, no session cache).
//   2. Watch wrk itself on the wire (tshark, when present): every ServerHello must be followed by a
//      Certificate and a ClientKeyExchange, which only a full RSA handshake has.
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { lastLines, runTool, startServer, stopServer, waitUntil, which } from './procs.ts';

const RSA_AES128_GCM = 0x009c; // TLS_RSA_WITH_AES_128_GCM_SHA256 (RFC 5288)

function handshake(host: string, port: number, servername: string, session?: Buffer): Promise<{ protocol: string; cipher: string; reused: boolean; session?: Buffer }> {
  return new Promise((resolve, reject) => {
    // The client's defaults (any version, any suite), as wrk's OpenSSL offers them: the server chooses.
    const socket = tls.connect({ host, port, servername, rejectUnauthorized: false, ...(session && { session }) });
    let saved: Buffer | undefined;
    socket.on('session', (s: Buffer) => (saved = s));
    socket.setTimeout(5000, () => socket.destroy(new Error('no handshake in 5 s')));
    socket.once('secureConnect', () => {
      const result = { protocol: socket.getProtocol() ?? '?', cipher: socket.getCipher().standardName, reused: socket.isSessionReused() };
      // TLS 1.2 hands out the session at the handshake; wait a moment for it, then close.
      setTimeout(() => {
        socket.end();
        resolve({ ...result, session: saved ?? socket.getSession() });
      }, 50);
    });
    socket.once('error', reject);
  });
}

/** Check 1: the suite and version the server picks, and that offering its own session back is refused. */
export async function checkNoResumption(host: string, port: number, servername: string): Promise<string | undefined> {
  const first = await handshake(host, port, servername);
  if (first.protocol !== 'TLSv1.2' || first.cipher !== 'TLS_RSA_WITH_AES_128_GCM_SHA256') {
    return `negotiated ${first.protocol} ${first.cipher}, not TLSv1.2 TLS_RSA_WITH_AES_128_GCM_SHA256`;
  }
  const second = await handshake(host, port, servername, first.session);
  return second.reused ? 'a session was resumed' : undefined;
}

/**
 * Check 2: run `load` (wrk for about a second, `cutOff` connections at a time) while tshark
 * records the port, then count the handshake messages. Returns what it saw, or why it could not look.
 */
export async function watchHandshakes(host: string, port: number, dir: string, cutOff: number, load: () => Promise<unknown>): Promise<{ ok: boolean; text: string }> {
  const tshark = which('tshark');
  if (!tshark) return { ok: true, text: 'not watched on the wire: tshark is missing' };
  const file = path.join(dir, `handshakes-${port}.pcapng`);
  const log = path.join(dir, `tshark-${port}.log`);
  const capture = startServer(tshark, ['-i', 'lo', '-f', `tcp port ${port} and host ${host}`, '-a', 'duration:20', '-w', file], { pin: [], logFile: log });
  try {
    // tshark says "Capturing on ..." once the capture runs. One that cannot (no permission to
    // capture) leaves the first check as the only one, and says so.
    try {
      await waitUntil(() => {
        if (capture.exitCode !== null) throw new Error('exited');
        return fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('Capturing on');
      }, 15_000, 'tshark');
    } catch {
      return { ok: true, text: `not watched on the wire: tshark could not capture on lo (${lastLines(log, 1)})` };
    }
    await load();
    await new Promise((r) => setTimeout(r, 300)); // the last frames
  } finally {
    await stopServer(capture);
  }
  const { output } = await runTool(tshark, ['-r', file, '-Y', 'tls.handshake', '-T', 'fields', '-e', 'tls.handshake.type', '-e', 'tls.handshake.ciphersuite'], { timeoutMs: 30_000 });
  fs.rmSync(file, { force: true });
  let hellos = 0;
  let certificates = 0;
  let keyExchanges = 0;
  const suites = new Set<number>();
  for (const line of output.split('\n')) {
    const [types, ciphersuites] = line.split('\t');
    if (!types || !/^[\d,]+$/.test(types)) continue;
    const t = types.split(',').map(Number);
    // A ServerHello's frame: its one suite (a ClientHello frame lists many, but has no type 2).
    if (t.includes(2)) {
      hellos += t.filter((x) => x === 2).length;
      for (const s of (ciphersuites ?? '').split(',')) if (s) suites.add(Number(s));
    }
    certificates += t.filter((x) => x === 11).length;
    keyExchanges += t.filter((x) => x === 16).length;
  }
  const suiteText = [...suites].map((s) => (s === RSA_AES128_GCM ? 'TLS_RSA_WITH_AES_128_GCM_SHA256' : `0x${s.toString(16).padStart(4, '0')}`)).join(', ') || 'none';
  // A resumed TLS 1.2 handshake has no Certificate and no ClientKeyExchange: a full one has both.
  // The connections open when wrk stops may end before their ClientKeyExchange (at most `cutOff`).
  const ok = hellos > 0 && certificates === hellos && hellos - keyExchanges <= cutOff && suites.size === 1 && suites.has(RSA_AES128_GCM);
  return { ok, text: `${hellos} handshakes on the wire, ${certificates} with a Certificate, ${keyExchanges} with a ClientKeyExchange; suite ${suiteText}` };
}
