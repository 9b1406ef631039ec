// Exercise 5: the chain. The truth is what the SLB serves (chain.crt) and the lab's root.
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Lang } from '../lang.ts';
import { right, same, verdict, wrong, type Exercise } from './exercise.ts';
import { say as words } from './words/index.ts';

const say = (l?: Lang) => words(l).chain;

export const exercise: Exercise = {
  n: 5,
  slug: 'chain',
  seed: '§5',
  needs: 'lab',
  words: say,
  async check(ctx, lab) {
    const certs = path.dirname(lab.rootCa);
    const served = fs.readFileSync(path.join(certs, 'chain.crt'), 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    const leaf = new X509Certificate(served[0]!);
    const issuerCn = /CN=([^\n,]+)/.exec(leaf.issuer)?.[1] ?? '';
    const rootPrint = new X509Certificate(fs.readFileSync(lab.rootCa)).fingerprint256.split(':').slice(0, 4).join(':');
    const a = ctx.answers;
    const w = say();
    return verdict([
      same(a.sent, String(served.length)) ? right(w.sentRight) : wrong(w.sentWrong(a.sent!)),
      same(a.issuer, issuerCn) ? right(w.issuerRight) : wrong(w.issuerWrong(a.issuer!)),
      same(a.root, rootPrint) ? right(w.rootRight) : wrong(w.rootWrong(a.root!)),
    ]);
  },
};
