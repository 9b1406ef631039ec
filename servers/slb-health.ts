// The SLB's view of its app servers: which are up, and the active health checks that decide it.
//
// Every interval the SLB asks each app for GET /healthz, with rise and fall (servers/net/health.ts,
// shared with the GSLB): a server that fails `fall` checks in a row is taken out of rotation; one
// that passes `rise` checks in a row is put back. A refused connection while forwarding an order
// also takes a server out at once (passive check), so the next order does not wait for the timer.
import { DEFAULT_CHECK, HealthState, type CheckTiming, type RiseFall } from './net/health.ts';

export interface BackendConfig {
  name: string;
  /** Base URL of the app server, plain HTTP behind the SLB, e.g. http://127.0.0.81:8080 */
  url: string;
}

export interface HealthCheckOptions extends CheckTiming, RiseFall {
  path: string;
}

export const DEFAULT_HEALTH_CHECK: HealthCheckOptions = { path: '/healthz', ...DEFAULT_CHECK };

/** One app server. Servers start in rotation (up): the first checks take a dead one out. */
export class Backend extends HealthState {
  readonly name: string;
  readonly url: URL;
  activeRequests = 0;

  constructor(config: BackendConfig, limits: RiseFall) {
    super('up', limits);
    this.name = config.name;
    this.url = new URL(config.url);
  }

  get up(): boolean {
    return this.healthy === true;
  }

  get address(): string {
    return this.url.host;
  }
}
