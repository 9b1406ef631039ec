// Facts the story tells, taken from a run's results: the same in every language. The words for
// them are in words/<lang>/; the trace (events.ts) carries these.
import type { ChainStep } from '../../client/chain-check.ts';
import type { OrderResult } from '../../client/order-client.ts';
import { keyExchangeOf } from '../tls-decoder.ts';

/** What the phone's TLS library says it agreed, and each step of the chain it verified. */
export interface TlsSessionFacts {
  protocol: string | null;
  /** IANA's name and OpenSSL's for the same suite. */
  cipher: { standardName?: string; name: string };
  keyExchange: SessionKeyExchange;
  /** Each step of the walk as facts (client/chain-check.ts); words/<lang>/tls.ts words them. */
  chain: ChainStep[];
}

/** Classic mode's three randoms, the master secret recomputed from them, and the key log line it matched. */
export interface MasterSecretFacts {
  clientRandom: string;
  serverRandom: string;
  preMaster: string;
  master: string;
  keyLogLine: number;
}

/**
 * How the two ends agreed on keys. `ephemeral`: a key pair made for this connection alone ((EC)DHE,
 * or a hybrid with ML-KEM), so forward secret; its group when the wire or Node names it. `rsa`: the
 * client encrypted the pre-master secret with the server's RSA key (TLS 1.2's TLS_RSA_ suites).
 * `unknown`: none of these can be told (a suite the lab does not know, and no key from Node).
 */
export type SessionKeyExchange = { kind: 'ephemeral'; group?: string } | { kind: 'rsa' } | { kind: 'unknown' };

/**
 * The TLS session of an order, as facts (the trace's form of result.tls). The key exchange's group
 * comes from the ServerHello's key_share when the connection was recorded (what was on the wire),
 * else from Node (getEphemeralKeyInfo). Node reporting no key means RSA key exchange only where
 * there can be one: TLS 1.3 has none (RFC 8446 §1.2), and Node 22 reports nothing at all for the
 * hybrid X25519MLKEM768 its OpenSSL 3.5 negotiates.
 */
export function tlsSessionFacts(result: OrderResult, serverHelloGroup?: string): TlsSessionFacts {
  const { tls } = result;
  const key = tls.ephemeralKey as { name?: string; type?: string };
  const group = serverHelloGroup ?? (key.type ? (key.name ?? key.type) : undefined);
  const suite = keyExchangeOf(tls.cipher.standardName ?? '');
  const ephemeral = group !== undefined || tls.protocol === 'TLSv1.3' || suite === 'ECDHE' || suite === 'DHE';
  return {
    protocol: tls.protocol,
    cipher: { standardName: tls.cipher.standardName, name: tls.cipher.name },
    keyExchange: ephemeral ? { kind: 'ephemeral', ...(group && { group }) } : suite === 'RSA' ? { kind: 'rsa' } : { kind: 'unknown' },
    chain: tls.chain.map(({ ok, link, check }) => ({ ok, link, check })),
  };
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

