// The workshop's faults in words (lab/faults.ts): what each breaks, what a user sees and with which
// command, and what the `faults` and `fault` commands say. The numbers come from the faults' facts.

/** The values the descriptions quote: the faults' own settings. */
export interface FaultFacts {
  slowOriginSeconds: number;
  linkDelayMs: number;
  linkLossPercent: number;
  /** Of round trips, how many lose a packet one way or the other. */
  roundTripLossPercent: number;
  /** The CDN's name server, to which lame-delegation points the shop's zone. */
  cdnNameServer: string;
}

interface Described {
  breaks: (f: FaultFacts) => string;
  see: (f: FaultFacts) => string;
}

export const faults = {
  described: {
    'edge-down': {
      breaks: () => 'the north edge cache stops: the GSLB sends north phones to the south edge',
      see: () =>
        "the GSLB's health checks fail twice in a row (servers/net/health.ts), then it answers 127.0.0.22 for the north: `dig -b 127.10.1.10 geektime.gslb.cdn.test` at the GSLB; resolvers keep the old answer up to its TTL (30 s)",
    },
    'origin-down': {
      breaks: () => "the origin stops: the caches serve what they hold, and a miss gets the parent's 502",
      see: () => 'a cached picture is still a HIT; an uncached one gets 502 "bad gateway" naming the refused connection; a stale copy is served only where its rules say stale-if-error (RFC 5861 §4)',
    },
    'slow-origin': {
      breaks: (f) => `the origin answers every request ${f.slowOriginSeconds} s late: every cache miss is slow, hits are not`,
      see: () => 'curl -w "%{time_total}" a picture with a new query string (a miss) vs. one already cached (a HIT)',
    },
    'app-down': {
      breaks: () => 'app server app-1 stops: the SLB sends every order to app-2',
      see: () => 'orders answer X-Served-By: app-2; a refused connection takes app-1 out at once (passive check), before its health checks do',
    },
    'slb-health-failing': {
      breaks: () => "app-1's /healthz answers 503 while it still takes orders: the SLB takes it out after 2 failed checks",
      see: () => 'curl app-1/healthz → 503, a POST straight to app-1 → 201, yet orders through the SLB all land on app-2 (rise 2 / fall 2, servers/slb-health.ts)',
    },
    'expired-leaf': {
      breaks: () => 'the SLB serves a leaf whose notAfter has passed (RFC 5280 §4.1.2.5)',
      see: () => 'curl: "SSL certificate problem: certificate has expired" (exit 60); openssl s_client: "verify error:num=10:certificate has expired"',
    },
    'missing-intermediate': {
      breaks: () => 'the SLB sends its leaf without the intermediate: clients cannot link it to the root they trust (RFC 8446 §4.4.2)',
      see: () => 'curl: "SSL certificate problem: unable to get local issuer certificate" (exit 60); openssl s_client shows a chain of one',
    },
    'wrong-san': {
      breaks: () => 'the SLB serves a valid leaf for another name (shop.other.test): no SAN matches www.geektime.test (RFC 6125 §6)',
      see: () => `curl: "SSL: no alternative certificate subject name matches target host name 'www.geektime.test'" (exit 60)`,
    },
    'gslb-misconfigured': {
      breaks: () => "the GSLB's region map files the north's subnet under the south: north phones get the far edge, all checks green",
      see: () => "`dig -b 127.10.1.10 geektime.gslb.cdn.test` at the GSLB answers 127.0.0.22; its TXT answer says why (region south, by subnet)",
    },
    'dns-down': {
      breaks: () => "the shop's authoritative DNS stops: the local DNS cannot resolve geektime.test and answers SERVFAIL",
      see: () => 'dig www.geektime.test at the local DNS: status SERVFAIL, with the Extended DNS Error "No Reachable Authority" (RFC 8914 §4.23)',
    },
    'lame-delegation': {
      breaks: (f) => `the TLD delegates geektime.test to ${f.cdnNameServer}, which is not authoritative for it: the local DNS answers SERVFAIL`,
      see: (f) => `dig +norec www.geektime.test at the TLD: "geektime.test. NS ${f.cdnNameServer}."; at that server: status REFUSED, no AA`,
    },
    'link-loss': {
      breaks: (f) => `the north phone's radio link drops ${f.linkLossPercent}% of packets each way, so about ${f.roundTripLossPercent}% of round trips lose one (tc netem, ns mode only)`,
      see: () => 'TCP retransmissions in the capture, DNS retries, slow pages',
    },
    'link-delay': {
      breaks: (f) => `the north phone's radio link waits ${f.linkDelayMs} ms more each way (tc netem, ns mode only)`,
      see: () => 'ping and the TCP handshake take 2×; every DNS step and TLS round trip adds it',
    },
  } satisfies Record<string, Described>,
  /** What a fault group changes (faults of one group are switched on one at a time). */
  groups: { 'slb-certificate': 'the SLB certificate' },

  noFault: (name: string, all: readonly string[]) => `no fault "${name}"; the faults are: ${all.join(', ')}`,
  linkNeedsNs: (name: string, noNetem: boolean) =>
    `${name} needs the lab in ns mode (sudo npm run lab -- up --net ns), where the phone's radio link is a real veth that tc netem can slow; this lab runs on loopback, which has no such link${noNetem ? ', and this kernel has no netem qdisc either (CONFIG_NET_SCH_NETEM is not set)' : ''}`,
  bothChange: (name: string, other: string, what: string) => `${name} and ${other} both change ${what}: switch ${other} off first (npm run lab -- fault ${other} off)`,
  stoppedBy: (name: string) => `stopped by the fault ${name}`,
  already: (name: string, on: boolean) => `${name} is already ${on ? 'on' : 'off'}: nothing done`,
  // What happened to each role, one line each: "edge-north stopped (stopped)".
  stopped: 'stopped',
  startedAgain: 'started again',
  restartedWithChange: 'restarted with the change',
  restartedAsBefore: 'restarted as before',
  restartedEmptyCache: 'restarted with an empty cache',
  roleDid: (role: string, did: string, status: string) => `${role} ${did} (${status})`,
  notUp: (role: string, status: string) => `${role} is ${status}: it gets the change when it starts again`,
  switchFailed: (name: string, on: boolean, role: string, why: string) => `${name} ${on ? 'on' : 'off'} failed, ${role} is back as it was: ${why}`,
  didNotComeUp: (role: string, why: string) => `${role} did not come up: ${why}`,
  isOn: (name: string, breaks: string) => `${name} is on: ${breaks}`,
  isOff: (name: string) => `${name} is off: back as before`,
  see: (see: string) => `see: ${see}`,
  linkOff: (name: string, delayKept: boolean) => `${name} is off: the radio link is as planned${delayKept ? ' (its delay as before)' : ''}`,
  noRadioLink: (phone: string) => `the plan has no radio link for ${phone}`,
  noNetem: (name: string, delay: boolean) => `${name}: this kernel has no netem qdisc (CONFIG_NET_SCH_NETEM is not set), so the phone's link cannot be ${delay ? 'slowed' : 'made lossy'}`,
  tcFailed: (name: string, command: string, why: string) => `${name}: tc ${command} failed: ${why}`,

  // `npm run lab -- faults`
  on: 'ON',
  off: 'off',
  noLab: (file: string) => `(no lab is running from ${file}: every fault is off)`,
  switchOne: 'Switch one: npm run lab -- fault NAME on|off',
  // `npm run lab -- fault`
  usage: (all: readonly string[]) => `usage: npm run lab -- fault NAME on|off (the faults: ${all.join(', ')})`,
};
