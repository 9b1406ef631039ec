// Exercise 3: failover. It passes only while the north edge is really down, and the answers are
// what the GSLB says now (asked with the north's subnet, as the learner asks it).
import { gslbAnswer, right, role, same, verdict, wrong, type Exercise } from './exercise.ts';

const asks = { north: 'the edge address the GSLB gives the north now', ttl: 'the TTL of that answer as the GSLB sends it' };

export const exercise: Exercise = {
  n: 3,
  slug: 'failover',
  title: 'An edge goes down and the GSLB fails over',
  seed: '§4',
  needs: 'lab',
  asks,
  async check(ctx, lab) {
    const edge = role(lab, 'edge-north');
    if (edge.status === undefined || edge.status === 'up') return verdict([wrong('edge-north is still up: take it down first (npm run lab -- fault edge-down on, or role edge-north stop)')]);
    const answer = await gslbAnswer(lab, 'north');
    if (typeof answer === 'string') return verdict([wrong(answer)]);
    if (answer.address === edge.host) return verdict([wrong('the GSLB still sends the north to the edge that is down: its health checks have not noticed yet (every second, out after 2 failures); ask again in a few seconds')]);
    return verdict([
      same(ctx.answers.north, answer.address) ? right('north: the GSLB now sends the north to the other edge') : wrong(`north: ${ctx.answers.north} is not what the GSLB gives the north now (ask the GSLB itself, with the north's subnet)`),
      same(ctx.answers.ttl, String(answer.ttl)) ? right('ttl: the GSLB\'s short TTL, so caches ask again soon') : wrong(`ttl: ${ctx.answers.ttl} is not the TTL in the GSLB's answer (the second column of the answer line)`),
    ]);
  },
};
