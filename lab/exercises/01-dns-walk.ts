// Exercise 1: the walk by hand. The truth is the lab's own servers, asked the same way (RD=0):
// the root's referral, the TLD's referral, the shop's CNAME.
import { ask, right, role, same, verdict, wrong, type Exercise } from './exercise.ts';

const NAME = 'static.geektime.test';
const asks = {
  tld: 'the address of the name server the root refers you to',
  shop: 'the address of the name server authoritative for geektime.test',
  cname: 'the name static.geektime.test is an alias of',
};

export const exercise: Exercise = {
  n: 1,
  slug: 'dns-walk',
  title: 'The DNS walk by hand, from the root',
  seed: '§4',
  needs: 'lab',
  asks,
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
    return verdict([
      same(a.tld, tld) ? right('tld: the root\'s referral, read from its ADDITIONAL section') : wrong(`tld: ${a.tld} is not the address the root gives for the servers of its referral (look at ADDITIONAL in the root's answer)`),
      same(a.shop, shop) ? right('shop: the TLD\'s referral for geektime.test') : wrong(`shop: ${a.shop} is not where the TLD refers you for geektime.test (ask the TLD the same question, with +norec)`),
      same(a.cname, cname) ? right('cname: the shop\'s authoritative answer is an alias into the CDN') : wrong(`cname: ${a.cname} is not the target of the CNAME the shop's server answers with (the one with the aa flag)`),
    ]);
  },
};
