// The CDN's origin: the shop's own web tier and object storage, where the product page and the
// product pictures really live (seed §4). Edge caches and the parent cache sit in front of it and
// forward their misses here with the original `Host: static.geektime.test`; a shopper never
// talks to it directly.
//
// What a cache may do with each answer is decided here, in Cache-Control and, for the CDN alone,
// CDN-Cache-Control: read CACHE_POLICY and CDN_CACHE_POLICY first.
// Then the app, in the order Express tries it: logging, health check, the checks every content
// request passes (Host, method, path), the two lab switches, the content, 404, errors. Then the
// HTTP server, then the command line (`npx tsx servers/cdn/origin.ts --listen 127.0.0.40:8080`).
import { EventEmitter } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import express, { type NextFunction, type Request, type Response } from 'express';
import { listen, parseHostPort, closeGracefully } from '../net/listen.ts';
import { DEFAULT_CONNECTION_LIMITS, guardConnections, type ConnectionLimits } from '../net/limits.ts';
import { labDir } from '../net/paths.ts';
import { ensureOriginContent, type OriginFile } from './origin-content.ts';
import { errorText } from '../words/args.ts';
import { serversCliWords } from '../words/cli.ts';

// ---------------------------------------------------------------------------------------------
// Caching policy, one line per kind of content. RFC 9111 terms: "shared cache" = the CDN's edge
// and parent caches; "private cache" = the shopper's browser.
//
// Cache-Control speaks to every cache on the way. The page and the pictures also carry
// CDN-Cache-Control (RFC 9213), which speaks to the CDN alone: a CDN cache that finds it valid
// obeys it and sets Cache-Control and Expires aside. The shop can PURGE the CDN when a picture
// changes, but not a shopper's browser: so the CDN keeps things long and browsers briefly.

export const CACHE_POLICY = {
  // The product page. It changes when the shop edits it (price, text): browsers keep it 1 min.
  // (The CDN's 5 min are in CDN_CACHE_POLICY. It used to be s-maxage=300 here, but s-maxage also
  // means proxy-revalidate, RFC 9111 §5.2.2.10, which forbids the stale-while-revalidate the
  // CDN is meant to use.)
  page: 'public, max-age=60',
  // Product pictures. They change rarely and are the bulk of the bytes: browsers keep them an
  // hour. (A shop whose image names carried a content hash would say max-age=31536000, immutable;
  // these names do not.)
  image: 'public, max-age=3600',
  // One shopper's account page. The browser may keep it a minute; "private" forbids a shared cache
  // to store it at all, or the next shopper at that edge would see this one's account.
  account: 'private, max-age=60',
  // The cart changes with every click and is personal: no cache, private or shared, stores it.
  cart: 'no-store',
  // Deliberately marked public: the Set-Cookie alone must stop a CDN from storing it. RFC 9111
  // would allow storing it (it only asks not to share the cookie); nginx and Varnish refuse by
  // default, because handing one shopper's session cookie to the next is the classic CDN leak.
  login: 'public, max-age=60',
  // Different bodies for different Accept-Language values: cacheable, but only together with
  // `Vary: Accept-Language`, so a cache keys the stored copy by the language asked for.
  greeting: 'public, max-age=300',
  // The current time, fresh for 2 s: long enough to see a cache answer from storage (with Age),
  // short enough to watch it go stale.
  time: 'public, max-age=2',
  // How many copies are left: nearly current for a shopper (2 s), and unchanged most of the time,
  // so a cache that revalidates gets 304 Not Modified (RFC 9110 §15.4.5) rather than the body.
  stock: 'public, max-age=2',
  // A missing file: a short negative cache, so a burst of requests for a wrong URL is absorbed by
  // the CDN, yet an image uploaded later shows up within seconds (Varnish would keep it 2 min).
  notFound: 'public, max-age=10',
  // Errors that depend on how the request was made (wrong Host, method, range) or on a passing
  // outage (503), and the health check: never stored.
  none: 'no-store',
} as const;

