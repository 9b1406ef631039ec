// The order service: the app server behind the SLB that takes `POST /purchaseOrder` (seed §6).
//
// The SLB terminates TLS and forwards plain HTTP here, adding X-Forwarded-For / -Proto / -Host so
// the app still knows who the client was, that it came in over HTTPS and which name it asked for.
// Two of these run in the lab (app-1, app-2) and share one order log.
//
// Read it top to bottom: validation, then the routes in the order Express tries them, then the
// error handler, then starting the HTTP server.
import http from 'node:http';
import { createHash } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { closeGracefully, listen } from './net/listen.ts';
import { DEFAULT_CONNECTION_LIMITS, guardConnections, type ConnectionGuard, type ConnectionLimits } from './net/limits.ts';
import { IdempotencyConflict, StoreBusy, StoreFull, type Order, type OrderStore, type StoredOrder } from './order-store.ts';
import { withoutToken } from './net/redact.ts';
import { productPage, SHOP_SCRIPT } from './shop-page.ts';

export interface OrderServiceOptions {
  /** app-1, app-2: sent back in X-Served-By so the client sees which server answered. */
  name: string;
  store: OrderStore;
  /** Largest body express.json will read; default '16kb' (an order is ~150 bytes). */
  bodyLimit?: string;
  /** One line per request (the CLI prints them); silent by default. */
  log?: (line: string) => void;
  /** Connections held at once, in all and per client address. Behind the SLB, the SLB is one client. */
  limits?: ConnectionLimits;
  /**
   * Addresses whose X-Forwarded-* headers are believed: the SLB's. Anyone can write those headers,
   * so from any other peer they are ignored (as nginx's set_real_ip_from or express's trust proxy
   * do). Default: nobody.
   */
  trustedProxies?: string[];
  /** Serve the product page at / (servers/shop-page.ts), its pictures from this CDN origin. */
  page?: { cdn: string };
  /**
   * What GET /healthz says: 'ok' (the default: 200 while the store is open) or 'failing' (503 while
   * the orders are still served). A broken health check on a healthy server is an outage of its
   * own: the load balancer takes the server out (the lab's slb-health-failing fault).
   */
  healthz?: 'ok' | 'failing';
}

// ---------------------------------------------------------------------------------------------
// Validation. Every failure names the field, so the person at the client knows what to fix.

type Checked = { order: Order } | { field: string; reason: string };

const ORDER_FIELDS = ['date', 'className', 'Author', 'price'];
const MAX_TEXT = 200;
const PRICE_REASON = 'must be a decimal string such as "68" or "68.00"';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Why `s` is not a real YYYY-MM-DD date, or undefined if it is one. */
function dateProblem(s: string): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return 'must be a date written YYYY-MM-DD, such as "2018-07-01"';
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12) return `${s} is not a real calendar date: there is no month ${m[2]}`;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = month === 2 && leap ? 29 : MONTH_DAYS[month - 1]!;
  if (day < 1 || day > days) return `${s} is not a real calendar date: month ${m[2]} of ${m[1]} has ${days} days`;
  return undefined;
}

