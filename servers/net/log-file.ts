// A log file that an outside client can never use against the lab.
//
// Three promises, because a log on a server is written at the request of strangers:
//   - it is capped: when the file reaches `maxBytes` it is rotated (file → file.1 → … → file.N,
//     the oldest dropped), so the disk holds at most (keep + 1) × maxBytes of it;
//   - it is written off the request path: write() only queues the line and returns; the bytes go
//     out asynchronously, and a line that arrives while the queue is full is counted and dropped
//     rather than held in memory;
//   - it never throws: a failed write (read-only file, full disk, removed folder) is reported once
//     through `onProblem` and the server keeps answering. When writing works again it says so.
// Files are created 0600: the TLS key log is a secret, and the others say who asked what.
//
// Writing costs per batch, not per line: a batch goes out when 64 KiB are waiting or 50 ms after
// its first line, through a file that stays open while lines keep coming (as nginx keeps its logs
// open) and is closed a second after the last one, at rotation, after a failure and on flush().
// Before, every line started a write, and every write opened, tightened and closed the file: four
// trips to libuv's thread pool for one or two lines. At 5,000 DNS answers a second that cost the
// resolver 53 µs of CPU per walk-log line; batched, a line costs a few µs (npm run bench, and
// --cpu-prof of the resolver under dnsperf -Q 5000).
import fs from 'node:fs';
import fsp from 'node:fs/promises';

export interface LogFileOptions {
  file: string;
  /** Rotate when the current file would grow past this (default 8 MiB). */
  maxBytes?: number;
  /** How many rotated files to keep besides the current one (default 2). */
  keep?: number;
  /** Lines waiting to be written, in bytes, before new ones are dropped (default 1 MiB). */
  maxQueuedBytes?: number;
  /** Told once when writing starts failing, and once when it works again. */
  onProblem?: (message: string) => void;
}

export interface LogFileStats {
  written: number;
  dropped: number;
  failed: number;
  rotations: number;
}

export class LogFile {
  readonly file: string;
  readonly maxBytes: number;
  readonly keep: number;
  readonly maxQueuedBytes: number;
  readonly stats: LogFileStats = { written: 0, dropped: 0, failed: 0, rotations: 0 };
  private readonly onProblem: (message: string) => void;
  private queue: string[] = [];
  private queuedBytes = 0;
  private size: number | undefined; // learnt from the file on the first write
  private writing: Promise<void> | undefined;
  private failing = false;
  private handle: fsp.FileHandle | undefined;
  private batchTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  /** A batch is written when this many bytes wait, or this long after its first line. */
  static readonly BATCH_BYTES = 64 * 1024;
  static readonly BATCH_MS = 50;
  /** How long the file stays open after the last batch. */
  static readonly IDLE_CLOSE_MS = 1_000;

  constructor(opts: LogFileOptions) {
    this.file = opts.file;
    this.maxBytes = opts.maxBytes ?? 8 * 1024 * 1024;
    this.keep = opts.keep ?? 2;
    this.maxQueuedBytes = opts.maxQueuedBytes ?? 1024 * 1024;
    this.onProblem = opts.onProblem ?? (() => {});
  }

  /** Queue one line (a newline is added if missing). Returns at once; never throws. */
  write(line: string): void {
    const text = line.endsWith('\n') ? line : `${line}\n`;
    const bytes = Buffer.byteLength(text);
    if (this.queuedBytes + bytes > this.maxQueuedBytes) {
      this.stats.dropped++;
      return;
    }
    this.queue.push(text);
    this.queuedBytes += bytes;
    this.next();
  }

  /** Write what is queued now (or as soon as the write in progress is done). */
  private kick(): void {
    clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    clearTimeout(this.idleTimer);
    this.writing ??= this.drain().finally(() => {
      this.writing = undefined;
      this.next();
    });
  }

