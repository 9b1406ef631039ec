// Health checks with rise and fall (servers/net/health.ts), used by the SLB and the GSLB.
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HealthState, checkHttp, startHealthChecks } from '../servers/net/health.ts';

describe('the rise/fall state machine', () => {
  it('starting unknown: the first check settles it at once, either way', () => {
    const up = new HealthState('unknown', { rise: 2, fall: 2 });
    expect([up.healthy, up.reason]).toEqual(['unknown', 'not checked yet']);
    expect(up.record(true, 'GET /healthz → 200')).toBe('up');
    expect(up.reason).toBe('first check: GET /healthz → 200');
    const down = new HealthState('unknown', { rise: 2, fall: 2 });
    expect(down.record(false, 'GET /healthz → 503')).toBe('down');
    expect(down.healthy).toBe(false);
  });

  it('starting up: a dead target needs `fall` failures like any other', () => {
    const s = new HealthState('up', { rise: 2, fall: 3 });
    expect(s.record(false, 'GET /healthz failed: ECONNREFUSED')).toBeUndefined();
    expect(s.reason).toBe('up; GET /healthz failed: ECONNREFUSED (1 of 3 failures before it goes down)');
    expect(s.record(false, 'GET /healthz failed: ECONNREFUSED')).toBeUndefined();
    expect(s.record(false, 'GET /healthz failed: ECONNREFUSED')).toBe('down');
    expect(s.reason).toBe('GET /healthz failed: ECONNREFUSED, 3 failures in a row');
  });

  it('fall failures in a row go down, rise passes in a row come back; a pass or a failure between resets the count', () => {
    const s = new HealthState('up', { rise: 2, fall: 2 });
    expect(s.record(false, 'x')).toBeUndefined();
    expect(s.record(true, 'ok')).toBeUndefined(); // resets the failures
    expect(s.reason).toBe('ok');
    expect(s.record(false, 'x')).toBeUndefined();
    expect(s.record(false, 'x')).toBe('down');
    expect(s.record(true, 'ok')).toBeUndefined();
    expect(s.reason).toBe('down; ok (1 of 2 passes needed to come back)');
    expect(s.record(false, 'x')).toBeUndefined(); // resets the passes
    expect(s.reason).toBe('x');
    expect(s.record(true, 'ok')).toBeUndefined();
    expect(s.record(true, 'ok')).toBe('up');
    expect(s.reason).toBe('ok, 2 passes in a row');
  });

  it('rise 1 and fall 1 change state on every differing check', () => {
    const s = new HealthState('up', { rise: 1, fall: 1 });
    expect(s.record(false, 'x')).toBe('down');
    expect(s.record(true, 'ok')).toBe('up');
  });

  it('a passive failure takes it down at once, and only once', () => {
    const s = new HealthState('up', { rise: 2, fall: 2 });
    const before = s.since;
    expect(s.markDown('connection refused (ECONNREFUSED) while forwarding')).toBe('down');
    expect(s.markDown('again')).toBeUndefined();
    expect(s.reason).toBe('connection refused (ECONNREFUSED) while forwarding');
    expect(s.since.getTime()).toBeGreaterThanOrEqual(before.getTime());
    expect(s.record(true, 'ok')).toBeUndefined(); // still needs `rise` passes
    expect(s.record(true, 'ok')).toBe('up');
  });
});

describe('the HTTP check', () => {
  const servers: net.Server[] = [];
  afterEach(() => servers.splice(0).forEach((s) => s.close()));

  async function serve(handler: http.RequestListener): Promise<URL> {
    const server = http.createServer(handler);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new URL(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}/healthz`);
  }

  it('200 passes, anything else fails; it leaves from the given source address with its user agent', async () => {
    let seen: { from?: string; agent?: string } = {};
    const url = await serve((req, res) => {
      seen = { from: req.socket.remoteAddress, agent: req.headers['user-agent'] };
      res.statusCode = req.url === '/healthz' ? 200 : 503;
      res.end();
    });
    expect(await checkHttp({ url, timeoutMs: 1000, userAgent: 'probe', from: '127.0.0.114' }).done).toEqual({ passed: true, result: 'GET /healthz → 200' });
    if (process.platform === 'linux') expect(seen).toEqual({ from: '127.0.0.114', agent: 'probe' });
    expect(await checkHttp({ url: new URL('/other', url), timeoutMs: 1000, userAgent: 'probe' }).done).toEqual({ passed: false, result: 'GET /other → 503' });
  });

  it('no answer in time fails; a refused connection fails with its code', async () => {
    const url = await serve(() => {}); // never answers
    expect(await checkHttp({ url, timeoutMs: 100, userAgent: 'probe' }).done).toEqual({ passed: false, result: 'GET /healthz failed: no answer within 100 ms' });
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    expect((await checkHttp({ url: new URL(`http://127.0.0.1:${port}/healthz`), timeoutMs: 1000, userAgent: 'probe' }).done).result).toBe('GET /healthz failed: ECONNREFUSED');
  });

  it('the loop reports changes, and stop() abandons a check in flight without recording it', async () => {
    let answer = 503;
    let hang = false;
    let asked = 0;
    const url = await serve((_req, res) => {
      asked++;
      if (hang) return;
      res.statusCode = answer;
      res.end();
    });
    const state = new HealthState('unknown', { rise: 1, fall: 1 });
    const changes: string[] = [];
    const running = startHealthChecks([{ state, url }], { intervalMs: 20, timeoutMs: 60_000, userAgent: 'probe' }, (_s, change) => changes.push(change));
    try {
      await expect.poll(() => changes).toEqual(['down']);
      answer = 200;
      await expect.poll(() => changes).toEqual(['down', 'up']);
      hang = true;
      const before = asked;
      await expect.poll(() => asked).toBeGreaterThan(before); // one check now hangs
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(asked).toBe(before + 1); // and the loop does not ask again while it waits
    } finally {
      running.stop();
    }
    const reason = state.reason;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(state.reason).toBe(reason); // the aborted check's failure is not recorded
    expect(changes).toEqual(['down', 'up']);
  });
});