/** Check the body the seed sends: {"order": {"date", "className", "Author", "price"}}. */
function checkOrderBody(body: unknown): Checked {
  // express.json leaves the body undefined when the request had none at all.
  if (!isObject(body)) return { field: 'body', reason: `must be a JSON object like {"order": {...}}, got ${describe(body)}` };
  const o = body.order;
  if (o === undefined) return { field: 'order', reason: 'is required' };
  if (!isObject(o)) return { field: 'order', reason: `must be an object, got ${describe(o)}` };

  // Reject what we do not know instead of dropping it: a typo such as "author" must not vanish.
  const unknown = Object.keys(o).filter((k) => !ORDER_FIELDS.includes(k));
  if (unknown.length > 0) {
    return {
      field: `order.${unknown[0]}`,
      reason: `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')}; an order has only date, className, Author and price`,
    };
  }

  if (o.date === undefined) return { field: 'order.date', reason: 'is required' };
  if (typeof o.date !== 'string') return { field: 'order.date', reason: `must be a string, got ${describe(o.date)}` };
  const badDate = dateProblem(o.date);
  if (badDate) return { field: 'order.date', reason: badDate };

  const text: Record<string, string> = {};
  for (const key of ['className', 'Author']) {
    const value = o[key];
    if (value === undefined) return { field: `order.${key}`, reason: 'is required' };
    if (typeof value !== 'string') return { field: `order.${key}`, reason: `must be a string, got ${describe(value)}` };
    const trimmed = value.trim();
    if (trimmed === '') return { field: `order.${key}`, reason: 'must not be empty' };
    // Count characters, not UTF-16 units: "趣谈网络协议" is 6 characters.
    if ([...trimmed].length > MAX_TEXT) return { field: `order.${key}`, reason: `must be at most ${MAX_TEXT} characters` };
    text[key] = trimmed;
  }

  // The seed sends the price as a string ("68"): money as text keeps "68.50" exact, where a JSON
  // number would become a binary float. A number here is the wrong type, not a near miss.
  if (o.price === undefined) return { field: 'order.price', reason: 'is required' };
  if (typeof o.price !== 'string' || !/^(0|[1-9]\d{0,8})(\.\d{1,2})?$/.test(o.price)) {
    return { field: 'order.price', reason: PRICE_REASON };
  }

  // Built in a fixed key order, so JSON.stringify of it is the canonical form we hash below.
  return { order: { date: o.date, className: text.className!, Author: text.Author!, price: o.price } };
}

/** 1 to 255 visible ASCII characters (no spaces, no control characters). */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

// ---------------------------------------------------------------------------------------------
// The app.

/** What clients see of a stored order: no internal request hash, no token. */
function publicView(s: StoredOrder) {
  return { id: s.id, order: s.order, createdAt: s.createdAt, handledBy: s.handledBy };
}

/**
 * Where the order can be read back. The number alone is guessable (po-000041 comes before
 * po-000042), so the URL also carries the order's token: the URL is the capability, and only the
 * client that placed the order was given it.
 */
function orderUrl(s: StoredOrder): string {
  return `/purchaseOrder/${s.id}?token=${s.token ?? ''}`;
}

/** A path that exists but not for this method: 405 and the list of methods that would work. */
function methodNotAllowed(allow: string) {
  return (req: Request, res: Response) => {
    res.set('Allow', allow);
    // OPTIONS asks exactly that question, so it gets an answer rather than an error.
    if (req.method === 'OPTIONS') {
      res.status(204).end();
      return;
    }
    res.status(405).json({ error: 'method not allowed', reason: `${req.method} ${req.path} is not supported; use ${allow}` });
  };
}

