// The phone placing its order (seed §5 and §6): an HTTPS POST /purchaseOrder to the shop's SLB.
//
// The client trusts exactly one CA, the lab's root, and never switches verification off for
// the order. It connects to the SLB's address but asks for, and checks, the shop's host name, as a
// browser does after DNS. When verification fails it says which link of the chain broke.
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { LookupFunction } from 'node:net';
import { tlsSettings, type TlsMode } from '../servers/net/tls-modes.ts';
import { words } from '../lab/story/words/index.ts';
import { walkChain, type ChainStep } from './chain-check.ts';
import { RecordingSocket, type Recording } from './recording-socket.ts';
import { orderWords } from './words/order.ts';

/** The request body printed in the seed (§6). */
export const SEED_ORDER = {
  order: { date: '2018-07-01', className: '趣谈网络协议', Author: '刘超', price: '68' },
};

export interface PlaceOrderOptions {
  /** The name the client asks for, sends as SNI and Host, and verifies: www.geektime.test */
  hostname: string;
  /** How the client finds the name's address: the stub resolver asking the lab's local DNS. */
  lookup?: LookupFunction;
  /** Or a fixed address for the name, for tests and tools without DNS. */
  address?: string;
  port: number;
  /** The only CA this client trusts (PEM). */
  rootCaPem: string;
  mode: TlsMode;
  body?: unknown;
  idempotencyKey?: string;
  /** Source address to bind, e.g. the phone's address in its region. */
  localAddress?: string;
  path?: string;
  timeoutMs?: number;
  /** Called when the TCP connection is up (before TLS), with the phone's end of it. */
  onTcpConnect?: (local: { address: string; port: number }) => void;
  /** Called when that TCP connection is closed (both ways, or reset): its record is then complete. */
  onTcpClose?: (hadError: boolean) => void;
  /** Keep a copy of every byte of the connection, as it passed (result.wire). */
  record?: boolean;
}

export interface OrderResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  /** The request as it went out inside TLS: request line, headers, body. */
  requestText: string;
  tcp: { localAddress: string; localPort: number; remoteAddress: string; remotePort: number };
  tls: {
    protocol: string | null;
    cipher: tls.CipherNameAndProtocol;
    /** The key exchange: {} for RSA key exchange, {type:'ECDH', name:'X25519', size} for ECDHE. */
    ephemeralKey: tls.EphemeralKeyInfo | object;
    /** The chain OpenSSL verified (leaf → intermediate → root), walked again step by step. */
    chain: ChainStep[];
  };
  /** The answer's body exactly as received (`body` is it parsed, when it is JSON). */
  bodyText: string;
  /** With `record`: the recorder around the one TCP connection; its `chunks` hold every byte,
   *  both ways, in order, with its time (complete once the connection has closed: onTcpClose). */
  wire?: Recording;
}

/** A failed verification, with the broken link spelled out. */
export class CertificateError extends Error {
  constructor(
    readonly code: string,
    readonly broken: ChainStep | undefined,
    readonly steps: ChainStep[],
  ) {
    super(words().tls.certificateRefusal(code, broken));
    this.name = 'CertificateError';
  }
}

/** Resolve `hostname` to the given address without asking the OS resolver. */
function fixedLookup(hostname: string, address: string): LookupFunction {
  const family = address.includes(':') ? 6 : 4;
  return (name, options, callback) => {
    if (name.toLowerCase() !== hostname.toLowerCase()) {
      const err = Object.assign(new Error(orderWords().noAddress(name)), { code: 'ENOTFOUND' });
      return callback(err, '', 0);
    }
    // Node asks for every address (options.all) when it may try several (autoSelectFamily).
    if (options.all) return (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address, family }]);
    callback(null, address, family);
  };
}

function lookupFor(opts: PlaceOrderOptions): LookupFunction {
  if (opts.lookup) return opts.lookup;
  if (!opts.address) throw new Error('placeOrder needs a lookup (the stub resolver) or a fixed address');
  return fixedLookup(opts.hostname, opts.address);
}

/** "127.0.0.80:443", or the name when the address comes from DNS. */
function where(opts: PlaceOrderOptions): string {
  return `${opts.address ?? opts.hostname}:${opts.port}`;
}

