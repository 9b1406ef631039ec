// The order log: every accepted order is one line of JSON appended to a file.
//
// Why a log and not a database: the only promise the shop makes is "once we said 201, the order
// exists, once". An append-only file that is flushed to disk (fsync) before the answer goes out
// keeps that promise with code short enough to read in one sitting. On start-up we read the log
// from the top and rebuild the in-memory indexes (by id, by idempotency key) from it.
//
// Several processes may share one log (two app servers started on their own, each with the same
// --store). Each of them only knows what it has read, so every change happens inside one critical
// section that no other process can enter at the same time (see LogLock below):
//   take the lock → read what the others appended since we last looked → check the idempotency
//   key → pick the next order number → append the line → fsync → release the lock.
// Only after that does the app answer 201.
//
// Reading an order back takes no lock: a reader only looks for whole lines others appended, and
// leaves repairs (a torn last line) to the writers, who hold the lock.
//
// Everything here is synchronous on purpose. JavaScript runs one thing at a time, so inside one
// process nothing can slip in between those steps either.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export interface Order {
  date: string;
  className: string;
  Author: string;
  price: string;
}

export interface StoredOrder {
  /** The order number, po-000042: readable in logs and in the narration, and guessable. */
  id: string;
  /** The capability: whoever holds it may read the order back. 128 random bits, base64url. */
  token?: string; // missing only on orders written before tokens existed: nobody can read those back
  order: Order;
  createdAt: string;
  handledBy: string;
  idempotencyKey?: string;
  requestHash?: string;
}

/** A line of the log that could not be read back, and what was done with it. */
export interface StoreProblem {
  /** 1-based line number in the order log. */
  line: number;
  /** 'torn': the last line, cut short by a crash while it was written (never acknowledged).
   *  'damaged': any other line that is not a valid record. */
  kind: 'torn' | 'damaged';
  message: string;
}

export interface OpenOptions {
  /** Told about every problem found in the log (default console.warn). */
  log?: (line: string) => void;
  /** How long to wait for another process's critical section before giving up (default 10 s). */
  lockTimeoutMs?: number;
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

/** Another process held the log's lock for longer than we wait. Nothing was written: retry. */
export class StoreBusy extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreBusy';
  }
}

/** Refused when the order numbers run out: nothing was stored. Needs the operator, not a retry. */
export class StoreFull extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreFull';
  }
}

/**
 * What an order id looks like to the reader: po- and at most 15 digits. The writer never goes
 * past MAX_SEQ, so every id it hands out passes this (15 digits are also exact in a JS number).
 */
const ID_FORMAT = /^po-(\d{1,15})$/;
const MAX_SEQ = 999_999_999_999_999;

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
  if (typeof r.id !== 'string' || !ID_FORMAT.test(r.id)) return undefined;
  if (r.token !== undefined && typeof r.token !== 'string') return undefined;
  if (typeof r.order !== 'object' || r.order === null) return undefined;
  return r as StoredOrder;
}

/**
 * The order number a damaged line may have held, so it is never handed out again. Looked for only
 * where every line we write has it: first, `{"id":"po-000123"` (JSON.stringify keeps our key order;
 * 26 characters hold the longest id). Not anywhere in the line: the rest is the client's own text,
 * and a className "po-999999999999999" must not retire every number there is.
 */
function idNumberIn(text: string): number | undefined {
  const m = /po-?0*(\d{1,15})/i.exec(text.slice(0, 26));
  return m ? Number(m[1]) : undefined;
}

