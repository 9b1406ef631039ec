// The order log: every accepted order is one line of JSON appended to a file.
//
// Why a log and not a database: the only promise the shop makes is "once we said 201, the order
// exists". An append-only file that is flushed to disk (fsync) before the answer goes out keeps
// that promise with code short enough to read in one sitting. On start-up we read the log from
// the top and rebuild the in-memory indexes (by id, by idempotency key) from it.
//
// Everything here is synchronous on purpose. JavaScript runs one thing at a time, so while
// `create` runs nobody else can pick the same id or slip the same idempotency key in between the
// check and the write: two app servers sharing one OrderStore in one process cannot race.
import fs from 'node:fs';
import path from 'node:path';

export interface Order {
  date: string;
  className: string;
  Author: string;
  price: string;
}

export interface StoredOrder {
  id: string;
  order: Order;
  createdAt: string;
  handledBy: string;
  idempotencyKey?: string;
  requestHash?: string;
}

/** The same Idempotency-Key came back with a different order: that is a client bug, not a retry. */
export class IdempotencyConflict extends Error {
  constructor(
    readonly idempotencyKey: string,
    readonly existingId: string,
  ) {
    super(`Idempotency-Key "${idempotencyKey}" was already used for a different order (${existingId})`);
    this.name = 'IdempotencyConflict';
  }
}

/** po-000001, po-000002, ...: readable in a log and in the narration. */
function formatId(seq: number): string {
  return `po-${String(seq).padStart(6, '0')}`;
}

/** Read one log line back; undefined if it is not a whole, well-formed record. */
function parseRecord(line: string): StoredOrder | undefined {
  let rec: unknown;
  try {
    rec = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof rec !== 'object' || rec === null) return undefined;
  const r = rec as Partial<StoredOrder>;
  if (typeof r.id !== 'string' || !/^po-\d+$/.test(r.id)) return undefined;
  if (typeof r.order !== 'object' || r.order === null) return undefined;
  return r as StoredOrder;
}

export class OrderStore {
  private readonly byId = new Map<string, StoredOrder>();
  private readonly byKey = new Map<string, StoredOrder>();
  private nextSeq = 1;
  private fd = -1;

  private constructor(readonly file: string) {}

  /** Open (or create) the log at `file` and replay it. */
  static open(file: string): OrderStore {
    const store = new OrderStore(path.resolve(file));
    fs.mkdirSync(path.dirname(store.file), { recursive: true });
    const existed = fs.existsSync(store.file);
    if (existed) store.replay();

    // 'a' = O_APPEND: the kernel puts every write at the current end of the file, so a line can
    // never overwrite another one.
    store.fd = fs.openSync(store.file, 'a', 0o600);
    if (!existed) syncDirectory(path.dirname(store.file));
    return store;
  }

  /** Rebuild the indexes from the log, and cut off a line a crash left half-written. */
  private replay(): void {
    const text = fs.readFileSync(this.file, 'utf8');
    const lines = text.split('\n');
    let lastLine = lines.length - 1;
    while (lastLine >= 0 && lines[lastLine]!.trim() === '') lastLine--;
    let goodBytes = 0; // where the last whole record ends: a torn tail is cut back to here
    for (let i = 0; i <= lastLine; i++) {
      const line = lines[i]!;
      const isLastLine = i === lastLine;
      if (line.trim() === '') {
        goodBytes += Buffer.byteLength(line) + 1;
        continue;
      }
      const rec = parseRecord(line);
      if (rec === undefined) {
        if (!isLastLine) {
          // A bad line with good ones after it is not a crash mid-write: someone edited or damaged
          // the log. Guessing could lose an order that was acknowledged, so stop and say where.
          throw new Error(`${this.file}:${i + 1}: not a valid order record; fix or remove this line, then start again`);
        }
        // The process died while writing this line, so it never got its fsync and nobody was told
        // 201 for it. Cut it off, or the next order would be appended onto the half line.
        console.warn(
          `order log ${this.file}: skipped a torn last line (line ${i + 1}, crash mid-write, never acknowledged): ` +
            JSON.stringify(line.length > 80 ? line.slice(0, 80) + '...' : line),
        );
        fs.truncateSync(this.file, goodBytes);
        return;
      }
      this.remember(rec);
      goodBytes += Buffer.byteLength(line) + 1;
    }
    // A whole record that lost only its newline: end the line, or the next order would be glued on.
    if (text !== '' && !text.endsWith('\n')) fs.appendFileSync(this.file, '\n');
  }

  private remember(rec: StoredOrder): void {
    this.byId.set(rec.id, rec);
    if (rec.idempotencyKey !== undefined) this.byKey.set(rec.idempotencyKey, rec);
    // Ids continue after a restart: the next one is one past the highest ever written.
    this.nextSeq = Math.max(this.nextSeq, Number(rec.id.slice(3)) + 1);
  }

  /**
   * Store an order, on disk, before returning. With an idempotency key seen before, either hand
   * back the first order (same request: a retry) or refuse (different request: a conflict).
   */
  create(
    order: Order,
    opts: { handledBy: string; idempotencyKey?: string; requestHash?: string },
  ): { stored: StoredOrder; replayed: boolean } {
    if (opts.idempotencyKey !== undefined) {
      const first = this.byKey.get(opts.idempotencyKey);
      if (first !== undefined) {
        if (first.requestHash === opts.requestHash) return { stored: first, replayed: true };
        throw new IdempotencyConflict(opts.idempotencyKey, first.id);
      }
    }
    if (this.fd < 0) throw new Error(`order log ${this.file} is closed`);

    const stored: StoredOrder = {
      id: formatId(this.nextSeq),
      order,
      createdAt: new Date().toISOString(),
      handledBy: opts.handledBy,
      ...(opts.idempotencyKey !== undefined && { idempotencyKey: opts.idempotencyKey }),
      ...(opts.requestHash !== undefined && { requestHash: opts.requestHash }),
    };
    const bytes = Buffer.from(JSON.stringify(stored) + '\n');

    const sizeBefore = fs.fstatSync(this.fd).size;
    try {
      // writeSync may write fewer bytes than asked (a full disk, a signal): loop until all are out.
      let written = 0;
      while (written < bytes.length) written += fs.writeSync(this.fd, bytes, written);
      // Without fsync the line may sit in the page cache; a power cut would lose an order we
      // already confirmed. This is the line that makes the 201 true.
      fs.fsyncSync(this.fd);
    } catch (err) {
      // Nothing was acknowledged; undo the half line so the next order starts on a clean line.
      try {
        fs.ftruncateSync(this.fd, sizeBefore);
      } catch {
        // the replay on the next start cuts a torn tail anyway
      }
      throw err;
    }

    // Only now, with the line on disk, does the order exist for everyone else.
    this.remember(stored);
    return { stored, replayed: false };
  }

  get(id: string): StoredOrder | undefined {
    return this.byId.get(id);
  }

  get count(): number {
    return this.byId.size;
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}

/** A new file's name lives in its folder: flush the folder too, or a crash can lose the file. */
function syncDirectory(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Some systems (Windows) cannot open a folder for fsync; the file itself is still synced.
  }
}
