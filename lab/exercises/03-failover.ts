// Exercise 3: failover. It passes only while the north edge is really down, and the answers are
// what the GSLB says now (asked with the north's subnet, as the learner asks it).
import type { Lang } from '../lang.ts';
import { gslbAnswer, right, role, same, verdict, wrong, type Exercise } from './exercise.ts';
import { say as words } from './words/index.ts';

const say = (l?: Lang) => words(l).failover;

export const exercise: Exercise = {
  n: 3,
  slug: 'failover',
  seed: '§4',
  needs: 'lab',
  words: say,
  async check(ctx, lab) {
    const w = say();
    const edge = role(lab, 'edge-north');
    if (edge.status === undefined || edge.status === 'up') return verdict([wrong(w.stillUp)]);
    const answer = await gslbAnswer(lab, 'north');
    if (typeof answer === 'string') return verdict([wrong(answer)]);
    if (answer.address === edge.host) return verdict([wrong(w.notNoticed)]);
    return verdict([
      same(ctx.answers.north, answer.address) ? right(w.northRight) : wrong(w.northWrong(ctx.answers.north!)),
      same(ctx.answers.ttl, String(answer.ttl)) ? right(w.ttlRight) : wrong(w.ttlWrong(ctx.answers.ttl!)),
    ]);
  },
};
