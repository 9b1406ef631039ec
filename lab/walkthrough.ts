// `npm run lab`: start every role, walk the seed chapter's three steps on real sockets, narrate each
// with the values of this run, write the artifacts (.lab/trace.json, .lab/report.html, the TLS key
// log), stop. Each step is a function below, in the order of the story:
//   step 1  pictures via the CDN (seed §4): the local DNS's walk, the GSLB's choice, MISS then HIT
//   step 2  the connection (seed §5): TCP, TLS message by message, the chain, the three randoms
//   step 3  the order (seed §6): the request, the layers it is wrapped in, the SLB's choice, the 201
import { lang } from './lang.ts';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import type { LookupFunction } from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { edgeAt, fetchViaCdn, type CdnFetch } from '../client/cdn-client.ts';
import { placeOrder, type OrderResult } from '../client/order-client.ts';
import { stubResolve, type StubAnswer } from '../client/stub-resolver.ts';
import type { GslbDecision } from '../servers/dns/gslb.ts';
import { STATIC_HOST } from '../servers/dns/lab-zones.ts';
import type { AcceptRecord, ForwardRecord } from '../servers/slb.ts';
import { captureSoFar, captureUnavailable, finishCapture, labFilter, lostFramesWarning, startCapture, type CaptureRecord, type RunningCapture } from './capture.ts';
import { frameFields } from './observe/frame-fields.ts';
import { dnsMessages, findDnsMessage, type DnsMessageKey, type DnsOnWire } from './observe/dns-wire.ts';
import { findHttpExchange, httpStarts, type HttpStart } from './observe/http-wire.ts';
import { decodeFrame, type DecodedFrame, type Endpoint } from './observe/packets.ts';
import type { CaptureFile } from './observe/pcapng.ts';
import type { ArpOnWire } from './story/events.ts';
import { linkRoundTripMs, tracePath } from './net-ns/plan.ts';
import { segmentsCarrying, tcpStory, type SegmentFact, type TcpStory } from './observe/tcp-story.ts';
import { Narrator, wantsColor } from './narrator.ts';
import { checkMasterSecret, classicHandshakeFrom, modernKeyExchange } from './master-secret.ts';
import { describeLayers, type RecordInWrite } from './layers.ts';
import { watchConnection } from './tcp-states.ts';
import { changesOf, startSocketTrace, type StateChange } from './observe/socket-trace.ts';
import { withoutBytes, type TlsEvent } from './tls-decoder.ts';
import { decodeRecording, writeCarrying } from './observe/tls-recorder.ts';
import { labDir } from './paths.ts';
import { buildReport } from './report.ts';
import { reportWords } from './report/words/index.ts';
import { displayPath } from './state.ts';
import { parseTlsMode, type TlsMode } from '../servers/net/tls-modes.ts';
import { runWords } from './words/run.ts';
import { clientAddress, type Region } from './topology.ts';
import { Trace, type StepNumber } from './trace.ts';
import type { CachePath, StoryEvent } from './story/events.ts';
import { orderAnswerFacts, tlsSessionFacts } from './story/facts.ts';
import { howToReach, parsePort, startLab, type RunningLab } from './up.ts';
import { startNsLab } from './net-ns/lab.ts';
import { readAttachedPlan, runInNamespaces } from './net-ns/run.ts';
import type { NetPlan, Region as NetRegion } from './net-ns/plan.ts';

/** The phone's one interface in its namespace (where the capture listens in ns mode). */
function phoneInterface(plan: NetPlan, region: NetRegion): string {
  const host = plan.hosts.find((h) => h.name === plan.phones[region].host)!;
  return host.interfaces.find((i) => i.address === plan.phones[region].address)!.name;
}

/** What the story fetches: the product page, then the product photo on it. */
const PRODUCT_PAGE = '/';
const PICTURE = '/images/phone.png';

/** A failure inside a step, with the role involved and what to try. */
class StepFailure extends Error {
  constructor(step: StepNumber, title: string, role: string, what: string, cause: string, tryThis: string) {
    super(runWords().stepFailed(step, title, role, what, cause, tryThis));
  }
}

/** Run `fn`; if it throws, say which step, which role and what to try. */
async function during<T>(step: StepNumber, title: string, role: string, what: string, tryThis: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof StepFailure) throw err;
    throw new StepFailure(step, title, role, what, (err as Error).message, tryThis);
  }
}

interface Story {
  lab: RunningLab;
  trace: Trace;
  n: Narrator;
  mode: TlsMode;
  region: Region;
  /** The phone's address ('127.0.0.1' when every role shares one address). */
  phone: string;
  stub: { resolver: { host: string; port: number }; localAddress: string | undefined };
  /** The edge the GSLB last chose for the phone (DNS gives only its address). */
  chosenEdge?: string;
  /** tcpdump, while it runs: each step reads the frames so far to name its messages' frames. */
  capture?: RunningCapture;
  /** The lab's DNS servers (where DNS messages are looked for in the capture). */
  dnsServers: Endpoint[];
  /** The address the local DNS asks other servers from (its own). */
  resolverAddress: string;
  /** Role name for an address, for the sequence diagram. */
  roleAt(address: string, port?: number): string;
  /** ns mode: the network, the phone's host and gateway, and the capture on the SLB's own link. */
  net?: { plan: NetPlan & { built?: { delays: { applied: boolean } } }; phoneHost: string; gateway: string; slbCapture?: RunningCapture };
}

// ── Step 1 ───────────────────────────────────────────────────────────────────────────────────

/** The wire facts of one message found in the capture: its frames and the first one's time. */
function wireFacts(found: { frames: number[]; time: number } | undefined): { frames?: number[]; wireTime?: number; wireAt?: string } {
  if (!found) return {};
  return { frames: found.frames, wireTime: found.time, wireAt: new Date(found.time * 1000).toISOString() };
}

/**
 * Record one typed event of the story and say it: the trace gets the facts (and a one-line summary
 * rendered from them), the terminal gets the renderer's lines for the same event, nothing else.
 */
function tell(s: Story, event: StoryEvent): void {
  s.n.tell(event);
}

