// A role as a process of its own (lab/role-host.ts, lab/role-process.ts): it listens where its
// spec says, the lab sees what it emitted (after sync(), all of it), a crash is reported as an exit
// without stopping anything else, and close() leaves no process behind.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startRoleProcess, type RoleProcess } from '../lab/role-process.ts';

const started: RoleProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((r) => r.close()));
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function get(port: number, pathname: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: pathname, headers: { host: 'static.geektime.test' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', reject);
  });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('a role as a process of its own', () => {
  it('listens, and every request it answered is an event the lab has after sync()', { timeout: 30_000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'role-process-'));
    dirs.push(dir);
    const origin = await startRoleProcess({ kind: 'origin', name: 'origin', host: '127.0.0.1', port: 0, contentDir: dir });
    started.push(origin);
    expect(origin.pid).not.toBe(process.pid);
    expect(origin.port).toBeGreaterThan(0);
    const seen: Array<{ path: string; status: number }> = [];
    origin.events.on('request', (e: { path: string; status: number }) => seen.push(e));
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push(await get(origin.port, '/images/phone.png'));
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    await origin.sync();
    expect(seen.filter((e) => e.path === '/images/phone.png')).toHaveLength(5);
  });

  it('a role that cannot start says why', { timeout: 30_000 }, async () => {
    const blocker = http.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(startRoleProcess({ kind: 'origin', name: 'origin', host: '127.0.0.1', port, contentDir: os.tmpdir() })).rejects.toThrow(/already in use|EADDRINUSE/);
    } finally {
      blocker.close();
    }
  });

  it('a crash is reported as an exit of that role alone; close() ends the process', { timeout: 30_000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'role-process-'));
    dirs.push(dir);
    const [a, b] = await Promise.all([0, 1].map(() => startRoleProcess({ kind: 'origin', name: 'origin', host: '127.0.0.1', port: 0, contentDir: dir })));
    started.push(b!);
    const exited = new Promise<string>((resolve) => a!.lifecycle.once('exit', (_code, signal) => resolve(String(signal))));
    process.kill(a!.pid, 'SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(await get(b!.port, '/healthz')).toBe(200); // the other one goes on
    await b!.close();
    expect(alive(b!.pid)).toBe(false);
  });
});
