// `npm run lab -- order`: the phone places one order against the running lab and shows
// what happened: the connection, the TLS session, the chain it verified, and the answer.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { readState, findRole } from '../lab/state.ts';
import { parseTlsMode } from '../servers/net/tls-modes.ts';
import { clientAddress, type Region } from '../lab/topology.ts';
import { placeOrder, SEED_ORDER } from './order-client.ts';
import { stubLookup } from './stub-resolver.ts';
import { words } from '../lab/story/words/index.ts';
import { orderWords } from './words/order.ts';

export async function orderCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      mode: { type: 'string', default: 'classic' },
      from: { type: 'string', default: 'north' },
      key: { type: 'string' },
      name: { type: 'string' },
      ca: { type: 'string' },
      body: { type: 'string' },
    },
  });
  const w = orderWords();
  const region = values.from;
  if (region !== 'north' && region !== 'south') throw new Error(w.badFrom(region));
  const state = readState();
  const mode = parseTlsMode(values.mode, 'classic');
  // The SLB serves classic TLS on a port of its own; the shop's port is forward secret only.
  const slb = (mode === 'classic' ? state.roles.find((r) => r.name === 'slb-classic') : undefined) ?? findRole(state, 'slb');
  const caFile = values.ca ?? state.rootCa;
  const idempotencyKey = values.key ?? randomUUID();
  const localDns = findRole(state, 'local-dns');
  const localAddress = clientAddress(region as Region, state.addressing);
  const result = await placeOrder({
    hostname: values.name ?? state.shopHost,
    // The phone finds the shop the way it always does: by asking its local DNS.
    lookup: stubLookup({ resolver: { host: localDns.host, port: localDns.port }, localAddress }),
    port: slb.port,
    rootCaPem: fs.readFileSync(caFile, 'utf8'),
    mode,
    body: values.body !== undefined ? parseBody(values.body) : SEED_ORDER,
    // Always an Idempotency-Key: if the answer is lost (502, 504, a timeout), repeating the order
    // with the same key cannot take it twice.
    idempotencyKey,
    localAddress,
  });
  for (const line of words().order.orderResultLines(result)) console.log(line);
  if (result.status >= 500) console.log(w.retrySafely(idempotencyKey));
  return result.status >= 200 && result.status < 300 ? 0 : 1;
}

/** The order's body from --body: JSON, or one line saying it is not. */
function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(orderWords().badBody((err as Error).message));
  }
}
