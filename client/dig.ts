// `npm run lab -- dig <name>`: like `dig +trace`, but the walk shown is the one the lab's local
// DNS really did for this query. The phone sends one ordinary query (RD=1) to its local DNS; the
// resolver logs every resolution it makes (like dnstap), and this command finds its own query
// there by id and source port.
import fs from 'node:fs';
import { Packet, rcodeName, type DnsPacket } from '../servers/dns/dns-server.ts';
import { sendQuery, type DnsExchange } from '../servers/dns/query.ts';
import type { DnsRecordText, Resolution } from '../servers/dns/resolver.ts';
import { findRole, readState, type LabState } from '../lab/state.ts';
import { clientAddress, type Region } from '../lab/topology.ts';
import { words } from '../lab/story/words/index.ts';
import { parseCommandLine } from './command-line.ts';
import { digFetchWords } from './words/dig-fetch.ts';
// The words are the lab's (lab sits above client): this file only asks and finds.

/** What one `lab dig` found out, as facts (lab/story/words/dns.ts says them). */
export interface DigReport {
  question: { name: string; type: string };
  /** The phone's own address in the lab's addressing; none when every role shares one. */
  localAddress?: string;
  resolver: { host: string; port: number };
  /** The query as sent: its source port, DNS id and transport. */
  sourcePort: number;
  id: number;
  transport: 'udp' | 'tcp';
  /** What the local DNS did for this very query, from its walk log; missing if it logged nothing for it. */
  resolution?: Resolution;
  /** The answer: rcode, the header flags set (qr, aa, tc, rd, ra), how long it took, its records as dig shows their data. */
  rcode: string;
  flags: string[];
  ms: number;
  answers: DnsRecordText[];
  /** When the answer came from the GSLB: its TXT answer for the same name, its own explanation of the choice. */
  gslbTxt?: string[];
}

/** A record's data as dig prints it: the address, the name it points to, or a TXT's strings quoted. */
function recordText(r: DnsPacket['answers'][number]): DnsRecordText {
  const data = r.address ?? r.domain ?? r.ns ?? (Array.isArray(r.data) ? r.data.map((d) => `"${d}"`).join(' ') : String(r.data ?? ''));
  return { name: r.name, type: Packet.typeName(r.type), ttl: r.ttl, data };
}

/** The end of the resolver's walk log: the newest walks are there, and the file may be megabytes. */
function tailOf(file: string, bytes = 1024 * 1024): string {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const size = fs.fstatSync(fd).size;
    const start = Math.max(0, size - bytes);
    const buffer = Buffer.alloc(size - start);
    fs.readSync(fd, buffer, 0, buffer.length, start);
    return buffer.toString('utf8');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Find our own query in the resolver's log: same source port and id, most recent first. The
 * resolver writes its log just after the answer leaves, so look again for a moment if need be.
 */
async function findResolution(state: LabState, exchange: DnsExchange): Promise<Resolution | undefined> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const found = findIn(tailOf(state.walkLog), exchange);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
  return undefined;
}

function findIn(text: string, exchange: DnsExchange): Resolution | undefined {
  const lines = text.trimEnd().split('\n').reverse();
  for (const line of lines.slice(0, 500)) {
    try {
      const entry = JSON.parse(line) as Resolution & { clientPort: number; queryId: number };
      if (entry.clientPort === exchange.sourcePort && entry.queryId === exchange.id) return entry;
    } catch {
      /* a torn line: skip it */
    }
  }
  return undefined;
}

/** Ask the local DNS like the phone does, find the walk it made for that query, and (for a GSLB name) ask why. */
export async function dig(state: LabState, name: string, type: string, region: Region): Promise<DigReport> {
  const resolver = findRole(state, 'local-dns');
  const localAddress = clientAddress(region, state.addressing);
  const exchange = await sendQuery({ server: resolver, name, type, rd: true, localAddress });
  const response = exchange.response;
  const resolution = await findResolution(state, exchange);

  // If the chain went through the GSLB, ask it why it chose that edge (its TXT answer explains).
  const viaGslb = response.answers.find((r) => r.name.endsWith('gslb.cdn.test') && r.type === Packet.TYPE.A);
  const why = viaGslb && (await sendQuery({ server: resolver, name: viaGslb.name, type: 'TXT', rd: true, localAddress }));
  return {
    question: { name, type },
    ...(localAddress !== undefined && { localAddress }),
    resolver: { host: resolver.host, port: resolver.port },
    sourcePort: exchange.sourcePort,
    id: exchange.id,
    transport: exchange.transport,
    ...(resolution && { resolution }),
    rcode: rcodeName(response.header.rcode),
    flags: (['qr', 'aa', 'tc', 'rd', 'ra'] as const).filter((f) => response.header[f]),
    ms: exchange.ms,
    answers: response.answers.map(recordText),
    ...(why && { gslbTxt: why.response.answers.map((r) => (Array.isArray(r.data) ? r.data.join('') : String(r.data))) }),
  };
}

export async function digCommand(argv: string[]): Promise<number> {
  const say = digFetchWords();
  const { values, positionals } = parseCommandLine(
    {
      args: argv,
      allowPositionals: true,
      options: {
        type: { type: 'string', default: 'A' },
        from: { type: 'string', default: 'north' },
      },
    },
    say.digUsage,
  );
  const name = positionals[0];
  if (!name) throw new Error(say.digUsage);
  const region = values.from;
  if (region !== 'north' && region !== 'south') throw new Error(say.fromRegion(region));
  const report = await dig(readState(), name, values.type, region);
  for (const line of words().dns.digLines(report)) console.log(line);
  return report.rcode === 'NOERROR' ? 0 : 1;
}
