// Exercise 2: the GSLB's choice per region. The truth: the lab's local DNS asked as each phone
// (from its source address), or, in ns mode, the GSLB asked with each phone's subnet (ECS).
import { clientAddress } from '../topology.ts';
import { gslbAnswer, right, same, verdict, wrong, type Exercise } from './exercise.ts';

const asks = { north: 'the edge address a phone in the north gets', south: 'the edge address a phone in the south gets' };

export const exercise: Exercise = {
  n: 2,
  slug: 'gslb-regions',
  title: 'The CNAME chain and the GSLB\'s choice from both regions',
  seed: '§4',
  needs: 'lab',
  asks,
  async check(ctx, lab) {
    const lines: string[] = [];
    for (const region of ['north', 'south'] as const) {
      const truth = await gslbAnswer(lab, region);
      if (typeof truth === 'string') return verdict([wrong(truth)]);
      const from = lab.net ? `the ${region} phone's namespace` : `-b ${clientAddress(region) ?? '(a source address in that region)'}`;
      lines.push(same(ctx.answers[region], truth.address) ? right(`${region}: the GSLB's answer for that region`) : wrong(`${region}: ${ctx.answers[region]} is not what a phone there gets (ask as the phone: ${from}; the last address of the chain)`));
    }
    return verdict(lines);
  },
};
