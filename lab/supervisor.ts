// Keeping every role's failure its own.
//
// All roles run in one Node process (one command, a laptop, a fast start), so isolation is done
// here rather than by the operating system, the way a process supervisor (systemd, runit) would
// do it for separate processes:
//   - each role is started inside its own async context (AsyncLocalStorage). Everything the role
//     creates (its sockets, timers, promises) carries that context, so an exception nobody caught
//     can be traced to the role whose code threw it;
//   - such a crash stops that role alone: its listeners are closed, it is reported as down with
//     the error, and it is started again on the same address and port after a short pause (at
//     most RESTART_BURST times a minute, then it stays down and says so). The others keep
//     serving. An exception outside every role's context is a bug in the lab itself: the process
//     then stops, as Node would;
//   - an operator can stop, start, restart or crash a role on purpose (lab/control.ts), which is
//     how the tests and the workshop break one role and watch the others carry on.
// A role that cannot even be started (say, its store is unreadable) is reported as failed and the
// others start. A role that cannot bind its address is different: the lab as planned cannot exist,
// so that stops the start (see withPortFallback in up.ts).
import { AsyncLocalStorage } from 'node:async_hooks';
import { upWords } from './words/up.ts';

const said = () => upWords().supervisor;

export interface RoleInstance {
  host: string;
  port: number;
  close(): Promise<void>;
}

export type RoleStatus = 'starting' | 'up' | 'crashed' | 'stopped' | 'failed';

export interface RoleRecord {
  name: string;
  status: RoleStatus;
  /** Why it is not up (the error, or who stopped it). */
  reason?: string;
  since: string;
  restarts: number;
}

/** A role the supervisor can start again: its start function is called with the port it first got. */
export interface SupervisedRole<T extends RoleInstance = RoleInstance> {
  name: string;
  start(port: number): Promise<T>;
}

/** How many crash restarts a role gets in a minute before it stays down. */
export const RESTART_BURST = 5;
const RESTART_DELAY_MS = 500;

/**
 * Which role, and which start of it, the running code belongs to. The generation tells a late
 * error from an instance that was already replaced (or stopped) from one in the current instance.
 */
interface RoleContext {
  name: string;
  generation: number;
}
const roleContext = new AsyncLocalStorage<RoleContext>();



interface Entry {
  role: SupervisedRole;
  instance?: RoleInstance;
  port: number;
  record: RoleRecord;
  crashTimes: number[];
  restartTimer?: NodeJS.Timeout;
  /** Bumped by every start, stop and crash: work of an older generation is stale. */
  generation: number;
  /** Operations on this role (stop, restart, a restart after a crash) run one after another. */
  queue: Promise<void>;
}

/**
 * What the operator socket and the fault switches ask of whatever runs the roles: the supervisor
 * here, or the role processes of ns mode (lab/net-ns/lab.ts).
 */
export interface RoleControl {
  status(): RoleRecord[];
  stop(name: string, reason?: string): Promise<RoleRecord>;
  restart(name: string): Promise<RoleRecord>;
  crash(name: string): void;
}

export class Supervisor implements RoleControl {
  private readonly entries = new Map<string, Entry>();
  private guardInstalled = false;
  private stopping = false;

  constructor(
    /** Told every status change, in a line a person can read. */
    private readonly report: (line: string) => void,
    /** Called after every status change (up.ts rewrites state.json). */
    private readonly onChange: () => void = () => {},
  ) {}

  /** Start a role for the first time, in its own context. A failure is recorded and rethrown. */
  async start<T extends RoleInstance>(role: SupervisedRole<T>, firstStart: () => Promise<T>): Promise<T> {
    const entry: Entry = { role, port: 0, record: this.record(role.name, 'starting'), crashTimes: [], generation: 1, queue: Promise.resolve() };
    this.entries.set(role.name, entry);
    try {
      const instance = await roleContext.run({ name: role.name, generation: 1 }, firstStart);
      entry.instance = instance;
      entry.port = instance.port;
      entry.record = this.record(role.name, 'up', undefined, 0);
      return instance;
    } catch (err) {
      entry.record = this.record(role.name, 'failed', (err as Error).message, 0);
      throw err;
    }
  }

  /** The role's running instance (the newest, after a restart), if it is up. */
  instance<T extends RoleInstance>(name: string): T | undefined {
    const entry = this.entries.get(name);
    return entry?.record.status === 'up' ? (entry.instance as T) : undefined;
  }

  status(): RoleRecord[] {
    return [...this.entries.values()].map((e) => ({ ...e.record }));
  }

  /** Stop a role on purpose; it stays stopped until start() or restart(). */
  async stop(name: string, reason = said().byOperator): Promise<RoleRecord> {
    const entry = this.entry(name);
    await this.serially(entry, async () => {
      clearTimeout(entry.restartTimer);
      entry.generation++; // late errors of the instance being stopped are not crashes
      this.set(entry, 'stopped', reason);
      await this.closeInstance(entry);
    });
    return { ...entry.record };
  }

  /** Start a stopped, crashed or failed role again on its address and port. */
  async restart(name: string): Promise<RoleRecord> {
    const entry = this.entry(name);
    clearTimeout(entry.restartTimer);
    await this.serially(entry, async () => {
      await this.closeInstance(entry);
      await this.launch(entry);
    });
    return { ...entry.record };
  }

