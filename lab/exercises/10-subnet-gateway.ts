// Exercise 10: the truth is the network of the running lab (state.json's plan, which the lab built).
import { right, same, verdict, wrong, type Exercise } from './exercise.ts';

const asks = { mask: "the phone's subnet mask, dotted", 'same-subnet': 'yes or no: is the SLB on the phone\'s subnet', gateway: "the gateway's IP", 'gateway-mac': "the gateway's MAC" };

const dotted = (prefix: number) => [0, 8, 16, 24].map((s) => ((0xffffffff << (32 - prefix)) >>> (24 - s)) & 255).join('.');

export const exercise: Exercise = {
  n: 10,
  slug: 'subnet-gateway',
  title: 'Same subnet or not: the gateway, ARP and the Ethernet header',
  seed: '§6',
  needs: 'lab in ns mode',
  asks,
  async check(ctx, lab) {
    const net = lab.net!;
    const phone = net.phones.north;
    const gatewayMac = net.hosts.flatMap((h) => h.interfaces).find((i) => i.address === phone.gateway)?.mac ?? '';
    const a = ctx.answers;
    return verdict([
      same(a.mask, dotted(phone.prefix)) ? right(`mask: /${phone.prefix}`) : wrong(`mask: ${a.mask} is not the phone's mask (the /N after its address in ip addr, written as four bytes)`),
      same(a['same-subnet'], 'no') ? right('same-subnet: the SLB\'s address is outside the phone\'s network, so the packet goes to the gateway') : wrong('same-subnet: apply the mask to both addresses and compare'),
      same(a.gateway, phone.gateway) ? right("gateway: the phone's default route") : wrong(`gateway: ${a.gateway} is not the phone's default gateway (ip route)`),
      same(a['gateway-mac'], gatewayMac) ? right("gateway-mac: what ARP answered, and the SYN's destination MAC") : wrong(`gateway-mac: ${a['gateway-mac']} is not the gateway's MAC (ip neigh after the ARP exchange, or the ARP reply in tcpdump -e)`),
    ]);
  },
};
