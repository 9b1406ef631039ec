// Which TLS secrets belong to a capture: the key log lines of the connections in it, and no others.
//
// An NSS key log line is `LABEL <client random, 64 hex digits> <secret>` (CLIENT_RANDOM in TLS 1.2,
// CLIENT_HANDSHAKE_TRAFFIC_SECRET, SERVER_TRAFFIC_SECRET_0, … in TLS 1.3). The client random is
// how Wireshark matches a secret to a connection, so it is how we choose them too: the randoms
// of the ClientHellos in the capture pick the lines. Lines of earlier runs (the key log is kept
// across runs) stay out of this run's file.
import type { CaptureFile } from './pcapng.ts';
import { decodeFrame } from './packets.ts';

/**
 * The 32-byte random of every ClientHello that starts a TCP segment's data. A TLS record header is
 * content type (22 = handshake), version (3.x), length; the handshake header is type (1 =
 * ClientHello) and a 24-bit length; then client_version (2 bytes) and the random (RFC 8446
 * §4.1.2, RFC 5246 §7.4.1.2). On loopback a ClientHello always fits in its first segment.
 */
export function clientRandoms(capture: CaptureFile): Set<string> {
  const randoms = new Set<string>();
  for (const frame of capture.frames) {
    const tcp = decodeFrame(frame).tcp;
    if (!tcp || tcp.payloadLength < 43) continue;
    const data = frame.data.subarray(tcp.payloadOffset, tcp.payloadOffset + tcp.payloadLength);
    if (data[0] === 22 && data[1] === 3 && data[5] === 1 && data.length >= 43) randoms.add(data.subarray(11, 43).toString('hex'));
  }
  return randoms;
}

/** The key log lines whose client random is one of `randoms`, in their original order. */
export function keyLogLinesFor(keyLogText: string, randoms: Set<string>): string[] {
  return keyLogText.split('\n').filter((line) => {
    const [label, random] = line.trim().split(/\s+/);
    return label !== undefined && !label.startsWith('#') && random !== undefined && randoms.has(random.toLowerCase());
  });
}

export interface KeyLogLine {
  label: string;
  clientRandom: string;
  secret: string;
  lineNumber: number;
}

/** "LABEL <client random hex> <secret hex>" per line; '#' starts a comment. */
export function parseKeyLog(text: string): KeyLogLine[] {
  const out: KeyLogLine[] = [];
  text.split('\n').forEach((line, i) => {
    const [label, clientRandom, secret] = line.trim().split(/\s+/);
    if (!label || label.startsWith('#') || !clientRandom || !secret) return;
    out.push({ label, clientRandom: clientRandom.toLowerCase(), secret: secret.toLowerCase(), lineNumber: i + 1 });
  });
  return out;
}