export function placeOrder(opts: PlaceOrderOptions): Promise<OrderResult> {
  const body = Buffer.from(JSON.stringify(opts.body ?? SEED_ORDER, null, 1));
  const path = opts.path ?? '/purchaseOrder';
  const headers: Record<string, string> = {
    host: opts.port === 443 ? opts.hostname : `${opts.hostname}:${opts.port}`,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(body.length),
    // One order, one connection (a fresh one each time). Said here, so that the request text below is
    // byte for byte what goes out: Node would otherwise add this header on its own.
    connection: 'close',
  };
  if (opts.idempotencyKey) headers['idempotency-key'] = opts.idempotencyKey;
  const requestText =
    `POST ${path} HTTP/1.1\r\n` +
    Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('') +
    '\r\n' +
    body.toString();

  return new Promise((resolve, reject) => {
    let tlsInfo: OrderResult['tls'] | undefined;
    let tcp: OrderResult['tcp'] | undefined;
    let recorder: RecordingSocket | undefined;
    // The one TCP connection of this order, opened here so that its bytes can be recorded: TLS
    // runs on the socket itself, or on a recorder wrapped around it (any Duplex will do for TLS).
    const connect = (): tls.TLSSocket => {
      // Under a recorder the TCP socket must not end itself on the server's FIN: TLS above it
      // still sends its close_notify, then ends the recorder, which ends the socket.
      const socket = net.connect({ host: opts.hostname, port: opts.port, lookup: lookupFor(opts), localAddress: opts.localAddress, allowHalfOpen: opts.record });
      socket.once('connect', () => {
        // The TLS socket of a recorder has no addresses of its own: they are the TCP socket's.
        tcp = { localAddress: socket.localAddress!, localPort: socket.localPort!, remoteAddress: socket.remoteAddress!, remotePort: socket.remotePort! };
        opts.onTcpConnect?.({ address: socket.localAddress!, port: socket.localPort! });
      });
      socket.once('close', (hadError) => opts.onTcpClose?.(hadError));
      if (opts.record) recorder = new RecordingSocket(socket);
      const s = tls.connect({ socket: recorder ?? socket, servername: opts.hostname, ca: [opts.rootCaPem], rejectUnauthorized: true, ...tlsSettings(opts.mode) });
      s.once('secureConnect', () => {
        tlsInfo = {
          protocol: s.getProtocol(),
          cipher: s.getCipher(),
          ephemeralKey: s.getEphemeralKeyInfo() ?? {},
          chain: walkChain(peerChain(s), new X509Certificate(opts.rootCaPem), opts.hostname),
        };
      });
      return s;
    };
    const req = https.request({
      host: opts.hostname,
      port: opts.port,
      path,
      method: 'POST',
      headers,
      // No agent: a fresh connection from connect(), so every order shows its own handshake.
      createConnection: connect as unknown as https.RequestOptions['createConnection'],
      timeout: opts.timeoutMs ?? 10_000,
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(orderWords().noAnswer(where(opts), opts.timeoutMs ?? 10_000)), { code: 'ETIMEDOUT' })));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          /* not JSON: keep the text */
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed, bodyText: text, requestText, tcp: tcp!, tls: tlsInfo!, ...(recorder && { wire: recorder }) });
      });
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      explainFailure(err, opts).then(reject, reject);
    });
    req.end(body);
  });
}

/**
 * The chain as OpenSSL built it: the peer's certificates and, when verification succeeded, the
 * trusted root it ended at.
 */
function peerChain(socket: tls.TLSSocket): X509Certificate[] {
  const chain: X509Certificate[] = [];
  let cert: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  const seen = new Set<string>();
  while (cert?.raw && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    chain.push(new X509Certificate(cert.raw));
    cert = cert.issuerCertificate;
  }
  return chain;
}

const CERTIFICATE_ERRORS = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'INVALID_CA',
  'CERT_UNTRUSTED',
]);

/** Turn a low-level failure into a sentence that names the role, the address and the fix. */
async function explainFailure(err: NodeJS.ErrnoException, opts: PlaceOrderOptions): Promise<Error> {
  if (err.code && CERTIFICATE_ERRORS.has(err.code)) {
    const presented = await presentedChain(opts).catch(() => undefined);
    if (!presented) return new CertificateError(err.code, undefined, []);
    const steps = walkChain(presented, new X509Certificate(opts.rootCaPem), opts.hostname);
    return new CertificateError(err.code, steps.find((s) => !s.ok), steps);
  }
  if (err.code === 'ECONNREFUSED') {
    return new Error(orderWords().refused(where(opts)));
  }
  if (err.code === 'ECONNRESET' || err.code === 'EPROTO' || /alert|handshake/i.test(err.message)) {
    const w = orderWords();
    return new Error(w.handshakeFailed(where(opts), err.message, opts.mode, w.offers[opts.mode]));
  }
  return new Error(orderWords().failed(`https://${opts.hostname}:${opts.port}`, where(opts), err.code, err.message));
}

/**
 * Only for explaining a refusal: fetch the certificates the server presents, send nothing, close.
 * The order itself is never sent on a connection whose chain did not verify.
 */
function presentedChain(opts: PlaceOrderOptions): Promise<X509Certificate[]> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: opts.hostname,
      port: opts.port,
      lookup: lookupFor(opts),
      servername: opts.hostname,
      ...tlsSettings(opts.mode),
      rejectUnauthorized: false, // diagnosis only: read the chain, then hang up
    });
    socket.setTimeout(5000, () => socket.destroy(new Error('timeout')));
    socket.once('secureConnect', () => {
      const chain = peerChain(socket);
      socket.destroy();
      resolve(chain);
    });
    socket.once('error', reject);
  });
}
