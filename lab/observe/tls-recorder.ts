// The TLS messages of the phone's one connection, read from the bytes its recorder kept
// (client/recording-socket.ts): the same bytes the kernel was given and gave back, in the same
// order, with their times. No relay and no second connection: what a capture on the phone would
// show of its own connection, minus the TCP/IP headers (those are the kernel's).
//
// Returns facts, not sentences: decoded events (lab/tls-decoder.ts) stamped with when their bytes
// passed, the inputs of the master secret check, and the write boundaries of the phone's side
// (one write is what the kernel gets to cut into segments).
import type { RecordedChunk } from '../../client/recording-socket.ts';
import { TlsStreamDecoder, type Direction, type TlsEvent } from '../tls-decoder.ts';

/** One chunk as it passed, placed in its direction's byte stream. */
export interface WireChunk {
  direction: Direction;
  /** ms since the epoch. */
  at: number;
  /** Where the chunk starts in its direction's stream (TLS event offsets count the same way). */
  offset: number;
  bytes: Buffer;
}

/** A decoded TLS event, with when the bytes that completed it passed. */
export type RecordedTlsEvent = TlsEvent & {
  /** ms since the epoch, and since the first byte of the connection. */
  at: number;
  sinceStartMs: number;
  /** Index in `chunks` of the chunk that completed it. */
  chunk: number;
};

export interface RecordedTlsConnection {
  chunks: WireChunk[];
  /** Bytes each way. */
  bytes: Record<Direction, number>;
  events: RecordedTlsEvent[];
  /** The two randoms (hex) and, in classic mode, the ClientKeyExchange: the inputs of the
   *  master secret check (lab/master-secret.ts). */
  clientRandom?: string;
  serverRandom?: string;
  /** The group the ServerHello's key_share chose (TLS 1.3), as the wire names it. */
  keyShareGroup?: string;
  clientKeyExchange?: { raw: Buffer; encryptedPreMaster?: string };
}

/** The client's chunks are 'sent', the server's 'received': the phone is the client. */
const DIRECTION: Record<RecordedChunk['direction'], Direction> = { sent: 'client→server', received: 'server→client' };

/** Decode a recorded connection, chunk by chunk, in the order the chunks passed. */
export function decodeRecording(recorded: readonly RecordedChunk[]): RecordedTlsConnection {
  const decoder = new TlsStreamDecoder();
  const conn: RecordedTlsConnection = { chunks: [], bytes: { 'client→server': 0, 'server→client': 0 }, events: [] };
  const start = recorded[0]?.at ?? 0;
  recorded.forEach((c, i) => {
    const direction = DIRECTION[c.direction];
    conn.chunks.push({ direction, at: c.at, offset: conn.bytes[direction], bytes: c.bytes });
    conn.bytes[direction] += c.bytes.length;
    for (const e of decoder.push(direction, c.bytes)) {
      conn.events.push({ ...e, at: c.at, sinceStartMs: Math.round((c.at - start) * 1000) / 1000, chunk: i });
      if (e.type === 'ClientHello') conn.clientRandom = e.fields.random;
      if (e.type === 'ServerHello' && !e.fields.helloRetryRequest) {
        conn.serverRandom = e.fields.random;
        if (e.fields.keyShare) conn.keyShareGroup = e.fields.keyShare.group;
      }
      if (e.type === 'ClientKeyExchange') {
        conn.clientKeyExchange = { raw: e.fields.raw, ...(e.fields.encryptedPreMaster && { encryptedPreMaster: e.fields.encryptedPreMaster }) };
      }
    }
  });
  return conn;
}

/** Where a TLS event's record sits in its stream: [start, end). */
function recordSpan(e: TlsEvent): [number, number] {
  return [e.record.offset, e.record.offset + 5 + e.record.length];
}

export interface WriteOf {
  /** Index in `chunks`, and the chunk itself. */
  index: number;
  chunk: WireChunk;
  /** The TLS events whose records lie (wholly or partly) in this write, in stream order. */
  records: RecordedTlsEvent[];
}

/**
 * The one write (or read) that carried the start of `event`'s record, and every record that rode
 * in it. For the phone's request in TLS 1.3 that write also holds its ChangeCipherSpec and
 * Finished: the client sends them together, right behind each other.
 */
export function writeCarrying(conn: RecordedTlsConnection, event: TlsEvent): WriteOf | undefined {
  const [start] = recordSpan(event);
  const index = conn.chunks.findIndex((c) => c.direction === event.direction && c.offset <= start && start < c.offset + c.bytes.length);
  if (index < 0) return undefined;
  const chunk = conn.chunks[index]!;
  const end = chunk.offset + chunk.bytes.length;
  const seen = new Set<number>();
  const records = conn.events.filter((e) => {
    if (e.direction !== event.direction) return false;
    const [s, f] = recordSpan(e);
    // Several handshake messages can share one record: list the record once, by its first message.
    if (s >= end || f <= chunk.offset || seen.has(s)) return false;
    seen.add(s);
    return true;
  });
  return { index, chunk, records };
}
