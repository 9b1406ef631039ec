// The lab's DNS tree, as data. Everything lives under the reserved `.test` TLD (RFC 6761), so no
// query can leak to the real DNS.
//
//   .                 root          a.root-servers.test   delegates test.
//   test.             TLD           ns.nic.test           delegates geektime.test. and cdn.test.
//   geektime.test.    the shop      ns1.geektime.test     www → the SLB; static → CNAME into the CDN
//   cdn.test.         the CDN       ns1.cdn.test          geektime.cdn.test → CNAME to the GSLB's name;
//                                                         delegates gslb.cdn.test.
//   gslb.cdn.test.    the GSLB      ns1.gslb.cdn.test     (gslb.ts: picks an edge per client)
//
// TTLs are the kind real zones use: delegations for days, hosts for minutes, the GSLB's answer for
// 30 seconds so that a change of edge reaches clients quickly.
import type { SoaData, Zone, ZoneRecord } from './zone.ts';

export interface DnsAddresses {
  root: string;
  tld: string;
  shop: string;
  cdn: string;
  gslb: string;
  /** The shop's SLB, where www.geektime.test points. */
  slb: string;
}

export const NAME_SERVERS = {
  root: 'a.root-servers.test',
  tld: 'ns.nic.test',
  shop: 'ns1.geektime.test',
  cdn: 'ns1.cdn.test',
  gslb: 'ns1.gslb.cdn.test',
} as const;

export const SHOP_ZONE = 'geektime.test';
export const CDN_ZONE = 'cdn.test';
export const GSLB_ZONE = 'gslb.cdn.test';
/** The names a learner looks up. */
export const STATIC_HOST = 'static.geektime.test';
export const CDN_ALIAS = 'geektime.cdn.test';
export const GSLB_NAME = 'geektime.gslb.cdn.test';

const DAY = 86_400;
const SERIAL = 2026112501;

function soa(origin: string, primary: string, minimum = 300): ZoneRecord {
  const data: SoaData = {
    primary,
    admin: `hostmaster.${origin || 'root-servers.test'}`,
    serial: SERIAL,
    refresh: 3600,
    retry: 600,
    expiration: 7 * DAY,
    minimum,
  };
  return { name: origin, type: 'SOA', ttl: DAY, data };
}

function record(name: string, type: ZoneRecord['type'], ttl: number, data: string): ZoneRecord {
  return { name, type, ttl, data };
}

/**
 * The name server each of the TLD's delegations names (default NAME_SERVERS). Naming a server that
 * does not serve the zone is a lame delegation (RFC 1912 §2.8): the lab's lame-delegation fault.
 */
export type Delegations = Partial<Record<'shop' | 'cdn', string>>;

export function labZones(a: DnsAddresses, delegations: Delegations = {}): { root: Zone; tld: Zone; shop: Zone; cdn: Zone } {
  const shopNs = delegations.shop ?? NAME_SERVERS.shop;
  const cdnNs = delegations.cdn ?? NAME_SERVERS.cdn;
  const root: Zone = {
    origin: '',
    records: [
      soa('', NAME_SERVERS.root),
      record('', 'NS', 6 * DAY, NAME_SERVERS.root),
      // The TLD's delegation, with glue: ns.nic.test is inside test., so without its address here
      // nobody could ever reach it (a chicken-and-egg the glue record breaks).
      record('test', 'NS', 2 * DAY, NAME_SERVERS.tld),
      record(NAME_SERVERS.tld, 'A', 2 * DAY, a.tld),
      record(NAME_SERVERS.root, 'A', 6 * DAY, a.root),
    ],
  };
  const tld: Zone = {
    origin: 'test',
    records: [
      soa('test', NAME_SERVERS.tld),
      record('test', 'NS', 2 * DAY, NAME_SERVERS.tld),
      record(NAME_SERVERS.tld, 'A', 2 * DAY, a.tld),
      record(NAME_SERVERS.root, 'A', 6 * DAY, a.root),
      record(SHOP_ZONE, 'NS', 2 * DAY, shopNs),
      record(NAME_SERVERS.shop, 'A', 2 * DAY, a.shop), // glue
      record(CDN_ZONE, 'NS', 2 * DAY, cdnNs),
      record(NAME_SERVERS.cdn, 'A', 2 * DAY, a.cdn), // glue
    ],
  };
  const shop: Zone = {
    origin: SHOP_ZONE,
    records: [
      soa(SHOP_ZONE, NAME_SERVERS.shop),
      record(SHOP_ZONE, 'NS', DAY, NAME_SERVERS.shop),
      record(NAME_SERVERS.shop, 'A', DAY, a.shop),
      record(SHOP_ZONE, 'A', 600, a.slb),
      record(`www.${SHOP_ZONE}`, 'A', 600, a.slb),
      // Pictures are not served by the shop: its static host is an alias into the CDN's domain,
      // so the CDN decides, by its own DNS, which cache answers.
      record(STATIC_HOST, 'CNAME', 600, CDN_ALIAS),
    ],
  };
  const cdn: Zone = {
    origin: CDN_ZONE,
    records: [
      soa(CDN_ZONE, NAME_SERVERS.cdn),
      record(CDN_ZONE, 'NS', DAY, NAME_SERVERS.cdn),
      record(NAME_SERVERS.cdn, 'A', DAY, a.cdn),
      // The customer's name in the CDN points at the global load balancer's name...
      record(CDN_ALIAS, 'CNAME', 600, GSLB_NAME),
      // ...and the GSLB's zone is delegated to the GSLB itself, which answers per client.
      record(GSLB_ZONE, 'NS', DAY, NAME_SERVERS.gslb),
      record(NAME_SERVERS.gslb, 'A', DAY, a.gslb), // glue
    ],
  };
  return { root, tld, shop, cdn };
}
