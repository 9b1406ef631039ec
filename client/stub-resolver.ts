// The phone's stub resolver: it does no walking of its own. It sends one question with RD=1
// ("recursion desired") to the one server it was configured with, the local DNS, and takes
// whatever comes back. It never asks the operating system's resolver (that one knows nothing of
// the lab's `.test` names, and must not: nothing may leak to the real DNS).
//
// stubLookup() wraps it in the shape Node's `lookup` option wants, so http/https/tls/net
// connections in the lab find their server the way a phone does: through its local DNS.
import net, { type LookupFunction } from 'node:net';
import type { LookupAddress } from 'node:dns';
import { rcodeName, Packet } from '../servers/dns/dns-server.ts';
import { sendQuery } from '../servers/dns/query.ts';

export interface StubOptions {
  resolver: { host: string; port: number };
  /** The phone's own address, e.g. 127.10.1.7 in the north region. */
  localAddress?: string;
  timeoutMs?: number;
}

export interface StubAnswer {
  name: string;
  addresses: string[];
  /** The records as the resolver returned them: the CNAME chain, then the A records. */
  chain: Array<{ name: string; type: string; ttl: number; data: string }>;
  rcode: string;
  id: number;
  sourcePort: number;
  ms: number;
}

/** A lookup failure with the code Node's own resolver would use, so callers can tell the cases apart. */
export class StubError extends Error {
  constructor(
    message: string,
    readonly code: 'ENOTFOUND' | 'ESERVFAIL' | 'EREFUSED' | 'ETIMEOUT' | 'ENODATA' | 'EBADRESP',
    readonly hostname: string,
  ) {
    super(message);
    this.name = 'StubError';
  }
}

const WHY: Record<string, [StubError['code'], string]> = {
  NXDOMAIN: ['ENOTFOUND', 'no such name (NXDOMAIN)'],
  SERVFAIL: ['ESERVFAIL', 'it could not find the answer (SERVFAIL)'],
  REFUSED: ['EREFUSED', 'it refused to answer this client (REFUSED)'],
};

/** A records for `name`, asked of the local DNS with RD=1. */
export async function stubResolve(name: string, opts: StubOptions): Promise<StubAnswer> {
  const where = `the local DNS ${opts.resolver.host}:${opts.resolver.port}`;
  let exchange;
  try {
    exchange = await sendQuery({ server: opts.resolver, name, type: 'A', rd: true, timeoutMs: opts.timeoutMs ?? 5000, localAddress: opts.localAddress });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code === 'ETIMEDOUT' ? 'ETIMEOUT' : 'EBADRESP';
    throw new StubError(`cannot resolve ${name}: ${where} did not answer (${(err as Error).message})`, code, name);
  }
  const response = exchange.response;
  const rcode = rcodeName(response.header.rcode);
  if (rcode !== 'NOERROR') {
    const [code, why] = WHY[rcode] ?? ['EBADRESP', `it answered ${rcode}`];
    throw new StubError(`cannot resolve ${name}: ${where} says ${why}`, code, name);
  }
  const chain = response.answers.map((r) => {
    const type = Packet.typeName(r.type);
    return { name: r.name, type, ttl: r.ttl, data: r.address ?? r.domain ?? r.ns ?? String(r.data ?? '') };
  });
  return {
    name,
    addresses: chain.filter((r) => r.type === 'A').map((r) => r.data),
    chain,
    rcode,
    id: exchange.id,
    sourcePort: exchange.sourcePort,
    ms: exchange.ms,
  };
}

/**
 * A `lookup` for net.connect, http.request, https.request and tls.connect that asks the local DNS.
 * IPv4 only (the lab's names have A records). With `all: true` (what Node 20 asks when it may try
 * several addresses, autoSelectFamily) it must call back with an array.
 */
export function stubLookup(opts: StubOptions): LookupFunction {
  return (hostname, options, callback) => {
    const reply = (err: NodeJS.ErrnoException | null, addresses: string[], family = 4) => {
      if (err) return callback(err, options.all ? [] : '', 0);
      if (options.all) return callback(null, addresses.map((address): LookupAddress => ({ address, family })));
      callback(null, addresses[0]!, family);
    };
    // An address needs no DNS at all.
    const literal = net.isIP(hostname);
    if (literal) return reply(null, [hostname], literal);
    if (options.family === 6 || options.family === 'IPv6') {
      return reply(new StubError(`cannot resolve ${hostname} as IPv6: this stub asks only for A records`, 'ENODATA', hostname), []);
    }
    stubResolve(hostname, opts).then(
      (answer) =>
        answer.addresses.length > 0
          ? reply(null, answer.addresses)
          : reply(new StubError(`cannot resolve ${hostname}: the local DNS ${opts.resolver.host}:${opts.resolver.port} has no A record for it (NODATA)`, 'ENODATA', hostname), []),
      (err: StubError) => reply(err, []),
    );
  };
}
