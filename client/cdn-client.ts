// The phone fetching pictures from the CDN (seed §4). It looks the host up through its local DNS
// (which ends at the GSLB's choice of edge), connects to that edge, and reads from the response
// headers what each cache tier did: Cache-Status (RFC 9211) lists the tiers nearest-origin first,
// Age says how long the copy has been in caches, Via names the proxies it passed.
import http from 'node:http';
import type { LookupFunction } from 'node:net';
import { findRole, readState, type RoleState } from '../lab/state.ts';
import { clientAddress, type Region } from '../lab/topology.ts';
import { STATIC_HOST } from '../servers/dns/lab-zones.ts';
import { stubLookup, stubResolve } from './stub-resolver.ts';
// Cache-Status is read with the caches' own parser (RFC 9211 over RFC 8941 List syntax).
import { parseCacheStatus, type CacheStatusEntry } from '../servers/net/cache-status.ts';
import { words } from '../lab/story/words/index.ts';
import { parseCommandLine } from './command-line.ts';
import { digFetchWords, type FetchSummary } from './words/dig-fetch.ts';

export interface CdnFetch {
  url: string;
  status: number;
  headers: http.IncomingHttpHeaders;
  bytes: number;
  ms: number;
  local: { address: string; port: number };
  remote: { address: string; port: number };
  cacheStatus: CacheStatusEntry[];
  age: number | undefined;
}

export interface CdnFetchOptions {
  url: string;
  /** The stub resolver: the host name goes through the local DNS and the GSLB. */
  lookup: LookupFunction;
  localAddress?: string;
  method?: 'GET' | 'HEAD';
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export function fetchViaCdn(opts: CdnFetchOptions): Promise<CdnFetch> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = http.request(opts.url, {
      method: opts.method ?? 'GET',
      headers: opts.headers,
      lookup: opts.lookup,
      localAddress: opts.localAddress,
      agent: false, // a new connection (and a new DNS lookup) per fetch, so each one can be narrated
      timeout: opts.timeoutMs ?? 10_000,
    });
    req.on('timeout', () => req.destroy(new Error(digFetchWords().noAnswerWithin(opts.url, opts.timeoutMs ?? 10_000))));
    req.on('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'ECONNREFUSED' ? new Error(digFetchWords().nothingListens(new URL(opts.url).host, err.message)) : err);
    });
    req.on('response', (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => {
        const s = res.socket;
        resolve({
          url: opts.url,
          status: res.statusCode ?? 0,
          headers: res.headers,
          bytes,
          ms: Date.now() - started,
          local: { address: s.localAddress ?? '', port: s.localPort ?? 0 },
          remote: { address: s.remoteAddress ?? '', port: s.remotePort ?? 0 },
          cacheStatus: parseCacheStatus(res.headers['cache-status']),
          age: res.headers['age'] !== undefined ? Number(res.headers['age']) : undefined,
        });
      });
    });
    req.end();
  });
}

/**
 * The edge role at the address DNS gave. With one address per role that is exact. On a single
 * address every edge shares it and DNS cannot say which port: then `preferred` decides (the
 * GSLB's choice when known, else the edge of the phone's region). An edge's https port
 * (`edge-north-tls`, partOf edge-north) is the same edge, not another one: the http one is returned.
 */
export function edgeAt(roles: RoleState[], address: string, preferred: string): RoleState {
  const edges = roles.filter((r) => r.name.startsWith('edge-') && !r.partOf && r.host === address);
  const edge = edges.find((r) => r.name === preferred) ?? edges[0];
  if (!edge) throw new Error(digFetchWords().noEdgeAt(STATIC_HOST, address));
  return edge;
}

/** `npm run lab -- fetch /images/phone.png`: one fetch through the running lab's CDN. */
export async function fetchCommand(argv: string[]): Promise<number> {
  const say = digFetchWords();
  const { values, positionals } = parseCommandLine(
    {
      args: argv,
      allowPositionals: true,
      options: { from: { type: 'string', default: 'north' }, head: { type: 'boolean', default: false } },
    },
    say.fetchUsage,
  );
  const path = positionals[0] ?? '/images/phone.png';
  if (!path.startsWith('/')) throw new Error(say.pathSlash(path));
  const region = values.from;
  if (region !== 'north' && region !== 'south') throw new Error(say.fromRegion(region));
  const state = readState();
  const localDns = findRole(state, 'local-dns');
  const localAddress = clientAddress(region as Region, state.addressing);
  const stub = { resolver: { host: localDns.host, port: localDns.port }, localAddress };
  const answer = await stubResolve(STATIC_HOST, stub);
  const edge = edgeAt(state.roles, answer.addresses[0]!, `edge-${region}`);
  const url = `http://${STATIC_HOST}${edge.port === 80 ? '' : `:${edge.port}`}${path}`;
  const got = await fetchViaCdn({ url, lookup: stubLookup(stub), localAddress, method: values.head ? 'HEAD' : 'GET' });
  const summary: FetchSummary = {
    host: STATIC_HOST,
    chain: answer.chain.map((r) => r.data),
    localDns: { host: localDns.host, port: localDns.port },
    method: values.head ? 'HEAD' : 'GET',
    url,
    local: got.local,
    edge: edge.name,
    remote: got.remote,
    status: got.status,
    bytes: got.bytes,
    ms: got.ms,
  };
  for (const line of say.fetchLines(summary)) console.log(line);
  for (const line of words().cache.cachePathLines(got.cacheStatus)) console.log(`  ${line}`);
  for (const name of ['cache-status', 'age', 'via', 'cache-control', 'etag', 'last-modified', 'content-type', 'content-length']) {
    if (got.headers[name] !== undefined) console.log(`  ${name}: ${got.headers[name]}`);
  }
  return got.status < 400 ? 0 : 1;
}
