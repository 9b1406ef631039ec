// EDNS Client Subnet from hostile or merely unusual clients (RFC 7871), over real sockets, with real
// dig: an IPv6 subnet of an odd number of octets (/56) used to get FORMERR from every DNS server,
// because dns2 read the address 16 bits at a time past the end of the message. And malformed
// options must get FORMERR (RFC 7871 §7.1), from every server, which keeps serving.
import dgram from 'node:dgram';
import http from 'node:http';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Packet, type RunningDnsServer } from '../../servers/dns/dns-server.ts';
import { startAuthoritative } from '../../servers/dns/authoritative.ts';
import { labZones, NAME_SERVERS } from '../../servers/dns/lab-zones.ts';
import { startGslb, type GslbDecision, type RunningGslb } from '../../servers/dns/gslb.ts';
import { startResolver, type RunningResolver } from '../../servers/dns/resolver.ts';
import { queryBytes } from '../dns-fuzz.ts';

const run = promisify(execFile);
const haveDig = await run('dig', ['-v']).then(
  () => true,
  () => false,
);

const A = { root: '127.0.4.10', tld: '127.0.4.11', shop: '127.0.4.12', cdn: '127.0.4.13', gslb: '127.0.4.14', slb: '127.0.4.80' };
const EDGE = '127.0.4.21';
const SERVICE = 'geektime.gslb.cdn.test';

const ports = new Map<string, number>();
const closers: Array<() => Promise<unknown>> = [];
let servers: Record<'root' | 'shop', RunningDnsServer>;
let gslb: RunningGslb;
let resolver: RunningResolver;
const decisions: GslbDecision[] = [];

beforeAll(async () => {
  const zones = labZones(A);
  const keep = <T extends RunningDnsServer>(s: T): T => {
    ports.set(s.host, s.port);
    closers.push(() => s.close());
    return s;
  };
  servers = {
    root: keep(await startAuthoritative({ name: 'root', host: A.root, port: 0, zones: [zones.root] })),
    shop: keep(await startAuthoritative({ name: 'shop', host: A.shop, port: 0, zones: [zones.shop] })),
  };
  keep(await startAuthoritative({ name: 'tld', host: A.tld, port: 0, zones: [zones.tld] }));
  keep(await startAuthoritative({ name: 'cdn', host: A.cdn, port: 0, zones: [zones.cdn] }));
  const edge = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((done) => edge.listen(0, EDGE, done));
  closers.push(() => new Promise((done) => edge.close(done)));
  const healthUrl = `http://${EDGE}:${(edge.address() as AddressInfo).port}/healthz`;
  gslb = keep(
    await startGslb({
      host: A.gslb,
      port: 0,
      edges: [{ name: 'edge-north', region: 'north', address: EDGE, healthUrl }],
      regions: [{ name: 'north', subnets: ['127.10.1.0/24'], nearest: ['edge-north'] }],
      defaultRegion: 'north',
    }),
  );
  gslb.events.on('decision', (d: GslbDecision) => decisions.push(d));
  const nsPorts = new Map<string, number>([
    [NAME_SERVERS.root, ports.get(A.root)!],
    [NAME_SERVERS.tld, ports.get(A.tld)!],
    [NAME_SERVERS.shop, ports.get(A.shop)!],
    [NAME_SERVERS.cdn, ports.get(A.cdn)!],
    [NAME_SERVERS.gslb, ports.get(A.gslb)!],
  ]);
  resolver = keep(await startResolver({ host: '127.0.4.53', port: 0, rootHints: [{ name: NAME_SERVERS.root, address: A.root }], portOf: (ns) => nsPorts.get(ns) ?? 9 }));
});

afterAll(async () => {
  while (closers.length) await closers.pop()!();
});

async function dig(server: { host: string; port: number }, ...args: string[]): Promise<string> {
  return (await run('dig', [`@${server.host}`, '-p', String(server.port), '+nocookie', '+time=2', '+tries=1', ...args])).stdout;
}

