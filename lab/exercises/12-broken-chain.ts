// Exercise 12: which certificate fault is on (state.json), and the evidence the learner must read
// from the served certificates: the expired leaf's date, the count of certificates sent, the name.
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { brokenChainFiles, WRONG_DNS_NAME } from '../../certs/chain.ts';
import { right, same, verdict, wrong, type Exercise } from './exercise.ts';

const CERT_FAULTS = ['expired-leaf', 'missing-intermediate', 'wrong-san'] as const;
const asks = { fault: 'expired-leaf, missing-intermediate or wrong-san', evidence: 'the expiry date, the number of certificates sent, or the name, as the page says' };

export const exercise: Exercise = {
  n: 12,
  slug: 'broken-chain',
  title: 'Find the broken link in the chain',
  seed: '§5',
  needs: 'lab',
  asks,
  async check(ctx, lab) {
    const on = CERT_FAULTS.find((f) => lab.faults?.includes(f));
    if (!on) return verdict([wrong(`the SLB's chain is whole right now: have one of ${CERT_FAULTS.join(', ')} turned on (npm run lab -- fault NAME on)`)]);
    const broken = brokenChainFiles(path.dirname(lab.rootCa));
    const truth =
      on === 'expired-leaf' ? new Date(new X509Certificate(fs.readFileSync(broken.expiredChain)).validTo).toISOString().slice(0, 10)
      : on === 'missing-intermediate' ? '1'
      : WRONG_DNS_NAME;
    const a = ctx.answers;
    return verdict([
      same(a.fault, on) ? right(`fault: ${on}`) : wrong(`fault: not ${a.fault}; read the client's error again (curl -v, and openssl's verify error:num=)`),
      same(a.evidence, truth) ? right('evidence: read from what the SLB serves') : wrong(`evidence: ${a.evidence} is not what the served certificates show for ${same(a.fault, on) ? 'this fault' : 'the fault that is on'}`),
    ]);
  },
};
