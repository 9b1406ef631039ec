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
    // Step 1: the local DNS walks root → test. → geektime.test → cdn.test → the GSLB, then the cache answers.
    expect(stdout).toMatch(/1\. a\.root-servers\.test \(127\.0\.0\.10:\d+\): A static\.geektime\.test\?/);
    expect(stdout).toContain('→ NOERROR: referral to test. (ns.nic.test 127.0.0.11), TTL 172800');
    expect(stdout).toContain('→ NOERROR AA: static.geektime.test CNAME geektime.cdn.test, TTL 600');
    expect(stdout).toMatch(/ns1\.gslb\.cdn\.test \(127\.0\.0\.14:\d+\): A geektime\.gslb\.cdn\.test\?.*ECS 127\.10\.1\.0\/24/);
    expect(stdout).toMatch(/The GSLB chose edge-north 127\.0\.0\.21: .*region north/);
    expect(stdout).toContain('The local DNS answered from its cache: it asked no other server');
    // The order's name is resolved by the local DNS too, starting at the cached delegation.
    expect(stdout).toMatch(/ns1\.geektime\.test \(127\.0\.0\.12:\d+\): A www\.geektime\.test\?/);
    expect(stdout).toMatch(/www\.geektime\.test\.\s+600\s+IN\s+A\s+127\.0\.0\.80/);
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
    expect(stdout).toMatch(/ECS 127\.10\.2\.0\/24[\s\S]*The GSLB chose edge-south 127\.0\.0\.22/);
  });

  it('a bad option stops with a clear message and a non-zero exit', async () => {
    await expect(walkthrough('--mode', 'ancient')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('--mode must be classic or modern, not "ancient"') });
  });
});
