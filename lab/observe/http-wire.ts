// The plain-HTTP messages in a capture (the CDN's hops, the SLB → app server hop), found where
// they start: a TCP segment whose data begins with a request line ("GET /x HTTP/1.1") or a
// status line ("HTTP/1.1 200 OK"), RFC 9112 §3 and §4. That is the frame a learner lands on
// with frame.number == N; a long body continues in later segments of the same connection.
// (Inside TLS the bytes are encrypted: the order's POST and 201 are found through the TLS
// records instead, lab/observe/tcp-story.ts.)
import type { CaptureFile } from './pcapng.ts';
import { decodeFrame, type Endpoint } from './packets.ts';

export interface HttpStart {
  /** Wireshark's frame.number, and its wire time (seconds since 1970). */
  frame: number;
  time: number;
  source: Endpoint;
  destination: Endpoint;
  /** A request: its method and request-target; a response: its status code. */
  request?: { method: string; target: string };
  status?: number;
  /** The start line itself, as sent. */
  line: string;
}

const REQUEST_LINE = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/;
const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/;

/** Every segment in the capture whose data starts an HTTP/1.x message, in frame order. */
export function httpStarts(capture: CaptureFile): HttpStart[] {
  const out: HttpStart[] = [];
  for (const frame of capture.frames) {
    const d = decodeFrame(frame);
    if (!d.ipv4 || !d.tcp || d.tcp.payloadLength === 0) continue;
    // The start line ends at the first CRLF; look at no more than a generous line's worth.
    const head = frame.data.toString('latin1', d.tcp.payloadOffset, d.tcp.payloadOffset + Math.min(d.tcp.payloadLength, 8192));
    const eol = head.indexOf('\r\n');
    const line = eol < 0 ? head : head.slice(0, eol);
    const request = REQUEST_LINE.exec(line);
    const status = STATUS_LINE.exec(line);
    if (!request && !status) continue;
    out.push({
      frame: frame.number,
      time: frame.time,
      source: { address: d.ipv4.source, port: d.tcp.sourcePort },
      destination: { address: d.ipv4.destination, port: d.tcp.destinationPort },
      ...(request && { request: { method: request[1]!, target: request[2]! } }),
      ...(status && { status: Number(status[1]) }),
      line,
    });
  }
  return out;
}

const same = (a: Endpoint, b: Endpoint) => a.address === b.address && a.port === b.port;

/** Who sent a request to whom: an exact end, or only an address (a proxy's source port is its own business). */
export interface HttpHopKey {
  from: Endpoint | { address: string; port?: undefined };
  to: Endpoint;
  method: string;
  target: string;
  /** Only frames after this one: the same GET crosses every hop, in order. */
  after?: number;
}

/**
 * One hop of a request and its answer: the first request with that method and target from `from`
 * to `to` after `after`, then the first response on the same 4-tuple, the other way.
 */
export function findHttpExchange(starts: readonly HttpStart[], key: HttpHopKey): { request: HttpStart; response?: HttpStart } | undefined {
  const request = starts.find((s) =>
    s.frame > (key.after ?? 0) && s.request?.method === key.method && s.request.target === key.target &&
    s.source.address === key.from.address && (key.from.port === undefined || s.source.port === key.from.port) && same(s.destination, key.to));
  if (!request) return undefined;
  const response = starts.find((s) => s.frame > request.frame && s.status !== undefined && same(s.source, request.destination) && same(s.destination, request.source));
  return { request, ...(response && { response }) };
}
