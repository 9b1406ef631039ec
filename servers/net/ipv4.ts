// IPv4 arithmetic, in one place: addresses as unsigned 32-bit numbers, prefixes and masks, the
// network an address belongs to, whether a subnet holds an address, and the seed's same-subnet
// test with the binary rows the lab prints. The GSLB (regions), the resolver (ECS client subnets)
// and the lab's layer narration (routes, interfaces) all compute with these.
//
// An address is four decimal octets, "192.168.1.10" (RFC 791 §3.2 writes the 32 bits; the dotted
// form is the convention every tool prints). A prefix length p says the first p bits name the
// network; the mask is those p bits set (RFC 4632 §3.1).

/** "192.168.1.10" → 0xC0A8010A. Throws on anything but four decimal octets 0–255. */
export function parseIpv4(text: string): number {
  const parts = text.split('.');
  // No leading zeros: some tools read "010" as octal (8), others as 10; refuse rather than guess.
  if (parts.length !== 4 || parts.some((p) => !/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255)) {
    throw new Error(`not an IPv4 address: ${text}`);
  }
  // Multiply, not `<< 24`: a shift works on signed 32-bit numbers and would make 128.x.x.x negative.
  return parts.reduce((n, octet) => n * 256 + Number(octet), 0);
}

/** Is `text` a dotted-quad IPv4 address parseIpv4 accepts? */
export function isIpv4(text: string): boolean {
  try {
    parseIpv4(text);
    return true;
  } catch {
    return false;
  }
}

/** 0xC0A8010A → "192.168.1.10". */
export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** 0xC0A8010A → "11000000.10101000.00000001.00001010": the address as the seed draws it. */
export function toBinary(n: number): string {
  return formatIpv4(n)
    .split('.')
    .map((o) => Number(o).toString(2).padStart(8, '0'))
    .join('.');
}

/** 24 → 0xFFFFFF00. */
export function prefixToMask(prefix: number): number {
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) throw new Error(`not a prefix length: ${prefix}`);
  // JavaScript shifts count modulo 32, so `x << 32` is x, not 0: /0 is its own case.
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** 0xFFFFFF00 → 24. Throws when the ones are not contiguous from the left (255.0.255.0). */
export function maskToPrefix(mask: number): number {
  const prefix = toBinary(mask).replaceAll('.', '').indexOf('0');
  const p = prefix === -1 ? 32 : prefix;
  if (prefixToMask(p) !== mask) throw new Error(`not a contiguous netmask: ${formatIpv4(mask)}`);
  return p;
}

/** A mask as a prefix length (24) or in dotted form ("255.255.255.0"): both, checked. */
export function parseMask(mask: string | number): { mask: number; prefix: number } {
  if (typeof mask === 'number') return { mask: prefixToMask(mask), prefix: mask };
  const m = parseIpv4(mask);
  return { mask: m, prefix: maskToPrefix(m) };
}

/** The first `prefix` bits of `ip`, the rest zero: the network an address belongs to. */
export function networkOf(ip: number, prefix: number): number {
  return (ip & prefixToMask(prefix)) >>> 0;
}

/** A subnet: its network number (host bits zero) and prefix length. */
export interface Cidr {
  /** Written out with the host bits cleared: "127.10.1.0/24". */
  cidr: string;
  network: number;
  prefix: number;
}

/** "127.10.1.7/24" → 127.10.1.0/24 (host bits cleared). Throws on anything else. */
export function parseCidr(text: string): Cidr {
  const [ip = '', bits = '', ...rest] = text.split('/');
  if (rest.length > 0 || !/^\d{1,2}$/.test(bits) || !isIpv4(ip) || Number(bits) > 32) throw new Error(`not an IPv4 subnet such as 127.10.1.0/24: ${text}`);
  const prefix = Number(bits);
  const network = networkOf(parseIpv4(ip), prefix);
  return { cidr: `${formatIpv4(network)}/${prefix}`, network, prefix };
}

/**
 * Does `subnet` hold the address `ip`, or with `prefix` < 32 every address of the network
 * ip/prefix? (A /16 holds a /24 inside it; a /24 does not hold the /16 around it.)
 */
export function contains(subnet: Cidr, ip: number, prefix = 32): boolean {
  return subnet.prefix <= prefix && networkOf(ip, subnet.prefix) === subnet.network;
}

export interface CidrDecision {
  src: string;
  dst: string;
  mask: string;
  prefix: number;
  srcNetwork: string;
  dstNetwork: string;
  /** Same network: deliver directly (ARP for the destination itself); else send to the gateway. */
  sameSubnet: boolean;
  /** The AND, line by line, in binary. */
  lines: string[];
}

/**
 * The seed's test: is the destination on my network? network = address AND mask, for both ends;
 * equal networks mean "deliver directly", different ones "hand it to the default gateway".
 */
export function cidrDecision(src: string, dst: string, mask: string | number): CidrDecision {
  const { mask: m, prefix } = parseMask(mask);
  const s = parseIpv4(src);
  const d = parseIpv4(dst);
  const sn = networkOf(s, prefix);
  const dn = networkOf(d, prefix);
  const w = Math.max(src.length, dst.length, formatIpv4(m).length, 15);
  const row = (op: string, ip: string, n: number, note = '') => `${op} ${ip.padEnd(w)}  ${toBinary(n)}${note}`;
  const sameSubnet = sn === dn;
  const lines = [
    row(' ', src, s, '   source'),
    row('&', formatIpv4(m), m, `   mask /${prefix}`),
    row('=', formatIpv4(sn), sn, '   source network'),
    row(' ', dst, d, '   destination'),
    row('&', formatIpv4(m), m, `   mask /${prefix}`),
    row('=', formatIpv4(dn), dn, '   destination network'),
    sameSubnet
      ? `${formatIpv4(sn)} = ${formatIpv4(dn)}: same subnet ${formatIpv4(sn)}/${prefix}, deliver directly, no gateway`
      : `${formatIpv4(sn)} ≠ ${formatIpv4(dn)}: ${dst} is outside ${formatIpv4(sn)}/${prefix}, send it to the default gateway`,
  ];
  return { src, dst, mask: formatIpv4(m), prefix, srcNetwork: formatIpv4(sn), dstNetwork: formatIpv4(dn), sameSubnet, lines };
}