/** The phone asks its local DNS; show what the resolver did for that very query. */
async function lookUp(s: Story, step: StepNumber, name: string): Promise<StubAnswer> {
  const { lab } = s;
  const decisions: GslbDecision[] = [];
  const onDecision = (d: GslbDecision) => decisions.push(d);
  lab.gslb.events.on('decision', onDecision);
  try {
    const localDns = s.stub.resolver;
    const answer = await stubResolve(name, s.stub);
    await lab.settle(); // roles in processes of their own: their events so far have arrived
    const resolution = lab.resolver.resolutionFor({ address: s.phone, port: answer.sourcePort }, answer.id);
    // Each message of the lookup, as the capture knows it: 4-tuple, DNS id, question name.
    const phoneEnd = { address: s.phone, port: answer.sourcePort };
    const localDnsEnd = { address: localDns.host, port: localDns.port };
    const asked: DnsMessageKey = { client: phoneEnd, server: localDnsEnd, id: answer.id, name, response: false };
    const told: DnsMessageKey = { ...asked, response: true };
    const walk = resolution && !resolution.fromCache ? resolution.walk : [];
    const walkKeys = walk.map((w) => ({ transport: w.transport, client: { address: s.resolverAddress, port: w.sourcePort }, server: { address: w.server.address, port: w.server.port }, id: w.id, name: w.question.name }));
    // The phone's answer is the last of them on the wire: wait (bounded) until tcpdump has written it.
    const seen = s.capture ? await captureSoFar(s.capture, (c) => findDnsMessage(dnsMessages(c, s.dnsServers), told) !== undefined) : undefined;
    const messages: DnsOnWire[] = seen ? dnsMessages(seen, s.dnsServers) : [];
    const find = (key: DnsMessageKey) => findDnsMessage(messages, key);
    const question = find(asked);

    tell(s, { step, kind: 'dns-query', from: 'phone', to: 'local-dns', ...wireFacts(question),
      data: { id: answer.id, name, type: 'A', recursionDesired: true, sourcePort: answer.sourcePort, client: phoneEnd, server: localDnsEnd, transport: 'udp' } });
    let gslbAnswer: DnsOnWire | undefined;
    const reply = find(told);
    if (resolution) {
      // Its frames: every message of the walk; from the cache, the phone's own question and answer.
      const walkOnWire = walkKeys.map((key) => [find({ ...key, response: false }), find({ ...key, response: true })] as const);
      const resolutionFrames = (resolution.fromCache ? [question, reply] : walkOnWire.flat()).filter((x): x is DnsOnWire => x !== undefined);
      const firstOnWire = resolutionFrames.sort((x, y) => x.frames[0]! - y.frames[0]!)[0];
      tell(s, { step, kind: 'dns-resolution', ...(firstOnWire && wireFacts({ frames: resolutionFrames.flatMap((x) => x.frames), time: firstOnWire.time })),
        data: { fromCache: resolution.fromCache, ms: resolution.ms, clientSubnet: resolution.clientSubnet, walkSteps: walk.length } });
      walk.forEach((w, index) => {
        const server = s.roleAt(w.server.address, w.server.port);
        const [out, back] = walkOnWire[index]!;
        if (server === 'gslb') gslbAnswer = back;
        const asked = { index, id: w.id, server: w.server, question: w.question, transport: w.transport };
        tell(s, { step, kind: 'dns-walk-query', from: 'local-dns', to: server, ...wireFacts(out), data: { ...asked, truncatedOverUdp: w.truncatedOverUdp, sourcePort: w.sourcePort, ecs: w.ecs, ms: w.ms } });
        tell(s, { step, kind: 'dns-walk-answer', from: server, to: 'local-dns', ...wireFacts(back),
          data: { ...asked, rcode: w.rcode, aa: w.aa, outcome: w.outcome, ecs: w.ecs, ecsScope: w.ecsScope, records: w.records, note: w.note } });
      });
    }
    if (decisions.length > 0) s.chosenEdge = decisions.at(-1)!.chosen.name;
    for (const d of decisions) tell(s, { step, kind: 'gslb-decision', ...wireFacts(gslbAnswer), data: d });
    tell(s, { step, kind: 'dns-answer', from: 'local-dns', to: 'phone', ...wireFacts(reply),
      data: { ...answer, client: phoneEnd, server: localDnsEnd, fromCache: resolution?.fromCache, resolverMs: resolution?.ms, clientSubnet: resolution?.clientSubnet, walkSteps: walk.length } });
    return answer;
  } finally {
    lab.gslb.events.off('decision', onDecision);
  }
}

/** A lookup that asks nobody: the answer the phone already has. */
function answered(address: string): LookupFunction {
  return (_hostname, options, callback) => (options.all ? callback(null, [{ address, family: 4 }]) : callback(null, address, 4));
}

