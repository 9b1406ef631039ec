// The supervisor's bookkeeping, with real listening sockets: operator commands take effect in the
// order given, and an error is pinned on the instance that raised it, not on its successor.
import { AsyncResource } from 'node:async_hooks';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Supervisor, type RoleInstance } from '../lab/supervisor.ts';

interface Toy extends RoleInstance {
  /** Report an error later, from inside this instance's own context (as its sockets would). */
  failLater: (message: string) => 'crash' | 'stale' | 'not a role';
}

let supervisor: Supervisor | undefined;
afterEach(async () => {
  await supervisor?.stopAll();
  supervisor = undefined;
});

function toyRole(sup: Supervisor, startDelayMs = 0) {
  return {
    name: 'toy',
    start: async (port: number): Promise<Toy> => {
      await new Promise((r) => setTimeout(r, startDelayMs));
      const server = net.createServer((s) => {
        s.on('error', () => {}); // the probe below resets its connection at once
        s.end('hello\n');
      });
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', () => resolve()));
      return {
        host: '127.0.0.1',
        port: (server.address() as net.AddressInfo).port,
        close: () => new Promise<void>((resolve) => server.close(() => resolve())),
        failLater: AsyncResource.bind((message: string) => sup.uncaught(new Error(message))),
      };
    },
  };
}

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
    s.on('error', () => resolve(false));
  });

describe('Supervisor', () => {
  it('a stop given while a restart is under way wins: the role ends stopped and its port closed', async () => {
    const lines: string[] = [];
    const sup = (supervisor = new Supervisor((l) => lines.push(l)));
    const role = toyRole(sup, 200);
    const first = await sup.start(role, () => role.start(0));
    const restarting = sup.restart('toy');
    await new Promise((r) => setTimeout(r, 50));
    await sup.stop('toy');
    await restarting;
    expect(sup.status()[0]).toMatchObject({ name: 'toy', status: 'stopped' });
    expect(await listening(first.port)).toBe(false);
    expect(sup.instance('toy')).toBeUndefined();
  });

  it("a late error from a replaced instance is not the new one's crash", async () => {
    const lines: string[] = [];
    const sup = (supervisor = new Supervisor((l) => lines.push(l)));
    const role = toyRole(sup);
    const old = await sup.start(role, () => role.start(0));
    await sup.restart('toy');
    expect(old.failLater('late error of the old instance')).toBe('stale');
    expect(sup.status()[0]).toMatchObject({ status: 'up', restarts: 1 });
    expect(lines.at(-1)).toMatch(/toy: an error from an instance no longer running, ignored: late error of the old instance/);

    const current = sup.instance<Toy>('toy')!;
    expect(current.failLater('a real crash')).toBe('crash');
    expect(sup.status()[0]).toMatchObject({ status: 'crashed', reason: 'a real crash' });
    const deadline = Date.now() + 5_000;
    while (sup.status()[0]!.status !== 'up' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(sup.status()[0]).toMatchObject({ status: 'up', restarts: 2 });
    expect(await listening(current.port)).toBe(true); // back on the same port
  });

  it('an error outside every role is no role\'s', () => {
    const sup = (supervisor = new Supervisor(() => {}));
    expect(sup.uncaught(new Error('lab bug'))).toBe('not a role');
  });
});