/** What the CDN's caches are told apart from browsers, in CDN-Cache-Control (RFC 9213). */
export const CDN_CACHE_POLICY = {
  // The page: 5 min in the CDN. For 30 s past that a CDN cache may answer with the old page while
  // it revalidates in the background, so no shopper waits on the origin (stale-while-revalidate,
  // RFC 5861). If the origin is down, a 10-minute-old page beats an error page (stale-if-error).
  page: 'max-age=300, stale-while-revalidate=30, stale-if-error=600',
  // The pictures: a day in the CDN, and a day more if the origin is down.
  image: 'max-age=86400, stale-if-error=86400',
  // The stock: 2 s in the CDN too, and if the origin fails, the last count for up to a minute
  // rather than an error (stale-if-error): the workshop watches revalidation and this in seconds.
  stock: 'max-age=2, stale-if-error=60',
} as const;

// ---------------------------------------------------------------------------------------------
// The app.

export interface OriginOptions {
  /** Its name in log lines and X-Served-By; default 'origin'. */
  name?: string;
  /** The content folder; default .lab/origin (generated on first use). */
  contentDir?: string;
  /** The host names it serves; any other Host gets 421. Default ['static.geektime.test']. */
  hostnames?: string[];
  /** One line per request (the CLI prints them); silent by default. */
  log?: (line: string) => void;
  /** Lab switch: delay every content response by this much (request-collapsing experiments). */
  slowMs?: number;
  /** Connections held at once, in all and per client address. Default DEFAULT_CONNECTION_LIMITS. */
  connectionLimits?: ConnectionLimits;
  /** A request's headers must all arrive within this, however they trickle (slowloris). Default 12 000. */
  headersTimeoutMs?: number;
}

/** What the 'request' event carries, once per answered request. */
export interface OriginRequestEvent {
  method: string;
  /** URL path without the query. */
  path: string;
  status: number;
  /** Body bytes sent (0 for HEAD and 304). */
  bytes: number;
  /** The request carried a validator (If-None-Match or If-Modified-Since). */
  conditional: boolean;
  /** The request asked for a byte range. */
  range: boolean;
  /** Who asked: the parent cache, an edge, or curl. */
  from: string;
}

/** The switches a running origin exposes, for the app to read on every request. */
interface LabSwitches {
  failing: boolean;
  slowMs: number;
}

/** A strong ETag from the file's bytes, recomputed only when the file changes. */
function contentEtagger(): (file: string, stat: fs.Stats) => string {
  const known = new Map<string, { version: string; etag: string }>();
  return (file, stat) => {
    const version = `${stat.size}:${stat.mtimeMs}`;
    const hit = known.get(file);
    if (hit?.version === version) return hit.etag;
    const etag = `"${createHash('sha256').update(fs.readFileSync(file)).digest('base64url').slice(0, 27)}"`;
    known.set(file, { version, etag });
    return etag;
  };
}

/** A plain-text answer for everything that is not content: errors, refusals. */
function reply(res: Response, status: number, reason: string, cacheControl: string = CACHE_POLICY.none): void {
  const body = `${reason}\n`;
  // Validators that static files may have set before an error belong to the file, not to this.
  res.removeHeader('ETag');
  res.removeHeader('Last-Modified');
  res.status(status).set({
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    'Cache-Control': cacheControl,
  });
  res.end(body);
}

function readCookie(req: Request, name: string): string | undefined {
  const m = new RegExp(`(?:^|;\\s*)${name}=([^;]*)`).exec(req.headers.cookie ?? '');
  return m?.[1];
}

/** Where requestCount puts every path that is not content: 404s, refused paths, anything a client makes up. */
export const OTHER_PATHS = '(other)';

/** The generated answers' paths (the app.get routes below), counted by name like the files. */
const GENERATED_PATHS = ['/account', '/cart', '/login', '/greeting', '/time', '/stock', '/healthz'];

