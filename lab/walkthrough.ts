// `npm run lab`: start the lab, walk the story, stop. DNS (seed §4) and the order path (§5, §6)
// are here; the CDN's caches join step 1 when they are built.
import path from 'node:path';
import { parseArgs } from 'node:util';
import fs from 'node:fs';
import { placeOrder } from '../client/order-client.ts';
import { describeOrderResult } from '../client/cli.ts';
import { describeWalk, recordLine } from '../client/dig.ts';
import { stubLookup, stubResolve } from '../client/stub-resolver.ts';
import type { GslbDecision } from '../servers/dns/gslb.ts';
import { STATIC_HOST } from '../servers/dns/lab-zones.ts';
import { parseTlsMode } from './tls-modes.ts';
import { clientAddress } from './topology.ts';
import { startLab } from './up.ts';
import { displayPath } from './state.ts';

export async function walkthroughCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      mode: { type: 'string', default: 'classic' },
      from: { type: 'string', default: 'north' },
      'single-address': { type: 'boolean', default: false },
      ephemeral: { type: 'boolean', default: false },
    },
  });
  const mode = parseTlsMode(values.mode, 'classic');
  const region = values.from;
  if (region !== 'north' && region !== 'south') throw new Error(`--from must be north or south, not "${region}"`);

  const started = Date.now();
  const serverLines: string[] = [];
  const lab = await startLab({
    addressing: values['single-address'] ? 'single' : undefined,
    ephemeral: values.ephemeral,
    log: (line) => serverLines.push(line),
  });
  try {
    const rel = displayPath;
    console.log(`The lab is up in ${Date.now() - started} ms (${lab.state.addressing === 'per-role' ? 'one loopback address per role' : 'one address, one port per role'}):`);
    for (const r of lab.state.roles) console.log(`  ${r.name.padEnd(9)} ${`${r.protocol}://${r.host}:${r.port}`.padEnd(26)} ${r.what}`);
    for (const note of lab.notes) console.log(`  note: ${note}`);
    console.log(`Certificates ${lab.certs.made.length ? `made now: ${lab.certs.made.join(', ')}` : 'reused'} (${rel(path.dirname(lab.state.rootCa))}/)`);
    console.log('');
    const phone = clientAddress(region, lab.state.addressing);
    const localDns = lab.state.roles.find((r) => r.name === 'local-dns')!;
    const stub = { resolver: { host: localDns.host, port: localDns.port }, localAddress: phone };

    /** The phone asks its local DNS; the lab shows what the resolver did for that very query. */
    const lookUp = async (name: string) => {
      const decisions: GslbDecision[] = [];
      const onDecision = (d: GslbDecision) => decisions.push(d);
      lab.gslb.events.on('decision', onDecision);
      try {
        const answer = await stubResolve(name, stub);
        console.log(`  The phone (${phone ?? '127.0.0.1'}:${answer.sourcePort}) asks its local DNS ${localDns.host}:${localDns.port}: A ${name}? (id ${answer.id})`);
        const resolution = lab.resolver.resolutionFor({ address: phone ?? '127.0.0.1', port: answer.sourcePort }, answer.id);
        if (resolution) for (const line of describeWalk(resolution)) console.log(`  ${line}`);
        for (const d of decisions) console.log(`  The GSLB chose ${d.chosen.name} ${d.chosen.address}: ${d.why} (client ${d.client} by ${d.source === 'ecs' ? 'EDNS Client Subnet' : 'source address'}, region ${d.region})`);
        console.log(`  Answer for the phone:`);
        for (const r of answer.chain) console.log(`    ${recordLine(r)}`);
        return answer;
      } finally {
        lab.gslb.events.off('decision', onDecision);
      }
    };

    console.log(`Step 1 — the pictures' server name (seed §4), phone in the ${region}`);
    const pictures = await lookUp(STATIC_HOST);
    console.log('  Asked again a moment later:');
    await lookUp(STATIC_HOST);
    console.log(`  (The CDN's edge caches themselves are not built yet: the picture download is left out; ${pictures.addresses[0]} is where it would go.)`);
    console.log('');
    console.log(`Steps 2 and 3 — the connection and the order (${mode} mode)`);
    await lookUp(lab.state.shopHost);
    const slb = lab.state.roles.find((r) => r.name === 'slb')!;
    const result = await placeOrder({
      hostname: lab.state.shopHost,
      lookup: stubLookup(stub),
      port: slb.port,
      rootCaPem: fs.readFileSync(lab.state.rootCa, 'utf8'),
      mode,
      localAddress: phone,
      idempotencyKey: `walkthrough-${Date.now()}`,
    });
    for (const line of describeOrderResult(result)) console.log(`  ${line}`);
    console.log('What the servers logged:');
    for (const line of serverLines) console.log(`  | ${line}`);
    console.log(`TLS key log for Wireshark: ${rel(lab.state.keyLog)}; orders on disk: ${rel(lab.state.orderLog)}`);
    if (result.status !== 201) throw new Error(`the order was not accepted: ${result.status} ${JSON.stringify(result.body)}`);
    console.log(`Done in ${Date.now() - started} ms.`);
    return 0;
  } finally {
    await lab.stop();
  }
}
