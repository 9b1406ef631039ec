// Active health checks with rise and fall, in one place: the SLB checks its app servers with them,
// the GSLB its edge caches.
//
// Like HAProxy's `check inter 1s rise 2 fall 2`: every interval each target is asked for a health
// URL; 200 passes, anything else (or no answer in time) fails. It takes `fall` failures in a row to
// go down and `rise` passes in a row to come back, so one lost packet does not move traffic around.
import http from 'node:http';
import { sourceAddressFor } from './listen.ts';

/** true up, false down, 'unknown' before the first check has an answer. */
export type Health = boolean | 'unknown';

export interface RiseFall {
  /** Passes in a row that bring a down target back. */
  rise: number;
  /** Failures in a row that take an up target down. */
  fall: number;
}

export interface CheckTiming {
  intervalMs: number;
  /** A check with no answer by then fails. */
  timeoutMs: number;
}

/** Every second, 800 ms to answer, rise 2, fall 2. */
export const DEFAULT_CHECK: CheckTiming & RiseFall = { intervalMs: 1000, timeoutMs: 800, rise: 2, fall: 2 };

/**
 * One target's health and why. It starts either 'unknown' (the GSLB: it answers anyway, and the
 * first check settles the state at once, as there is no earlier state to protect from flapping) or
 * up (the SLB: servers start in rotation, and a dead one needs `fall` failures like any other).
 */
export class HealthState {
  healthy: Health;
  /** Why it is in its current state, in words: for logs, 503 bodies and TXT answers. */
  reason = 'not checked yet';
  /** When it last changed state. */
  since = new Date();
  private passesInARow = 0;
  private failuresInARow = 0;

  constructor(
    initially: 'unknown' | 'up',
    readonly limits: RiseFall = DEFAULT_CHECK,
  ) {
    this.healthy = initially === 'up' ? true : 'unknown';
  }

  /** Record one check; returns 'up' or 'down' when the target changes state. */
  record(passed: boolean, result: string): 'up' | 'down' | undefined {
    const { rise, fall } = this.limits;
    this.passesInARow = passed ? this.passesInARow + 1 : 0;
    this.failuresInARow = passed ? 0 : this.failuresInARow + 1;
    if (this.healthy === 'unknown') return this.become(passed, `first check: ${result}`);
    if (passed && !this.healthy) {
      if (this.passesInARow >= rise) return this.become(true, `${result}, ${this.passesInARow} passes in a row`);
      this.reason = `down; ${result} (${this.passesInARow} of ${rise} passes needed to come back)`;
    } else if (!passed && this.healthy) {
      if (this.failuresInARow >= fall) return this.become(false, `${result}, ${this.failuresInARow} failures in a row`);
      this.reason = `up; ${result} (${this.failuresInARow} of ${fall} failures before it goes down)`;
    } else {
      this.reason = result;
    }
    return undefined;
  }

  /** Passive check: a failure seen in real traffic (a refused connection) proves it is gone at once. */
  markDown(reason: string): 'down' | undefined {
    this.passesInARow = 0;
    return this.healthy !== false ? (this.become(false, reason) as 'down') : undefined;
  }

  private become(healthy: boolean, reason: string): 'up' | 'down' {
    this.healthy = healthy;
    this.reason = reason;
    this.since = new Date();
    return healthy ? 'up' : 'down';
  }
}

export interface HttpCheck {
  url: URL;
  timeoutMs: number;
  /** Says who asks, in the target's access log: 'lab-slb-health-check'. */
  userAgent: string;
  /** The address checks leave from (see sourceAddressFor); one of their own keeps them out of a capture. */
  from?: string;
}

/** A check in flight: its answer, and a way to abandon it. */
export interface PendingCheck {
  done: Promise<{ passed: boolean; result: string }>;
  abort(): void;
}

/** One GET of the health URL: 200 passes, anything else fails. Never rejects. */
export function checkHttp(check: HttpCheck): PendingCheck {
  const { url, timeoutMs } = check;
  const what = `GET ${url.pathname}${url.search}`;
  let req!: http.ClientRequest;
  const done = new Promise<{ passed: boolean; result: string }>((resolve) => {
    // agent:false: a fresh connection every time, so a dead target cannot hide behind a kept-alive socket.
    const localAddress = check.from === undefined ? undefined : sourceAddressFor(check.from, url.hostname);
    req = http.get(url, { agent: false, timeout: timeoutMs, headers: { 'user-agent': check.userAgent }, localAddress }, (res) => {
      res.resume();
      resolve({ passed: res.statusCode === 200, result: `${what} → ${res.statusCode}` });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ passed: false, result: `${what} failed: ${err.code ?? err.message}` }));
  });
  return { done, abort: () => req.destroy() };
}

export interface CheckTarget<T extends HealthState> {
  state: T;
  url: URL;
}

export interface RunningChecks {
  /** Stop the timer and abandon the checks in flight; their answers are no longer recorded. */
  stop(): void;
}

/**
 * Check every target now and then every `intervalMs`, each on its own, so one slow target does not
 * delay the verdict on the others; a target whose previous check is still waiting is skipped.
 * `changed` is called on every change of state.
 */
export function startHealthChecks<T extends HealthState>(
  targets: ReadonlyArray<CheckTarget<T>>,
  opts: CheckTiming & Omit<HttpCheck, 'url' | 'timeoutMs'>,
  changed: (state: T, change: 'up' | 'down') => void,
): RunningChecks {
  const inFlight = new Map<T, PendingCheck>();
  let stopped = false;
  const checkAll = () => {
    for (const { state, url } of targets) {
      if (inFlight.has(state)) continue;
      const pending = checkHttp({ url, timeoutMs: opts.timeoutMs, userAgent: opts.userAgent, from: opts.from });
      inFlight.set(state, pending);
      void pending.done.then(({ passed, result }) => {
        inFlight.delete(state);
        if (stopped) return;
        const change = state.record(passed, result);
        if (change) changed(state, change);
      });
    }
  };
  checkAll();
  const timer = setInterval(checkAll, opts.intervalMs);
  timer.unref();
  return {
    stop: () => {
      stopped = true;
      clearInterval(timer);
      for (const pending of inFlight.values()) pending.abort();
    },
  };
}
