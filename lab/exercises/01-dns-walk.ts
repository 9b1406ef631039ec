// Exercise 1: the walk by hand. The truth is the lab's own servers, asked the same way (RD=0):
// the root's referral, the TLD's referral, the shop's CNAME.
import type { Lang } from '../lang.ts';
import { ask, right, role, same, verdict, wrong, type Exercise } from './exercise.ts';
import { say as words } from './words/index.ts';

const NAME = 'static.geektime.test';
const say = (l?: Lang) => words(l).dnsWalk;

export const exercise: Exercise = {
  n: 1,
  slug: 'dns-walk',
  seed: '§4',
  needs: 'lab',
  words: say,
  async check(ctx, lab) {
    const root = role(lab, 'root');
    const fromRoot = await ask({ host: root.host, port: root.port }, NAME);
    const tld = fromRoot.additionals.find((r) => r.type === 1)?.address ?? '';
    const tldRole = lab.roles.find((r) => r.host === tld && r.protocol === 'dns') ?? role(lab, 'tld');
    const fromTld = await ask({ host: tldRole.host, port: tldRole.port }, NAME);
    const shop = fromTld.additionals.find((r) => r.type === 1)?.address ?? '';
    const shopRole = lab.roles.find((r) => r.host === shop && r.protocol === 'dns') ?? role(lab, 'shop-dns');
    const fromShop = await ask({ host: shopRole.host, port: shopRole.port }, NAME);
    const cname = fromShop.answers.find((r) => r.type === 5)?.domain ?? '';
    const a = ctx.answers;
    const w = say();
    return verdict([
      same(a.tld, tld) ? right(w.tldRight) : wrong(w.tldWrong(a.tld!)),
      same(a.shop, shop) ? right(w.shopRight) : wrong(w.shopWrong(a.shop!)),
      same(a.cname, cname) ? right(w.cnameRight) : wrong(w.cnameWrong(a.cname!)),
    ]);
  },
};