  /**
   * Make a role crash for real: throw an exception inside its context, as a bug in it would. The
   * crash guard then does what it does for any crash. For tests and the workshop.
   */
  crash(name: string): void {
    const entry = this.entry(name);
    roleContext.run({ name, generation: entry.generation }, () =>
      setImmediate(() => {
        throw new Error(said().toldToCrash(name));
      }),
    );
  }

  /**
   * Catch what no role caught. Installed by the commands that own the process (`up`, the
   * walkthrough); never inside a test runner, whose own handlers must see its errors.
   */
  installCrashGuard(): () => void {
    if (this.guardInstalled) return () => {};
    this.guardInstalled = true;
    const onError = (err: unknown) => {
      if (this.uncaught(err) === 'not a role') {
        // Not any role's: a bug in the lab itself. Say it and stop, as Node would have.
        console.error(err instanceof Error ? (err.stack ?? err.message) : err);
        process.exit(70);
      }
    };
    process.on('uncaughtException', onError);
    process.on('unhandledRejection', onError);
    return () => {
      process.off('uncaughtException', onError);
      process.off('unhandledRejection', onError);
      this.guardInstalled = false;
    };
  }

  /**
   * What an error nobody caught means, judged by the context it was thrown in: the current
   * instance of a role crashed; or an instance already replaced or stopped failed late (ignored);
   * or it is no role's at all.
   */
  uncaught(err: unknown): 'crash' | 'stale' | 'not a role' {
    const context = roleContext.getStore();
    const entry = context === undefined ? undefined : this.entries.get(context.name);
    if (!context || !entry) return 'not a role';
    const message = err instanceof Error ? err.message : String(err);
    if (this.stopping || context.generation !== entry.generation || entry.record.status === 'stopped') {
      this.report(said().staleError(entry.role.name, message));
      return 'stale';
    }
    this.crashed(entry, err);
    return 'crash';
  }


  /** Stop every role, newest first. */
  async stopAll(): Promise<void> {
    this.stopping = true;
    const entries = [...this.entries.values()].reverse();
    for (const entry of entries) {
      clearTimeout(entry.restartTimer);
      entry.generation++;
      await this.serially(entry, () => this.closeInstance(entry));
    }
  }

  private crashed(entry: Entry, err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    const now = Date.now();
    entry.crashTimes = entry.crashTimes.filter((t) => now - t < 60_000);
    entry.crashTimes.push(now);
    clearTimeout(entry.restartTimer);
    const giveUp = entry.crashTimes.length > RESTART_BURST;
    entry.generation++; // what the crashed instance still does is stale from now on
    const generation = entry.generation;
    this.set(entry, 'crashed', giveUp ? said().leftDown(message, entry.crashTimes.length) : message);
    void this.serially(entry, () => this.closeInstance(entry)).then(() => {
      if (giveUp || this.stopping || entry.generation !== generation) return;
      entry.restartTimer = setTimeout(() => void this.serially(entry, () => this.launch(entry)), RESTART_DELAY_MS);
      entry.restartTimer.unref();
    });
  }

  private async launch(entry: Entry): Promise<void> {
    const generation = ++entry.generation;
    this.set(entry, 'starting');
    const context = { name: entry.role.name, generation };
    try {
      const instance = await roleContext.run(context, () => entry.role.start(entry.port));
      if (entry.generation !== generation) {
        // Stopped, or started again, while this start was under way: this instance is not wanted.
        await roleContext.run(context, () => instance.close()).catch(() => {});
        return;
      }
      entry.instance = instance;
      entry.record.restarts++;
      this.set(entry, 'up');
    } catch (err) {
      if (entry.generation === generation) this.set(entry, 'failed', (err as Error).message);
    }
  }

  /** Run `op` after every operation already queued for this role. */
  private serially(entry: Entry, op: () => Promise<void>): Promise<void> {
    const next = entry.queue.then(op, op);
    entry.queue = next.catch(() => {});
    return next;
  }

  private async closeInstance(entry: Entry): Promise<void> {
    const instance = entry.instance;
    entry.instance = undefined;
    if (!instance) return;
    // A role that crashed may fail to close cleanly too; what matters is that it let go of its port.
    await roleContext.run({ name: entry.role.name, generation: entry.generation }, () => instance.close()).catch(() => {});
  }

  private entry(name: string): Entry {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(said().noRole(name, [...this.entries.keys()]));
    return entry;
  }

  private set(entry: Entry, status: RoleStatus, reason?: string): void {
    entry.record = this.record(entry.role.name, status, reason, entry.record.restarts);
    if (status === 'crashed' || status === 'failed') this.report(said().status(entry.role.name, status, reason));
    else if (status === 'up' && entry.record.restarts > 0) this.report(said().upAgain(entry.role.name, entry.record.restarts));
    else if (status === 'stopped') this.report(said().stopped(entry.role.name, reason));
    this.onChange();
  }

  private record(name: string, status: RoleStatus, reason?: string, restarts = 0): RoleRecord {
    return { name, status, ...(reason === undefined ? {} : { reason }), since: new Date().toISOString(), restarts };
  }
}