/** GET a path from the edge the GSLB chose, and show what each cache tier did. */
async function fetchFromCdn(s: Story, edgeAddress: string, urlPath: string): Promise<CdnFetch> {
  const { lab } = s;
  const edge = edgeAt(lab.state.roles, edgeAddress, s.chosenEdge ?? `edge-${s.region}`);
  const url = `http://${STATIC_HOST}${edge.port === 80 ? '' : `:${edge.port}`}${urlPath}`;
  const before = lab.origin.requestCount(urlPath);
  // The phone connects to the address its narrated lookup gave (a browser keeps it for the TTL), so
  // every DNS query in the capture is one the narration shows.
  const got = await fetchViaCdn({ url, lookup: answered(edgeAddress), localAddress: s.stub.localAddress });
  await lab.settle();
  const originServed = lab.origin.requestCount(urlPath) - before;
  // The arrows: the request travels inward until a tier has it (or reaches the origin), and the
  // answer comes back the same way.
  const hops = ['phone'];
  for (const tier of [...got.cacheStatus].reverse()) {
    hops.push(tier.cache);
    if (tier.hit) break;
  }
  if (!got.cacheStatus.some((t) => t.hit)) hops.push('origin');
  // Each hop in the capture: the phone's own 4-tuple for the first; from each cache's address to the
  // next tier's for the others (a cache picks its own source port), the same GET after the hop before.
  const roleEnd = (name: string) => lab.state.roles.find((r) => r.name === name);
  const keyOf = (i: number, after: number) => {
    const to = i === 0 ? got.remote : roleEnd(hops[i + 1]!);
    const from = i === 0 ? got.local : { address: roleEnd(hops[i]!)?.host ?? '' };
    return to && { from, to: { address: 'host' in to ? to.host : to.address, port: to.port }, method: 'GET', target: urlPath, after };
  };
  const exchangesIn = (starts: HttpStart[]) => {
    const found: Array<ReturnType<typeof findHttpExchange>> = [];
    let after = 0;
    for (let i = 0; i + 1 < hops.length; i++) {
      const key = keyOf(i, after);
      const x = key && findHttpExchange(starts, key);
      found.push(x);
      if (x) after = x.request.frame;
    }
    return found;
  };
  // The phone's answer is the last message on the wire: wait (bounded) until tcpdump has written it.
  const seen = s.capture ? await captureSoFar(s.capture, (c) => exchangesIn(httpStarts(c))[0]?.response !== undefined) : undefined;
  const exchanges = seen ? exchangesIn(httpStarts(seen)) : [];
  // Each hop as an event (an arrow in the diagram); the cache-path event below repeats them with
  // their frames, so the terminal can tell the whole fetch, in wire order, from that one event.
  const wireHops: CachePath['data']['hops'] = [];
  const onWireOf = (x: HttpStart | undefined) => x && { frame: x.frame, line: x.line };
  for (let i = 0; i + 1 < hops.length; i++) {
    const x = exchanges[i]?.request;
    tell(s, { step: 1, kind: 'http-request', from: hops[i]!, to: hops[i + 1]!, ...wireFacts(x && { frames: [x.frame], time: x.time }),
      data: { method: 'GET', target: urlPath, ...(x && { line: x.line, frame: x.frame, client: x.source, server: x.destination }) } });
    wireHops.push({ from: hops[i]!, to: hops[i + 1]!, what: `GET ${urlPath}`, ...onWireOf(x) });
  }
  for (let i = hops.length - 1; i > 0; i--) {
    const x = exchanges[i - 1]?.response;
    const hit = i === hops.length - 1 && hops[i] !== 'origin';
    tell(s, { step: 1, kind: 'http-response', from: hops[i]!, to: hops[i - 1]!, ...wireFacts(x && { frames: [x.frame], time: x.time }),
      data: { status: x?.status ?? got.status, hit, ...(x && { line: x.line, frame: x.frame, client: x.destination, server: x.source }) } });
    wireHops.push({ from: hops[i]!, to: hops[i - 1]!, what: String(got.status), ...onWireOf(x) });
  }
  const phoneHop = exchanges[0];
  const header = (name: string) => (got.headers[name] === undefined ? undefined : String(got.headers[name]));
  tell(s, { step: 1, kind: 'cache-path', ...wireFacts(phoneHop?.response && { frames: [phoneHop.response.frame], time: phoneHop.response.time }),
    data: { url, status: got.status, client: got.local, server: got.remote, edge: edge.name, bytes: got.bytes, ms: got.ms,
      cacheStatusHeader: header('cache-status'), cacheStatus: got.cacheStatus, cacheControl: header('cache-control'), cdnCacheControl: header('cdn-cache-control'),
      age: got.age, via: header('via'), originServed, captured: Boolean(seen), hops: wireHops } });
  return got;
}

async function stepPictures(s: Story): Promise<void> {
  const w = runWords();
  const title = w.stepTitles[1];
  s.n.step({ step: 1, kind: 'step', data: { region: s.region } });
  const first = await during(1, title, 'local-dns', w.doing.resolving(STATIC_HOST), w.tryThis.dns, () => lookUp(s, 1, STATIC_HOST));
  for (const urlPath of [PRODUCT_PAGE, PICTURE]) {
    const miss = await during(1, title, w.edgeCache, w.doing.fetchingFirst(urlPath), w.tryThis.cdn, () => fetchFromCdn(s, first.addresses[0]!, urlPath));
    if (miss.status !== 200) throw new StepFailure(1, title, w.edgeCache, w.doing.fetching(urlPath), w.cause.answered(miss.status), w.tryThis.cdn);
  }
  tell(s, { step: 1, kind: 'again', data: { what: 'picture' } });
  const again = await during(1, title, 'local-dns', w.doing.resolvingAgain(STATIC_HOST), w.tryThis.dns, () => lookUp(s, 1, STATIC_HOST));
  const hit = await during(1, title, w.edgeCache, w.doing.fetchingAgain(PICTURE), w.tryThis.cdn, () => fetchFromCdn(s, again.addresses[0]!, PICTURE));
  if (!hit.cacheStatus.at(-1)?.hit) {
    const cacheStatus = hit.headers['cache-status'];
    throw new StepFailure(1, title, w.edgeCache, w.doing.fetchingPictureAgain, w.cause.notAHit(cacheStatus === undefined ? undefined : String(cacheStatus)), w.tryThis.cdn);
  }
}

// ── Steps 2 and 3 ────────────────────────────────────────────────────────────────────────────

/** How long the phone's connection may take to close after the answer (it closes at once: Connection: close). */
const CLOSE_WAIT_MS = 5000;

/** The wire facts of one trace event: its frames and the first one's time. */
function onWire(segments: readonly (SegmentFact | undefined)[]): { frames?: number[]; wireTime?: number; wireAt?: string } {
  const seen = segments.filter((x): x is SegmentFact => x !== undefined);
  return wireFacts(seen.length ? { frames: seen.map((x) => x.frame), time: seen[0]!.time } : undefined);
}