/** Same answer, same time, whatever the tokens: compare fixed-size digests with timingSafeEqual. */
function sameToken(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

export class OrderStore {
  private readonly byId = new Map<string, StoredOrder>();
  private readonly byKey = new Map<string, StoredOrder>();
  private nextSeq = 1;
  private highestRead = 0; // the largest order number among the records we have read or written
  private fd = -1;
  private offset = 0; // bytes of the log already read into the indexes
  private lines = 0; // whole lines read so far, for line numbers in reports
  private readonly setAside = new Set<string>(); // lines already copied to the .damaged file
  private readonly found: StoreProblem[] = [];
  private readonly lock: LogLock;
  private readonly log: (line: string) => void;

  private constructor(
    readonly file: string,
    opts: OpenOptions,
  ) {
    this.log = opts.log ?? ((line) => console.warn(line));
    this.lock = new LogLock(`${file}.lock.d`, opts.lockTimeoutMs ?? 10_000, this.log);
  }

  /** Lines that could not be read, with their line numbers; each is also in `damagedFile`. */
  get problems(): readonly StoreProblem[] {
    return this.found;
  }

  /** Where unreadable lines are copied, with their line numbers, for the operator to look at. */
  get damagedFile(): string {
    return `${this.file}.damaged`;
  }

  get isOpen(): boolean {
    return this.fd >= 0;
  }

  /** Open (or create) the log at `file` and read it. Other processes may have it open too. */
  static open(file: string, opts: OpenOptions = {}): OrderStore {
    const store = new OrderStore(path.resolve(file), opts);
    const dir = path.dirname(store.file);
    fs.mkdirSync(dir, { recursive: true });
    const existed = fs.existsSync(store.file);
    // 'a+' = O_APPEND (the kernel puts every write at the current end, so a line never overwrites
    // another) and readable, so we can read what other processes appended.
    store.fd = fs.openSync(store.file, 'a+', 0o600);
    if (!existed) syncDirectory(dir);
    try {
      store.loadSetAside();
      store.lock.sweep();
      // Under the lock: the catch-up may cut a torn tail, which is only safe while nobody writes.
      store.lock.hold(() => store.catchUp());
    } catch (err) {
      store.close();
      throw err;
    }
    return store;
  }

  /**
   * Store an order, on disk, before returning. With an idempotency key seen before (by any
   * process), either hand back the first order (same request: a retry) or refuse (a conflict).
   *
   * A retry gets the first order back with its token. So whoever knows an Idempotency-Key can read
   * that order: acceptable, because the key is the client's own secret, chosen at random by it
   * and sent only along with the order itself.
   */
  create(
    order: Order,
    opts: { handledBy: string; idempotencyKey?: string; requestHash?: string },
  ): { stored: StoredOrder; replayed: boolean } {
    if (this.fd < 0) throw new Error(`order log ${this.file} is closed`);
    return this.lock.hold(() => {
      // Another process may have taken this key, or numbers, since we last looked.
      this.catchUp();
      if (opts.idempotencyKey !== undefined) {
        const first = this.byKey.get(opts.idempotencyKey);
        if (first !== undefined) {
          if (first.requestHash === opts.requestHash) return { stored: first, replayed: true };
          throw new IdempotencyConflict(opts.idempotencyKey, first.id);
        }
      }
      // An id the reader would reject must never be acknowledged: the order would be set aside as
      // damaged on the next open.
      if (this.nextSeq > MAX_SEQ) {
        throw new StoreFull(`order log ${this.file}: order numbers are used up (the next would be po-${this.nextSeq}, over ${MAX_SEQ}); nothing was stored`);
      }

      const stored: StoredOrder = {
        id: formatId(this.nextSeq),
        token: randomBytes(16).toString('base64url'),
        order,
        createdAt: new Date().toISOString(),
        handledBy: opts.handledBy,
        ...(opts.idempotencyKey !== undefined && { idempotencyKey: opts.idempotencyKey }),
        ...(opts.requestHash !== undefined && { requestHash: opts.requestHash }),
      };
      const bytes = Buffer.from(JSON.stringify(stored) + '\n');
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
          fs.ftruncateSync(this.fd, this.offset);
        } catch {
          // the next catch-up under the lock cuts a torn tail anyway
        }
        throw err;
      }
      this.offset += bytes.length;
      this.lines++;
      this.remember(stored);
      return { stored, replayed: false };
    });
  }

  /** The order with this number, if `token` is its capability; undefined for any other case. */
  read(id: string, token: string): StoredOrder | undefined {
    const stored = this.get(id);
    // Compare even when there is no such order, so the time taken does not tell which case it was.
    const ok = sameToken(stored?.token ?? 'no such order', token);
    return ok && stored?.token !== undefined ? stored : undefined;
  }

  /**
   * The order with this number, token or not: for the shop's own code, never for a client.
   *
   * Anyone can ask for any id, so a miss must stay cheap and must not take the lock (its file
   * operations block the event loop every role shares, and a busy lock would block it for up to
   * lockTimeoutMs). Numbers only grow along the log (each is picked under the lock, after reading
   * everything before it), so an order we have not read yet has a number above every one we have.
   */
  get(id: string): StoredOrder | undefined {
    const known = this.byId.get(id);
    if (known !== undefined || this.fd < 0) return known;
    const m = ID_FORMAT.exec(id);
    if (!m || Number(m[1]) <= this.highestRead) return undefined; // not an id, or one we would have read
    // Perhaps another process wrote it since we last looked: read what was appended, lock-free.
    if (this.readWholeLines('lock-free') === 'unsure') this.lock.hold(() => this.catchUp());
    return this.byId.get(id);
  }

  /** Orders read so far (this process's view of the log). */
  get count(): number {
    return this.byId.size;
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }

  /** Read whatever was appended since we last looked. Only ever called holding the lock. */
  private catchUp(): void {
    this.readWholeLines('locked');
    const size = fs.fstatSync(this.fd).size;
    if (size === this.offset) return;
    const buf = Buffer.alloc(size - this.offset);
    const got = fs.readSync(this.fd, buf, 0, buf.length, this.offset);

    // A last line without its newline. We hold the lock, so nobody is writing it now: its writer
    // died mid-write, before the fsync, so nobody was ever told 201 for it.
    const tail = buf.subarray(0, got).toString('utf8');
    if (parseRecord(tail) !== undefined) {
      // Whole but for the newline: end the line, or the next order would be glued onto it.
      fs.writeSync(this.fd, '\n');
      fs.fsyncSync(this.fd);
      this.lines++;
      this.take(tail);
      this.offset += got + 1;
      return;
    }
    // Set it aside and cut it off, or the next order would be appended onto the half line.
    this.reportProblem(this.lines + 1, 'torn', tail);
    fs.ftruncateSync(this.fd, this.offset);
    fs.fsyncSync(this.fd);
  }

  /**
   * Index the whole lines appended since we last looked; a last line without its newline is left
   * where it is. 'locked': nobody writes meanwhile, so a line that does not parse is damaged and is
   * set aside. 'lock-free' (a reader's catch-up): a writer may be appending, or cutting a torn tail,
   * while we read, so a line that does not parse may be a mix of the two; we stop before it, and
   * answer 'unsure' for a catch-up under the lock to judge it.
   */
  private readWholeLines(mode: 'locked' | 'lock-free'): 'done' | 'unsure' {
    const size = fs.fstatSync(this.fd).size;
    if (size < this.offset || fs.statSync(this.file).ino !== fs.fstatSync(this.fd).ino) {
      // Nothing in the lab removes whole lines or replaces the file; someone did it by hand.
      throw new Error(`order log ${this.file} was truncated or replaced while open; restart the app servers`);
    }
    if (size === this.offset) return 'done';
    const buf = Buffer.alloc(size - this.offset);
    let got = 0;
    while (got < buf.length) {
      const n = fs.readSync(this.fd, buf, got, buf.length - got, this.offset + got);
      if (n === 0) break;
      got += n;
    }
    let start = 0; // where the next line begins in buf
    for (let nl = buf.indexOf(10); nl !== -1 && nl < got; nl = buf.indexOf(10, start)) {
      const line = buf.subarray(start, nl).toString('utf8');
      if (mode === 'lock-free' && line.trim() !== '' && parseRecord(line) === undefined) {
        this.offset += start;
        return 'unsure';
      }
      this.lines++;
      this.take(line);
      start = nl + 1;
    }
    this.offset += start;
    return 'done';
  }

  /** One whole line: index it, or set it aside. */
  private take(line: string): void {
    if (line.trim() === '') return;
    const rec = parseRecord(line);
    if (rec !== undefined) this.remember(rec);
    else this.reportProblem(this.lines, 'damaged', line);
  }

  private remember(rec: StoredOrder): void {
    this.byId.set(rec.id, rec);
    if (rec.idempotencyKey !== undefined && !this.byKey.has(rec.idempotencyKey)) this.byKey.set(rec.idempotencyKey, rec);
    // Numbers continue after a restart: the next one is one past the highest ever written.
    this.highestRead = Math.max(this.highestRead, Number(rec.id.slice(3)));
    this.nextSeq = Math.max(this.nextSeq, this.highestRead + 1);
  }

  /**
   * A line we cannot read is never dropped silently: it is copied to the .damaged file with its
   * line number (once, however often the log is opened), and the operator is told. Any order
   * number it mentions is skipped, so a number the line may have held is never handed out again.
   */
  private reportProblem(line: number, kind: StoreProblem['kind'], text: string): void {
    this.retire(idNumberIn(text));
    const seen = `${line}:${createHash('sha256').update(text).digest('hex')}`;
    if (!this.setAside.has(seen)) {
      const entry = { line, kind, foundAt: new Date().toISOString(), text };
      fs.appendFileSync(this.damagedFile, JSON.stringify(entry) + '\n', { mode: 0o600 });
      this.setAside.add(seen);
    }
    const message =
      kind === 'torn'
        ? `order log ${this.file}:${line}: a torn last line (a crash mid-write, never acknowledged) was cut off; kept in ${this.damagedFile}`
        : `order log ${this.file}:${line}: not a valid order record; skipped, and kept in ${this.damagedFile}. Look at it: it may be an order`;
    this.found.push({ line, kind, message });
    this.log(message);
  }

  /** A number a damaged line may have held is not handed out again. */
  private retire(n: number | undefined): void {
    if (n !== undefined) this.nextSeq = Math.max(this.nextSeq, n + 1);
  }

  /** What earlier opens already copied to the .damaged file, so it is not copied twice. */
  private loadSetAside(): void {
    let text: string;
    try {
      text = fs.readFileSync(this.damagedFile, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const l of text.split('\n')) {
      try {
        const e = JSON.parse(l) as { line: number; text: string };
        this.setAside.add(`${e.line}:${createHash('sha256').update(e.text).digest('hex')}`);
        // A torn tail is cut from the log but not forgotten: its numbers stay retired too.
        this.retire(idNumberIn(e.text));
      } catch {
        // a torn line of the .damaged file itself: copying again is harmless
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The lock: one process at a time inside the critical section, across processes.
//
// Node has no flock(), so the lock is built from two things the kernel does atomically:
//   - rename(dir, target) succeeds only if `target` is missing or an *empty* directory;
//   - an owner's file inside the lock directory has a name nobody else uses: pid, where, nonce.
// To take the lock, build a private directory holding a file named after ourselves, and rename it
// onto `<log>.lock.d`. Exactly one of several processes trying at once succeeds. To release,
// delete our file: the directory is empty again, which means free.
//
// A process killed inside the critical section leaves its file behind. If its pid is no longer
// alive, the next process deletes *that file by its exact name*, and then takes the lock as usual.
// Deleting by name is what makes this safe: two processes breaking the same stale lock at once
// both delete the dead owner's file (one of them gets ENOENT), and neither can delete the file of
// a live owner that got in first. (A lock file at a fixed path cannot do this: "it is stale, so I
// delete it" may delete a fresh lock someone made in between.)
//
// Pids only mean something on one machine, in one pid namespace (two containers can both run
// pid 1), in one boot. So the owner's name carries a tag of those; a lock whose tag is not ours is
// never judged stale: we wait, and after the timeout say which file to remove by hand.

const HERE = createHash('sha256')
  .update([os.hostname(), readOr('/proc/self/ns/pid', true), readOr('/proc/sys/kernel/random/boot_id', false)].join('\n'))
  .digest('hex')
  .slice(0, 12);

function readOr(file: string, isLink: boolean): string {
  try {
    return isLink ? fs.readlinkSync(file) : fs.readFileSync(file, 'utf8').trim();
  } catch {
    return ''; // not Linux: hostname alone
  }
}

const SLEEPER = new Int32Array(new SharedArrayBuffer(4));
/** Block this thread for `ms`: the store is synchronous, and the other process needs a moment. */
function sleepSync(ms: number): void {
  Atomics.wait(SLEEPER, 0, 0, ms);
}

class LogLock {
  constructor(
    readonly dir: string,
    private readonly timeoutMs: number,
    private readonly log: (line: string) => void,
  ) {}

  /** Run `fn` with the lock held; release it however `fn` ends. */
  hold<T>(fn: () => T): T {
    const me = this.acquire();
    try {
      return fn();
    } finally {
      fs.rmSync(path.join(this.dir, me), { force: true });
    }
  }

  private acquire(): string {
    const me = `${process.pid}.${HERE}.${randomBytes(6).toString('hex')}`;
    const mine = `${this.dir}.${me}`; // next to the lock: rename only works within one file system
    fs.mkdirSync(mine, { mode: 0o700 });
    fs.writeFileSync(path.join(mine, me), '');
    const deadline = Date.now() + this.timeoutMs;
    let pause = 1;
    try {
      for (;;) {
        try {
          fs.renameSync(mine, this.dir);
          return me;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err; // held: the directory is not empty
        }
        const owners = this.owners();
        const dead = owners.filter((o) => isStale(o));
        if (owners.length > 0 && dead.length === owners.length) {
          for (const o of dead) {
            this.log(`order log lock ${this.dir}: removing ${o}, left by process ${o.split('.')[0]} which is gone (killed while writing?)`);
            fs.rmSync(path.join(this.dir, o), { force: true });
          }
          continue;
        }
        if (owners.length === 0) continue; // released just now: try again at once
        if (Date.now() > deadline) {
          throw new StoreBusy(
            `order log lock ${this.dir} is held by ${owners.join(', ')} for over ${this.timeoutMs} ms` +
              (owners.some((o) => o.split('.')[1] !== HERE) ? ' (a process on another machine, container or boot: if none is running, delete that file)' : ''),
          );
        }
        sleepSync(pause + Math.random() * pause); // jitter: two waiters should not wake in step
        pause = Math.min(pause * 2, 16);
      }
    } finally {
      fs.rmSync(mine, { recursive: true, force: true }); // gone already if the rename succeeded
    }
  }

  /** Private directories of processes killed between making one and renaming it: litter only. */
  sweep(): void {
    const parent = path.dirname(this.dir);
    const prefix = `${path.basename(this.dir)}.`;
    for (const name of fs.readdirSync(parent)) {
      if (name.startsWith(prefix) && isStale(name.slice(prefix.length))) fs.rmSync(path.join(parent, name), { recursive: true, force: true });
    }
  }

  private owners(): string[] {
    try {
      return fs.readdirSync(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }
}

/** An owner's file is stale if it was made here (this machine, namespace, boot) by a dead pid. */
function isStale(owner: string): boolean {
  const [pidText, where] = owner.split('.');
  const pid = Number(pidText);
  if (where !== HERE || !Number.isInteger(pid) || pid <= 0) return false;
  // Our own pid: we hold the lock only inside hold(), and nothing in here runs hold() twice, so
  // this file was left by an earlier process that had our number (a restarted container often does).
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0); // signal 0 delivers nothing; it only asks whether the process exists
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'EPERM'; // EPERM: it exists, just not ours
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
