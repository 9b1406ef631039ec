// Exercise 10: the truth is the network of the running lab (state.json's plan, which the lab built).
import type { Lang } from '../lang.ts';
import { right, same, verdict, wrong, type Exercise } from './exercise.ts';
import { say as words } from './words/index.ts';

const say = (l?: Lang) => words(l).subnetGateway;

const dotted = (prefix: number) => [0, 8, 16, 24].map((s) => ((0xffffffff << (32 - prefix)) >>> (24 - s)) & 255).join('.');

export const exercise: Exercise = {
  n: 10,
  slug: 'subnet-gateway',
  seed: '§6',
  needs: 'lab in ns mode',
  words: say,
  async check(ctx, lab) {
    const net = lab.net!;
    const phone = net.phones.north;
    const gatewayMac = net.hosts.flatMap((h) => h.interfaces).find((i) => i.address === phone.gateway)?.mac ?? '';
    const a = ctx.answers;
    const w = say();
    return verdict([
      same(a.mask, dotted(phone.prefix)) ? right(w.maskRight(phone.prefix)) : wrong(w.maskWrong(a.mask!)),
      same(a['same-subnet'], 'no') ? right(w.sameRight) : wrong(w.sameWrong),
      same(a.gateway, phone.gateway) ? right(w.gatewayRight) : wrong(w.gatewayWrong(a.gateway!)),
      same(a['gateway-mac'], gatewayMac) ? right(w.macRight) : wrong(w.macWrong(a['gateway-mac']!)),
    ]);
  },
};
