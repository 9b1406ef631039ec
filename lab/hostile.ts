// `npm run hostile`: the bounded floods a hostile client would try, against a lab of its own
// (fresh LAB_DIR, ephemeral ports, loopback only), and what held. Not part of `npm test`: it
// takes about a minute and loads both cores. Every loop is bounded in count and in time.
//
// Each probe prints one row: what was sent, what the lab did, and whether the lab held (the
// legitimate request made during or after the attack still succeeded, and the limit did its job).
import dgram from 'node:dgram';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { startLab, type RunningLab } from './up.ts';
import { SHOP_HOST } from './topology.ts';

const PHONE = '127.10.1.10';
const SEED_BODY = '{"order":{"date":"2018-07-01","className":"趣谈网络协议","Author":"刘超","price":"68"}}';

interface Row {
  probe: string;
  load: string;
  result: string;
  held: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const role = (lab: RunningLab, name: string) => lab.state.roles.find((r) => r.name === name)!;

/** A query for `name` IN A with RD set, built by hand (RFC 1035 §4.1): the flood needs no library. */
function dnsQuery(name: string, id: number): Buffer {
  const header = Buffer.from([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
  const labels = name.split('.').filter(Boolean).map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')]));
  return Buffer.concat([header, ...labels, Buffer.from([0, 0, 1, 0, 1])]);
}

/** Send `count` queries for random names (each a fresh walk) within `ms`, count the rcodes. */
async function dnsFlood(lab: RunningLab, count: number, ms: number) {
  const dns = role(lab, 'local-dns');
  const sockets = await Promise.all(
    Array.from({ length: 8 }, () => new Promise<dgram.Socket>((resolve) => {
      const s = dgram.createSocket('udp4');
      s.bind(0, PHONE, () => resolve(s));
    })),
  );
  const rcodes = new Map<number, number>();
  for (const s of sockets) s.on('message', (msg) => rcodes.set(msg[3]! & 0x0f, (rcodes.get(msg[3]! & 0x0f) ?? 0) + 1));
  const deadline = Date.now() + ms;
  let sent = 0;
  while (sent < count && Date.now() < deadline) {
    for (let i = 0; i < 200 && sent < count; i++, sent++) {
      const name = `flood-${sent}-${Math.random().toString(36).slice(2, 8)}.geektime.test`;
      sockets[sent % sockets.length]!.send(dnsQuery(name, sent & 0xffff), dns.port, dns.host);
    }
    await sleep(10);
  }
  await sleep(1_500); // the last answers
  for (const s of sockets) s.close();
  return { sent, rcodes };
}

/** One legitimate lookup over UDP from the other region's phone. */
function legitLookup(lab: RunningLab): Promise<number | 'timeout'> {
  const dns = role(lab, 'local-dns');
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const t = setTimeout(() => (s.close(), resolve('timeout')), 3_000);
    s.bind(0, '127.10.2.10', () => s.send(dnsQuery('www.geektime.test', 4242), dns.port, dns.host));
    s.on('message', (msg) => {
      clearTimeout(t);
      s.close();
      resolve(msg[3]! & 0x0f);
    });
  });
}

/** The seed's order through the SLB from the south phone; the status code or the error. */
function legitOrder(lab: RunningLab): Promise<number | string> {
  const slb = role(lab, 'slb');
  return new Promise((resolve) => {
    const req = https.request(
      {
        host: slb.host, port: slb.port, servername: SHOP_HOST, method: 'POST', path: '/purchaseOrder', localAddress: '127.10.2.10',
        ca: fs.readFileSync(lab.state.rootCa), agent: false, timeout: 5_000,
        headers: { host: SHOP_HOST, 'content-type': 'application/json', 'idempotency-key': `hostile-${Math.random()}` },
      },
      (res) => (res.resume(), res.on('end', () => resolve(res.statusCode!))),
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve(err.message));
    req.end(SEED_BODY);
  });
}

function httpGet(url: string, headers: Record<string, string> = {}, localAddress = '127.10.2.10'): Promise<{ status: number | string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve) => {
    const req = http.get(url, { headers, agent: false, localAddress, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ status: err.message, headers: {} }));
  });
}

/**
 * Open up to `count` connections from a few addresses, each dripping one byte per second for
 * `ms` (a request that never completes), and count how many the server refused or cut.
 */
