// The bench's bare-Node column for the SLB: the least an HTTPS load balancer built on Node's own
// https and http modules does per request, with none of the lab's code. It terminates TLS with the
// lab's certificate chain, sends each request to the next app server in turn over pooled
// keep-alive connections (from the SLB's own address, as HAProxy does: the app servers answer
// only their load balancer), adds X-Forwarded-For, and streams the answer back. No limits, no
// health checks, no pipelining rules, no log: what is left is Node's cost for the same work.
//   node --import tsx bare-node-proxy.ts HOST CHAIN.crt LEAF.key SOURCE APP_HOST:PORT…
// It prints its port as one JSON line, then serves until it is stopped.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';

const [host = '127.0.0.1', chain = '', key = '', source = '127.0.0.1', ...apps] = process.argv.slice(2);
const upstreams = apps.map((app) => ({ host: app.split(':')[0]!, port: Number(app.split(':')[1]) }));
const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
let next = 0;

const server = https.createServer({ cert: fs.readFileSync(chain), key: fs.readFileSync(key) }, (req, res) => {
  const app = upstreams[next++ % upstreams.length]!;
  const headers = { ...req.headers, 'x-forwarded-for': req.socket.remoteAddress ?? '' };
  const forward = http.request({ host: app.host, port: app.port, localAddress: source, method: req.method, path: req.url, headers, agent }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  forward.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(forward);
});

server.listen(0, host, () => console.log(JSON.stringify({ https: (server.address() as { port: number }).port })));
