// Raw-socket tools for the hostile CDN tests: a minimal HTTP/1.1 message parser (so that we read
// the bytes exactly as an upstream would, not as Node's client tidies them), a recording upstream
// that answers every request it parses, and a raw client that writes bytes and reads answers.
import net from 'node:net';

export const HOST = 'static.geektime.test';

export interface Message {
  /** Request: 'GET /x HTTP/1.1'; response: 'HTTP/1.1 200 OK'. */
  startLine: string;
  method: string;
  path: string;
  status: number;
  headers: Array<[string, string]>;
  body: Buffer;
}

export function header(m: Message, name: string): string | undefined {
  return m.headers.find(([k]) => k.toLowerCase() === name)?.[1];
}

/**
 * Parse as many whole messages as `buf` holds; returns them and the bytes left over. Body by
 * Transfer-Encoding: chunked, else Content-Length, else none (requests) or none for 1xx/204/304
 * and answers to HEAD (responses; `headFor` says which response answers a HEAD).
 */
export function parseMessages(buf: Buffer, kind: 'request' | 'response', headFor: (index: number) => boolean = () => false, startIndex = 0): { messages: Message[]; rest: Buffer } {
  const messages: Message[] = [];
  let at = 0;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const lines = buf.subarray(at, end).toString('latin1').split('\r\n');
    const startLine = lines[0] ?? '';
    const headers = lines.slice(1).map((l): [string, string] => {
      const i = l.indexOf(':');
      return [l.slice(0, i).trim(), l.slice(i + 1).trim()];
    });
    const parts = startLine.split(' ');
    const m: Message = { startLine, method: '', path: '', status: 0, headers, body: Buffer.alloc(0) };
    if (kind === 'request') [m.method, m.path] = [parts[0] ?? '', parts[1] ?? ''];
    else m.status = Number(parts[1]);
    let p = end + 4;
    const te = header(m, 'transfer-encoding');
    const cl = header(m, 'content-length');
    const bodiless = kind === 'response' && (m.status < 200 || m.status === 204 || m.status === 304 || headFor(startIndex + messages.filter((x) => x.status >= 200).length));
    if (bodiless) {
      // no body
    } else if (te && /chunked/i.test(te)) {
      const chunks: Buffer[] = [];
      let done = false;
      for (;;) {
        const lineEnd = buf.indexOf('\r\n', p);
        if (lineEnd < 0) break;
        const size = parseInt(buf.subarray(p, lineEnd).toString('latin1'), 16);
        if (size === 0) {
          const trailerEnd = buf.indexOf('\r\n\r\n', lineEnd);
          if (trailerEnd < 0) break;
          p = trailerEnd + 4;
          done = true;
          break;
        }
        if (buf.length < lineEnd + 2 + size + 2) break;
        chunks.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
        p = lineEnd + 2 + size + 2;
      }
      if (!done) break;
      m.body = Buffer.concat(chunks);
    } else if (cl !== undefined) {
      const n = Number(cl);
      if (buf.length < p + n) break;
      m.body = buf.subarray(p, p + n);
      p += n;
    }
    messages.push(m);
    at = p;
  }
  return { messages, rest: buf.subarray(at) };
}

export interface Recorded extends Message {
  connection: number;
}

export interface RecordingUpstream {
  host: string;
  port: number;
  url: string;
  seen: Recorded[];
  /** Raw bytes received, per connection. */
  raw: Buffer[];
  connections(): number;
  /** Write bytes on connection `id` now; `onClose` when that connection closes. */
  sendOnIdle(id: number, bytes: string, onClose: () => void): void;
  close(): Promise<void>;
}

export type Answer = (m: Message) => { status: number; headers: Record<string, string>; body: string | Buffer; interim?: string[] };

/**
 * An upstream that parses what it receives as an origin would (requests back to back on a
 * keep-alive connection), records every request, and answers each one in order.
 * `holdUntilNext(m)`: keep that answer back until the next request arrives on the connection,
 * as a server does whose answer is slow while a pipelined request waits behind it.
 */
export async function startRecordingUpstream(answer: Answer, opts: { host?: string; holdUntilNext?: (m: Message) => boolean } = {}): Promise<RecordingUpstream> {
  const seen: Recorded[] = [];
  const raw: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const byId: net.Socket[] = [];
  let connections = 0;
  const server = net.createServer((socket) => {
    const id = connections++;
    sockets.add(socket);
    byId[id] = socket;
    raw[id] = Buffer.alloc(0);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let pending: Buffer = Buffer.alloc(0);
    let held: Buffer | undefined;
    socket.on('data', (d: Buffer) => {
      raw[id] = Buffer.concat([raw[id]!, d]);
      pending = Buffer.concat([pending, d]);
      const { messages, rest } = parseMessages(pending, 'request');
      pending = rest;
      for (const m of messages) {
        seen.push({ ...m, connection: id });
        const a = answer(m);
        const body = Buffer.from(a.body);
        let out = (a.interim ?? []).join('');
        out += `HTTP/1.1 ${a.status} X\r\n`;
        for (const [k, v] of Object.entries({ 'content-length': String(body.length), ...a.headers })) out += `${k}: ${v}\r\n`;
        const bytes = Buffer.concat([Buffer.from(out + '\r\n', 'latin1'), m.method === 'HEAD' ? Buffer.alloc(0) : body]);
        if (held) {
          socket.write(held);
          held = undefined;
        }
        if (opts.holdUntilNext?.(m)) held = bytes;
        else socket.write(bytes);
        if (/close/i.test(header(m, 'connection') ?? '')) socket.end();
      }
    });
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    host,
    port,
    url: `http://${host}:${port}`,
    seen,
    raw,
    connections: () => connections,
    sendOnIdle: (id, bytes, onClose) => {
      const socket = byId[id]!;
      if (socket.destroyed) return onClose();
      socket.once('close', onClose);
      socket.write(bytes);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface Exchange {
  responses: Message[];
  /** Everything received, as text. */
  text: string;
  closed: boolean;
}

/**
 * Write `payload` in one write and read answers until `expected` final (non-1xx) responses have
 * been parsed or the server closes. `headFor(i)`: the i-th final response answers a HEAD.
 * Never half-closes (Node's server would abort requests in flight).
 */
export function exchange(port: number, payload: string | Buffer, expected: number, opts: { host?: string; localAddress?: string; headFor?: (i: number) => boolean; timeoutMs?: number } = {}): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: opts.host ?? '127.0.0.1', localAddress: opts.localAddress }, () => socket.write(payload));
    let data: Buffer = Buffer.alloc(0);
    let finished = false;
    const finish = (closed: boolean) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      const { messages } = parseMessages(data, 'response', opts.headFor);
      socket.destroy();
      resolve({ responses: messages, text: data.toString('latin1'), closed });
    };
    const timer = setTimeout(() => {
      finished = true;
      socket.destroy();
      reject(new Error(`no ${expected} answers within ${opts.timeoutMs ?? 5000} ms; got: ${data.toString('latin1').slice(0, 500)}`));
    }, opts.timeoutMs ?? 5000);
    socket.on('data', (d: Buffer) => {
      data = Buffer.concat([data, d]);
      const { messages } = parseMessages(data, 'response', opts.headFor);
      if (messages.filter((m) => m.status >= 200).length >= expected) finish(false);
    });
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
  });
}
