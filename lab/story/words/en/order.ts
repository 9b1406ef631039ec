// The phone's order in words: the connection, the TLS session, the chain it verified, the answer.
import type { OrderResult } from '../../../../client/order-client.ts';
import { orderAnswerFacts, tlsSessionFacts, type OrderAnswerFacts } from '../../facts.ts';
import { tlsSessionLines } from './tls.ts';

export function orderResultLines(result: OrderResult): string[] {
  const { tcp } = result;
  return [
    `TCP   ${tcp.localAddress}:${tcp.localPort} (client, ephemeral port) → ${tcp.remoteAddress}:${tcp.remotePort} (SLB)`,
    ...tlsSessionLines(tlsSessionFacts(result)),
    ...orderRequestLines(result.requestText),
    ...orderAnswerLines(orderAnswerFacts(result)),
  ];
}

/** The request as the client handed it to TLS, line for line. */
export function orderRequestLines(requestText: string): string[] {
  return ['Request sent inside TLS:', ...requestText.split(/\r?\n/).map((l) => `  > ${l}`)];
}

/** The answer: status, Location, who served it, then the body as the bytes came. */
export function orderAnswerLines(a: OrderAnswerFacts): string[] {
  return [
    `Answer: ${a.status}${a.location ? `, Location: ${a.location}` : ''}, served by ${a.servedBy ?? '?'}`,
    // The body as the bytes came, line for line (a final newline ends the last line, adds none).
    ...a.bodyText.replace(/\n$/, '').split('\n').map((l) => `  < ${l}`),
  ];
}
