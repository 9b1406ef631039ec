// The workshop's words in English: the runner's (lists, usage, errors, the hand-in summary), what
// every checker says, and each exercise's title and the answers it asks for. zh.ts has this
// shape exactly (the compiler holds it to it). Values come in as arguments and go out untouched.

import type { Needs } from '../exercise.ts';

type Region = 'north' | 'south';

export const en = {
  // ─────────────────────────────── the runner (cli.ts, exercise.ts) ───────────────────────────────
  runner: {
    needs: { lab: 'lab', 'lab in ns mode': 'lab in ns mode', 'a walkthrough run': 'a walkthrough run' } satisfies Record<Needs, string>,
    /** A line of the list: the seed's section, what the exercise needs. */
    seed: (section: string) => `seed ${section}`,
    needsColumn: (needs: string) => `needs: ${needs}`,
    listHead: "The workshop (lab/exercises/README.md for instructors). `npm run lab -- exercises N` prints one with this lab's addresses.\n",
    listFoot: '\nCheck one: npm run lab -- check N name=value …   Everything so far: npm run lab -- check --all',
    noExercise: (which: string, count: number) => `no exercise ${which}: there are ${count} (npm run lab -- exercises)`,
    usage: 'usage: npm run lab -- check N name=value … | check --all',
    notNameValue: (arg: string, n: number, asks: string[]) => `"${arg}" is not name=value; exercise ${n} asks for ${asks.map((k) => `${k}=…`).join(' ') || 'no answers, only files'}`,
    notAsked: (n: number, name: string, asks: string[]) => `exercise ${n} asks for no "${name}"; it asks for ${asks.join(', ') || 'nothing (it reads your files)'}`,
    nsReexecFailed: (namespace: string, why: string) => `could not check from the phone's namespace ${namespace} (${why}): ns mode needs root (sudo)`,
    signal: (name: string) => `signal ${name}`,
    heading: (n: number, title: string) => `Exercise ${n}: ${title}`,
    done: 'Done.',
    notYet: 'Not yet: fix what is marked ✗ and check again.',
    couldNotFinish: (message: string) => `the check could not finish: ${message} (is every role of the lab up? npm run lab -- status)`,
    summaryHead: (done: number, count: number, at: string) => `Workshop: ${done} of ${count} exercises done (checked ${at})`,
    summaryDone: '✓ done',
    summaryNotStarted: '· not done yet',
    summaryWrong: (count: number) => `✗ ${count} still wrong`,
    /** {role}, {role.port}, {@role} when no lab is running: what to put there. */
    noRole: { address: (name: string) => `<${name}'s address>`, port: (name: string) => `<${name}'s port>`, at: (name: string) => `@<${name}'s address> -p <its port>` },
    noLab: {
      missing: (file: string) => `no lab is running (${file} is missing)`,
      dead: (file: string, pid: number) => `no lab is running (${file} names process ${pid}, which is not running)`,
    },
    startLab: (why: string, command: string) => `${why}: start it with \`${command}\` (in another terminal) and keep it running`,
    needsNs: (command: string) => `this exercise needs the lab in namespaces: stop it and start \`${command}\``,
    noAnswer: (name: string, what: string) => `no answer for ${name} (${what}): give it as ${name}=…`,
    noSuchRole: (name: string) => `the lab has no role ${name}`,
    noChain: "the lab's local DNS gives no CNAME chain for static.geektime.test right now: is every role up? (npm run lab -- status)",
    gslbNoAddress: (region: Region) => `the GSLB gives no address for the ${region} right now; ask it again in a second`,
  },

  // ───────────────────────────────────────── the exercises ─────────────────────────────────────────
  dnsWalk: {
    title: 'The DNS walk by hand, from the root',
    asks: {
      tld: 'the address of the name server the root refers you to',
      shop: 'the address of the name server authoritative for geektime.test',
      cname: 'the name static.geektime.test is an alias of',
    },
    tldRight: "tld: the root's referral, read from its ADDITIONAL section",
    tldWrong: (given: string) => `tld: ${given} is not the address the root gives for the servers of its referral (look at ADDITIONAL in the root's answer)`,
    shopRight: "shop: the TLD's referral for geektime.test",
    shopWrong: (given: string) => `shop: ${given} is not where the TLD refers you for geektime.test (ask the TLD the same question, with +norec)`,
    cnameRight: "cname: the shop's authoritative answer is an alias into the CDN",
    cnameWrong: (given: string) => `cname: ${given} is not the target of the CNAME the shop's server answers with (the one with the aa flag)`,
  },

  gslbRegions: {
    title: "The CNAME chain and the GSLB's choice from both regions",
    asks: { north: 'the edge address a phone in the north gets', south: 'the edge address a phone in the south gets' },
    /** How to ask as that region's phone: from its namespace (ns mode), or with dig -b its source address. */
    fromNamespace: (region: Region) => `the ${region} phone's namespace`,
    fromAddress: (address: string | undefined) => `-b ${address ?? '(a source address in that region)'}`,
    right: (region: Region) => `${region}: the GSLB's answer for that region`,
    wrong: (region: Region, given: string, from: string) => `${region}: ${given} is not what a phone there gets (ask as the phone: ${from}; the last address of the chain)`,
  },

  failover: {
    title: 'An edge goes down and the GSLB fails over',
    asks: { north: 'the edge address the GSLB gives the north now', ttl: 'the TTL of that answer as the GSLB sends it' },
    stillUp: 'edge-north is still up: take it down first (npm run lab -- fault edge-down on, or npm run lab -- role edge-north stop)',
    notNoticed: 'the GSLB still sends the north to the edge that is down: its health checks have not noticed yet (every second, out after 2 failures); ask again in a few seconds',
    northRight: 'north: the GSLB now sends the north to the other edge',
    northWrong: (given: string) => `north: ${given} is not what the GSLB gives the north now (ask the GSLB itself, with the north's subnet)`,
    ttlRight: "ttl: the GSLB's short TTL, so caches ask again soon",
    ttlWrong: (given: string) => `ttl: ${given} is not the TTL in the GSLB's answer (the second column of the answer line)`,
  },

  cache: {
    title: 'Cache headers: Age, HIT, and a purge',
    asks: {},
    noHitFile: (file: string) => `no ${file}: save the headers of a second fetch there (curl -sI … > ${file})`,
    status200: 'the first file is a 200',
    statusNot200: (status: number) => `the first file's status is ${status || 'missing'}, not 200: fetch /images/phone.png`,
    hitAt: (edge: string) => `the first file is a HIT at ${edge}`,
    noHit: 'the first file has no Cache-Status entry saying an edge of this lab served it from its cache (fetch the picture again: the second fetch is the HIT)',
    age: 'it carries an Age',
    noAge: 'the first file has no Age header: a cached answer says how old it is (RFC 9111 §5.1)',
    noAfterFile: (file: string) => `no ${file}: purge the picture (parent, then the edge) and save the headers of the next fetch there`,
    edgeMissed: (edge: string) => `after the purge ${edge} had to fetch it again (fwd=uri-miss)`,
    edgeNotMissed: (edge: string | undefined) => `the second file does not show ${edge ?? 'the edge'} missing the picture (fwd=uri-miss): was it purged at that edge, and fetched from the same edge?`,
    parentMissed: 'and so did the parent: it was purged first',
    parentNotMissed: "the parent still served it from its cache: purge the parent before the edge, or the edge refills from the parent's copy",
    later: 'the second fetch is the later one',
    notLater: 'the second file is older than the first (its Date): fetch after the purge',
  },

  chain: {
    title: 'Reading the certificate chain with openssl',
    asks: { sent: 'how many certificates the SLB sends', issuer: "the CN of the leaf's issuer", root: "the first 4 bytes of the root's SHA-256 fingerprint, like AB:CD:EF:01" },
    sentRight: 'sent: leaf and intermediate, not the root',
    sentWrong: (given: string) => `sent: the SLB does not send ${given} certificates (count the BEGIN CERTIFICATE blocks of -showcerts)`,
    issuerRight: "issuer: the leaf's issuer is the intermediate",
    issuerWrong: (given: string) => `issuer: "${given}" is not the CN in the leaf's issuer (the i: line of the first certificate)`,
    rootRight: 'root: the fingerprint a client pins its trust on',
    rootWrong: (given: string) => `root: ${given} is not the start of the root's SHA-256 fingerprint (openssl x509 -fingerprint -sha256)`,
  },

  classicModern: {
    title: 'Classic and modern TLS in one capture',
    asks: { visible: "in which mode the server's certificate can be read in the capture: classic or modern" },
    noCapture: (file: string) => `no capture at ${file}: capture while you place the order in both modes`,
    unreadable: (file: string, why: string) => `${file} is not a capture this lab can read (${why}): write it with tcpdump -w`,
    classic: 'the capture holds a classic handshake: the encrypted pre-master is on the wire',
    noClassic: 'the capture holds no classic handshake (no ClientKeyExchange with an encrypted pre-master): place an order with --mode classic while capturing',
    modern: 'and a TLS 1.3 handshake (the ServerHello chose TLS 1.3)',
    noModern: 'the capture holds no TLS 1.3 handshake: place an order with --mode modern while capturing',
    visibleRight: 'visible: only TLS 1.2 sends the certificate in the clear',
    visibleWrong: 'visible: look again at the Certificate message in each handshake (tshark -Y tls.handshake.type==11)',
  },

  masterSecret: {
    title: 'The master secret by hand',
    asks: { premaster: 'the 48-byte pre-master in hex', master: 'the 48-byte master secret in hex' },
    noCapture: (file: string) => `no ${file}: run the walkthrough (npm run lab) first, with tcpdump installed`,
    noClassic: (file: string) => `${file} holds no classic handshake: run the walkthrough in classic mode (npm run lab)`,
    noHello: (file: string) => `${file} lacks a hello of the classic connection`,
    keyChanged: "the capture's pre-master does not open with the lab's current key: the certificates were remade since; run the walkthrough again",
    premasterRight: "premaster: the 48 bytes the phone chose, opened with the server's key",
    premasterLength: (bytes: number) => `premaster: ${bytes} bytes; a pre-master is 48 (it starts with the client's version, 0303)`,
    premasterWrong: "premaster: not what the ClientKeyExchange of the capture holds (decrypt the epms of the last walkthrough's capture with .lab/certs/leaf.key)",
    masterRight: 'master: PRF(pre-master, "master secret", client random ‖ server random)',
    masterLength: (bytes: number) => `master: ${bytes} bytes; the master secret is 48`,
    masterWrong: 'master: not the PRF of that pre-master and the two randoms (the seed is the label, then the client random, then the server random)',
  },

  tcpHandshake: {
    title: "The TCP handshake's sequence numbers",
    asks: { 'client-isn': "the SYN's sequence number", 'server-isn': "the SYN-ACK's sequence number", ack: 'the acknowledgment number of the third segment' },
    noCapture: (file: string) => `no ${file}: run the walkthrough (npm run lab) first, with tcpdump installed`,
    noConnection: (file: string) => `${file} holds no connection to the SLB: run the walkthrough again`,
    partial: (file: string) => `${file} lacks part of the handshake: run the walkthrough again`,
    clientRight: "client-isn: the phone's random ISN",
    clientRelative: 'client-isn: that is the relative number; give the raw one (tcp.seq_raw)',
    clientWrong: (given: string) => `client-isn: ${given} is not the sequence number of the phone's SYN to the SLB`,
    serverRight: "server-isn: the SLB's own random ISN",
    serverRelative: 'server-isn: that is the relative number; give the raw one',
    serverWrong: (given: string) => `server-isn: ${given} is not the SYN-ACK's sequence number`,
    ackRight: "ack: the server's ISN + 1: its SYN took one number",
    ackRelative: 'ack: that is the relative number; give the raw one (tcp.ack_raw)',
    ackWrong: (given: string) => `ack: ${given} is not the acknowledgment number of the phone's third segment`,
  },

  idempotency: {
    title: 'The order retried, with and without an idempotency key',
    asks: { key: 'the Idempotency-Key you used', twice: 'the two order ids you got without a key, comma-separated', replayed: 'the Idempotent-Replayed header of your retry' },
    keyRight: 'key: one order for your key, however often you sent it',
    keyNone: (key: string) => `key: no order carries the key "${key}" (send it in the Idempotency-Key header)`,
    keyMany: 'key: more than one order carries that key',
    twiceNotTwo: 'twice: give two different order ids, comma-separated',
    twiceUnknown: (ids: string[]) => `twice: ${ids.join(', ')} is not an order in the store`,
    twiceKeyed: 'twice: those orders were placed with a key; place two without one',
    twiceOld: 'twice: those orders are older than this lab: place them now',
    twiceDiffer: 'twice: the two orders are not the same request (send the same body twice)',
    twiceRight: 'twice: the same request, taken twice: without a key the server cannot tell a retry',
    replayedRight: 'replayed: the retry got the first answer again',
    replayedWrong: 'replayed: look at the headers of the second answer with your key (curl -si)',
  },

  subnetGateway: {
    title: 'Same subnet or not: the gateway, ARP and the Ethernet header',
    asks: { mask: "the phone's subnet mask, dotted", 'same-subnet': "yes or no: is the SLB on the phone's subnet", gateway: "the gateway's IP", 'gateway-mac': "the gateway's MAC" },
    maskRight: (prefix: number) => `mask: /${prefix}`,
    maskWrong: (given: string) => `mask: ${given} is not the phone's mask (the /N after its address in ip addr, written as four bytes)`,
    sameRight: "same-subnet: the SLB's address is outside the phone's network, so the packet goes to the gateway",
    sameWrong: 'same-subnet: apply the mask to both addresses and compare',
    gatewayRight: "gateway: the phone's default route",
    gatewayWrong: (given: string) => `gateway: ${given} is not the phone's default gateway (ip route)`,
    macRight: "gateway-mac: what ARP answered, and the SYN's destination MAC",
    macWrong: (given: string) => `gateway-mac: ${given} is not the gateway's MAC (ip neigh after the ARP exchange, or the ARP reply in tcpdump -e)`,
  },

  packetPath: {
    title: 'The path of one packet through the routers (TTL)',
    asks: { routers: "the routers' addresses traceroute shows, in order, comma-separated", ttl: "the TTL the POST has when it reaches the SLB's link" },
    routersRight: (count: number) => `routers: ${count} of them, in order`,
    routersCount: (count: number) => `routers: ${count} given; count the lines of traceroute before the SLB itself`,
    routersWrong: 'routers: the right number, but not these addresses in this order (traceroute -n)',
    ttlRight: 'ttl: 64, less one per router',
    ttlWrong: (given: string) => `ttl: ${given} is not the TTL of the POST on the SLB's link (ip.ttl in capture-slb.pcapng)`,
  },

  brokenChain: {
    title: 'Find the broken link in the chain',
    asks: { fault: 'expired-leaf, missing-intermediate or wrong-san', evidence: 'the expiry date, the number of certificates sent, or the name, as the page says' },
    whole: (faults: readonly string[]) => `the SLB's chain is whole right now: have one of ${faults.join(', ')} turned on (npm run lab -- fault NAME on)`,
    faultRight: (fault: string) => `fault: ${fault}`,
    faultWrong: (given: string) => `fault: not ${given}; read the client's error again (curl -v, and openssl's verify error:num=)`,
    evidenceRight: 'evidence: read from what the SLB serves',
    evidenceWrong: (given: string, faultRight: boolean) => `evidence: ${given} is not what the served certificates show for ${faultRight ? 'this fault' : 'the fault that is on'}`,
  },

  revalidateStale: {
    title: 'Revalidation, and a stale answer when the origin is down',
    asks: {},
    noFirst: (file: string) => `no ${file}: fetch /stock, wait 3 s, and save the headers of the next fetch there`,
    stock: 'the first file is the stock, with its ETag',
    noStock: 'the first file is not a 200 for /stock with an ETag (fetch /stock through the edge)',
    revalidated: 'a cache revalidated it and got 304 Not Modified',
    notRevalidated: 'the first file shows no revalidation (fwd=stale; fwd-status=304): wait until the copy is stale (over 2 s) and fetch again',
    noSecond: (file: string) => `no ${file}: with origin-down on, wait 3 s and save the headers of a fetch there`,
    still200: 'with the origin down, the shopper still got a 200',
    not200: (statusLine: string) => `the second file is not a 200 (${statusLine}): was the copy still within stale-if-error's minute?`,
    servedStale: 'served stale, as stale-if-error allows',
    notStale: 'the second file shows no stale-if-error in Cache-Status: turn origin-down on, wait until the copy is stale, then fetch',
    aged: 'and its Age has reached the 2 s lifetime: it is stale',
    young: "the second file's Age is within the copy's lifetime: wait longer before fetching",
  },
};

export type Words = typeof en;