async function trickle(host: string, port: number, count: number, ms: number, opts: { tls?: boolean; first: Buffer; drip: Buffer }) {
  const sockets: net.Socket[] = [];
  let connected = 0;
  let closedByServer = 0;
  const sources = Array.from({ length: 8 }, (_, i) => `127.66.0.${i + 1}`);
  const done = Date.now() + ms;
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      new Promise<void>((resolve) => {
        const options = { host, port, localAddress: sources[i % sources.length]!, rejectUnauthorized: false, servername: SHOP_HOST };
        const s: net.Socket = opts.tls ? tls.connect(options, () => ((connected++), s.write(opts.first), resolve())) : net.connect(options, () => ((connected++), s.write(opts.first), resolve()));
        s.on('error', () => resolve());
        s.on('close', () => {
          if (Date.now() < done) closedByServer++;
          resolve();
        });
        sockets.push(s);
      })),
  );
  const drip = setInterval(() => {
    for (const s of sockets) if (!s.destroyed) s.write(opts.drip);
  }, 1_000);
  return {
    sockets,
    /** Wait out the attack and report. */
    async end() {
      await sleep(Math.max(0, done - Date.now()));
      clearInterval(drip);
      const held = heldByServer(host, port);
      for (const s of sockets) s.destroy();
      return { attempted: count, connected, closedByServer, held: held ?? 'unknown' };
    },
  };
}

/**
 * Connections the server side still holds a descriptor for, on host:port (Linux: this process's
 * fds and /proc/net/tcp; the lab runs in this process). A client's own view can mislead: a socket
 * the server closed looks open to a client that never reads. undefined where /proc is missing.
 */
