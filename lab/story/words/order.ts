// The phone's order in words: the connection, the TLS session, the chain it verified, the answer.
import type { OrderResult } from '../../../client/order-client.ts';

export function orderResultLines(result: OrderResult): string[] {
  const { tcp, tls } = result;
  const kx = 'type' in tls.ephemeralKey ? `${(tls.ephemeralKey as { name?: string }).name ?? (tls.ephemeralKey as { type: string }).type} (ephemeral, forward secret)` : 'RSA (the client encrypted the pre-master secret with the server\'s public key)';
  return [
    `TCP   ${tcp.localAddress}:${tcp.localPort} (client, ephemeral port) → ${tcp.remoteAddress}:${tcp.remotePort} (SLB)`,
    `TLS   ${tls.protocol}, cipher ${tls.cipher.standardName} (OpenSSL: ${tls.cipher.name}), key exchange ${kx}`,
    'Chain the client verified, trusting only the lab root:',
    ...tls.chain.map((step) => `  ${step.ok ? '✓' : '✗'} ${step.link}: ${step.detail}`),
    ...orderRequestLines(result.requestText),
    ...orderAnswerLines(orderAnswerFacts(result)),
  ];
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