async function stepConnectionAndOrder(s: Story, capture: RunningCapture | undefined, captureNote: string | undefined): Promise<OrderResult> {
  const { lab, n } = s;
  const w = runWords();
  const title = w.stepTitles[2];
  n.step({ step: 2, kind: 'step', data: { mode: s.mode } });
  const answer = await during(2, title, 'local-dns', w.doing.resolving(lab.state.shopHost), w.tryThis.digShop, () => lookUp(s, 2, lab.state.shopHost));
  // Classic TLS is served on the SLB's classic port; the shop's own port is forward secret only.
  const slb = (s.mode === 'classic' ? lab.state.roles.find((r) => r.name === 'slb-classic') : undefined) ?? lab.state.roles.find((r) => r.name === 'slb')!;
  const slbAddress = answer.addresses[0] ?? slb.host; // the address the local DNS just gave: no second lookup

  // What the SLB saw: every TCP connection it accepted during the order, and the request.
  const forwarded: ForwardRecord[] = [];
  const accepted: AcceptRecord[] = [];
  const onForward = (r: ForwardRecord) => forwarded.push(r);
  const onAccept = (a: AcceptRecord) => accepted.push(a);
  lab.slb.events.on('request', onForward);
  lab.slb.events.on('accept', onAccept);
  // The phone's one connection, both ends (the phone's socket, the SLB's accepted one), in the kernel's table.
  const watch = watchConnection({ address: slbAddress, port: slb.port }, { clientName: 'the phone', serverName: 'the SLB', serverPid: slb.pid, path: s.net ? { kind: 'links', roundTripMs: roundTripMs(s.net.plan, s.net.phoneHost, slbAddress) } : { kind: 'loopback' } });
  let result: OrderResult;
  let closedInTime = false;
  // And the kernel's own record of each state change on the SLB's port, where it can be read (root).
  const trace = startSocketTrace(slb.port, `bol-trace-${process.pid}`);
  let changes: StateChange[] | undefined;
  try {
    watch.snapshot('before connect');
    let onClose = () => {};
    const closed = new Promise<void>((resolve) => (onClose = resolve));
    result = await during(2, title, 'slb', w.doing.connecting(slbAddress, slb.port), w.tryThis.connect, () =>
      placeOrder({
        hostname: lab.state.shopHost,
        address: slbAddress,
        port: slb.port,
        rootCaPem: fs.readFileSync(lab.state.rootCa, 'utf8'),
        mode: s.mode,
        localAddress: s.stub.localAddress,
        idempotencyKey: `walkthrough-${Date.now()}`,
        record: true,
        onTcpConnect: (local) => watch.snapshot('after connect', local),
        onTcpClose: () => onClose(),
      }),
    );
    watch.snapshot('after the answer');
    // The recording is complete once the connection is closed: the close_notify alerts come last.
    closedInTime = await Promise.race([closed.then(() => true), new Promise<boolean>((r) => setTimeout(r, CLOSE_WAIT_MS, false).unref())]);
    await watch.snapshotWhen('after close');
    if ('stop' in trace) changes = trace.stop();
    await lab.settle(); // the SLB in a process of its own: its accept and request records have arrived
  } finally {
    lab.slb.events.off('request', onForward);
    lab.slb.events.off('accept', onAccept);
    if ('stop' in trace && !changes) trace.stop();
  }
  const phoneEnd = `${result.tcp.localAddress}:${result.tcp.localPort}`;
  const server = { address: result.tcp.remoteAddress, port: result.tcp.remotePort };
  const connection = decodeRecording(result.wire?.chunks ?? []);

  // One connection, and the SLB saw the phone's own address and port on it.
  const fromPhone = accepted.filter((a) => a.port === slb.port && a.client.startsWith(`${result.tcp.localAddress}:`));
  const record = forwarded.at(-1);
  if (fromPhone.length !== 1 || fromPhone[0]!.client !== phoneEnd || record?.client !== phoneEnd) {
    throw new StepFailure(2, title, 'slb', w.doing.checkingDirect, w.cause.notDirect(phoneEnd, fromPhone.map((a) => a.client), record?.client), w.tryThis.direct);
  }
  // TCP on the wire: the phone's one connection in this run's capture, read while tcpdump runs.
  // Wait (bounded) until tcpdump has written the close: both ends CLOSED or in TIME-WAIT.
  const client = { address: result.tcp.localAddress, port: result.tcp.localPort };
  const closedStates = new Set(['CLOSED', 'TIME-WAIT']);
  let tcp: TcpStory | undefined;
  if (capture) {
    const storyOf = (c: Parameters<typeof tcpStory>[0]) => tcpStory(c, client, server, connection.events);
    const seen = await captureSoFar(capture, (c) => {
      const st = storyOf(c);
      return closedStates.has(st.final.client) && closedStates.has(st.final.server);
    });
    tcp = seen && storyOf(seen);
    if (tcp && !tcp.handshake.syn) tcp = undefined; // not this connection's (the capture began late)
  }
  const captureFile = capture ? displayPath(capture.file) : '';
  const hs = tcp?.handshake;
  // The accept is the handshake's work: its frames are the handshake's.
  tell(s, { step: 2, kind: 'slb-accept', ...(hs && onWire([hs.syn, hs.synAck, hs.ack])), data: { client, server, accepted: fromPhone, requestClient: record.client, ...(s.net && { routers: tracePath(s.net.plan, s.net.phoneHost, server.address).hops.slice(1).map((h) => h.host) }) } });
  if (tcp) {
    tell(s, { step: 2, kind: 'tcp-story', ...onWire(tcp.segments), data: { observed: true, client, server, captureFile, story: tcp } });
    for (const seg of tcp.segments) {
      const [from, to] = seg.direction === 'client→server' ? ['phone', 'slb'] : ['slb', 'phone'];
      tell(s, { step: 2, kind: 'tcp-segment', from, to, ...onWire([seg]), data: { observed: true, ...seg } });
    }
  } else {
    tell(s, { step: 2, kind: 'tcp-story', data: { observed: false, client, server, why: captureNote ?? w.captureLacksConnection } });
  }
  // The handshake as one event: an arrow of its own only when the capture has no segments to draw.
  tell(s, { step: 2, kind: 'tcp-handshake', ...(hs ? onWire([hs.syn, hs.synAck, hs.ack]) : { from: 'phone', to: 'slb' }),
    data: { observed: Boolean(hs), client, server, ...(hs && { syn: hs.syn, synAck: hs.synAck, ack: hs.ack }) } });

  // TCP, from the kernel's own table: both ends of that one connection. Without a capture, how the
  // phone's socket saw the end (the recorder keeps the FIN's time and any error).
  const wire = result.wire;
  const first = wire?.chunks[0]?.at;
  const after = (t: number | undefined) => (first === undefined || t === undefined ? undefined : t - first);
  const socketEnd = !tcp && wire ? { finAfterMs: after(wire.finAt), ...(wire.error && { error: { code: wire.error.code, message: wire.error.message, afterMs: after(wire.error.at) } }) } : undefined;
  tell(s, { step: 2, kind: 'socket-states', data: { kernel: watch.facts(), closedInTime, closeWaitMs: CLOSE_WAIT_MS, ...(socketEnd && { socketEnd }) } });
  if (changes) {
    const own = changesOf(changes, client, server).filter((c) => c.oldstate !== c.newstate); // the kernel re-sets a state at times: not a change
    const t0 = own[0]?.time ?? 0;
    tell(s, { step: 2, kind: 'socket-changes', data: { observed: true, source: 'sock:inet_sock_set_state',
      changes: own.map((c) => ({ side: c.side === 'client' ? 'phone' : 'SLB', from: c.oldstate, to: c.newstate, port: c.sport, afterUs: Math.round((c.time - t0) * 1e6) })) } });
  } else if ('unavailable' in trace) tell(s, { step: 2, kind: 'socket-changes', data: { observed: false, why: trace.unavailable } });

  // TLS, message by message, decoded from the recorded bytes; each with the segments that carry its
  // record, by its offset in the stream (lab/observe/tcp-story.ts).
  const carriersOf = (e: TlsEvent) => (tcp ? segmentsCarrying(tcp, e.direction, e.record.offset) : []);
  /** The frames of the TLS messages a fact is read from (each frame once, in order). */
  const framesOf = (events: TlsEvent[]) => onWire([...new Map(events.flatMap(carriersOf).map((x) => [x.frame, x])).values()].sort((a, b) => a.frame - b.frame));
  tell(s, { step: 2, kind: 'tls-recording', ...(tcp && onWire(tcp.segments.filter((x) => x.length > 0))),
    data: { bytesUp: connection.bytes['client→server'], bytesDown: connection.bytes['server→client'], withFrames: Boolean(tcp) } });
  for (const e of connection.events) {
    const from = e.direction === 'client→server' ? 'phone' : 'slb';
    tell(s, { step: 2, kind: 'tls', from, to: from === 'phone' ? 'slb' : 'phone', ...onWire(carriersOf(e)), data: withoutBytes(e) });
  }
  // The session the phone's TLS library agreed, and the chain it walked (its frames: the handshake's,
  // up to the first application data).
  const firstData = connection.events.findIndex((e) => e.type === 'ApplicationData');
  const handshake = firstData === -1 ? connection.events : connection.events.slice(0, firstData);
  tell(s, { step: 2, kind: 'tls-session', ...framesOf(handshake), data: tlsSessionFacts(result, connection.keyShareGroup) });

  // The three randoms (classic), or the key exchange that leaves nothing to recover (modern).
  const keyPem = fs.readFileSync(path.join(path.dirname(lab.state.rootCa), 'leaf.key'), 'utf8');
  await lab.slb.flushKeyLog(); // the SLB writes its key log off the request path
  if (s.mode === 'classic') {
    const randoms = classicHandshakeFrom(connection.events);
    const check = await during(2, title, 'slb', w.doing.recomputingMaster, w.tryThis.keyLog, async () =>
      checkMasterSecret({ ...randoms, privateKeyPem: keyPem, keyLogFile: lab.state.keyLog }),
    );
    // Its frames: the three messages the three randoms came in.
    tell(s, { step: 2, kind: 'master-secret', ...framesOf(handshake.filter((e) => e.type === 'ClientHello' || e.type === 'ServerHello' || e.type === 'ClientKeyExchange')),
      data: { clientRandom: randoms.clientRandom, serverRandom: randoms.serverRandom, preMaster: check.preMaster.toString('hex'), master: check.master.toString('hex'), keyLogLine: check.keyLogLine } });
  } else {
    const keyLog = fs.existsSync(lab.state.keyLog) ? fs.readFileSync(lab.state.keyLog, 'utf8') : undefined;
    // Its frames: the two hellos that carried the key shares.
    tell(s, { step: 2, kind: 'key-exchange', ...framesOf(handshake.filter((e) => e.type === 'ClientHello' || e.type === 'ServerHello')), data: modernKeyExchange(connection.events, keyLog) });
  }

  // ── Step 3 ──
  n.step({ step: 3, kind: 'step', data: {} });
  // The request's TLS record, and the one write of the phone's socket that carried it.
  const sent = connection.events.find((e) => e.type === 'ApplicationData' && e.direction === 'client→server');
  const write = sent && writeCarrying(connection, sent);
  // The segments that carried the POST and the 201, when the capture has them.
  const answerRecord = sent && connection.events.find((e) => e.type === 'ApplicationData' && e.direction === 'server→client' && !e.fields.probablyTicket);
  const postSegments = tcp && sent ? segmentsCarrying(tcp, 'client→server', sent.record.offset) : [];
  const answerSegments = tcp && answerRecord ? segmentsCarrying(tcp, 'server→client', answerRecord.record.offset) : [];
  const carrying = (x: SegmentFact) => ({ frame: x.frame, length: x.length, ipLength: x.ipLength });
  tell(s, { step: 3, kind: 'http-request', from: 'phone', to: 'slb', ...onWire(postSegments),
    data: { method: 'POST', target: '/purchaseOrder', request: result.requestText, bytes: Buffer.byteLength(result.requestText), client, server,
      observed: postSegments.length > 0, segments: postSegments.map(carrying) } });
  const answerFacts = orderAnswerFacts(result);
  tell(s, { step: 3, kind: 'order-answer', ...onWire(answerSegments), data: answerFacts });
  // The layers of the phone's one connection, with that write's real size.
  const layers = describeLayers({
    local: client,
    remote: server,
    requestText: result.requestText,
    tls: { protocol: result.tls.protocol, cipher: result.tls.cipher.name },
    ...(write && { requestWrite: { bytes: write.chunk.bytes.length, records: write.records.map(recordRider) } }),
  });
  const postFrame = postSegments[0] && capture ? await captureSoFar(capture, (c) => c.frames.length >= postSegments[0]!.frame) : undefined;
  if (tcp && postSegments.length && postFrame) {
    // Observed: Ethernet → IPv4 → TCP → TLS record(s) from the frame itself, then the decrypted HTTP.
    const seg = postSegments[0]!;
    const decoded = decodeFrame(postFrame.frames[seg.frame - 1]!);
    const wireLayers = frameFields(decoded, seg.carries.map((c) => ({ streamOffset: c.recordOffset, name: c.name })), seg.relativeSeq - 1);
    tell(s, { step: 3, kind: 'layers', ...onWire([seg]),
      data: { observed: true, frame: seg.frame, captureFile, segment: carrying(seg), layers: wireLayers, system: layers.layers.filter((x) => x.name === 'TCP' || x.name === 'Routing' || x.name === 'ARP'),
        plaintext: { side: 'client', bytes: Buffer.byteLength(result.requestText) }, continuedIn: postSegments.slice(1).map((x) => x.frame), answer: { status: result.status, segments: answerSegments.map(carrying) },
        ...(s.net && { arp: arpFor(postFrame, s.phone, s.net.gateway) }) } });
    if (s.net?.slbCapture) await tellPath(s, s.net.slbCapture, decoded, seg.frame, captureFile);
  } else {
    // Computed: no frame; check the arithmetic against the recorded bytes (the first application-data record the phone sent).
    const riders = sent && write ? write.records.filter((r) => r.record.offset !== sent.record.offset).map(recordRider) : [];
    tell(s, { step: 3, kind: 'layers',
      data: { observed: false, why: captureNote ?? w.captureLacksRequest, ...layers,
        ...(sent && { requestRecord: { bytes: sent.length, riders } }) } });
  }
  if (record.backend) {
    // The SLB's plain-HTTP hop to the app server, in the capture: from the SLB's address to the
    // backend's, the same POST after the phone's.
    const backend = lab.state.roles.find((r) => r.name === record.backend);
    const key = backend && { from: { address: slbAddress }, to: { address: backend.host, port: backend.port }, method: record.method, target: record.path, after: postSegments[0]?.frame ?? 0 };
    // In ns mode the capture is on the phone's link, which this hop never crosses: nothing to wait for.
    const seen = capture && key && capture.iface === 'lo' ? await captureSoFar(capture, (c) => findHttpExchange(httpStarts(c), key)?.response !== undefined) : undefined;
    const hop = seen && key ? findHttpExchange(httpStarts(seen), key) : undefined;
    tell(s, { step: 3, kind: 'http-request', from: 'slb', to: record.backend, ...wireFacts(hop && { frames: [hop.request.frame], time: hop.request.time }),
      data: { method: record.method, path: record.path, backend: record.backend, xForwardedFor: record.xForwardedFor, phone: record.client, status: record.status,
        ...(hop && { line: hop.request.line, client: hop.request.source, server: hop.request.destination }) } });
    tell(s, { step: 3, kind: 'http-response', from: record.backend, to: 'slb', ...wireFacts(hop?.response && { frames: [hop.response.frame], time: hop.response.time }),
      data: { status: hop?.response?.status ?? result.status, ...(hop?.response && { line: hop.response.line }) } });
    tell(s, { step: 3, kind: 'slb-forward', ...wireFacts(hop && { frames: [hop.request.frame], time: hop.request.time }),
      data: { backend: record.backend, policy: 'round robin over the healthy app servers', xForwardedFor: record.xForwardedFor, captured: Boolean(hop),
        ...(hop && { request: { frame: hop.request.frame, line: hop.request.line } }), ...(hop?.response && { response: { frame: hop.response.frame, line: hop.response.line } }) } });
  }
  tell(s, { step: 3, kind: 'http-response', from: 'slb', to: 'phone', ...onWire(answerSegments),
    data: { status: result.status, location: answerFacts.location, body: result.body, observed: answerSegments.length > 0, segments: answerSegments.map(carrying) } });
  if (result.status !== 201) {
    throw new StepFailure(3, w.stepTitles[3], record.backend ?? 'slb', w.doing.placingOrder, w.cause.answerWas(result.status, JSON.stringify(result.body)), w.tryThis.order);
  }
  return result;
}

