// Exercise 12: which certificate fault is on (state.json), and the evidence the learner must read
// from the served certificates: the expired leaf's date, the count of certificates sent, the name.
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { brokenChainFiles, WRONG_DNS_NAME } from '../../certs/chain.ts';
import type { Lang } from '../lang.ts';
import { right, same, verdict, wrong, type Exercise } from './exercise.ts';
import { say as words } from './words/index.ts';

const CERT_FAULTS = ['expired-leaf', 'missing-intermediate', 'wrong-san'] as const;
const say = (l?: Lang) => words(l).brokenChain;

export const exercise: Exercise = {
  n: 12,
  slug: 'broken-chain',
  seed: '§5',
  needs: 'lab',
  words: say,
  async check(ctx, lab) {
    const w = say();
    const on = CERT_FAULTS.find((f) => lab.faults?.includes(f));
    if (!on) return verdict([wrong(w.whole(CERT_FAULTS))]);
    const broken = brokenChainFiles(path.dirname(lab.rootCa));
    const truth =
      on === 'expired-leaf' ? new Date(new X509Certificate(fs.readFileSync(broken.expiredChain)).validTo).toISOString().slice(0, 10)
      : on === 'missing-intermediate' ? '1'
      : WRONG_DNS_NAME;
    const a = ctx.answers;
    return verdict([
      same(a.fault, on) ? right(w.faultRight(on)) : wrong(w.faultWrong(a.fault!)),
      same(a.evidence, truth) ? right(w.evidenceRight) : wrong(w.evidenceWrong(a.evidence!, same(a.fault, on))),
    ]);
  },
};