export function createOrderApp(opts: OrderServiceOptions): express.Express {
  const { name, store } = opts;
  const bodyLimit = opts.bodyLimit ?? '16kb';
  const log = opts.log ?? (() => {});
  const app = express();
  // Did this request come through a proxy we trust? Only then do its X-Forwarded-* headers count.
  const trusted = new Set(opts.trustedProxies ?? []);
  const viaProxy = (req: Request) => trusted.has(req.socket.remoteAddress ?? '') || trusted.has((req.socket.remoteAddress ?? '').replace(/^::ffff:/, ''));

  // Don't advertise the framework to the internet.
  app.disable('x-powered-by');

  // Every answer says which app server wrote it, errors included: behind the SLB that is the only
  // way to tell app-1 from app-2.
  app.use((req, res, next) => {
    res.set('X-Served-By', name);
    res.on('finish', () => {
      // The SLB's health check comes every second; a line for each would drown the orders. A failing
      // one is news. (Decided here, once the answer is out: before that the status is still 200.)
      if (req.path === '/healthz' && res.statusCode < 400) return;
      const via = viaProxy(req) ? `X-Forwarded-For: ${req.get('x-forwarded-for') ?? '-'}` : `from ${req.socket.remoteAddress}, not through the SLB`;
      log(`${name}: ${req.method} ${withoutToken(req.originalUrl)} → ${res.statusCode} (${via})`);
    });
    next();
  });

  // The SLB's active health check. Cheap, and it proves the process answers HTTP and can still
  // write orders. It says nothing else: how many orders the shop takes is not the public's business.
  app.get('/healthz', (_req, res) => {
    if (opts.healthz === 'failing') res.status(503).json({ status: 'failing', name, reason: 'the health check was told to fail (orders are still served)' });
    else if (store.isOpen) res.json({ status: 'ok', name });
    else res.status(503).json({ status: 'unavailable', name });
  });

  // POST /purchaseOrder, step 1: only JSON. Checked before reading the body, so a form post or
  // plain text gets a clear 415 instead of an empty body and a confusing validation error.
  const requireJson = (req: Request, res: Response, next: NextFunction) => {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type === 'application/json') return next();
    res.set('Accept', 'application/json'); // RFC 9110 §15.5.16: say which media type would work
    res.status(415).json({
      error: 'unsupported media type',
      reason: `expected Content-Type: application/json, got ${type === '' ? 'no Content-Type' : `"${type}"`}`,
    });
  };

  // Step 2: read and parse the body (at most bodyLimit bytes). Its errors go to the error handler.
  const parseJson = express.json({ limit: bodyLimit, type: 'application/json' });

  // Step 3: check the order, write it to the log (on disk before we answer), answer 201.
  const takeOrder = (req: Request, res: Response) => {
    const key = req.get('Idempotency-Key');
    if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
      res.status(400).json({
        error: 'invalid header',
        field: 'Idempotency-Key',
        reason: 'must be 1 to 255 visible ASCII characters (no spaces), such as a UUID',
      });
      return;
    }

    const checked = checkOrderBody(req.body);
    if ('field' in checked) {
      res.status(400).json({ error: 'invalid order', field: checked.field, reason: checked.reason });
      return;
    }

    // A retry must carry the same order. Hash the validated order, not the raw bytes, so that
    // whitespace or key order in the client's JSON does not turn a retry into a conflict.
    const requestHash = createHash('sha256').update(JSON.stringify(checked.order)).digest('hex');
    let result: { stored: StoredOrder; replayed: boolean };
    try {
      result = store.create(checked.order, { handledBy: name, idempotencyKey: key, requestHash });
    } catch (err) {
      if (err instanceof IdempotencyConflict) {
        res.status(422).json({ error: 'idempotency key reused', reason: err.message });
        return;
      }
      throw err; // the disk failed: nothing was stored, the error handler answers 500
    }

    const { stored, replayed } = result;
    // A retry gets the answer the first attempt would have had: same id, same Location, same 201.
    if (replayed) res.set('Idempotent-Replayed', 'true');
    res.status(201).location(orderUrl(stored)).json({
      ...publicView(stored),
      // What the SLB added to *this* request (null if it came straight to us, without the SLB).
      forwarded: viaProxy(req)
        ? { for: req.get('X-Forwarded-For') ?? null, proto: req.get('X-Forwarded-Proto') ?? null, host: req.get('X-Forwarded-Host') ?? null }
        : { for: null, proto: null, host: null },
    });
  };

  // The product page and its button's script (a browser as the phone: `npm run lab -- browser`).
  if (opts.page) {
    const { html, csp } = productPage(opts.page.cdn, true);
    const common = (res: Response) => res.set({ 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'same-origin', 'Cache-Control': 'no-cache' });
    app.get('/', (_req, res) => void common(res).set('Content-Security-Policy', csp).type('html').send(html));
    app.get('/shop.js', (_req, res) => void common(res).type('application/javascript').send(SHOP_SCRIPT));
  }

  app.post('/purchaseOrder', requireJson, parseJson, takeOrder);
  app.all('/purchaseOrder', methodNotAllowed('POST'));

  // Read an order back, with the URL its Location gave. No order, no token, a wrong token: one and
  // the same 404, so a stranger cannot even learn which order numbers exist.
  app.get('/purchaseOrder/:id', (req, res) => {
    const token = req.query.token;
    const stored = typeof token === 'string' ? store.read(req.params.id, token) : undefined;
    if (stored) res.json(publicView(stored));
    else res.status(404).json({ error: 'not found', reason: 'no order at this URL; use the Location you were given when you placed it' });
  });
  app.all('/purchaseOrder/:id', methodNotAllowed('GET, HEAD'));
  app.all('/healthz', methodNotAllowed('GET, HEAD'));

  // Nothing matched.
  app.use((req, res) => {
    res.status(404).json({ error: 'not found', reason: `no such path: ${req.path}` });
  });

  // Errors thrown by the body parser or by a route land here (Express knows an error handler by
  // its four parameters). Map what the client did wrong to 4xx; anything else is our fault: 500,
  // logged in full here, with no stack trace sent to the client.
  app.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    // Too late to send an error: let Express cut the connection.
    if (res.headersSent) return next(err);
    const e = (isObject(err) ? err : {}) as { type?: string; status?: number; message?: string };
    if (e.type === 'entity.parse.failed') {
      res.status(400).json({ error: 'malformed JSON', reason: e.message });
    } else if (e.type === 'entity.too.large') {
      res.status(413).json({ error: 'body too large', reason: `an order body may be at most ${bodyLimit}` });
    } else if (e.type === 'encoding.unsupported') {
      res.status(415).json({ error: 'unsupported content encoding', reason: `${e.message}; send it as is, or as gzip, deflate or br` });
    } else if (e.type === 'charset.unsupported') {
      res.status(415).json({ error: 'unsupported charset', reason: `${e.message}; send UTF-8` });
    } else if (err instanceof StoreBusy) {
      // Another app server held the order log too long. Nothing was stored: the retry is safe.
      console.error(`${name}: ${err.message}`);
      res.set('Retry-After', '1');
      res.status(503).json({ error: 'busy', reason: 'the order log is busy; nothing was stored, try again' });
    } else if (err instanceof StoreFull) {
      // No number left that the log's reader would accept: refuse rather than acknowledge an order
      // that the next start would set aside as damaged. The operator must look (the log says why).
      console.error(`${name}: ${err.message}`);
      res.status(503).json({ error: 'unavailable', reason: 'the shop cannot take orders right now; nothing was stored' });
    } else if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      // Other client mistakes: a broken %-escape in the path, a body shorter than its Content-Length.
      res.status(e.status).json({ error: 'bad request', reason: e.message ?? 'bad request' });
    } else {
      console.error(`${name}: unexpected error on ${req.method} ${req.originalUrl}:`, err);
      res.status(500).json({ error: 'internal error', reason: `${name} hit an unexpected error; it is in the server log` });
    }
  });

  return app;
}

