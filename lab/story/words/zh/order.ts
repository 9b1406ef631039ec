// The phone's order in Chinese (see en/order.ts): the connection, the TLS session, the chain it
// verified, the answer. The request and the body are quoted byte for byte, never translated.
import type { OrderResult } from '../../../../client/order-client.ts';
import { orderAnswerFacts, tlsSessionFacts, type OrderAnswerFacts } from '../../facts.ts';
import { tlsSessionLines } from './tls.ts';

export function orderResultLines(result: OrderResult): string[] {
  const { tcp } = result;
  return [
    `TCP   ${tcp.localAddress}:${tcp.localPort}（客户端，临时端口）→ ${tcp.remoteAddress}:${tcp.remotePort}（SLB）`,
    ...tlsSessionLines(tlsSessionFacts(result)),
    ...orderRequestLines(result.requestText),
    ...orderAnswerLines(orderAnswerFacts(result)),
  ];
}

/** 客户端交给 TLS 的请求，逐行照录。 */
export function orderRequestLines(requestText: string): string[] {
  return ['在 TLS 里发出的请求：', ...requestText.split(/\r?\n/).map((l) => `  > ${l}`)];
}

/** 响应：状态码、Location、由谁处理，然后是照原样收到的响应体。 */
export function orderAnswerLines(a: OrderAnswerFacts): string[] {
  return [
    `响应：${a.status}${a.location ? `，Location: ${a.location}` : ''}，处理它的是 ${a.servedBy ?? '?'}`,
    // The body as the bytes came, line for line (a final newline ends the last line, adds none).
    ...a.bodyText.replace(/\n$/, '').split('\n').map((l) => `  < ${l}`),
  ];
}
