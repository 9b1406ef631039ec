// A bug on a role's TCP path (inside a socket's 'data' handler, or a promise started there) is
// pinned on that role: the supervisor restarts it and the process lives on. Node 20 loses the async
// context on accepted sockets' events; servers/net/listen.ts carries it over.
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { Running, REPO } from '../lab-process.ts';

let child: Running | undefined;
afterEach(() => {
  child?.child.kill('SIGKILL');
  child = undefined;
});

function ask(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(text));
    let got = '';
    s.on('data', (c) => (got += c));
    s.on('close', () => resolve(got));
    s.on('error', () => resolve(got));
    setTimeout(() => s.destroy(), 3_000).unref();
  });
}

it('an exception and a rejection on a socket path restart that role only; the process and the other role go on', async () => {
  // node itself, not the tsx wrapper: a SIGKILL of the wrapper would leave its node child behind.
  child = new Running(spawn(process.execPath, ['--import', 'tsx', path.join('test', 'fixtures', 'buggy-role.ts')], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] }));
  await child.waitForStdout('buggy-reject listening on');
  const port = (name: string) => Number(new RegExp(`${name} listening on (\\d+)`).exec(child!.stdout)![1]);
  const [throwing, rejecting] = [port('buggy-throw'), port('buggy-reject')];

  await ask(throwing, 'boom');
  await child.waitForStdout('buggy-throw: crashed: bug in the data handler');
  await child.waitForStdout('buggy-throw: up again (restart 1)');
  expect(await ask(rejecting, 'hello')).toBe('ok\n'); // the other role never noticed

  await ask(rejecting, 'boom');
  await child.waitForStdout('buggy-reject: crashed: bug in a promise started by the data handler');
  await child.waitForStdout('buggy-reject: up again (restart 1)');
  expect(await ask(throwing, 'hello')).toBe('ok\n'); // back on its port
  expect(child.child.exitCode).toBeNull();
  expect(child.stderr).toBe('');
});
