// Exercise 2: the GSLB's choice per region. The truth: the lab's local DNS asked as each phone
// (from its source address), or, in ns mode, the GSLB asked with each phone's subnet (ECS).
import { EDGE_REGIONS, clientAddress } from '../topology.ts';
import { ask, right, role, same, verdict, wrong, type Exercise } from './exercise.ts';

const asks = { north: 'the edge address a phone in the north gets', south: 'the edge address a phone in the south gets' };

export const exercise: Exercise = {
  n: 2,
  slug: 'gslb-regions',
  title: 'The CNAME chain and the GSLB\'s choice from both regions',
  seed: '§4',
  needs: 'lab',
  asks,
  async check(ctx, lab) {
    const resolver = role(lab, 'local-dns');
    const chain = await ask({ host: resolver.host, port: resolver.port }, 'static.geektime.test', { rd: true });
    const last = [...chain.answers].reverse().find((r) => r.type === 5)?.domain;
    if (!last) return verdict([wrong('the lab\'s local DNS gives no CNAME chain for static.geektime.test right now: is every role up? (npm run lab -- status)')]);
    const gslb = role(lab, 'gslb');
    const lines: string[] = [];
    for (const region of ['north', 'south'] as const) {
      const subnet = lab.net ? lab.net.phones[region].network : EDGE_REGIONS.find((e) => e.region === region)!.subnet;
      const truth = (await ask({ host: gslb.host, port: gslb.port }, last, { clientSubnet: subnet })).answers.find((r) => r.type === 1)?.address ?? '';
      const from = lab.net ? `the ${region} phone's namespace` : `-b ${clientAddress(region) ?? '(a source address in that region)'}`;
      lines.push(same(ctx.answers[region], truth) ? right(`${region}: the GSLB's answer for that region`) : wrong(`${region}: ${ctx.answers[region]} is not what a phone there gets (ask as the phone: ${from}; the last address of the chain)`));
    }
    return verdict(lines);
  },
};
