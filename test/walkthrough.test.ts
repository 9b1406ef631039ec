// `npm run lab`: the walkthrough starts the roles, places the seed's order, narrates, stops, exits 0.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const tsx = path.resolve('node_modules/.bin/tsx');
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

async function walkthrough(...args: string[]) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-walk-'));
  dirs.push(dir);
  const result = await run(tsx, ['lab/cli.ts', '--ephemeral', ...args], { env: { ...process.env, LAB_DIR: dir }, timeout: 30_000 });
  return { ...result, dir };
}

describe('npm run lab', () => {
  it('classic: narrates TLS 1.2 with RSA key exchange, the verified chain and the 201, then stops and leaves no state', async () => {
    const { stdout, dir } = await walkthrough('--mode', 'classic');
    expect(stdout).toContain('TLSv1.2, cipher TLS_RSA_WITH_AES_128_GCM_SHA256');
    expect(stdout).toMatch(/TCP {3}127\.10\.1\.10:\d+ \(client, ephemeral port\) → 127\.0\.0\.80:\d+ \(SLB\)/);
    expect(stdout).toContain('✓ intermediate "CN=Geektime Lab Intermediate CA" → root "CN=Geektime Lab Root CA"');
    expect(stdout).toContain('> POST /purchaseOrder HTTP/1.1');
    expect(stdout).toMatch(/Answer: 201, Location: \/purchaseOrder\/po-\d{6}, served by app-[12]/);
    expect(stdout).toContain('"for": "127.10.1.10"');
    expect(fs.existsSync(path.join(dir, 'state.json'))).toBe(false);
    expect(fs.readFileSync(path.join(dir, 'keylog.txt'), 'utf8')).toMatch(/^CLIENT_RANDOM /m);
  });

  it('modern, from the south: TLS 1.3 with an ephemeral key, from the south region address', async () => {
    const { stdout } = await walkthrough('--mode', 'modern', '--from', 'south');
    expect(stdout).toMatch(/TLSv1\.3, cipher TLS_AES_\w+/);
    expect(stdout).toContain('(ephemeral, forward secret)');
    expect(stdout).toContain('"for": "127.10.2.10"');
  });

  it('a bad option stops with a clear message and a non-zero exit', async () => {
    await expect(walkthrough('--mode', 'ancient')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('--mode must be classic or modern, not "ancient"') });
  });
});