/** The round trip the links add, or 0 where the kernel could not apply the delays. */
function roundTripMs(plan: NetPlan & { built?: { delays: { applied: boolean } } }, from: string, to: string): number {
  return plan.built && !plan.built.delays.applied ? 0 : linkRoundTripMs(plan, from, to);
}

/** The phone's ARP exchange for its gateway in the capture (RFC 826): the broadcast question and the answer. */
function arpFor(capture: CaptureFile, phone: string, gateway: string): ArpOnWire[] {
  const found: ArpOnWire[] = [];
  for (const frame of capture.frames) {
    const d = decodeFrame(frame);
    const a = d.arp;
    if (!a || !d.ethernet) continue;
    const question = a.operation === 1 && a.senderIp === phone && a.targetIp === gateway;
    const answer = a.operation === 2 && a.senderIp === gateway && a.targetIp === phone;
    if (question || answer) found.push({ frame: frame.number, time: frame.time, from: d.ethernet.source, to: d.ethernet.destination, ...a });
  }
  return found;
}

/**
 * The POST's first segment once more, on the SLB's own link: the routers each took one off the TTL
 * (RFC 1812 §5.3.1) and re-addressed the Ethernet frame to the next hop; IP addresses and ports are
 * as the phone wrote them. The routers on the way, from the plan's routing tables.
 */
