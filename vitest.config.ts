import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests start real servers and generate RSA keys: give them room on a 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // The words tests read are English unless a test asks for Chinese (lab/lang.ts); the
    // developer's own LANG must not change what the suite sees.
    env: { LAB_LANG: 'en' },
  },
});
