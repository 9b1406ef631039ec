// The bench's third column: what this Node itself does under the same load, with none of the lab's
// code. A lab row that misses its target is measured against two things: the peer (how far from
// the real thing) and this (how much of the gap is Node's own). Run as its own process on the
// servers' core, as the lab is:
//   UDP  every datagram goes back at once with the QR bit set: a DNS "answer" that is the question
//        itself, the least a DNS server on Node's dgram can do per query;
//   HTTP GET /<n> gets n bytes from memory, 200, as a cache HIT does (the same size as the lab's).
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

const web = http.createServer((req, res) => {
  const size = Math.min(Number(req.url?.slice(1)) || 0, 16 * 1024 * 1024);
  let body = bodies.get(size);
  if (!body) bodies.set(size, (body = Buffer.alloc(size, 0x2e)));
  res.writeHead(200, { 'content-type': 'image/png', 'content-length': body.length, 'cache-control': 'max-age=86400' });
  res.end(body);
});

udp.bind(0, host, () => {
  web.listen(0, host, () => {
    const port = (s: { address(): unknown }) => (s.address() as { port: number }).port;
    console.log(JSON.stringify({ udp: port(udp), http: port(web) }));
  });
});
