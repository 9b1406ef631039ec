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
    'Request sent inside TLS:',
    ...result.requestText.split(/\r?\n/).map((l) => `  > ${l}`),
    `Answer: ${result.status}${result.headers['location'] ? `, Location: ${result.headers['location']}` : ''}, served by ${result.headers['x-served-by'] ?? '?'}`,
    // The body as the bytes came, line for line (a final newline ends the last line, adds none).
    ...result.bodyText.replace(/\n$/, '').split('\n').map((l) => `  < ${l}`),
  ];
}
