// An authoritative DNS server: it answers only from its own zones, never asks anyone else.
// One implementation serves the root, the `test.` TLD, the shop's zone and the CDN's zone; each
// instance gets its own zones and its own address (see lab-zones.ts for the data).
//
// The decision is made in zone.ts (answer, CNAME, referral, NODATA, NXDOMAIN, REFUSED); this
// file turns it into a DNS message with the right flags and sections:
//   AA (authoritative answer) on answers and negative answers from our own data, never on referrals;
//   RA (recursion available) never: an authoritative server does not recurse for anyone.
import { startDnsServer, Packet, responseTo, rcodeName, type DnsPacket, type DnsRecord, type RunningDnsServer, type TcpOptions } from './dns-server.ts';
import { lookup, type RecordType, type SoaData, type Zone, type ZoneRecord } from './zone.ts';

export interface AuthoritativeOptions extends TcpOptions {
  name: string;
  host: string;
  port: number;
  zones: Zone[];
  log?: (line: string) => void;
}

const TYPES: RecordType[] = ['A', 'AAAA', 'NS', 'CNAME', 'SOA', 'TXT', 'MX'];

/** Our record → dns2's resource object. */
export function toResource(record: ZoneRecord): DnsRecord {
  const base = { name: record.name, type: Packet.TYPE[record.type], class: Packet.CLASS.IN, ttl: record.ttl };
  switch (record.type) {
    case 'A':
    case 'AAAA':
      return { ...base, address: record.data as string } as DnsRecord;
    case 'NS':
      return { ...base, ns: record.data as string } as DnsRecord;
    case 'CNAME':
      return { ...base, domain: record.data as string } as DnsRecord;
    case 'TXT':
      return { ...base, data: splitText(record.data as string) } as DnsRecord;
    case 'MX': {
      const [priority, exchange] = (record.data as string).split(/\s+/);
      return { ...base, priority: Number(priority), exchange } as DnsRecord;
    }
    case 'SOA':
      return { ...base, ...(record.data as SoaData) } as DnsRecord;
  }
}

/**
 * Zones do not change while a server answers from them, so each record is turned into dns2's
 * shape once, and frozen: every answer that holds it shares it.
 */
const resources = new WeakMap<ZoneRecord, DnsRecord>();
function resourceOf(record: ZoneRecord): DnsRecord {
  let resource = resources.get(record);
  if (!resource) resources.set(record, (resource = Object.freeze(toResource(record))));
  return resource;
}

/** A TXT record holds strings of at most 255 bytes each (RFC 1035 §3.3.14). */
export function splitText(text: string): string[] {
  const parts: string[] = [];
  let rest = Buffer.from(text);
  while (rest.length > 255) {
    let cut = 255;
    while (cut > 0 && (rest[cut]! & 0xc0) === 0x80) cut--; // do not split a UTF-8 character
    parts.push(rest.subarray(0, cut).toString());
    rest = rest.subarray(cut);
  }
  parts.push(rest.toString());
  return parts;
}

/** Answer one question from `zones`. Exported so tests and the GSLB can use the same rules. */
export function answerFromZones(zones: Zone[], request: DnsPacket): { response: DnsPacket; kind: string } {
  const question = request.questions[0]!;
  const typeName = Packet.typeName(question.type);
  const qtype = typeName === 'ANY' ? 'ANY' : (TYPES.find((t) => t === typeName) ?? null);
  if (question.class !== Packet.CLASS.IN) {
    return { response: responseTo(request, Packet.RCODE.REFUSED), kind: 'refused (class)' };
  }
  // A type we hold no data for still gets a proper negative answer, not an error.
  const verdict = lookup(zones, question.name, qtype ?? ('NONE' as RecordType));
  const response = responseTo(request);
  switch (verdict.kind) {
    case 'refused':
      response.header.rcode = Packet.RCODE.REFUSED;
      break;
    case 'answer':
    case 'cname':
      response.header.aa = 1;
      response.answers.push(...verdict.answers.map(resourceOf));
      response.additionals.push(...verdict.additionals.map(resourceOf));
      break;
    case 'referral':
      response.authorities.push(...verdict.authorities.map(resourceOf));
      response.additionals.push(...verdict.additionals.map(resourceOf));
      break;
    case 'nodata':
      response.header.aa = 1;
      response.authorities.push(...verdict.authorities.map(resourceOf));
      break;
    case 'nxdomain':
      response.header.aa = 1;
      response.header.rcode = Packet.RCODE.NXDOMAIN;
      response.authorities.push(...verdict.authorities.map(resourceOf));
      break;
  }
  const kind = verdict.kind === 'referral' ? `referral to ${verdict.cut}.` : verdict.kind;
  return { response, kind };
}

export function startAuthoritative(opts: AuthoritativeOptions): Promise<RunningDnsServer> {
  const log = opts.log ?? (() => {});
  return startDnsServer({
    name: opts.name,
    host: opts.host,
    port: opts.port,
    log,
    tcpLimits: opts.tcpLimits, tcpIdleMs: opts.tcpIdleMs, tcpMaxPending: opts.tcpMaxPending,
    handle: (request, context) => {
      const question = request.questions[0]!;
      const { response, kind } = answerFromZones(opts.zones, request);
      log(
        `${opts.name}: ${context.client.address}:${context.client.port} ${context.transport} ` +
          `${Packet.typeName(question.type)} ${question.name || '.'}? → ${rcodeName(response.header.rcode)} ${kind}`,
      );
      return response;
    },
  });
}
