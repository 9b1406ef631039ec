// Sending one DNS query and getting its answer, as a careful resolver does it.
//
// UDP first, from a fresh socket (the OS picks a random source port) with a random 16-bit id.
// An answer is taken only if it comes from the server we asked, carries our id, and repeats our
// question: anything else is ignored, as it could be a spoofing attempt (the Kaminsky attack
// guesses exactly these). An answer with TC (truncated) is asked again over TCP.
// With randomizeCase, the name goes out in a random mix of upper and lower case ("DNS 0x20"):
// servers copy the question into the answer as they got it, so a forger must guess that too.
import dgram from 'node:dgram';
import net from 'node:net';
import { randomInt } from 'node:crypto';
import { Packet, EDNS_UDP_SIZE, type DnsPacket } from './dns-server.ts';
import { decodeMessage, encodeMessage } from './wire.ts';

export interface DnsServerAddress {
  host: string;
  port: number;
}

export interface DnsQuery {
  server: DnsServerAddress;
  name: string;
  /** 'A', 'NS', 'CNAME', 'SOA', 'TXT', 'AAAA', ... */
  type: string;
  /** Recursion desired: true from a stub to its resolver, false from a resolver to the tree. */
  rd?: boolean;
  /** EDNS Client Subnet to send, in CIDR form: "127.10.1.0/24" (RFC 7871). */
  clientSubnet?: string;
  /** Send an OPT record at all (default true). */
  edns?: boolean;
  timeoutMs?: number;
  /** Skip UDP and ask over TCP straight away. */
  tcp?: boolean;
  localAddress?: string;
  /** DNS 0x20: send the name in random case and take only an answer that repeats it exactly. */
  randomizeCase?: boolean;
}

export interface DnsExchange {
  query: DnsQuery;
  response: DnsPacket;
  transport: 'udp' | 'tcp';
  /** true when UDP came back truncated (TC) and the answer is the TCP retry's. */
  truncatedOverUdp: boolean;
  id: number;
  sourcePort: number;
  ms: number;
  /** Datagrams that arrived on our socket but did not match (wrong sender, id or question). */
  ignored: number;
}

export class DnsTimeout extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(
    message: string,
    /** The id and source port of the query that got no answer, for the narration. */
    readonly id = 0,
    readonly sourcePort = 0,
  ) {
    super(message);
  }
}

export function typeCode(type: string): number {
  const code = (Packet.TYPE as Record<string, number>)[type.toUpperCase()];
  if (code === undefined) throw new Error(`unknown DNS type "${type}"`);
  return code;
}

/**
 * DNS 0x20 (draft-vixie-dnsext-dns0x20): each letter's case is one more random bit a forger must
 * guess, on top of the 16-bit id and the source port; "www.geektime.test" carries 15.
 */
function randomCase(name: string): string {
  return name.replace(/[a-z]/gi, (c) => (randomInt(2) ? c.toUpperCase() : c.toLowerCase()));
}

function buildQuery(q: DnsQuery, id: number, name: string): Buffer {
  const packet = new Packet();
  packet.header.id = id;
  packet.header.rd = q.rd ? 1 : 0;
  packet.questions.push({ name, type: typeCode(q.type), class: Packet.CLASS.IN } as DnsPacket['questions'][number]);
  if (q.edns !== false) {
    const options = q.clientSubnet ? [Packet.Resource.EDNS.ECS(q.clientSubnet)] : [];
    packet.additionals.push(Packet.Resource.EDNS(options, { udpPayloadSize: EDNS_UDP_SIZE }) as DnsPacket['additionals'][number]);
  }
  return encodeMessage(packet);
}

/** Does `response` answer our query? Same id, a response, and the very same question (in the very same case, with 0x20). */
function answersOurQuery(response: DnsPacket, q: DnsQuery, id: number, sentName: string): boolean {
  const question = response.questions[0];
  const sent = sentName.replace(/\.$/, '');
  return (
    response.header.qr === 1 &&
    response.header.id === id &&
    response.questions.length === 1 &&
    question !== undefined &&
    (q.randomizeCase ? question.name === sent : question.name.toLowerCase() === sent.toLowerCase()) &&
    question.type === typeCode(q.type) &&
    question.class === Packet.CLASS.IN
  );
}