async function tellPath(s: Story, slbCapture: RunningCapture, atPhone: DecodedFrame, phoneFrame: number, phoneFile: string): Promise<void> {
  const net = s.net!;
  const tcp = atPhone.tcp!;
  const same = (d: DecodedFrame) => d.tcp?.sourcePort === tcp.sourcePort && d.tcp.destinationPort === tcp.destinationPort && d.tcp.seq === tcp.seq && d.ipv4?.source === atPhone.ipv4!.source;
  const seen = await captureSoFar(slbCapture, (c) => c.frames.some((f) => same(decodeFrame(f))));
  const there = seen?.frames.map(decodeFrame).find(same);
  const path = tracePath(net.plan, net.phoneHost, atPhone.ipv4!.destination);
  const side = (d: DecodedFrame, frame: number, file: string) => ({ file, frame, ttl: d.ipv4!.ttl, sourceMac: d.ethernet!.source, destinationMac: d.ethernet!.destination, source: d.ipv4!.source, destination: d.ipv4!.destination, sourcePort: d.tcp!.sourcePort, destinationPort: d.tcp!.destinationPort });
  tell(s, { step: 3, kind: 'ip-path', ...(there && wireFacts({ frames: [phoneFrame], time: atPhone.frame.time })),
    data: {
      phoneLink: side(atPhone, phoneFrame, phoneFile),
      ...(there && { slbLink: side(there, there.frame.number, displayPath(slbCapture.file)) }),
      routers: path.hops.slice(1).map((h) => h.host),
      hops: path.hops.map((h) => ({ host: h.host, dev: h.dev, nextHop: h.nextHop, nextHost: h.nextHost })),
    } });
}

