// IPv4 arithmetic (servers/net/ipv4.ts): the one copy the GSLB, the resolver and the lab's layers use.
import { describe, expect, it } from 'vitest';
import { cidrDecision, contains, formatIpv4, isIpv4, maskToPrefix, networkOf, parseCidr, parseIpv4, parseMask, prefixToMask, toBinary } from '../servers/net/ipv4.ts';

describe('dotted quads', () => {
  it('parses and formats, the top bit included (no negative numbers)', () => {
    expect(parseIpv4('192.168.1.10')).toBe(0xc0a8010a);
    expect(parseIpv4('0.0.0.0')).toBe(0);
    expect(parseIpv4('255.255.255.255')).toBe(0xffffffff);
    expect(parseIpv4('128.0.0.1')).toBeGreaterThan(0);
    expect(formatIpv4(0xffffffff)).toBe('255.255.255.255');
    expect(formatIpv4(0)).toBe('0.0.0.0');
    expect(toBinary(parseIpv4('255.255.255.255'))).toBe('11111111.11111111.11111111.11111111');
  });

  it.each(['', '1.2.3', '1.2.3.4.5', '1..2.3', '256.0.0.1', '1.2.3.-1', '01.2.3.4', '1.2.3.4 ', ' 1.2.3.4', '1.2.3.0x1', '::1', 'a.b.c.d', '1e2.0.0.1'])(
    'refuses %j',
    (bad) => {
      expect(() => parseIpv4(bad)).toThrow(/not an IPv4 address/);
      expect(isIpv4(bad)).toBe(false);
    },
  );
});

describe('prefixes and masks', () => {
  it('/0, /1, /24, /31 and /32', () => {
    expect(prefixToMask(0)).toBe(0); // not 0xffffffff: JavaScript's `<< 32` shifts by 0
    expect(formatIpv4(prefixToMask(1))).toBe('128.0.0.0');
    expect(formatIpv4(prefixToMask(24))).toBe('255.255.255.0');
    expect(formatIpv4(prefixToMask(31))).toBe('255.255.255.254');
    expect(prefixToMask(32)).toBe(0xffffffff);
    for (let p = 0; p <= 32; p++) expect(maskToPrefix(prefixToMask(p))).toBe(p);
  });

  it('refuses prefixes outside 0–32 and masks with holes', () => {
    for (const bad of [-1, 33, 1.5, Number.NaN]) expect(() => prefixToMask(bad)).toThrow(/not a prefix length/);
    expect(() => maskToPrefix(parseIpv4('255.0.255.0'))).toThrow(/not a contiguous netmask: 255\.0\.255\.0/);
    expect(() => parseMask('0.255.255.255')).toThrow(/not a contiguous netmask/);
    expect(parseMask('255.255.255.255')).toEqual({ mask: 0xffffffff, prefix: 32 });
    expect(parseMask('0.0.0.0')).toEqual({ mask: 0, prefix: 0 });
    expect(parseMask(8)).toEqual({ mask: 0xff000000, prefix: 8 });
  });
});

describe('networks and subnets', () => {
  it('the network of an address', () => {
    expect(formatIpv4(networkOf(parseIpv4('127.10.1.7'), 24))).toBe('127.10.1.0');
    expect(networkOf(parseIpv4('255.255.255.255'), 0)).toBe(0);
    expect(networkOf(parseIpv4('255.255.255.255'), 32)).toBe(0xffffffff);
    expect(formatIpv4(networkOf(parseIpv4('255.255.255.255'), 1))).toBe('128.0.0.0');
  });

  it('parses a CIDR, clearing host bits', () => {
    expect(parseCidr('127.10.1.7/24')).toEqual({ cidr: '127.10.1.0/24', network: parseIpv4('127.10.1.0'), prefix: 24 });
    expect(parseCidr('10.0.0.0/0').cidr).toBe('0.0.0.0/0');
    expect(parseCidr('255.255.255.255/32').cidr).toBe('255.255.255.255/32');
    for (const bad of ['127.10.1.0', '127.10.1.0/33', '127.10.1.0/', '/24', '127.10.1.0/24/1', '127.10.1.0/-1', 'x/24', '127.10.1.0/2 4']) {
      expect(() => parseCidr(bad), bad).toThrow(/not an IPv4 subnet/);
    }
  });

  it('contains: an address, or a whole smaller network', () => {
    const north = parseCidr('127.10.0.0/16');
    expect(contains(north, parseIpv4('127.10.2.7'))).toBe(true);
    expect(contains(north, parseIpv4('127.11.0.0'))).toBe(false);
    expect(contains(north, parseIpv4('127.10.2.0'), 24)).toBe(true); // a /24 inside the /16
    expect(contains(north, parseIpv4('127.0.0.0'), 8)).toBe(false); // the /8 around it is not inside
    const everything = parseCidr('0.0.0.0/0');
    expect(contains(everything, parseIpv4('255.255.255.255'))).toBe(true);
    expect(contains(everything, 0, 0)).toBe(true);
    const one = parseCidr('192.0.2.1/32');
    expect(contains(one, parseIpv4('192.0.2.1'))).toBe(true);
    expect(contains(one, parseIpv4('192.0.2.2'))).toBe(false);
  });
});

describe('the same-subnet decision', () => {
  it('/32 and /0 at the edges', () => {
    expect(cidrDecision('192.0.2.1', '192.0.2.2', 32)).toMatchObject({ sameSubnet: false, srcNetwork: '192.0.2.1', dstNetwork: '192.0.2.2' });
    expect(cidrDecision('192.0.2.1', '198.51.100.1', 0)).toMatchObject({ sameSubnet: true, mask: '0.0.0.0', srcNetwork: '0.0.0.0' });
  });

  it('prints the AND in binary, row by row', () => {
    const d = cidrDecision('255.255.255.255', '255.255.255.0', '255.255.255.0');
    expect(d.lines).toHaveLength(7);
    expect(d.lines[0]).toBe('  255.255.255.255  11111111.11111111.11111111.11111111   source');
    expect(d.lines[1]).toBe('& 255.255.255.0    11111111.11111111.11111111.00000000   mask /24');
    expect(d.lines.at(-1)).toBe('255.255.255.0 = 255.255.255.0: same subnet 255.255.255.0/24, deliver directly, no gateway');
  });
});
