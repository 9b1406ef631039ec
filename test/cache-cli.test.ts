// `cache --name ... --listen ... --upstream ...`: one tier started alone, in its own process.
import http from 'node:http';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { afterEach, expect, it } from 'vitest';

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const close of cleanups.splice(0).reverse()) await close();
});

function runCli(args: string[]) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', "const { cacheCommand } = await import('./servers/cdn/cache-cli.ts'); process.exit(await cacheCommand(process.argv.slice(1)))", '--', ...args],
    { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  cleanups.push(() => void child.kill('SIGKILL'));
  const output = () => ({ stdout, stderr });
  const waitFor = async (pattern: RegExp) => {
    for (let i = 0; i < 200 && !pattern.test(stdout); i++) {
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const m = pattern.exec(stdout);
    if (!m) throw new Error(`no ${pattern} in the output: ${stdout}${stderr}`);
    return m;
  };
  return { child, exited, output, waitFor };
}

it('starts in front of any origin URL, says where it listens, caches, and stops cleanly on SIGTERM', async () => {
  let originHits = 0;
  const origin = http.createServer((req, res) => {
    originHits++;
    res.writeHead(200, { 'cache-control': 'max-age=60', 'x-host-seen': String(req.headers.host) });
    res.end('from the origin');
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => origin.close(() => resolve())));
  const originUrl = `http://127.0.0.1:${(origin.address() as net.AddressInfo).port}`;

  const cli = runCli(['--name', 'edge-west', '--listen', '127.0.0.1:0', '--upstream', originUrl, '--hostname', 'img.example.test', '--upstream-host', 'origin.example.test', '--max-bytes', '8m']);
  const [, url] = await cli.waitFor(/edge-west listening on (http:\/\/127\.0\.0\.1:\d+) for img\.example\.test/);

  const fetchOnce = () =>
    new Promise<http.IncomingMessage & { text: string }>((resolve, reject) => {
      http
        .get(`${url}/logo.svg`, { headers: { host: 'img.example.test' }, agent: false }, (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve(Object.assign(res, { text })));
        })
        .on('error', reject);
    });
  const before = Date.now();
  const first = await fetchOnce();
  const second = await fetchOnce();
  const elapsedS = (Date.now() - before) / 1000;
  expect(first.text).toBe('from the origin');
  expect(first.headers['x-host-seen']).toBe('origin.example.test');
  // max-age=60 less the whole seconds the answer has aged: at most the time the two requests took
  // (a busy machine can take more than a second), plus one for the rounding of Age (RFC 9111 §4.2.3).
  const ttl = Number(/^edge-west; hit; ttl=(\d+)$/.exec(String(second.headers['cache-status']))?.[1]);
  expect(ttl, String(second.headers['cache-status'])).toBeLessThanOrEqual(60);
  expect(ttl).toBeGreaterThanOrEqual(60 - Math.ceil(elapsedS) - 1);
  expect(originHits).toBe(1);
  await cli.waitFor(/edge-west: GET img\.example\.test\/logo\.svg → 200 HIT \(edge-west\)/);

  cli.child.kill('SIGTERM');
  expect(await cli.exited).toBe(0);
});

it('refuses a missing --upstream or a bad --listen with a clear message', async () => {
  const noUpstream = runCli(['--listen', '127.0.0.1:0']);
  await expect(noUpstream.exited).resolves.not.toBe(0);
  expect(noUpstream.output().stderr).toContain('--upstream is required');
  const badListen = runCli(['--listen', 'everywhere', '--upstream', 'http://127.0.0.1:9']);
  await expect(badListen.exited).resolves.not.toBe(0);
  expect(badListen.output().stderr).toContain('--listen wants host:port');
});
