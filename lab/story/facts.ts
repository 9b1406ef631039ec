// Facts the story tells, taken from a run's results: the same in every language. The words for
// them are in words/<lang>/; the trace (events.ts) carries these.
import type { ChainStep } from '../../client/chain-check.ts';
import type { OrderResult } from '../../client/order-client.ts';

/** What the phone's TLS library says it agreed, and each step of the chain it verified. */
export interface TlsSessionFacts {
  protocol: string | null;
  /** IANA's name and OpenSSL's for the same suite. */
  cipher: { standardName?: string; name: string };
  /** The key exchange: an ephemeral key's name or type, or none (RSA key exchange: no ephemeral key). */
  ephemeralKey?: { name?: string; type?: string };
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

/** The TLS session of an order, as facts (the trace's form of result.tls). */
export function tlsSessionFacts(result: OrderResult): TlsSessionFacts {
  const { tls } = result;
  const key = tls.ephemeralKey as { name?: string; type?: string };
  return {
    protocol: tls.protocol,
    cipher: { standardName: tls.cipher.standardName, name: tls.cipher.name },
    ...(key.type && { ephemeralKey: { name: key.name, type: key.type } }),
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

