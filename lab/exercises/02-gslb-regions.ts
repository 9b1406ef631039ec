// Exercise 2: the GSLB's choice per region. The truth: the lab's local DNS asked as each phone
// (from its source address), or, in ns mode, the GSLB asked with each phone's subnet (ECS).
import type { Lang } from '../lang.ts';
import { clientAddress } from '../topology.ts';
import { gslbAnswer, right, same, verdict, wrong, type Exercise } from './exercise.ts';
import { say as words } from './words/index.ts';

const say = (l?: Lang) => words(l).gslbRegions;

export const exercise: Exercise = {
  n: 2,
  slug: 'gslb-regions',
  seed: '§4',
  needs: 'lab',
  words: say,
  async check(ctx, lab) {
    const w = say();
    const lines: string[] = [];
    for (const region of ['north', 'south'] as const) {
      const truth = await gslbAnswer(lab, region);
      if (typeof truth === 'string') return verdict([wrong(truth)]);
      const from = lab.net ? w.fromNamespace(region) : w.fromAddress(clientAddress(region));
      lines.push(same(ctx.answers[region], truth.address) ? right(w.right(region)) : wrong(w.wrong(region, ctx.answers[region]!, from)));
    }
    return verdict(lines);
  },
};
