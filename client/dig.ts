// `npm run lab -- dig <name>`: like `dig +trace`, but the walk shown is the one the lab's local
// DNS really did for this query. The phone sends one ordinary query (RD=1) to its local DNS; the
// resolver logs every resolution it makes (like dnstap), and this command finds its own query
// there by id and source port.
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { Packet, rcodeName, type DnsPacket } from '../servers/dns/dns-server.ts';
import { sendQuery, type DnsExchange } from '../servers/dns/query.ts';
import type { Resolution } from '../servers/dns/resolver.ts';
import { findRole, readState, type LabState } from '../lab/state.ts';
import { clientAddress, type Region } from '../lab/topology.ts';
// The words are the lab's (lab sits above client): this file only asks and finds.
import { recordLine, walkLines } from '../lab/story/words/dns.ts';

function answerLines(packet: DnsPacket): string[] {
  return packet.answers.map((r) => {
    const type = Packet.typeName(r.type);
    const data = r.address ?? r.domain ?? r.ns ?? (Array.isArray(r.data) ? r.data.map((d) => `"${d}"`).join(' ') : String(r.data ?? ''));
    return `  ${recordLine({ name: r.name, type, ttl: r.ttl, data })}`;
  });
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

export async function digCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      type: { type: 'string', default: 'A' },
      from: { type: 'string', default: 'north' },
    },
  });
  const name = positionals[0];
  if (!name) throw new Error('usage: npm run lab -- dig <name> [--type A] [--from north|south]');
  const region = values.from;
  if (region !== 'north' && region !== 'south') throw new Error(`--from must be north or south, not "${region}"`);
  const state = readState();
  const resolver = findRole(state, 'local-dns');
  const localAddress = clientAddress(region as Region, state.addressing);

  const exchange = await sendQuery({ server: resolver, name, type: values.type, rd: true, localAddress });
  const response = exchange.response;
  const flags = (['qr', 'aa', 'tc', 'rd', 'ra'] as const).filter((f) => response.header[f]).join(' ');
  console.log(`The phone (${localAddress ?? '127.0.0.1'}:${exchange.sourcePort}) asked its local DNS ${resolver.host}:${resolver.port}: ${values.type} ${name}? (id ${exchange.id}, ${exchange.transport})`);
  const resolution = await findResolution(state, exchange);
  if (resolution) for (const line of walkLines(resolution)) console.log(line);
  else console.log('(the local DNS logged no walk for this query)');
  console.log(`Answer: ${rcodeName(response.header.rcode)}, flags: ${flags}, ${exchange.ms} ms`);
  for (const line of answerLines(response)) console.log(line);

  // If the chain went through the GSLB, ask it why it chose that edge (its TXT answer explains).
  const viaGslb = response.answers.find((r) => r.name.endsWith('gslb.cdn.test') && r.type === Packet.TYPE.A);
  if (viaGslb) {
    const why = await sendQuery({ server: resolver, name: viaGslb.name, type: 'TXT', rd: true, localAddress });
    for (const r of why.response.answers) console.log(`The GSLB's reasoning: ${Array.isArray(r.data) ? r.data.join('') : String(r.data)}`);
  }
  console.log(`Same question with dig: dig @${resolver.host} -p ${resolver.port} ${name} ${values.type}${localAddress ? ` -b ${localAddress}` : ''}`);
  return response.header.rcode === 0 ? 0 : 1;
}