function createOriginApp(opts: OriginOptions & { contentDir: string }, switches: LabSwitches, counts: Map<string, number>, known: ReadonlySet<string>, events: EventEmitter) {
  const name = opts.name ?? 'origin';
  const hostnames = (opts.hostnames ?? ['static.geektime.test']).map((h) => h.toLowerCase());
  const log = opts.log ?? (() => {});
  const etagOf = contentEtagger();
  const app = express();

  // Don't advertise the framework. The origin names itself instead, and adds no Via: Via is for
  // the proxies in between (RFC 9110 §7.6.3), so in a response that came through the CDN every
  // Via line is a cache's.
  app.disable('x-powered-by');
  // ETags for generated answers (/greeting, /time, ...) are a hash of the exact body: strong,
  // like the files' ones. (Express's default is weak.)
  app.set('etag', 'strong');

  // Count, label, and log every request. Counted on arrival ("the origin saw it"), logged when
  // the answer is done, with what a caching engineer asks first: was it conditional, a range?
  // Only our own paths get a counter each; every other path shares one. The path is the client's
  // choice: a counter per path would keep one entry (and the path's bytes) per made-up URL, for as
  // long as the origin runs.
  app.use((req, res, next) => {
    const counted = known.has(req.path) ? req.path : OTHER_PATHS;
    counts.set(counted, (counts.get(counted) ?? 0) + 1);
    res.set('Server', 'lab-origin');
    res.set('X-Served-By', name);
    res.on('close', () => {
      const status = res.statusCode;
      const sent = req.method === 'HEAD' || status === 204 || status === 304 ? 0 : Number(res.getHeader('Content-Length') ?? 0);
      const conditional = req.headers['if-none-match'] !== undefined || req.headers['if-modified-since'] !== undefined;
      const range = req.headers.range !== undefined;
      const from = req.socket.remoteAddress ?? '?';
      events.emit('request', { method: req.method, path: req.path, status, bytes: sent, conditional, range, from } satisfies OriginRequestEvent);

      // A health check every second would drown the story; only failed ones are worth a line.
      if (req.path === '/healthz' && status < 400) return;
      let outcome = `${status} (${sent} bytes)`;
      if (status === 304) outcome = `304 not modified (conditional: ${req.headers['if-none-match'] ? 'If-None-Match' : 'If-Modified-Since'} matched, 0 bytes)`;
      else if (status === 206) outcome = `206 partial (${sent} bytes, Content-Range: ${res.getHeader('Content-Range')})`;
      else if (req.method === 'HEAD') outcome = `${status} (headers only)`;
      if (!res.writableFinished) outcome += ', cut off: the client closed the connection first';
      log(`${name}: ${req.method} ${req.originalUrl} → ${outcome}, asked by ${from}`);
    });
    next();
  });

  // The health check: any Host, never slowed, never failing (it says whether the switch is on),
  // never cached.
  app.get('/healthz', (_req, res) => {
    res.set('Cache-Control', CACHE_POLICY.none).json({ status: 'ok', name, failing: switches.failing });
  });

  // Host. A cache forwards the shopper's Host, and the origin answers only for its own names: a
  // request for any other name was misdirected (421, RFC 9110 §15.5.20), and saying so beats
  // silently serving one site's files under another's name (and into that name's cache entries).
  app.use((req, res, next) => {
    // req.hostname is the Host header without its port; a trailing dot is the same name.
    const asked = req.hostname?.toLowerCase().replace(/\.$/, '');
    if (asked !== undefined && hostnames.includes(asked)) return next();
    const got = asked === undefined ? 'no Host header' : `Host "${asked}"`;
    reply(res, 421, `misdirected request: this origin serves ${hostnames.join(', ')}, got ${got}; send Host: ${hostnames[0]} (curl -H 'Host: ${hostnames[0]}' ...)`);
  });

  // Methods. The origin only reads: every resource answers GET and HEAD, nothing else.
  app.use((req, res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD') return next();
    res.set('Allow', 'GET, HEAD');
    // OPTIONS asks exactly that question, so it gets an answer rather than an error.
    if (req.method === 'OPTIONS') {
      res.set('Cache-Control', CACHE_POLICY.none).status(204).end();
      return;
    }
    reply(res, 405, `method not allowed: ${req.method} ${req.path}; the origin only serves GET and HEAD`);
  });

  // Paths. No URL of ours has a "." or ".." segment (%-encoded or not) or a backslash: such a path
  // can only be an attempt to climb out of the content folder. Refuse it here, plainly, rather
  // than rely on serve-static's own check further down.
  app.use((req, res, next) => {
    let segments: string[];
    try {
      segments = req.path.split('/').map((s) => decodeURIComponent(s));
    } catch {
      return reply(res, 400, `bad request: ${req.path} has a broken %-escape`);
    }
    if (segments.some((s) => s === '.' || s === '..' || /[/\\\0]/.test(s))) {
      return reply(res, 400, `bad request: ${req.path} has a ".", ".." or hidden separator in it; no file lives outside the content folder`);
    }
    next();
  });

  // --- Lab switches (not something a real origin has): slow and failing. ---------------------
  app.use((_req, _res, next) => {
    if (switches.slowMs > 0) setTimeout(next, switches.slowMs);
    else next();
  });
  app.use((_req, res, next) => {
    if (!switches.failing) return next();
    res.set('Retry-After', '10');
    reply(res, 503, `service unavailable: ${name} is failing on purpose (the lab's setFailing switch is on)`);
  });
  // ---------------------------------------------------------------------------------------------

  // Files: the product page and the pictures, from the content folder. serve-static (over `send`)
  // handles the HTTP file-serving details: Last-Modified from the file's mtime; conditional GET
  // (If-None-Match, If-Modified-Since → 304; If-Match, If-Unmodified-Since → 412); Range → 206
  // with Content-Range, or 416 when no byte of it exists; If-Range; HEAD. Every option is spelled
  // out, because each default is a decision.
  // One catch: a request that also says Cache-Control: no-cache never gets the 304. `send` asks
  // express's `fresh`, which reads that as an end-to-end reload and sends the whole file even when
  // the validator matches. That is why the caches leave the client's Cache-Control out of their own
  // revalidations (cache.ts, fetchForCache).
  const files = express.static(opts.contentDir, {
    index: ['index.html'], // GET / is the product page
    redirect: false, // no 301 from /images to /images/: there is no listing to go to
    dotfiles: 'ignore', // .anything is 404 (the generator's temporary files start with a dot)
    fallthrough: true, // a missing file goes on to our 404 below; once found, its errors (416) go to our error handler
    acceptRanges: true, // big pictures: a cache or a download can resume, or fetch in slices
    lastModified: true,
    // send's own ETag is weak and made of size and mtime (W/"size-mtime"): it changes whenever the
    // file is regenerated, even with identical bytes, and a weak one is no good for If-Range.
    // Ours is a hash of the bytes: strong, and the same on every run and every origin.
    etag: false,
    // send's own would be "public, max-age=0"; ours is per kind of content.
    cacheControl: false,
    setHeaders: (res, file, stat) => {
      const kind = file.endsWith('.html') ? 'page' : 'image';
      res.setHeader('Cache-Control', CACHE_POLICY[kind]);
      res.setHeader('CDN-Cache-Control', CDN_CACHE_POLICY[kind]);
      res.setHeader('ETag', etagOf(file, stat));
    },
  });
  app.get(['/', '/index.html', '/images/:name.png'], files);

  // Generated answers: what a CDN must not store, or must store per language, or only briefly.

  app.get('/account', (req, res) => {
    res.set('Cache-Control', CACHE_POLICY.account);
    // The session comes from /login; anything else in the cookie is ignored (and never echoed).
    const session = readCookie(req, 'session');
    const account = {
      user: 'learner',
      loggedIn: session !== undefined && /^[0-9a-f]{32}$/.test(session),
      orders: [{ className: '趣谈网络协议', Author: '刘超', price: '68' }],
    };
    // res.format answers HTML or JSON by the Accept header, and adds Vary: Accept.
    res.format({
      'text/html': () =>
        res.send(
          `<!doctype html><meta charset="utf-8"><title>我的账户</title>\n` +
            `<h1>我的账户 (my account)</h1>\n<p>${account.loggedIn ? '已登录 (logged in)' : '未登录 (not logged in): GET /login first'}</p>\n` +
            `<p>已购：趣谈网络协议 · ¥68</p>\n`,
        ),
      'application/json': () => res.json(account),
    });
  });

  app.get('/cart', (_req, res) => {
    res.set('Cache-Control', CACHE_POLICY.cart);
    res.json({ items: [{ className: '趣谈网络协议', Author: '刘超', price: '68', quantity: 1 }], total: '68' });
  });

  app.get('/login', (_req, res) => {
    res.set('Cache-Control', CACHE_POLICY.login);
    // A new session each time. No Secure attribute: the lab's CDN path is plain HTTP (a real shop
    // serves everything over HTTPS and adds Secure).
    res.cookie('session', randomBytes(16).toString('hex'), { httpOnly: true, sameSite: 'lax', path: '/' });
    res.type('text/plain').send('logged in: your browser now holds a session cookie\n');
  });

  app.get('/greeting', (req, res) => {
    res.set('Cache-Control', CACHE_POLICY.greeting);
    res.vary('Accept-Language');
    // Proper negotiation (q-values, zh-CN matches zh); English when nothing we have is asked for.
    const lang = req.acceptsLanguages('en', 'zh') === 'zh' ? 'zh' : 'en';
    res.set('Content-Language', lang);
    res.type('text/plain').send(lang === 'zh' ? '你好' : 'Hello');
  });

  app.get('/time', (_req, res) => {
    res.set('Cache-Control', CACHE_POLICY.time);
    res.type('text/plain').send(new Date().toISOString());
  });

  app.get('/stock', (_req, res) => {
    res.set({ 'Cache-Control': CACHE_POLICY.stock, 'CDN-Cache-Control': CDN_CACHE_POLICY.stock });
    res.json({ item: '趣谈网络协议', left: 42 });
  });

  // Nothing matched.
  app.use((req, res) => {
    reply(res, 404, `not found: ${req.path}`, CACHE_POLICY.notFound);
  });

  // Errors from serve-static once it found the file (416, 412), from Express (a broken %-escape
  // in a route parameter, 406 from res.format), or a bug (500, logged here, not sent).
  app.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const e = (typeof err === 'object' && err !== null ? err : {}) as { status?: number; message?: string; headers?: Record<string, string> };
    if (typeof e.status !== 'number' || e.status < 400 || e.status >= 500) {
      console.error(`${name}: unexpected error on ${req.method} ${req.originalUrl}:`, err);
      return reply(res, 500, `internal error: ${name} hit an unexpected error; it is in the server log`);
    }
    if (e.headers) res.set(e.headers); // a 416 carries Content-Range: bytes */<size>
    let reason = e.message ?? 'bad request';
    if (e.status === 416) reason = `range not satisfiable: ${req.headers.range} asks for no byte of this file (Content-Range: ${res.getHeader('Content-Range')})`;
    if (e.status === 412) reason = 'precondition failed: the file no longer matches If-Match / If-Unmodified-Since';
    reply(res, e.status, reason);
  });

  return app;
}

