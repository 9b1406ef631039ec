// Exercise 11: the truth is the lab's routing (the plan it built): the hops from the north phone to
// the SLB, and 64 less one per router.
import { tracePath } from '../net-ns/plan.ts';
import type { Lang } from '../lang.ts';
import { right, same, verdict, wrong, type Exercise } from './exercise.ts';
import { say as words } from './words/index.ts';

const say = (l?: Lang) => words(l).packetPath;

export const exercise: Exercise = {
  n: 11,
  slug: 'packet-path',
  seed: '§6',
  needs: 'lab in ns mode',
  words: say,
  async check(ctx, lab) {
    const net = lab.net!;
    const path = tracePath(net, net.phones.north.host, net.roles.slb.address);
    // traceroute names each router by the address it answers from: the one on the way in.
    const routers = path.hops.slice(0, -1).map((h) => h.nextHop);
    const given = (ctx.answers.routers ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    const routersRight = given.length === routers.length && given.every((g, i) => same(g, routers[i]!));
    const w = say();
    return verdict([
      routersRight ? right(w.routersRight(routers.length))
        : given.length !== routers.length ? wrong(w.routersCount(given.length))
        : wrong(w.routersWrong),
      same(ctx.answers.ttl, String(64 - path.routers)) ? right(w.ttlRight) : wrong(w.ttlWrong(ctx.answers.ttl!)),
    ]);
  },
};
