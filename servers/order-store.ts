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
//
// Two *processes* appending to one log could: each would hand out the same next id and know only
// its own idempotency keys. So opening the log takes a lock file next to it (`orders.jsonl.lock`,
// holding the owner's pid), and a second opener is told who has it.
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

/** Lock files this process holds, to tell "opened twice here" from a stale lock with our pid. */
const locksHeld = new Set<string>();

export class OrderStore {
  private readonly byId = new Map<string, StoredOrder>();
  private readonly byKey = new Map<string, StoredOrder>();
  private nextSeq = 1;
  private fd = -1;
  private locked = false;

  private constructor(readonly file: string) {}

  /** The lock file that says which process has the log open. */
  get lockFile(): string {
    return `${this.file}.lock`;
  }

  /** Open (or create) the log at `file` and replay it. Throws if another process has it open. */
  static open(file: string): OrderStore {
    const store = new OrderStore(path.resolve(file));
    fs.mkdirSync(path.dirname(store.file), { recursive: true });
    store.lock(); // before the replay: it may cut a torn tail, which is only ours to cut if we own the log
    try {
      const existed = fs.existsSync(store.file);
      if (existed) store.replay();

      // 'a' = O_APPEND: the kernel puts every write at the current end of the file, so a line can
      // never overwrite another one.
      store.fd = fs.openSync(store.file, 'a', 0o600);
      if (!existed) syncDirectory(path.dirname(store.file));
    } catch (err) {
      store.unlock();
      throw err;
    }
    return store;
  }

  /**
   * Take the lock: create `<file>.lock` with our pid, failing if it exists ('wx' = O_CREAT|O_EXCL,
   * which the kernel makes atomic: of two processes trying at once, exactly one creates it).
   */
  private lock(): void {
    while (!createLockFile(this.lockFile)) {
      const owner = readLockOwner(this.lockFile);
      if (owner === undefined) continue; // removed between our attempt and the read: try again
      if (owner === process.pid && locksHeld.has(this.lockFile)) {
        // One process, one OrderStore per log: share the object (as the lab's app servers do).
        throw new Error(`the order log ${this.file} is already open in this process (pid ${owner}): share that OrderStore instead of opening it again`);
      }
      if (owner === 'unreadable') {
        // Most likely another process between creating it and writing its pid: not ours to remove.
        throw new Error(`the order log ${this.file} is locked by ${this.lockFile}, which names no process; if no lab or app server is running, remove that file`);
      }
      // Our own pid on a lock we never took: a previous process that had our number (a container
      // restarted after a crash often gets the same pid), so it is stale too.
      if (owner !== process.pid && isAlive(owner)) {
        throw new Error(`the order log ${this.file} is in use by process ${owner} (a running lab?): give this app server its own --store`);
      }
      // The owner died without closing (kill -9, a crash): nobody is appending any more. (Two
      // processes taking over one stale lock in the same instant could both win; that is the one
      // race left, and only when a crash is followed by two starts at once.)
      const why = owner === process.pid ? `left by an earlier process that had our pid, ${owner}` : `process ${owner} is gone`;
      console.warn(`order log ${this.file}: taking over the stale lock ${this.lockFile} (${why})`);
      fs.rmSync(this.lockFile, { force: true });
    }
    this.locked = true;
    locksHeld.add(this.lockFile);
  }

  /** Remove the lock file, if it is still ours. */
  private unlock(): void {
    if (!this.locked) return;
    this.locked = false;
    locksHeld.delete(this.lockFile);
    if (readLockOwner(this.lockFile) === process.pid) fs.rmSync(this.lockFile, { force: true });
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
    this.unlock();
  }
}

/** Create the lock file holding our pid; false if it exists already. */
function createLockFile(lockFile: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(lockFile, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    fs.writeSync(fd, `${process.pid}\n`);
  } catch (err) {
    fs.rmSync(lockFile, { force: true }); // a lock naming nobody would only confuse the next opener
    throw err;
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

/** The pid in a lock file; undefined if there is no lock file, 'unreadable' if it holds no pid. */
function readLockOwner(lockFile: string): number | 'unreadable' | undefined {
  let text: string;
  try {
    text = fs.readFileSync(lockFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : 'unreadable';
}

/** Signal 0 delivers nothing; it only asks the kernel whether the process exists. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // it exists, it is just not ours to signal
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