// ---------------------------------------------------------------------------------------------
// The HTTP server.

export interface RunningOrigin {
  name: string;
  host: string;
  port: number;
  url: string;
  server: http.Server;
  /** The content folder and what is in it. */
  contentDir: string;
  files: OriginFile[];
  /** Requests seen, for one of the origin's own URL paths (query ignored; OTHER_PATHS for all the
   *  rest together), or in all except health checks. */
  requestCount(path?: string): number;
  /** 'request' (OriginRequestEvent) after each answer. */
  events: EventEmitter;
  /** Lab switch: on, every content request gets 503 (the health check still answers 200). */
  setFailing(on: boolean): void;
  close(): Promise<void>;
}

/**
 * Request headers the origin accepts. More than any cache in front of it (edge 32 KiB, parent 33
 * KiB, see HOP_HEADER_BYTES in cache.ts): a request a cache forwarded must never come back as 431,
 * an error about one client's request that a cache could mistake for news about the URL.
 */
export const ORIGIN_MAX_HEADER_BYTES = 64 * 1024;

export async function startOrigin(opts: OriginOptions & { host: string; port: number }): Promise<RunningOrigin> {
  const name = opts.name ?? 'origin';
  const content = ensureOriginContent(opts.contentDir);
  const switches: LabSwitches = { failing: false, slowMs: opts.slowMs ?? 0 };
  const counts = new Map<string, number>();
  const events = new EventEmitter();
  const headersTimeout = opts.headersTimeoutMs ?? 12_000;
  const server = http.createServer(
    {
      maxHeaderSize: ORIGIN_MAX_HEADER_BYTES,
      // The caches in front keep idle connections to us in a pool (Node's agent drops its idle ones
      // after 5 s). Wait longer than that, or we might close a connection just as a cache sends a
      // request down it.
      keepAliveTimeout: 10_000,
      // Absolute deadlines from a request's first byte, checked every interval: headers dripped one
      // byte at a time (slowloris) are cut at headersTimeout; a whole request at requestTimeout.
      headersTimeout,
      requestTimeout: 30_000,
      connectionsCheckingInterval: Math.min(1_000, headersTimeout / 2),
    },
    createOriginApp({ ...opts, contentDir: content.dir }, switches, counts, new Set(['/', ...content.files.map((f) => f.path), ...GENERATED_PATHS]), events),
  );
  // One address (a cache, or anyone who finds the origin) cannot hold every connection.
  guardConnections(server, opts.connectionLimits ?? DEFAULT_CONNECTION_LIMITS, (line) => opts.log?.(`${name}: ${line}`));

  const address = await listen(server, name, opts.host, opts.port);
  const host = address.address;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;

  return {
    name,
    host,
    port: address.port,
    url,
    server,
    contentDir: content.dir,
    files: content.files,
    requestCount: (p) => {
      if (p !== undefined) return counts.get(p) ?? 0;
      let total = 0;
      for (const [key, n] of counts) if (key !== '/healthz') total += n;
      return total;
    },
    events,
    setFailing: (on) => {
      if (switches.failing !== on) opts.log?.(`${name}: lab switch: ${on ? 'failing, content requests now get 503' : 'healthy again'}`);
      switches.failing = on;
    },
    close: () => closeGracefully(server),
  };
}

