// Zones as data, and the rule an authoritative server follows to answer from them
// (RFC 1034 §4.3.2, simplified to what the lab needs).
//
// Given a question, the server looks in the zone that holds the name and finds exactly one of:
//   answer    the name has records of the asked type              → AA, records in ANSWER
//   cname     the name is an alias                                → AA, the CNAME (and what it
//             points to, when that is in the same zone)
//   referral  the name is below a zone cut (NS records that are    → no AA, NS in AUTHORITY,
//             not the apex): someone else is authoritative           glue A in ADDITIONAL
//   nodata    the name exists but has no records of that type      → AA, SOA in AUTHORITY
//   nxdomain  the name does not exist                              → AA, SOA in AUTHORITY
//   refused   the name is in none of this server's zones           → REFUSED, nothing else

export type RecordType = 'A' | 'AAAA' | 'NS' | 'CNAME' | 'SOA' | 'TXT' | 'MX';

export interface SoaData {
  primary: string;
  admin: string;
  serial: number;
  refresh: number;
  retry: number;
  expiration: number;
  /** The TTL for negative answers (RFC 2308). */
  minimum: number;
}

export interface ZoneRecord {
  /** Absolute, lower case, no trailing dot; '' is the root. */
  name: string;
  type: RecordType;
  ttl: number;
  /** A/AAAA: an address; NS/CNAME: a name; TXT: text; MX: "10 mail.example.test"; SOA: SoaData */
  data: string | SoaData;
}

export interface Zone {
  /** The apex, e.g. 'geektime.test'; '' for the root zone. */
  origin: string;
  records: ZoneRecord[];
}

export type Verdict =
  | { kind: 'answer' | 'cname'; answers: ZoneRecord[]; additionals: ZoneRecord[] }
  | { kind: 'referral'; cut: string; authorities: ZoneRecord[]; additionals: ZoneRecord[] }
  | { kind: 'nodata' | 'nxdomain'; authorities: ZoneRecord[] }
  | { kind: 'refused' };

export function normalize(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** Is `name` equal to `zone` or below it? Every name is below the root ''. */
export function isInZone(name: string, zone: string): boolean {
  return zone === '' || name === zone || name.endsWith(`.${zone}`);
}

/** The parent of a name: 'www.geektime.test' → 'geektime.test' → 'test' → ''. */
function parentOf(name: string): string {
  const dot = name.indexOf('.');
  return dot < 0 ? '' : name.slice(dot + 1);
}

/** The zone that holds `name`: the one with the longest matching origin. */
export function findZone(zones: Zone[], name: string): Zone | undefined {
  return zones.filter((z) => isInZone(name, z.origin)).sort((a, b) => b.origin.length - a.origin.length)[0];
}

function recordsAt(zone: Zone, name: string, type?: RecordType): ZoneRecord[] {
  return zone.records.filter((r) => r.name === name && (type === undefined || r.type === type));
}

/** The SOA for negative answers: its TTL lowered to the SOA minimum, as RFC 2308 §3 asks. */
function negativeSoa(zone: Zone): ZoneRecord[] {
  const soa = recordsAt(zone, zone.origin, 'SOA')[0];
  if (!soa) return [];
  return [{ ...soa, ttl: Math.min(soa.ttl, (soa.data as SoaData).minimum) }];
}

/** Addresses for name servers (or mail servers) that this zone itself holds. */
function addressesFor(zone: Zone, targets: string[], within: string): ZoneRecord[] {
  return targets
    .filter((target) => isInZone(target, within)) // only in-bailiwick data: anything else would be a guess
    .flatMap((target) => [...recordsAt(zone, target, 'A'), ...recordsAt(zone, target, 'AAAA')]);
}

function targetOf(record: ZoneRecord): string {
  const data = record.data as string;
  return record.type === 'MX' ? data.split(/\s+/)[1] ?? '' : data;
}

export function lookup(zones: Zone[], qname: string, qtype: RecordType | 'ANY', cnameHops = 0): Verdict {
  const name = normalize(qname);
  const zone = findZone(zones, name);
  if (!zone) return { kind: 'refused' };

  // 1. A zone cut between the apex and the name: delegate, do not answer.
  for (let cut = name; cut !== zone.origin && isInZone(cut, zone.origin); cut = parentOf(cut)) {
    const ns = recordsAt(zone, cut, 'NS');
    if (ns.length > 0) {
      return { kind: 'referral', cut, authorities: ns, additionals: addressesFor(zone, ns.map(targetOf), cut) };
    }
  }

  // 2. The name itself.
  const here = recordsAt(zone, name);
  if (here.length > 0) {
    const matching = qtype === 'ANY' ? here : here.filter((r) => r.type === qtype);
    if (matching.length > 0) {
      const targets = matching.filter((r) => r.type === 'NS' || r.type === 'MX').map(targetOf);
      return { kind: 'answer', answers: matching, additionals: addressesFor(zone, targets, zone.origin) };
    }
    const cname = here.find((r) => r.type === 'CNAME');
    if (cname) {
      // An alias. If the target is ours too, answer it in the same message (saves the resolver a
      // query); if it is in another zone, the resolver has to go and ask there.
      const target = normalize(cname.data as string);
      // (At most 8 hops, so that two aliases pointing at each other cannot loop forever.)
      const follow = findZone([zone], target) === zone && cnameHops < 8;
      const rest = follow ? lookup([zone], target, qtype, cnameHops + 1) : undefined;
      const more = rest && (rest.kind === 'answer' || rest.kind === 'cname') ? rest.answers : [];
      return { kind: 'cname', answers: [cname, ...more], additionals: [] };
    }
    return { kind: 'nodata', authorities: negativeSoa(zone) };
  }

  // 3. Nothing at the name. If some name below it exists, it is an "empty non-terminal": it
  //    exists (NODATA), it just has no records of its own.
  const emptyNonTerminal = zone.records.some((r) => r.name.endsWith(`.${name}`) || (name === '' && r.name !== ''));
  return { kind: emptyNonTerminal ? 'nodata' : 'nxdomain', authorities: negativeSoa(zone) };
}