function heldByServer(host: string, port: number): number | undefined {
  let inodes: Set<string>;
  let table: string;
  try {
    inodes = new Set(
      fs.readdirSync('/proc/self/fd').map((fd) => {
        try {
          return /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/self/fd/${fd}`))?.[1] ?? '';
        } catch {
          return '';
        }
      }),
    );
    table = fs.readFileSync('/proc/net/tcp', 'utf8');
  } catch {
    return undefined;
  }
  // /proc/net/tcp writes an IPv4 address as the little-endian hex of its 32 bits, then :port in hex.
  const local = `${host.split('.').reverse().map((b) => Number(b).toString(16).padStart(2, '0')).join('').toUpperCase()}:${port.toString(16).padStart(4, '0').toUpperCase()}`;
  let held = 0;
  for (const line of table.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === local && f[3] !== '0A' && inodes.has(f[9] ?? '')) held++; // 0A = LISTEN
  }
  return held;
}

function dirBytes(file: string): number {
  const dir = path.dirname(file);
  const base = path.basename(file);
  let total = 0;
  for (const f of fs.readdirSync(dir)) if (f === base || f.startsWith(`${base}.`)) total += fs.statSync(path.join(dir, f)).size;
  return total;
}

/** The probes, by name: `npm run hostile -- slb-slowloris rangeamp` runs only those. */
const PROBES = ['dns-flood', 'dns-trickle', 'slb-slowloris', 'edge-slowloris', 'silent-flood', 'pipeline-burst', 'rangeamp', 'revalidation', 'purge'];

async function main(argv: string[]): Promise<number> {
  const unknown = argv.filter((a) => !PROBES.includes(a));
  if (unknown.length) throw new Error(`unknown probe ${unknown.join(', ')}; the probes are ${PROBES.join(', ')}`);
  const want = (probe: string) => argv.length === 0 || argv.includes(probe);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-hostile-'));
  process.env.LAB_DIR = dir;
  const lab = await startLab({ ephemeral: true });
  const rows: Row[] = [];
  const say = (row: Row) => {
    rows.push(row);
    console.log(`${row.held ? 'held ' : 'FAIL '} ${row.probe.padEnd(22)} ${row.load}\n       ${row.result}`);
  };
  try {
    console.log(`A lab of its own in ${dir}; every load below is bounded and stays on loopback.\n`);

    // 1. DNS query flood: every query a fresh walk; the walk log must stay capped and answers keep coming.
    if (want('dns-flood')) {
      const before = Date.now();
      const { sent, rcodes } = await dnsFlood(lab, 20_000, 8_000);
      const legit = await legitLookup(lab);
      const walkBytes = dirBytes(lab.state.walkLog);
      const servfail = rcodes.get(2) ?? 0;
      const answered = [...rcodes.values()].reduce((a, b) => a + b, 0);
      say({
        probe: 'DNS query flood',
        load: `${sent} random names in ${((Date.now() - before) / 1000).toFixed(1)} s from ${PHONE}`,
        result: `${answered} answered (NXDOMAIN ${rcodes.get(3) ?? 0}, SERVFAIL ${servfail}); walk log ${(walkBytes / 1024).toFixed(0)} KiB on disk; a lookup from the south phone afterwards: rcode ${legit}`,
        held: legit === 0 && walkBytes <= 16 * 1024 * 1024,
      });
    }

    // 2. DNS over TCP trickle: connections that never finish a message.
    if (want('dns-trickle')) {
      const dns = role(lab, 'local-dns');
      // A length prefix promising a 40-byte message, then its bytes one a second: never complete.
      const attack = await trickle(dns.host, dns.port, 2_000, 13_000, { first: Buffer.from([0, 40]), drip: Buffer.from([0]) });
      const order = await legitOrder(lab);
      const lookup = await legitLookup(lab);
      const r = await attack.end();
      say({
        probe: 'DNS TCP trickle',
        load: `${r.attempted} connections from 8 addresses, 1 byte/s for 13 s (the idle deadline is 10 s)`,
        result: `${r.connected} accepted, ${r.closedByServer} closed by the server before the attack ended, ${r.held} still held by the server; during it: order ${order}, lookup rcode ${lookup}`,
        held: order === 201 && lookup === 0 && r.held === 0,
      });
    }

    // 3. Slowloris on the SLB: TLS done, then headers one byte a second.
    if (want('slb-slowloris')) {
      const slb = role(lab, 'slb');
      const attack = await trickle(slb.host, slb.port, 600, 15_000, { tls: true, first: Buffer.from(`POST /purchaseOrder HTTP/1.1\r\nHost: ${SHOP_HOST}\r\n`), drip: Buffer.from('X') });
      const order = await legitOrder(lab);
      const r = await attack.end();
      say({
        probe: 'slowloris on the SLB',
        load: `${r.attempted} TLS connections from 8 addresses, header bytes 1/s for 15 s`,
        result: `${r.connected} handshakes, ${r.held} still held by the server at the end; during it: order ${order}`,
        held: order === 201 && r.held === 0,
      });
    }

    // 4. Slowloris on an edge cache.
    if (want('edge-slowloris')) {
      const edge = role(lab, 'edge-north');
      const attack = await trickle(edge.host, edge.port, 600, 15_000, { first: Buffer.from(`GET / HTTP/1.1\r\nHost: static.geektime.test\r\n`), drip: Buffer.from('X') });
      const page = await httpGet(`${role(lab, 'edge-south').url}/images/phone.png`, { host: 'static.geektime.test' });
      const same = await httpGet(`${edge.url}/images/phone.png`, { host: 'static.geektime.test' });
      const r = await attack.end();
      say({
        probe: 'slowloris on an edge',
        load: `${r.attempted} connections from 8 addresses, header bytes 1/s for 15 s`,
        result: `${r.connected} accepted, ${r.held} still held by the server at the end; during it: the other edge ${page.status}, this edge from the phone ${same.status}`,
        held: page.status === 200 && same.status === 200 && r.held === 0,
      });
    }

    // 4b. Silent connections: more than the total cap, saying nothing, from several addresses.
    if (want('silent-flood')) {
      const slb = role(lab, 'slb');
      const edge = role(lab, 'edge-north');
      const silent: net.Socket[] = [];
      const open = (host: string, port: number, i: number) =>
        new Promise<void>((resolve) => {
          const s = net.connect({ host, port, localAddress: `127.67.0.${(i % 6) + 1}` }, () => resolve());
          s.on('error', () => resolve());
          silent.push(s);
        });
      for (let i = 0; i < 1_100; i++) await Promise.all([open(slb.host, slb.port, i), open(edge.host, edge.port, i)]);
      await sleep(2_500); // older than the 2 s a connection may stay silent at a cap
      const order = await legitOrder(lab);
      const picture = await httpGet(`${edge.url}/images/phone.png`, { host: 'static.geektime.test' }, PHONE);
      for (const s of silent) s.destroy();
      say({
        probe: 'silent connections',
        load: '1,100 connections to the SLB and 1,100 to an edge from 6 addresses, not a byte sent',
        result: `afterwards: order ${order}, picture from that edge ${picture.status}`,
        held: order === 201 && picture.status === 200,
      });
    }

    // 4c. A pipelined burst: thousands of requests on a few connections, never reading an answer.
    if (want('pipeline-burst')) {
      const slb = role(lab, 'slb');
      const one = `GET /purchaseOrder/po-000001?token=AAAAAAAAAAAAAAAAAAAAAA HTTP/1.1\r\nHost: ${SHOP_HOST}\r\n\r\n`;
      const burst = Buffer.from(one.repeat(3_000));
      const attackers = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          new Promise<tls.TLSSocket>((resolve) => {
            const options: tls.ConnectionOptions & { localAddress: string } = { host: slb.host, port: slb.port, servername: SHOP_HOST, rejectUnauthorized: false, localAddress: `127.68.0.${i + 1}` };
            const s = tls.connect(options, () => {
              s.pause(); // never reads its answers
              s.write(burst);
              resolve(s);
            });
            s.on('error', () => resolve(s));
          })),
      );
      const orders: Array<number | string> = [];
      for (let i = 0; i < 6; i++) {
        orders.push(await legitOrder(lab));
        await sleep(1_000);
      }
      for (const s of attackers) s.destroy();
      say({
        probe: 'pipelined burst',
        load: '10 TLS connections × 3,000 pipelined GETs, never reading; an order a second meanwhile',
        result: `orders: ${orders.join(' ')}`,
        held: orders.every((o) => o === 201),
      });
    }

    // 5. RangeAmp: one byte asked, how many pulled from the origin?
    if (want('rangeamp')) {
      const edge = role(lab, 'edge-north');
      let originBytes = 0;
      const count = (e: { bytes: number }) => (originBytes += e.bytes);
      lab.origin.events.on('request', count);
      let delivered = 0;
      for (let i = 0; i < 20; i++) {
        await new Promise<void>((resolve) => {
          http.get(`${edge.url}/images/phone-large.png?amp=${i}`, { headers: { host: 'static.geektime.test', range: 'bytes=0-0' }, agent: false, localAddress: PHONE }, (res) => {
            res.on('data', (c: Buffer) => (delivered += c.length));
            res.on('end', resolve);
          }).on('error', () => resolve());
        });
      }
      await sleep(500);
      lab.origin.events.off('request', count);
      say({
        probe: 'RangeAmp',
        load: '20 × Range: bytes=0-0 on cold URLs of a 2 MB picture',
        result: `${delivered} bytes delivered, ${originBytes} bytes pulled from the origin (×${delivered ? Math.round(originBytes / delivered) : '∞'})`,
        held: originBytes <= 20 * 64 * 1024,
      });
    }

    // 6. Evicting a stored object with a revalidation the origin refuses (431), then a stampede.
    if (want('revalidation')) {
      const edge = role(lab, 'edge-north');
      const url = `${edge.url}/images/phone-large.png`;
      const host = { host: 'static.geektime.test' };
      await httpGet(url, host, PHONE);
      const attack = await httpGet(url, { ...host, 'cache-control': 'no-cache', 'x-pad': 'a'.repeat(30_000) }, PHONE);
      const fetchesBefore = lab.origin.requestCount('/images/phone-large.png');
      const stampede = await Promise.all(Array.from({ length: 20 }, () => httpGet(url, host, PHONE)));
      const fetches = lab.origin.requestCount('/images/phone-large.png') - fetchesBefore;
      say({
        probe: 'revalidation eviction',
        load: 'no-cache + a 30 KB header, then 20 concurrent GETs of the 2 MB picture',
        result: `the attack got ${attack.status}; the stampede: ${stampede.filter((r) => r.status === 200).length}/20 answered 200 with ${fetches} origin fetch(es)`,
        held: fetches <= 1 && stampede.every((r) => r.status === 200),
      });
    }

    // 7. PURGE from the phone.
    if (want('purge')) {
      const edge = role(lab, 'edge-north');
      const r = await new Promise<number | string>((resolve) => {
        http.request(`${edge.url}/images/phone.png`, { method: 'PURGE', headers: { host: 'static.geektime.test' }, agent: false, localAddress: PHONE }, (res) => (res.resume(), resolve(res.statusCode!)))
          .on('error', (e) => resolve(e.message))
          .end();
      });
      say({ probe: 'PURGE from the phone', load: `PURGE /images/phone.png from ${PHONE}`, result: `answered ${r}`, held: r === 403 || r === 405 });
    }
  } finally {
    await lab.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const failed = rows.filter((r) => !r.held);
  console.log(`\n${rows.length - failed.length} held, ${failed.length} did not.`);
  return failed.length ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`hostile: ${err.stack ?? err.message}`);
    process.exit(2);
  },
);