// ---------------------------------------------------------------------------------------------
// The command line: `npm run lab -- origin ...` or `npx tsx servers/cdn/origin.ts ...`.

/** Start the origin and keep it up until Ctrl-C (SIGINT) or SIGTERM. Returns the exit code. */
export async function originCommand(argv: string[]): Promise<number> {
  const said = serversCliWords();
  const USAGE = said.originUsage(path.join(labDir(), 'origin'));
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        listen: { type: 'string', default: '127.0.0.40:8080' },
        dir: { type: 'string', default: path.join(labDir(), 'origin') },
        hostname: { type: 'string', multiple: true, default: ['static.geektime.test'] },
        'slow-ms': { type: 'string', default: '0' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    console.error(`origin: ${errorText(err)}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const where = parseHostPort(values.listen);
  if (!where) {
    console.error(`origin: ${said.listenWants('127.0.0.40:8080', values.listen)}\n${USAGE}`);
    return 2;
  }
  const slowMs = Number(values['slow-ms']);
  if (!Number.isInteger(slowMs) || slowMs < 0) {
    console.error(`origin: ${said.slowMsWanted(values['slow-ms'])}\n${USAGE}`);
    return 2;
  }

  let running: RunningOrigin;
  try {
    running = await startOrigin({ host: where.host, port: where.port, contentDir: values.dir, hostnames: values.hostname, slowMs, log: console.log });
  } catch (err) {
    console.error((err as Error).message); // listen() already names the role, the address and the fix
    return 1;
  }
  const hostname = values.hostname[0]!;
  // Listen for Ctrl-C before saying where it listens: a script may signal it as soon as it reads that.
  const stopAsked = new Promise<NodeJS.Signals>((resolve) => {
    const stop = (sig: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(sig);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  console.log(said.originListening(running.url, values.hostname.join(', '), slowMs));
  console.log(said.originContent(running.contentDir));
  for (const f of running.files) console.log(`  ${f.path.padEnd(26)} ${f.contentType.padEnd(26)} ${said.bytes(f.bytes)}`);
  console.log(said.tryIt(`curl -sI -H 'Host: ${hostname}' ${running.url}/images/phone.png`));
  console.log(said.ctrlC);
  const signal = await stopAsked;
  console.log(said.finishing('origin', signal));
  await running.close();
  console.log(said.stopped('origin'));
  return 0;
}

// Run directly (not imported by the lab's CLI): start from the command line.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.exitCode = await originCommand(process.argv.slice(2));
}