/** wire.ts, not dns2 alone: TTLs with the top bit set count as 0 (RFC 2181 §8), and any ECS option is read correctly. */
function parseOrUndefined(bytes: Buffer): DnsPacket | undefined {
  try {
    return decodeMessage(bytes).packet;
  } catch {
    return undefined;
  }
}

export async function sendQuery(q: DnsQuery): Promise<DnsExchange> {
  const started = Date.now();
  if (!q.tcp) {
    const udp = await overUdp(q);
    if (!udp.response.header.tc) return { ...udp, ms: Date.now() - started };
    const tcp = await overTcp(q);
    return { ...tcp, truncatedOverUdp: true, ms: Date.now() - started };
  }
  const tcp = await overTcp(q);
  return { ...tcp, ms: Date.now() - started };
}

function overUdp(q: DnsQuery): Promise<DnsExchange> {
  const id = randomInt(0, 0x10000);
  const timeoutMs = q.timeoutMs ?? 2000;
  const socket = dgram.createSocket(net.isIPv6(q.server.host) ? 'udp6' : 'udp4');
  const name = q.randomizeCase ? randomCase(q.name) : q.name;
  let ignored = 0;
  return new Promise<DnsExchange>((resolve, reject) => {
    const done = (err: Error | undefined, exchange?: DnsExchange) => {
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else resolve(exchange!);
    };
    const timer = setTimeout(() => {
      const message = `no answer from ${q.server.host}:${q.server.port} over UDP within ${timeoutMs} ms (${q.type} ${q.name})`;
      let sourcePort = 0;
      try {
        sourcePort = socket.address().port;
      } catch {
        /* not bound yet */
      }
      done(new DnsTimeout(message, id, sourcePort));
    }, timeoutMs);
    socket.on('error', (err) => done(err));
    socket.on('message', (bytes, from) => {
      const response = from.address === q.server.host && from.port === q.server.port ? parseOrUndefined(bytes) : undefined;
      if (!response || !answersOurQuery(response, q, id, name)) {
        ignored++;
        return;
      }
      done(undefined, { query: q, response, transport: 'udp', truncatedOverUdp: false, id, sourcePort: socket.address().port, ms: 0, ignored });
    });
    // Port 0: the OS picks the source port, randomly on Linux, a new one for every query.
    socket.bind({ port: 0, address: q.localAddress }, () => {
      socket.send(buildQuery(q, id, name), q.server.port, q.server.host, (err) => err && done(err));
    });
  });
}

function overTcp(q: DnsQuery): Promise<DnsExchange> {
  const id = randomInt(0, 0x10000);
  const timeoutMs = q.timeoutMs ?? 2000;
  const name = q.randomizeCase ? randomCase(q.name) : q.name;
  return new Promise<DnsExchange>((resolve, reject) => {
    const socket = net.connect({ host: q.server.host, port: q.server.port, localAddress: q.localAddress });
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(
      () => socket.destroy(new DnsTimeout(`no answer from ${q.server.host}:${q.server.port} over TCP within ${timeoutMs} ms (${q.type} ${q.name})`, id, socket.localPort ?? 0)),
      timeoutMs,
    );
    socket.on('connect', () => {
      const message = buildQuery(q, id, name);
      const length = Buffer.alloc(2);
      length.writeUInt16BE(message.length);
      socket.write(Buffer.concat([length, message]));
    });
    // Over TCP each message is preceded by its length in two bytes (RFC 1035 §4.2.2).
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 2 || buffered.length < 2 + buffered.readUInt16BE(0)) return;
      const response = parseOrUndefined(buffered.subarray(2, 2 + buffered.readUInt16BE(0)));
      const sourcePort = socket.localPort ?? 0;
      clearTimeout(timer);
      socket.end();
      if (!response || !answersOurQuery(response, q, id, name)) {
        return reject(new Error(`${q.server.host}:${q.server.port} answered over TCP with a message that does not match the question`));
      }
      resolve({ query: q, response, transport: 'tcp', truncatedOverUdp: false, id, sourcePort, ms: 0, ignored: 0 });
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      reject(new Error(`${q.server.host}:${q.server.port} closed the TCP connection without an answer`));
    });
  });
}
