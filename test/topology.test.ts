// Where each role listens, and what the lab says when it may not use a standard port.
import { describe, expect, it } from 'vitest';
import { planRoles, unprivilegedNotes } from '../lab/topology.ts';

describe('planRoles', () => {
  it('with privilege: the standard port first, the high one as a fallback, and nothing to say', () => {
    const plans = planRoles({ addressing: 'per-role', canBind: () => true });
    expect(plans.find((p) => p.name === 'local-dns')).toMatchObject({ host: '127.0.0.53', ports: [53, 8053] });
    expect(plans.find((p) => p.name === 'slb')).toMatchObject({ host: '127.0.0.80', ports: [443, 8443] });
    // The edges' https port: 443 on each edge's own address, 8443 if 443 is taken there.
    expect(plans.find((p) => p.name === 'edge-north')).toMatchObject({ host: '127.0.0.21', ports: [80, 8080], tls: { ports: [443, 8443] } });
    expect(plans.find((p) => p.name === 'edge-south')).toMatchObject({ host: '127.0.0.22', tls: { ports: [443, 8443] } });
    expect(plans.find((p) => p.name === 'parent')!.tls).toBeUndefined(); // reached by the edges alone, over http
    expect(unprivilegedNotes(plans)).toEqual([]);
  });

  it('without it: the high ports, and one note per standard port naming the roles that moved and how to get it', () => {
    const plans = planRoles({ addressing: 'per-role', canBind: (port) => port >= 1024 });
    expect(plans.find((p) => p.name === 'root')!.ports).toEqual([8053]);
    expect(plans.find((p) => p.name === 'app-1')!.ports).toEqual([8080]); // 8080 already: nothing moved
    const notes = unprivilegedNotes(plans);
    expect(notes).toHaveLength(3);
    expect(notes[0]).toBe(
      'port 53 needs privilege, so root, tld, shop-dns, cdn-dns, gslb, local-dns listen on 8053 instead ' +
        '(for 53: run as root, give node CAP_NET_BIND_SERVICE, or `sudo sysctl net.ipv4.ip_unprivileged_port_start=53`)',
    );
    expect(notes[1]).toMatch(/^port 80 needs privilege, so origin, parent, edge-north, edge-south listen on 8080 instead/);
    expect(notes[2]).toMatch(/^port 443 needs privilege, so edge-north \(https\), edge-south \(https\), slb listen on 8443 instead/);
    expect(plans.find((p) => p.name === 'edge-north')!.tls).toEqual({ ports: [8443], unprivileged: { standard: 443, instead: 8443 } });
    // In Chinese, the same facts: the roles, the ports and the command as they are.
    const zh = unprivilegedNotes(plans, 'zh');
    expect(zh[0]).toBe(
      '端口 53 需要特权，所以 root、tld、shop-dns、cdn-dns、gslb、local-dns 改为监听 8053' +
        '（要用 53：以 root 运行，给 node 加上 CAP_NET_BIND_SERVICE 能力，或者执行 `sudo sysctl net.ipv4.ip_unprivileged_port_start=53`）',
    );
    expect(zh[2]).toMatch(/^端口 443 需要特权，所以 edge-north（https）、edge-south（https）、slb 改为监听 8443/);
  });

  it('gives the edges\' https ports of their own on a single address, and port 0 when ephemeral', () => {
    const single = planRoles({ addressing: 'single', canBind: () => true });
    expect(single.find((p) => p.name === 'edge-north')!.tls).toEqual({ ports: [8444] });
    expect(single.find((p) => p.name === 'edge-south')!.tls).toEqual({ ports: [8445] });
    // One address for all: every listener needs a port of its own (4433 is the SLB's classic port).
    const ports = [...single.flatMap((p) => [...p.ports, ...(p.tls?.ports ?? [])]), 4433];
    expect(new Set(ports).size).toBe(ports.length);
    expect(planRoles({ ephemeral: true }).find((p) => p.name === 'edge-north')!.tls).toEqual({ ports: [0] });
  });

  it('ephemeral and single-address plans never need privilege', () => {
    expect(unprivilegedNotes(planRoles({ ephemeral: true, canBind: () => false }))).toEqual([]);
    expect(unprivilegedNotes(planRoles({ addressing: 'single', canBind: () => false }))).toEqual([]);
  });
});
