// Exercise 11: the truth is the lab's routing (the plan it built): the hops from the north phone to
// the SLB, and 64 less one per router.
import { tracePath } from '../net-ns/plan.ts';
import { right, same, verdict, wrong, type Exercise } from './exercise.ts';

const asks = { routers: "the routers' addresses traceroute shows, in order, comma-separated", ttl: "the TTL the POST has when it reaches the SLB's link" };

export const exercise: Exercise = {
  n: 11,
  slug: 'packet-path',
  title: 'The path of one packet through the routers (TTL)',
  seed: '§6',
  needs: 'lab in ns mode',
  asks,
  async check(ctx, lab) {
    const net = lab.net!;
    const path = tracePath(net, net.phones.north.host, net.roles.slb.address);
    // traceroute names each router by the address it answers from: the one on the way in.
    const routers = path.hops.slice(0, -1).map((h) => h.nextHop);
    const given = (ctx.answers.routers ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    const routersRight = given.length === routers.length && given.every((g, i) => same(g, routers[i]!));
    return verdict([
      routersRight ? right(`routers: ${routers.length} of them, in order`)
        : given.length !== routers.length ? wrong(`routers: ${given.length} given; count the lines of traceroute before the SLB itself`)
        : wrong('routers: the right number, but not these addresses in this order (traceroute -n)'),
      same(ctx.answers.ttl, String(64 - path.routers)) ? right('ttl: 64, less one per router') : wrong(`ttl: ${ctx.answers.ttl} is not the TTL of the POST on the SLB's link (ip.ttl in capture-slb.pcapng)`),
    ]);
  },
};
