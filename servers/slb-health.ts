// The SLB's view of its app servers: which are up, and the active health checks that decide it.
//
// Like HAProxy's `check rise 2 fall 2`: every interval the SLB asks each app for GET /healthz.
// A server that fails `fall` checks in a row is taken out of rotation; one that passes `rise`
// checks in a row is put back. A refused connection while forwarding an order also takes a
// server out at once (passive check), so the next order does not wait for the timer.
import http from 'node:http';
import { EventEmitter } from 'node:events';
import { sourceAddressFor } from './net/listen.ts';

export interface BackendConfig {
  name: string;
  /** Base URL of the app server, plain HTTP behind the SLB, e.g. http://127.0.0.81:8080 */
  url: string;
}

export interface HealthCheckOptions {
  path: string;
  intervalMs: number;
  timeoutMs: number;
  rise: number;
  fall: number;
}

export const DEFAULT_HEALTH_CHECK: HealthCheckOptions = {
  path: '/healthz',
  intervalMs: 1000,
  timeoutMs: 800,
  rise: 2,
  fall: 2,
};

export class Backend {
  readonly name: string;
  readonly url: URL;
  /** Servers start in rotation: the first check runs at once and takes a dead one out. */
  up = true;
  /** Why it is in its current state, for the 503 message and the log. */
  reason = 'not checked yet';
  since = new Date();
  activeRequests = 0;
  private passesInARow = 0;
  private failuresInARow = 0;

  constructor(config: BackendConfig) {
    this.name = config.name;
    this.url = new URL(config.url);
  }

  get address(): string {
    return this.url.host;
  }

  /** Record a check result; returns 'up' or 'down' when the server changes state. */
  record(passed: boolean, reason: string, rise: number, fall: number): 'up' | 'down' | undefined {
    if (passed) {
      this.failuresInARow = 0;
      this.passesInARow++;
      if (!this.up && this.passesInARow >= rise) return this.setState(true, reason);
      if (this.up) this.reason = reason;
    } else {
      this.passesInARow = 0;
      this.failuresInARow++;
      if (this.up && this.failuresInARow >= fall) return this.setState(false, reason);
    }
    return undefined;
  }

  /** Passive check: a refused connection proves the server is gone, no need to wait for `fall`. */
  markDown(reason: string): 'down' | undefined {
    this.passesInARow = 0;
    return this.up ? (this.setState(false, reason) as 'down') : undefined;
  }

  private setState(up: boolean, reason: string): 'up' | 'down' {
    this.up = up;
    this.reason = reason;
    this.since = new Date();
    return up ? 'up' : 'down';
  }
}

/** One GET of the health path; resolves with pass/fail and a reason, never rejects. */
function checkOnce(backend: Backend, opts: HealthCheckOptions, from: string | undefined): Promise<{ passed: boolean; reason: string }> {
  return new Promise((resolve) => {
    const req = http.get(
      new URL(opts.path, backend.url),
      { agent: false, timeout: opts.timeoutMs, headers: { 'user-agent': 'lab-slb-health-check' }, localAddress: from && sourceAddressFor(from, backend.url.hostname) },
      (res) => {
        res.resume();
        const passed = res.statusCode === 200;
        resolve({ passed, reason: `GET ${opts.path} → ${res.statusCode}` });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${opts.timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) =>
      resolve({ passed: false, reason: `GET ${opts.path} failed: ${err.code ?? err.message}` }),
    );
  });
}

/**
 * Runs the checks on a timer. Emits 'up' and 'down' with (backend) on every change of state,
 * and 'checked' after each round (tests wait for these events instead of sleeping).
 */
export class HealthChecker extends EventEmitter {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    readonly backends: Backend[],
    readonly opts: HealthCheckOptions,
    /** Where checks leave from: the SLB's own address, or one kept for health checks alone. */
    readonly from?: string,
  ) {
    super();
  }

  start(): void {
    void this.round();
    this.timer = setInterval(() => void this.round(), this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Report a state change decided outside the timer (the passive check). */
  announce(backend: Backend, change: 'up' | 'down' | undefined): void {
    if (change) this.emit(change, backend);
  }

  private async round(): Promise<void> {
    if (this.running) return; // a slow round must not overlap the next one
    this.running = true;
    try {
      const results = await Promise.all(this.backends.map((b) => checkOnce(b, this.opts, this.from)));
      results.forEach((result, i) => {
        const backend = this.backends[i]!;
        this.announce(backend, backend.record(result.passed, result.reason, this.opts.rise, this.opts.fall));
      });
      this.emit('checked');
    } finally {
      this.running = false;
    }
  }
}
