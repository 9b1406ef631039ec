// HAProxy as the peer of the lab's SLB: TLS terminated with the same certificate chain and key, the
// same app servers behind it (round robin, health-checked every second on GET /healthz, as the
// SLB does), the same X-Forwarded-* headers, and its connections to the apps made from the SLB's
// own address, so the apps treat both alike. One thread: the lab's SLB is one Node process.
//
// Two front ends, as the SLB has two ports: the shop's (TLS 1.3 or forward-secret 1.2) and the
// classic one, which speaks only the seed's TLS 1.2 with RSA key exchange (AES128-GCM-SHA256) and
// resumes nothing: no session tickets, no session cache, so every connection is a full handshake.
import fs from 'node:fs';
import path from 'node:path';
import { FORWARD_SECRET_TLS12_CIPHERS, CLASSIC_CIPHER } from '../../servers/net/tls-modes.ts';
import { freePort, lastLines, startServer, stopServer, tcpOpen, waitUntil, which, type Pinning } from './procs.ts';

export interface RunningHaproxy {
  /** The server's process (its workers are its children): what the bench reads CPU time from. */
  pid: number;
  host: string;
  port: number;
  classicPort: number;
  stop(): Promise<void>;
}

export async function startHaproxy(opts: {
  dir: string;
  host: string;
  certChainFile: string;
  keyFile: string;
  apps: Array<{ name: string; host: string; port: number }>;
  /** Where the SLB's own connections to the apps come from. */
  sourceAddress: string;
  pinning: Pinning;
}): Promise<RunningHaproxy> {
  const haproxy = which('haproxy');
  if (!haproxy) throw new Error('haproxy is missing (apt-get install haproxy)');
  const dir = opts.dir;
  fs.mkdirSync(dir, { recursive: true });
  // HAProxy wants the chain and its key in one file.
  const pem = path.join(dir, 'slb.pem');
  fs.writeFileSync(pem, fs.readFileSync(opts.certChainFile, 'utf8') + fs.readFileSync(opts.keyFile, 'utf8'), { mode: 0o600 });
  const port = await freePort(opts.host);
  const classicPort = await freePort(opts.host);
  const conf = `
global
    nbthread 1
    # Room for wrk's 200 connections, within the usual open-file limit.
    maxconn 4096
    # No session cache: a classic connection can never be resumed (the lab's classic port neither).
    tune.ssl.cachesize 0

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    option forwardfor

frontend shop
    bind ${opts.host}:${port} ssl crt ${pem} ssl-min-ver TLSv1.2 ciphers ${FORWARD_SECRET_TLS12_CIPHERS}
    default_backend apps

frontend classic
    bind ${opts.host}:${classicPort} ssl crt ${pem} ssl-min-ver TLSv1.2 ssl-max-ver TLSv1.2 ciphers ${CLASSIC_CIPHER} no-tls-tickets
    default_backend apps

backend apps
    balance roundrobin
    http-request set-header X-Forwarded-Proto https
    http-request set-header X-Forwarded-Host %[req.hdr(host)]
    option httpchk GET /healthz
${opts.apps.map((a) => `    server ${a.name} ${a.host}:${a.port} source ${opts.sourceAddress} check inter 1s`).join('\n')}
`;
  fs.writeFileSync(path.join(dir, 'haproxy.cfg'), conf);
  // -db: foreground, no daemon.
  const child = startServer(haproxy, ['-db', '-f', path.join(dir, 'haproxy.cfg')], { pin: opts.pinning.server, logFile: path.join(dir, 'haproxy.log') });
  try {
    await waitUntil(async () => {
      if (child.exitCode !== null) throw new Error('exited');
      return (await tcpOpen(opts.host, port)) && (await tcpOpen(opts.host, classicPort));
    }, 10_000, 'haproxy');
  } catch (err) {
    await stopServer(child);
    throw new Error(`haproxy did not start: ${(err as Error).message}; ${lastLines(path.join(dir, 'haproxy.log'))}`);
  }
  return { host: opts.host, port, classicPort, pid: child.pid!, stop: () => stopServer(child) };
}
