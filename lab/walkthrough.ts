// `npm run lab`: start the lab, walk the story, stop. The order path (seed §5 and §6) is here
// now; the DNS and CDN steps (seed §4) join it as those roles are built.
import path from 'node:path';
import { parseArgs } from 'node:util';
import fs from 'node:fs';
import { placeOrder } from '../client/order-client.ts';
import { describeOrderResult } from '../client/cli.ts';
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
    for (const r of lab.state.roles) console.log(`  ${r.name.padEnd(6)} ${r.protocol}://${r.host}:${r.port}  ${r.what}`);
    for (const note of lab.notes) console.log(`  note: ${note}`);
    console.log(`Certificates ${lab.certs.made.length ? `made now: ${lab.certs.made.join(', ')}` : 'reused'} (${rel(path.dirname(lab.state.rootCa))}/)`);
    console.log('');
    console.log('Step 1 (pictures via DNS and the CDN) is not built yet; the lab goes straight to the order.');
    console.log('');
    console.log(`Steps 2 and 3 — the connection and the order (${mode} mode, phone in the ${region})`);
    const slb = lab.state.roles.find((r) => r.name === 'slb')!;
    const result = await placeOrder({
      hostname: lab.state.shopHost,
      address: slb.host,
      port: slb.port,
      rootCaPem: fs.readFileSync(lab.state.rootCa, 'utf8'),
      mode,
      localAddress: clientAddress(region, lab.state.addressing),
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
