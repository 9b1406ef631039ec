import { defineConfig } from 'vitest/config';

/**
 * The long tests: each starts whole labs as processes (often several, in both languages, or in
 * network namespaces), captures them with tcpdump and reads the capture with tshark, or drives
 * Chromium. They take most of the suite's ten minutes, so `npm test` leaves them to
 * `npm run test:long`, which CI runs too. Everything else (every role's own tests on real sockets,
 * the hostile inputs, the decisions, the words) is `npm test`, under a minute.
 */
const LONG = [
  'test/browser.test.ts',
  'test/exercises.test.ts',
  'test/faults.test.ts',
  'test/frames.test.ts',
  'test/i18n-cli.test.ts',
  'test/i18n-dns.test.ts',
  'test/i18n-exercises.test.ts',
  'test/i18n-run.test.ts',
  'test/i18n-story.test.ts',
  'test/i18n-whole-run.test.ts',
  'test/lab-up.test.ts',
  'test/net-ns.test.ts',
  'test/net-ns-walkthrough.test.ts',
  'test/report.test.ts',
  'test/story.test.ts',
  'test/walkthrough.test.ts',
  'test/hostile/isolation.test.ts',
  'test/hostile/orders-multiprocess.test.ts',
];

export default defineConfig({
  test: {
    // Tests start real servers and generate RSA keys: give them room on a 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // The words tests read are English unless a test asks for Chinese (lab/lang.ts); the
    // developer's own LANG must not change what the suite sees.
    env: { LAB_LANG: 'en' },
    // Two files at a time even on two cores: most of a socket test is waiting for the other end.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'quick', include: ['test/**/*.test.ts'], exclude: LONG, isolate: false, pool: 'threads', maxWorkers: 4 } },
      { extends: true, test: { name: 'long', include: LONG } },
    ],
  },
});
