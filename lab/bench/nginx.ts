// nginx as the peer of the lab's edge cache: proxy_cache in front of the same origin, keeping what
// the origin's Cache-Control allows (the pictures: an hour), one worker process. It says HIT or
// MISS in X-Cache-Status, where the lab's edge says it in Cache-Status (RFC 9211).
// Settings otherwise as Debian ships nginx: sendfile and the access log on.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { freePort, lastLines, startServer, stopServer, tcpOpen, waitUntil, which, type Pinning } from './procs.ts';

export interface RunningNginx {
  /** The server's process (its workers are its children): what the bench reads CPU time from. */
  pid: number;
  host: string;
  port: number;
  stop(): Promise<void>;
}

export async function startNginx(opts: { dir: string; host: string; origin: { host: string; port: number }; siteName: string; pinning: Pinning }): Promise<RunningNginx> {
  const nginx = which('nginx');
  if (!nginx) throw new Error('nginx is missing (apt-get install nginx-light)');
  const dir = opts.dir;
  fs.mkdirSync(path.join(dir, 'cache'), { recursive: true });
  const port = await freePort(opts.host);
  // Started by root, nginx's worker would become "nobody", who may not enter the bench's private
  // folder (0700): it stays the user who runs the bench.
  const user = process.getuid?.() === 0 ? `user ${os.userInfo().username};` : '';
  const conf = `
# One worker: the lab's edge is one Node process.
worker_processes 1;
${user}
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
    access_log ${dir}/access.log;
    sendfile on;
    tcp_nopush on;
    # nginx's own temporary folders, in the bench's folder rather than /var/lib/nginx.
    client_body_temp_path ${dir}/body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;
    proxy_cache_path ${dir}/cache levels=1:2 keys_zone=edge:10m max_size=1g inactive=1h use_temp_path=off;
    upstream origin {
        server ${opts.origin.host}:${opts.origin.port};
        keepalive 16;
    }
    server {
        listen ${opts.host}:${port};
        location / {
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            # The origin serves its own names only (else 421), as it does behind the lab's caches.
            proxy_set_header Host ${opts.siteName};
            proxy_cache edge;
            add_header X-Cache-Status $upstream_cache_status always;
        }
    }
}
`;
  fs.writeFileSync(path.join(dir, 'nginx.conf'), conf);
  // -e: the error log before the configuration is read (else it tries /var/log/nginx first).
  const child = startServer(nginx, ['-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log'), '-p', dir], { pin: opts.pinning.server, logFile: path.join(dir, 'nginx.out') });
  try {
    await waitUntil(() => {
      if (child.exitCode !== null) throw new Error('exited');
      return tcpOpen(opts.host, port);
    }, 10_000, 'nginx');
  } catch (err) {
    await stopServer(child);
    throw new Error(`nginx did not start: ${(err as Error).message}; ${lastLines(path.join(dir, 'error.log'))} ${lastLines(path.join(dir, 'nginx.out'))}`);
  }
  return { host: opts.host, port, pid: child.pid!, stop: () => stopServer(child) };
}

/** GET a URL with a Host header; its status and headers, the body read and dropped. */
export function httpGet(url: string, host: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { host }, agent: false, timeout: 10_000 }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer in 10 s`)));
    req.on('error', reject);
  });
}
