// The SLB's TLS key log is written at a stranger's request (every handshake adds lines): it must
// never be able to stop the SLB, and it is a secret (it decrypts every captured session).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { placeOrder } from '../../client/order-client.ts';
import { makeChainDir, startShop } from '../shop-fixture.ts';
import { SHOP } from './slb-helpers.ts';

const chain = makeChainDir('lab-slb-keylog-');
afterAll(() => fs.rmSync(chain.dir, { recursive: true, force: true }));

describe('the key log', () => {
  it('cannot be written (its path is a directory, which stops root too): handshakes and orders go on, and the log says so once', async () => {
    const notAFile = path.join(chain.dir, 'keylog-is-a-directory');
    fs.mkdirSync(notAFile);
    const shop = await startShop(chain, { keyLogFile: notAFile });
    try {
      for (const mode of ['classic', 'modern', 'classic', 'modern'] as const) {
        const port = mode === 'classic' ? (shop.slb.classicPort ?? shop.slb.port) : shop.slb.port;
        const result = await placeOrder({ hostname: SHOP, address: shop.slb.host, port, rootCaPem: shop.rootPem, mode });
        expect(result.status).toBe(201);
      }
      await shop.slb.flushKeyLog();
      const problems = shop.slbLog.filter((l) => l.includes(notAFile));
      expect(problems, shop.slbLog.join('\n')).toHaveLength(1);
      expect(problems[0]).toMatch(/key log.*cannot write.*EISDIR/);
    } finally {
      await shop.close();
    }
  });

  it('is private (0600) even when the file was there before with wider permissions, and holds the lines once flushed', async () => {
    const file = path.join(chain.dir, 'keylog-0644.txt');
    fs.writeFileSync(file, '');
    fs.chmodSync(file, 0o644);
    const shop = await startShop(chain, { keyLogFile: file });
    try {
      const result = await placeOrder({ hostname: SHOP, address: shop.slb.host, port: (shop.slb.classicPort ?? shop.slb.port), rootCaPem: shop.rootPem, mode: 'classic' });
      expect(result.status).toBe(201);
      await shop.slb.flushKeyLog();
      expect(fs.readFileSync(file, 'utf8')).toMatch(/^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}$/m);
      expect((fs.statSync(file).mode & 0o777).toString(8)).toBe('600');
    } finally {
      await shop.close();
    }
  });
});
