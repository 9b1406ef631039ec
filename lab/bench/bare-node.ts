// The bench's third column: what this Node itself does under the same load, with none of the lab's
// code. A lab row that misses its target is measured against two things: the peer (how far from
// the real thing) and this (how much of the gap is Node's own). Run as its own process on the
// servers' core, as the lab is:
//   UDP  every datagram goes back at once with the QR bit set: a DNS "answer" that is the question
//        itself, the least a DNS server on Node's dgram can do per query;
//   HTTP GET /<n> gets n bytes from memory, 200, with the header section a cache HIT carries: the
//        origin's fields as the cache stored them, then the cache's own Age, Cache-Status and Via.
//        The lab's edge sends these thirteen, nginx's proxy_cache the origin's plus its own: the
//        same bytes to write. Node spends a microsecond or two on each field (validation, the
//        head as a string), so a server answering with three fields would hide half of Node's
//        own cost for this answer.
// It prints its two ports as one JSON line, then serves until it is stopped.
import dgram from 'node:dgram';
import http from 'node:http';

const host = process.argv[2] ?? '127.0.0.1';
const bodies = new Map<number, Buffer>();

const udp = dgram.createSocket('udp4');
udp.on('message', (query, from) => {
  query[2]! |= 0x80; // QR: this is a response (RFC 1035 §4.1.1)
  udp.send(query, from.port, from.address);
});

// As the lab's edge stores them from its origin (servers/cdn/origin.ts), values of the same length.
const stored = {
  server: 'lab-origin',
  'x-served-by': 'origin',
  'cache-control': 'public, max-age=3600',
  'cdn-cache-control': 'max-age=86400, stale-if-error=86400',
  etag: '"nlDHnqrCm7tZbFTo0HPyGA9YjAs"',
  'accept-ranges': 'bytes',
  'last-modified': 'Wed, 02 Dec 2026 13:45:33 GMT',
  'content-type': 'image/png',
  date: 'Wed, 02 Dec 2026 15:23:54 GMT',
};

const web = http.createServer((req, res) => {
  const size = Math.min(Number(req.url?.slice(1)) || 0, 16 * 1024 * 1024);
  let body = bodies.get(size);
  if (!body) bodies.set(size, (body = Buffer.alloc(size, 0x2e)));
  res.writeHead(200, { ...stored, 'content-length': body.length, age: '35', 'cache-status': 'edge-north; hit; ttl=86364', via: '1.1 edge-north' });
  res.end(body);
});

udp.bind(0, host, () => {
  web.listen(0, host, () => {
    const port = (s: { address(): unknown }) => (s.address() as { port: number }).port;
    console.log(JSON.stringify({ udp: port(udp), http: port(web) }));
  });
});
