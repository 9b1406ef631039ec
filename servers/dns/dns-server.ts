// What every DNS role shares: listening on UDP and TCP on one address and port, turning bytes
// into a question, and making sure no packet, however broken, can take the server down.
//
// Each role (root, TLD, authoritative, GSLB, resolver) only writes a handler:
//     (request, context) => response | undefined        (undefined = stay silent)
// This file does the rest, in the order a packet meets it:
//   1. dns2 decodes the bytes (a message without even a header never reaches us);
//   2. sanity: responses are ignored, unknown opcodes get NOTIMP, a message that is not exactly
//      one well-formed question gets FORMERR, an EDNS version other than 0 gets BADVERS;
//   3. the handler runs; if it throws or rejects, the client gets SERVFAIL and the log a line
//      (dns2 lets a rejected async handler kill the process, so this wrapper is the guard);
//   4. the answer goes back with the client's id, and with an OPT record if the client sent one.
import dns2 from 'dns2';
import { bindUdp, listen } from '../net/listen.ts';

export const { Packet } = dns2;
export type DnsPacket = dns2.Packet;
export type DnsRecord = dns2.Packet.Resource;

export interface DnsContext {
  client: { address: string; port: number };
  transport: 'udp' | 'tcp';
}

export type DnsHandler = (request: DnsPacket, context: DnsContext) => DnsPacket | undefined | Promise<DnsPacket | undefined>;

export interface DnsServerOptions {
  name: string;
  host: string;
  /** 0 = any free port (the same one for UDP and TCP). */
  port: number;
  handle: DnsHandler;
  log?: (line: string) => void;
}

export interface RunningDnsServer {
  name: string;
  host: string;
  port: number;
  close(): Promise<void>;
}

/** The EDNS(0) UDP payload size we advertise: the DNS Flag Day 2020 value, safe from fragmentation. */
export const EDNS_UDP_SIZE = 1232;

export function findOpt(packet: DnsPacket): DnsRecord | undefined {
  return packet.additionals.find((r) => r.type === Packet.TYPE.EDNS);
}

/** An empty answer to `request`: same id and question, QR set. */
export function responseTo(request: DnsPacket, rcode: number = Packet.RCODE.NOERROR): DnsPacket {
  const response = Packet.createResponseFromRequest(request);
  response.header.rcode = rcode;
  return response;
}

/** Check what every server must check before looking at the question; an answer means "stop". */
function screen(request: DnsPacket): DnsPacket | 'ignore' | undefined {
  if (request.header.qr === 1) return 'ignore'; // a response sent to a server: answering could loop
  if (request.header.opcode !== 0) return Packet.createErrorResponseFromRequest(request, Packet.RCODE.NOTIMP);
  if (request.questions.length !== 1 || request.errors.length > 0) {
    const formErr = Packet.createErrorResponseFromRequest(withoutQuestions(request), Packet.RCODE.FORMERR);
    return formErr;
  }
  const opt = findOpt(request);
  if (opt && (opt.version ?? 0) !== 0) return Packet.createErrorResponseFromRequest(request, Packet.RCODE.BADVERS);
  return undefined;
}

/** A FORMERR must not echo a question we could not read. */
function withoutQuestions(request: DnsPacket): DnsPacket {
  const copy = new Packet();
  copy.header = new Packet.Header({ ...request.header });
  copy.additionals = request.additionals.filter((r) => r.type === Packet.TYPE.EDNS);
  return copy;
}

/** If the client spoke EDNS, answer with an OPT record (RFC 6891 §6.1.1), unless the handler made one. */
function finish(request: DnsPacket, response: DnsPacket): DnsPacket {
  response.header.id = request.header.id;
  response.header.qr = 1;
  response.header.rd = request.header.rd;
  if (findOpt(request) && !findOpt(response)) {
    response.additionals.push(Packet.Resource.EDNS([], { udpPayloadSize: EDNS_UDP_SIZE }));
  }
  return response;
}

export async function startDnsServer(opts: DnsServerOptions): Promise<RunningDnsServer> {
  const log = opts.log ?? (() => {});

  async function answer(request: DnsPacket, send: (p: DnsPacket) => unknown, context: DnsContext): Promise<void> {
    const early = screen(request);
    if (early === 'ignore') return;
    if (early) {
      log(`${opts.name}: ${context.client.address}:${context.client.port} sent a malformed query (${request.errors.map((e) => e.message).join('; ') || `${request.questions.length} questions`}); answered ${rcodeName(early.header.rcode)}`);
      await send(early);
      return;
    }
    let response: DnsPacket | undefined;
    try {
      response = await opts.handle(request, context);
    } catch (err) {
      log(`${opts.name}: handler failed on ${request.questions[0]?.name}: ${(err as Error).stack ?? err}`);
      response = Packet.createErrorResponseFromRequest(request, Packet.RCODE.SERVFAIL);
    }
    if (response) await send(finish(request, response));
  }

  // dns2 passes UDP's remote info ({address, port}) but, for TCP, the socket itself, whose
  // `address` is a method: take remoteAddress first.
  type Peer = { address?: unknown; port?: unknown; remoteAddress?: string; remotePort?: number };
  const onRequest = (transport: 'udp' | 'tcp') => (request: DnsPacket, send: (p: DnsPacket) => unknown, client: Peer) => {
    const context: DnsContext = {
      transport,
      client:
        transport === 'tcp'
          ? { address: client.remoteAddress ?? '?', port: client.remotePort ?? 0 }
          : { address: String(client.address), port: Number(client.port) },
    };
    answer(request, send, context).catch((err: Error) => log(`${opts.name}: could not send an answer to ${context.client.address}: ${err.message}`));
  };
  // Bytes dns2 could not even start to decode (shorter than a header): stay silent, as BIND does.
  const onRequestError = () => {};

  // UDP first, on the port asked for; TCP on the same port number. With port 0 the UDP port is
  // chosen by the OS and, rarely, that number is taken for TCP: then try again.
  for (let attempt = 1; ; attempt++) {
    const udp = new dns2.UDPServer({ type: opts.host.includes(':') ? 'udp6' : 'udp4' } as dns2.UdpServerOptions);
    udp.on('request', onRequest('udp'));
    udp.on('requestError', onRequestError);
    const udpAddress = await bindUdp(udp, opts.name, opts.host, opts.port);
    const tcp = new dns2.TCPServer();
    tcp.on('request', onRequest('tcp'));
    tcp.on('requestError', onRequestError);
    try {
      await listen(tcp, opts.name, opts.host, udpAddress.port);
    } catch (err) {
      udp.close();
      if (opts.port === 0 && attempt < 5) continue;
      throw err;
    }
    return {
      name: opts.name,
      host: udpAddress.address,
      port: udpAddress.port,
      close: () =>
        new Promise<void>((resolve) => {
          udp.close();
          tcp.close(() => resolve());
        }),
    };
  }
}

export function rcodeName(rcode: number): string {
  return Object.entries(Packet.RCODE).find(([, code]) => code === rcode)?.[0] ?? `RCODE${rcode}`;
}
