// What each role and each host of the lab is, in a few words: the lab-up listing, the state
// (in English: state.json is data), the report's map and the namespace plan show them.

/** A role's or host's description: in English, the one the lab's state gives (state.json is written from the tables below). */
export function whatIs(_name: string, stated: string): string {
  return stated;
}

/** Each host of the plan, by name: what it is in the story (the report shows it with the host). */
export const hostWhat = {
  'phone-north': "the shopper's phone, north region",
  'phone-south': "the shopper's phone, south region",
  'pgw-north': "the north carrier's PGW: the phone's gateway",
  'pgw-south': "the south carrier's PGW: the phone's gateway",
  core: 'the internet',
  'shop-router': "the shop data centre's border router",
  root: 'DNS root server',
  tld: 'DNS server for test.',
  'shop-dns': "the shop's authoritative DNS",
  'cdn-dns': "the CDN's authoritative DNS",
  gslb: "the CDN's global load balancer",
  'local-dns': "the phones' local DNS (recursive)",
  'edge-north': 'CDN edge cache, north',
  'edge-south': 'CDN edge cache, south',
  parent: "the CDN's parent cache",
  origin: "the shop's origin for the CDN",
  slb: "the shop's load balancer (VIP on eth0)",
  'app-1': 'app server',
  'app-2': 'app server',
};

/** Each role in its namespace, as the lab's state lists it. */
export const roleWhat = {
  root: 'DNS root server: refers to test.',
  tld: 'DNS server for the test. TLD: refers to the shop and the CDN',
  'shop-dns': "the shop's authoritative DNS (geektime.test)",
  'cdn-dns': "the CDN's authoritative DNS (cdn.test)",
  gslb: "the CDN's global load balancer (gslb.cdn.test): picks an edge per client",
  'local-dns': "the phone's local DNS: a recursive resolver",
  origin: "the shop's web tier and image storage, behind the CDN",
  parent: "the CDN's parent cache: the edges' upstream",
  'edge-north': 'CDN edge cache for the north region',
  'edge-south': 'CDN edge cache for the south region',
  'app-1': 'app server: POST /purchaseOrder',
  'app-2': 'app server: POST /purchaseOrder',
  slb: "the shop's SLB: terminates TLS, forwards plain HTTP to an app server",
  'edge-north-tls': 'the same edge over HTTPS: static.geektime.test for pages loaded over https',
  'edge-south-tls': 'the same edge over HTTPS: static.geektime.test for pages loaded over https',
  'slb-classic': "the SLB's classic port: only the seed's TLS 1.2 RSA key exchange (no forward secrecy)",
};