// ---------------------------------------------------------------------------------------------
// The HTTP server.

export interface RunningOrderServer {
  name: string;
  server: http.Server;
  connections: ConnectionGuard;
  host: string;
  port: number;
  url: string;
  close(): Promise<void>;
}

export async function startOrderServer(opts: OrderServiceOptions & { host: string; port: number }): Promise<RunningOrderServer> {
  const server = http.createServer(
    {
      // Must exceed keepAliveTimeout, or Node could time out a request whose headers are still coming.
      headersTimeout: 12_000,
      // The whole request, body included (at most bodyLimit): a slow trickle is cut off after this.
      requestTimeout: 30_000,
      // Node checks the two timeouts above this often (default 30 s, which would let them run late).
      connectionsCheckingInterval: 1_000,
    },
    createOrderApp(opts),
  );
  // The SLB keeps idle connections to us in a pool and drops them after 4 s. We must wait longer
  // than that, or we might close a connection just as the SLB sends an order down it (the SLB
  // would see a reset and could not know whether the order arrived).
  server.keepAliveTimeout = 10_000;
  // No client holds more than its share of our sockets. Everything behind the SLB comes from the
  // SLB's address, so the per-client cap must stay above the SLB's pool to each app.
  const connections = guardConnections(server, opts.limits ?? DEFAULT_CONNECTION_LIMITS, (line) => (opts.log ?? (() => {}))(`${opts.name}: ${line}`));

  const address = await listen(server, opts.name, opts.host, opts.port);
  const host = address.address;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;

  return {
    name: opts.name,
    server,
    connections,
    host,
    port: address.port,
    url,
    close: () => closeGracefully(server),
  };
}