/** A TLS record riding in the same write as the request, as facts: "Finished (encrypted, 45 bytes)" in words. */
function recordRider(e: TlsEvent): RecordInWrite {
  const bytes = 5 + e.record.length;
  if (e.type === 'EncryptedHandshake') return { type: e.fields.contains === 'Finished' ? 'Finished' : 'handshake', encrypted: true, bytes };
  if (e.type === 'ApplicationData') return { type: 'application_data', encrypted: false, bytes };
  return { type: e.type, encrypted: false, bytes };
}

// ── The command ──────────────────────────────────────────────────────────────────────────────

export async function walkthroughCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      mode: { type: 'string', default: 'classic' },
      from: { type: 'string', default: 'north' },
      json: { type: 'boolean', default: false },
      stay: { type: 'boolean', default: false },
      'single-address': { type: 'boolean', default: false },
      ephemeral: { type: 'boolean', default: false },
      'slb-port': { type: 'string' },
      'no-capture': { type: 'boolean', default: false },
      capture: { type: 'string', default: 'phone' },
      net: { type: 'string', default: 'loopback' },
      'net-attached': { type: 'string' },
      // Workshop faults on from the start (lab/faults.ts): the story then breaks where they bite.
      fault: { type: 'string', multiple: true, default: [] },
    },
  });
  const w = runWords();
  const mode = parseTlsMode(values.mode, 'classic');
  const region = values.from;
  if (region !== 'north' && region !== 'south') throw new Error(w.badFrom(region));
  if (values.net !== 'loopback' && values.net !== 'ns') throw new Error(w.badNet(values.net));
  if (values.capture !== 'phone' && values.capture !== 'all') throw new Error(w.badCapture(values.capture));
  if (values.fault.length && values.net === 'ns') throw new Error(w.faultWithNs);
  // ns mode: build the network, then run this same command again as the phone, in its namespace.
  if (values.net === 'ns' && !values['net-attached']) return runInNamespaces(argv.filter((a, i) => a !== '--net' && argv[i - 1] !== '--net' && a !== '--net=ns'), region);
  const net = values['net-attached'] ? readAttachedPlan(values['net-attached']) : undefined;

  const trace = new Trace();
  const n = new Narrator(trace, { json: values.json, color: wantsColor() });
  const serverLog: string[] = [];
  n.plain(n.good(w.opening));
  const log = (line: string) => serverLog.push(line);
  const lab = await (net
    ? startNsLab(net, { log })
    : startLab({
        addressing: values['single-address'] ? 'single' : undefined,
        ephemeral: values.ephemeral,
        slbPort: values['slb-port'] !== undefined ? parsePort(values['slb-port'], '--slb-port') : undefined,
        log,
        crashGuard: true,
        faults: values.fault,
      })
  ).catch((err: Error) => {
    throw new Error(w.startFailed(err.message));
  });

  // The phone: its own namespace and address in ns mode, else its loopback address.
  const phone = net ? net.phones[region].address : clientAddress(region, lab.state.addressing);
  const localDns = lab.state.roles.find((r) => r.name === 'local-dns')!;
  const byAddress = new Map(lab.state.roles.map((r) => [`${r.host}:${r.port}`, r.name]));
  const story: Story = {
    lab,
    trace,
    n,
    mode,
    region,
    phone: phone ?? '127.0.0.1',
    stub: { resolver: { host: localDns.host, port: localDns.port }, localAddress: phone },
    dnsServers: lab.state.roles.filter((r) => r.protocol === 'dns').map((r) => ({ address: r.host, port: r.port })),
    resolverAddress: localDns.host,
    roleAt: (address, port) => byAddress.get(`${address}:${port}`) ?? lab.state.roles.find((r) => r.host === address)?.name ?? address,
    ...(net && { net: { plan: net, phoneHost: net.phones[region].host, gateway: net.phones[region].gateway } }),
  };
  const rel = displayPath;
  const dir = labDir();
  // A capture for Wireshark, when tcpdump is here (and --no-capture was not given).
  let capture: RunningCapture | undefined;
  let linkCaptures: RunningCapture[] = [];
  let captureNote = values['no-capture'] ? w.capture.noCaptureFlag : captureUnavailable();
  if (!captureNote) {
    const perRole = lab.state.addressing === 'per-role';
    const healthChecks = lab.state.roles.flatMap((r) => (r.healthChecksFrom ? [r.healthChecksFrom] : []));
    // ns mode: everything on the phone's own link (its ARP too); on loopback, the lab's traffic only.
    const filter = net ? '' : labFilter(lab.state.roles, perRole, healthChecks);
    fs.rmSync(path.join(dir, 'capture.pcap'), { force: true }); // an older lab's plain pcap, without the secrets
    capture = await startCapture(path.join(dir, 'capture.pcapng'), filter, { iface: net ? phoneInterface(net, region) : 'lo' }).catch((err: Error) => {
      captureNote = w.capture.failed(err.message);
      return undefined;
    });
    story.capture = capture;
    if (net && capture) {
      // The SLB's own link too: the same packets, three routers later (TTL and MACs differ, IP
      // addresses and ports do not). And the phone's ARP cache emptied, so the run shows its ARP.
      spawnSync('ip', ['neigh', 'flush', 'dev', phoneInterface(net, region)]);
      const slbHost = net.hosts.find((h) => h.name === net.roles.slb.host)!;
      const slbIface = slbHost.interfaces.find((i) => i.address === net.roles.slb.address)!.name;
      story.net!.slbCapture = await startCapture(path.join(dir, 'capture-slb.pcapng'), '', { iface: slbIface, netns: net.roles.slb.namespace }).catch(() => undefined);
      // --capture all: every link, from the end that is not a router's (the host's own eth0; between
      // routers, the first end), one pcapng per link: the DNS walk, the CDN's inner hops, the SLB's hop.
      if (values.capture === 'all') {
        fs.rmSync(path.join(dir, 'captures'), { recursive: true, force: true });
        fs.mkdirSync(path.join(dir, 'captures'), { recursive: true });
        const namespaceOf = (host: string) => net.hosts.find((h) => h.name === host)!.namespace;
        linkCaptures = (await Promise.all(net.links.map((link) =>
          startCapture(path.join(dir, 'captures', `${link.name.replace('/', '--')}.pcapng`), '', { iface: link.a.interface, netns: namespaceOf(link.a.host) }).catch(() => undefined),
        ))).filter((c): c is RunningCapture => c !== undefined);
      }
    }
  }
  try {
    const addressing = lab.state.addressing;
    n.step({ step: 0, kind: 'step', data: { addressing } });
    n.tell({ step: 0, kind: 'lab-up', data: { addressing, roles: lab.state.roles.map(({ name, protocol, host, port, what }) => ({ name, protocol, host, port, what })), notes: lab.notes,
      certs: { made: lab.certs.made, dir: rel(path.dirname(lab.state.rootCa)) }, phone: story.phone, region,
      ...(net && { net: { namespaces: net.hosts.length, routers: net.hosts.filter((h) => h.kind === 'router').length, links: net.links.length, buildMs: net.built?.ms.total, delays: net.built?.delays,
        phoneNamespace: net.phones[region].namespace, gateway: net.phones[region].gateway } }) } });

    await stepPictures(story);
    await stepConnectionAndOrder(story, capture, captureNote);
    n.endStep();
    n.plain('');
    n.plain(n.good(w.allDone(trace.elapsedMs)));
    return 0;
  } finally {
    n.endStep();
    // The capture becomes the record of the run: pcapng with this run's TLS secrets inside.
    let record: CaptureRecord | undefined;
    if (capture) {
      const secretsWritten = async () => {
        if (lab.isUp('slb')) await lab.slb.flushKeyLog(); // the SLB writes its key log off the request path
      };
      record = await finishCapture(capture, lab.state.keyLog, secretsWritten).catch((err: Error) => {
        captureNote = w.capture.failed(err.message);
        return undefined;
      });
    }
    const linkRecords = (await Promise.all(linkCaptures.map((c) => finishCapture(c, lab.state.keyLog).catch(() => undefined)))).filter((r): r is CaptureRecord => r !== undefined);
    for (const r of linkRecords) n.tell({ step: 0, kind: 'capture', data: r });
    const slbCapture = story.net?.slbCapture;
    const slbRecord = slbCapture && (await finishCapture(slbCapture, lab.state.keyLog).catch(() => undefined));
    if (slbRecord) n.tell({ step: 0, kind: 'capture', data: slbRecord });
    if (record) {
      const warning = lostFramesWarning(record);
      n.tell({ step: 0, kind: 'capture', data: record });
      if (warning) {
        n.plain(n.bad(warning));
        if (values.json) console.error(warning);
      }
    } else n.tell({ step: 0, kind: 'capture', data: { unavailable: captureNote ?? w.capture.none } });
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'trace.json'), JSON.stringify({ ...trace.toJSON(), lang: lang(), mode, region, roles: lab.state.roles, serverLog }, null, 2) + '\n');
    fs.writeFileSync(
      path.join(dir, 'report.html'),
      buildReport({
        lang: lang(),
        title: reportWords().run.title,
        subtitle: reportWords().run.subtitle(new Date().toISOString(), mode, region, story.phone),
        roles: lab.state.roles,
        phone: story.phone,
        events: trace.events,
        capture: record ? { file: rel(record.file), bytes: fs.readFileSync(record.file) } : undefined,
        keyLog: fs.existsSync(lab.state.keyLog) ? { file: rel(lab.state.keyLog), text: fs.readFileSync(lab.state.keyLog, 'utf8') } : undefined,
        net: lab.state.net,
      }),
    );
    n.plain(w.artifacts(rel(path.join(dir, 'report.html')), rel(path.join(dir, 'trace.json')), rel(lab.state.keyLog)));
    if (record) {
      n.plain(w.captureFile(rel(record.file), record.frames, record.lost));
      n.plain(`  tshark -r ${rel(record.file)} -Y http`);
      if (slbRecord) n.plain(w.slbLinkCapture(rel(slbRecord.file), slbRecord.frames, slbRecord.lost));
      if (linkRecords.length) {
        const lost = linkRecords.reduce((sum, r) => sum + (r.lost ?? 0), 0);
        n.plain(w.everyLink(rel(path.join(dir, 'captures')), linkRecords.length, linkRecords.reduce((sum, r) => sum + r.frames, 0), lost));
      }
      if (lab.state.addressing === 'single') n.plain(w.healthChecksInside);
    } else n.plain(captureNote!);
    if (values.stay) {
      n.plain('');
      n.plain(w.stays);
      for (const line of howToReach(lab)) n.plain(`  ${line}`);
      // Listen for Ctrl-C before asking for it: until a listener is in place a SIGINT ends the
      // process without stopping the lab.
      const stopAsked = new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      n.plain(w.pressCtrlC);
      await stopAsked;
    }
    await lab.stop();
  }
}

