// The phone's order in words: the connection, the TLS session, the chain it verified, the answer.
import type { OrderResult } from '../../../client/order-client.ts';
import { tlsSessionLines, type TlsSessionFacts } from './tls.ts';

export function orderResultLines(result: OrderResult): string[] {
  const { tcp } = result;
  return [
    `TCP   ${tcp.localAddress}:${tcp.localPort} (client, ephemeral port) → ${tcp.remoteAddress}:${tcp.remotePort} (SLB)`,
    ...tlsSessionLines(tlsSessionFacts(result)),
    ...orderRequestLines(result.requestText),
    ...orderAnswerLines(orderAnswerFacts(result)),
  ];
}

/** The TLS session of an order, as facts (the trace's form of result.tls). */
export function tlsSessionFacts(result: OrderResult): TlsSessionFacts {
  const { tls } = result;
  const key = tls.ephemeralKey as { name?: string; type?: string };
  return {
    protocol: tls.protocol,
    cipher: { standardName: tls.cipher.standardName, name: tls.cipher.name },
    ...(key.type && { ephemeralKey: { name: key.name, type: key.type } }),
    chain: tls.chain.map(({ ok, link, detail }) => ({ ok, link, detail })),
  };
}

/** The request as the client handed it to TLS, line for line. */
export function orderRequestLines(requestText: string): string[] {
  return ['Request sent inside TLS:', ...requestText.split(/\r?\n/).map((l) => `  > ${l}`)];
}

export interface OrderAnswerFacts {
  status: number;
  location?: string;
  servedBy?: string;
  bodyText: string;
}

export function orderAnswerFacts(result: OrderResult): OrderAnswerFacts {
  const header = (name: string) => (result.headers[name] === undefined ? undefined : String(result.headers[name]));
  return { status: result.status, location: header('location'), servedBy: header('x-served-by'), bodyText: result.bodyText };
}

/** The answer: status, Location, who served it, then the body as the bytes came. */
export function orderAnswerLines(a: OrderAnswerFacts): string[] {
  return [
    `Answer: ${a.status}${a.location ? `, Location: ${a.location}` : ''}, served by ${a.servedBy ?? '?'}`,
    // The body as the bytes came, line for line (a final newline ends the last line, adds none).
    ...a.bodyText.replace(/\n$/, '').split('\n').map((l) => `  < ${l}`),
  ];
}
