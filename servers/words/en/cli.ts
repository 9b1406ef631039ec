// What the servers' run-alone commands say (slb, app, cache, origin): their usage, errors and
// status lines. What the servers answer on the wire (HTTP bodies, DNS) is protocol data, not words.

export const serversCli = {
  appUsage: (store: string) => `usage: app [--name app-1] [--listen 127.0.0.1:8081] [--store <file>] [--trust-proxy ADDRESS ...]
  --name    this server's name, sent back in X-Served-By        (default app-1)
  --listen  host:port for plain HTTP (the SLB terminates TLS);
            port 0 picks a free port                             (default 127.0.0.1:8081)
  --store   the order log, one JSON line per order               (default ${store})
  --trust-proxy  an address whose X-Forwarded-* headers are believed: the SLB's (repeatable; default none)`,
  originUsage: (dir: string) => `usage: origin [--listen 127.0.0.40:8080] [--dir <folder>] [--hostname static.geektime.test] [--slow-ms 0]
  --listen    host:port for plain HTTP; port 0 picks a free port   (default 127.0.0.40:8080)
  --dir       the content folder, generated on first use            (default ${dir})
  --hostname  a Host name to serve; repeat for more                 (default static.geektime.test)
  --slow-ms   delay every content response (lab switch)             (default 0)`,
  cacheUsage: `usage: cache --upstream URL [--name NAME] [--listen HOST:PORT] [--hostname NAME ...]
             [--upstream-host NAME] [--max-bytes 64m] [--max-object-bytes 16m]
             [--max-header-bytes 32k] [--purge-token TOKEN | --no-purge]
  PURGE needs Authorization: Bearer <token>; without --purge-token a random one is made and printed.
  A parent behind edges needs --max-header-bytes of the edges' limit + 1k (edge 32k, parent 33k).`,

  listenWants: (example: string, got: string) => `--listen wants host:port such as ${example}, got "${got}"`,
  listenWantsNot: (example: string, got: string) => `--listen wants host:port such as ${example}, not "${got}"`,
  portNumber: (flag: string, got: string | undefined) => `${flag} must be a port number, not "${got}"`,
  cannotRead: (what: 'chain' | 'key', file: string) =>
    `cannot read the ${what === 'chain' ? 'certificate chain' : 'private key'} ${file}: run \`npm run lab -- certs\` to make the lab's chain, or pass --cert/--key`,
  upstreamRequired: '--upstream is required (the parent cache or the origin, e.g. http://127.0.0.30:8080)',
  sizeWanted: (flag: string, got: string) => `${flag} wants a size such as 64m, 512k or 1g, not "${got}"`,
  slowMsWanted: (got: string) => `--slow-ms wants a whole number of milliseconds, got "${got}"`,
  cannotOpenOrderLog: (why: string) => `cannot open the order log: ${why}`,

  slbListening: (where: string, mode: string, classic: string | undefined, backends: string) =>
    `slb listening on ${where} (TLS: ${mode}${classic ? `, classic TLS 1.2 RSA on ${classic}` : ''}), forwarding to ${backends}`,
  appListening: (name: string, url: string) => `${name} listening on ${url} (plain HTTP; the SLB in front terminates TLS)`,
  appOrderLog: (name: string, file: string, count: number) => `${name} order log: ${file} (${count} orders so far). Ctrl-C to stop.`,
  appUnreadable: (name: string, count: number, lines: string, copy: string) =>
    `${name}: ${count} unreadable line(s) in the order log (line ${lines}), copied to ${copy}`,
  cacheListening: (name: string, url: string, hostnames: string, upstream: string, hostHeader: string | undefined, mib: string, tryIt: string) =>
    `${name} listening on ${url} for ${hostnames}; upstream ${upstream}${hostHeader ? ` (Host: ${hostHeader})` : ''}; ${mib} MiB of memory. Try: ${tryIt}`,
  purgeToken: (command: string) => `PURGE token (operator only): ${command}`,
  originListening: (url: string, hostnames: string, slowMs: number) => `origin listening on ${url} for Host ${hostnames}${slowMs > 0 ? ` (every answer delayed ${slowMs} ms)` : ''}`,
  originContent: (dir: string) => `origin content in ${dir}:`,
  bytes: (n: number) => `${n.toLocaleString('en')} bytes`,
  tryIt: (command: string) => `try: ${command}`,
  ctrlC: 'Ctrl-C to stop.',
  finishing: (who: string, signal: string) => `${who}: ${signal}, finishing requests in flight`,
  stopped: (who: string) => `${who}: stopped`,
};