  /**
   * After a line is queued, and after each write: the lines waiting are the next batch, due when
   * it is big enough or old enough (lines queued during a write do not go out at once: at a few
   * thousand lines a second that would be a write per line or two again); with none, the file is
   * closed a while after the last.
   */
  private next(): void {
    if (this.queue.length === 0) {
      if (this.handle) this.idleTimer = setTimeout(() => void this.closeWhenIdle(), LogFile.IDLE_CLOSE_MS).unref();
    } else if (this.queuedBytes >= LogFile.BATCH_BYTES) {
      this.kick();
    } else {
      this.batchTimer ??= setTimeout(() => this.kick(), LogFile.BATCH_MS);
    }
  }

  /** Close the file if nothing is being written; the next line opens it again. */
  private async closeWhenIdle(): Promise<void> {
    if (this.writing || this.queue.length > 0) return;
    clearTimeout(this.idleTimer);
    this.writing = this.closeFile().finally(() => {
      this.writing = undefined;
      this.next();
    });
    await this.writing;
  }

  /** Write every line queued so far (or fail to), now, and close the file. */
  async flush(): Promise<void> {
    while (this.queue.length > 0 || this.writing) {
      if (!this.writing) this.kick();
      await this.writing;
    }
    await this.closeWhenIdle();
    while (this.writing) await this.writing;
  }

  private async closeFile(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close().catch(() => {});
  }

  /** Write the lines queued now, as one batch (or as few as rotation allows). */
  private async drain(): Promise<void> {
    if (this.queue.length > 0) {
      const lines = this.queue;
      this.queue = [];
      this.queuedBytes = 0;
      try {
        for (const batch of await this.batches(lines)) await this.append(batch);
        this.stats.written += lines.length;
        if (this.failing) {
          this.failing = false;
          this.onProblem(`writing ${this.file} works again`);
        }
      } catch (err) {
        this.stats.failed += lines.length;
        this.size = undefined; // after a failure, ask the file again
        await this.closeFile(); // and open it again
        if (!this.failing) {
          this.failing = true;
          const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
          this.onProblem(`cannot write ${this.file} (${code}); serving on without this log, lines are dropped until it works again`);
        }
      }
    }
  }

  /** Group lines into appends that each fit the current file, so no file grows past maxBytes. */
  private async batches(lines: string[]): Promise<Array<{ text: string; rotateFirst: boolean }>> {
    this.size ??= await fsp.stat(this.file).then((s) => s.size, () => 0);
    const out: Array<{ text: string; rotateFirst: boolean }> = [];
    let size = this.size;
    let current = { text: '', rotateFirst: false };
    for (const line of lines) {
      const bytes = Buffer.byteLength(line);
      if (size > 0 && size + bytes > this.maxBytes) {
        if (current.text !== '' || current.rotateFirst) out.push(current);
        current = { text: '', rotateFirst: true };
        size = 0;
      }
      current.text += line;
      size += bytes;
    }
    out.push(current);
    return out;
  }

  private async append({ text, rotateFirst }: { text: string; rotateFirst: boolean }): Promise<void> {
    if (rotateFirst) await this.rotate();
    this.handle ??= await this.open();
    await this.handle.appendFile(text);
    this.size = (this.size ?? 0) + Buffer.byteLength(text);
  }

  private async open(): Promise<fsp.FileHandle> {
    // O_NOFOLLOW: a link put in the log's place (say, to a world-readable file) is refused, not
    // written through; and the file written is made 0600 whatever it was.
    const handle = await fsp.open(this.file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600);
    try {
      await handle.chmod(0o600);
      return handle;
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** file.N-1 → file.N, …, file → file.1; the oldest is overwritten. */
  private async rotate(): Promise<void> {
    await this.closeFile();
    for (let i = this.keep; i >= 1; i--) {
      const from = i === 1 ? this.file : `${this.file}.${i - 1}`;
      await fsp.rename(from, `${this.file}.${i}`).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
    if (this.keep === 0) await fsp.rm(this.file, { force: true });
    this.size = 0;
    this.stats.rotations++;
  }
}

/** Create (or tighten) a file as 0600 before anyone writes to it; best effort. */
export function ensurePrivateFile(file: string): void {
  try {
    fs.closeSync(fs.openSync(file, 'a', 0o600));
    fs.chmodSync(file, 0o600);
  } catch {
    // The LogFile reports the problem when a write fails; nothing to add here.
  }
}
