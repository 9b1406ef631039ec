// A recorder around the phone's own TCP socket: every byte passes through unchanged, both ways, and
// a copy is kept with the time it passed and which way it went. TLS runs on top of it
// (`tls.connect({ socket: recorder })` accepts any Duplex), so the copy is exactly the byte stream
// of the one real connection, TLS records and all: no relay, no second connection.
//
//   TLS (OpenSSL)  ⇄  RecordingSocket (keeps a copy)  ⇄  net.Socket  ⇄  kernel  ⇄  the server
//
// Mechanism only: this file records, it does not interpret (lab/observe/tls-recorder.ts decodes).
import net from 'node:net';
import { Duplex } from 'node:stream';

export interface RecordedChunk {
  /** 'sent': handed to the kernel in one write; 'received': one read from the kernel. */
  direction: 'sent' | 'received';
  /** When it passed: milliseconds since the epoch, with sub-millisecond precision. */
  at: number;
  bytes: Buffer;
}

/** What a recorder knows about its connection. */
export interface Recording {
  readonly chunks: readonly RecordedChunk[];
  readonly finAt?: number;
  readonly error?: { at: number; code?: string; message: string };
}

/** Now, in ms since the epoch, finer than Date.now(). */
const now = () => performance.timeOrigin + performance.now();

export class RecordingSocket extends Duplex implements Recording {
  /** Every chunk in the order it passed. A 'sent' chunk is one write: the write boundaries the
   *  kernel was given, which decide how the bytes are cut into segments. */
  readonly chunks: RecordedChunk[] = [];
  /** When the peer's FIN arrived (it will send nothing more), if it did. */
  finAt?: number;
  /** How the connection failed, if it did: ECONNRESET when the peer answered with a reset (RST). */
  error?: { at: number; code?: string; message: string };

  constructor(readonly socket: net.Socket) {
    // allowHalfOpen: a FIN from the server ends only our reading side; TLS decides when to end ours.
    super({ allowHalfOpen: true });
    socket.on('data', (bytes: Buffer) => {
      this.chunks.push({ direction: 'received', at: now(), bytes });
      if (!this.push(bytes)) socket.pause(); // back-pressure: resumed in _read
    });
    socket.on('end', () => {
      this.finAt = now(); // the server's FIN
      this.push(null);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.error = { at: now(), code: err.code, message: err.message };
      this.destroy(err); // ECONNREFUSED, ECONNRESET, … with their codes, for TLS and HTTP above
    });
    socket.on('close', () => {
      if (!this.destroyed && !this.readableEnded && !socket.readableEnded) this.destroy();
    });
  }

  _read(): void {
    this.socket.resume();
  }

  _write(bytes: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.chunks.push({ direction: 'sent', at: now(), bytes });
    this.socket.write(bytes, callback);
  }

  /** Several buffers given at once (TLS hands over a flight this way): one write to the kernel. */
  _writev(parts: { chunk: Buffer }[], callback: (err?: Error | null) => void): void {
    const bytes = Buffer.concat(parts.map((p) => p.chunk));
    this.chunks.push({ direction: 'sent', at: now(), bytes });
    this.socket.write(bytes, callback);
  }

  /** Our side is done: pass the FIN on. */
  _final(callback: (err?: Error | null) => void): void {
    this.socket.end(callback);
  }

  _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.socket.destroy();
    callback(err);
  }
}
