// One CDN cache tier alone, in front of any upstream (for workshops across machines):
//
//   cache --name edge-north --listen 127.0.0.21:8080 --upstream http://127.0.0.30:8080
//   cache --name parent --listen 0.0.0.0:8080 --upstream https://example.org --hostname static.example.test --upstream-host example.org
import { parseArgs } from 'node:util';
import { parseHostPort } from '../net/listen.ts';
import { DEFAULT_MAX_BYTES, startCache } from './cache.ts';
import { serversCliWords } from '../words/cli.ts';

/** "64m", "512k", "1g" or plain bytes. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)i?b?$/i.exec(text.trim());
  if (!m) return undefined;
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.floor(Number(m[1]) * unit);
}

export async function cacheCommand(argv: string[]): Promise<number> {
  const said = serversCliWords();
  const { values } = parseArgs({
    args: argv,
    options: {
      name: { type: 'string', default: 'edge' },
      listen: { type: 'string', default: '127.0.0.1:8080' },
      upstream: { type: 'string' },
      hostname: { type: 'string', multiple: true },
      'upstream-host': { type: 'string' },
      'max-bytes': { type: 'string' },
      'max-object-bytes': { type: 'string' },
      'max-header-bytes': { type: 'string' },
      'purge-token': { type: 'string' },
      'no-purge': { type: 'boolean', default: false },
    },
  });
  if (!values.upstream) throw new Error(`cache: ${said.upstreamRequired}\n${said.cacheUsage}`);
  const where = parseHostPort(values.listen);
  if (!where) throw new Error(`cache: ${said.listenWantsNot('127.0.0.21:8080', values.listen)}`);
  const size = (flag: string, text: string | undefined) => {
    if (text === undefined) return undefined;
    const bytes = parseSize(text);
    if (!bytes) throw new Error(`cache: ${said.sizeWanted(flag, text)}`);
    return bytes;
  };
  const maxBytes = size('--max-bytes', values['max-bytes']) ?? DEFAULT_MAX_BYTES;
  const hostnames = values.hostname ?? ['static.geektime.test'];

  const cache = await startCache({
    name: values.name,
    host: where.host,
    port: where.port,
    upstream: values.upstream,
    hostnames,
    upstreamHostHeader: values['upstream-host'],
    maxBytes,
    maxObjectBytes: size('--max-object-bytes', values['max-object-bytes']),
    maxHeaderBytes: size('--max-header-bytes', values['max-header-bytes']),
    purgeToken: values['no-purge'] ? false : values['purge-token'],
  });
  const tryIt = `curl -sI --resolve ${hostnames[0]}:${cache.port}:${cache.host} http://${hostnames[0]}:${cache.port}/`;
  // Listen for Ctrl-C before saying where it listens: a script may signal it as soon as it reads that.
  const stopAsked = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  console.log(said.cacheListening(cache.name, cache.url, hostnames.join(', '), values.upstream, values['upstream-host'], (maxBytes / 1024 / 1024).toFixed(1), tryIt));
  if (cache.purgeToken && !values['purge-token']) {
    console.log(said.purgeToken(`curl -X PURGE -H 'Authorization: Bearer ${cache.purgeToken}' --resolve ${hostnames[0]}:${cache.port}:${cache.host} http://${hostnames[0]}:${cache.port}/path`));
  }
  await stopAsked;
  await cache.close();
  return 0;
}