describe.skipIf(!haveDig)('dig +subnet with IPv6 client subnets, at every kind of lab DNS server', () => {
  for (const subnet of ['2001:db8::/56', '2001:db8::/48', '::/0']) {
    it(`+subnet=${subnet}: root, authoritative, GSLB and resolver all answer NOERROR`, async () => {
      const root = await dig(servers.root, '+norec', `+subnet=${subnet}`, 'www.geektime.test');
      expect(root).toContain('status: NOERROR');
      expect(root).toMatch(/test\.\s+\d+\s+IN\s+NS\s+ns\.nic\.test\./);
      const shop = await dig(servers.shop, '+norec', `+subnet=${subnet}`, 'www.geektime.test');
      expect(shop).toContain('status: NOERROR');
      expect(shop).toMatch(/www\.geektime\.test\.\s+600\s+IN\s+A\s+127\.0\.4\.80/);
      const viaResolver = await dig(resolver, `+subnet=${subnet}`, 'static.geektime.test');
      expect(viaResolver).toContain('status: NOERROR');
      expect(viaResolver).toMatch(/geektime\.gslb\.cdn\.test\.\s+\d+\s+IN\s+A\s+127\.0\.4\.21/);
    });
  }

  it('the GSLB: an IPv6 subnet is in no region, so the default region, scope /0, FAMILY and SOURCE PREFIX echoed', async () => {
    decisions.length = 0;
    const out = await dig(gslb, '+norec', '+subnet=2001:db8:0:ab00::/56', SERVICE);
    expect(out).toContain('status: NOERROR');
    expect(out).toMatch(/geektime\.gslb\.cdn\.test\.\s+30\s+IN\s+A\s+127\.0\.4\.21/);
    // dig prints the echoed option as ADDRESS/SOURCE/SCOPE.
    expect(out).toContain('CLIENT-SUBNET: 2001:db8:0:ab00::/56/0');
    expect(decisions.at(-1)).toMatchObject({ source: 'ecs', client: '2001:db8:0:ab00::/56', region: 'north', scopePrefixLength: 0 });
    const txt = await dig(gslb, '+norec', '+short', '+subnet=2001:db8::/48', SERVICE, 'TXT');
    expect(txt).toContain('client 2001:db8::/48 (ECS) -> region north (2001:db8::/48 is an IPv6 subnet');

    // An IPv4 subnet still decides as before, with its scope.
    expect(await dig(gslb, '+norec', '+subnet=127.10.1.0/24', SERVICE)).toContain('CLIENT-SUBNET: 127.10.1.0/24/24');
  });
});

/** A query for www.geektime.test with an OPT record holding one raw ECS option body. */
function withEcs(body: number[]): Buffer {
  const query = queryBytes('www.geektime.test');
  query.writeUInt16BE(1, 10); // ARCOUNT 1
  const option = Buffer.from([0, 8, 0, body.length, ...body]);
  const opt = Buffer.concat([Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0]), Buffer.from([0, option.length]), option]);
  return Buffer.concat([query, opt]);
}

function udpExchange(server: { host: string; port: number }, bytes: Buffer): Promise<Buffer> {
  const socket = dgram.createSocket('udp4');
  return new Promise<Buffer>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error('no answer'));
    }, 2000);
    socket.on('message', (reply) => {
      clearTimeout(timer);
      socket.close();
      resolve(reply);
    });
    socket.send(bytes, server.port, server.host);
  });
}

describe('malformed client subnets get FORMERR (RFC 7871 §7.1), and the server keeps answering', () => {
  const cases: Array<[string, number[]]> = [
    ['IPv4 source prefix /33', [0, 1, 33, 0, 127, 10, 1, 0, 0]],
    ['IPv6 source prefix /129', [0, 2, 129, 0, ...new Array(17).fill(0)]],
    ['IPv4 /20 with address bits beyond the prefix (127.10.1.0)', [0, 1, 20, 0, 127, 10, 1]],
    ['IPv6 /56 with address bits beyond the prefix', [0, 2, 56, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1]],
    ['IPv6 /56 with 8 address octets instead of 7', [0, 2, 56, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0]],
    ['IPv4 /24 with 2 address octets instead of 3', [0, 1, 24, 0, 127, 10]],
    ['unknown FAMILY 3', [0, 3, 8, 0, 1]],
    ['a nonzero SCOPE PREFIX-LENGTH in a query', [0, 1, 24, 24, 127, 10, 1]],
    ['an option shorter than its header', [0, 1]],
  ];
  for (const [what, body] of cases) {
    it(what, async () => {
      for (const server of [servers.shop, gslb, resolver]) {
        const reply = Packet.parse(await udpExchange(server, withEcs(body)));
        expect(reply.header.rcode, `${server.name}`).toBe(Packet.RCODE.FORMERR);
      }
      // The well-formed neighbours of the same query are fine.
      const good = Packet.parse(await udpExchange(servers.shop, withEcs([0, 2, 56, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0])));
      expect(good.header.rcode).toBe(Packet.RCODE.NOERROR);
    });
  }
});
