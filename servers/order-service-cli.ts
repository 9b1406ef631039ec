// One app server on its own: `npm run lab -- app --name app-1 --listen 127.0.0.81:8080`, or
// `npx tsx servers/order-service-cli.ts ...`. A workshop can run it on another machine and point
// an SLB at it.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { parseHostPort } from './net/listen.ts';
import { labDir } from './net/paths.ts';
import { OrderStore } from './order-store.ts';
import { startOrderServer } from './order-service.ts';
import { errorText } from './words/args.ts';
import { serversCliWords } from './words/cli.ts';

/** Start one app server and keep it up until Ctrl-C (SIGINT) or SIGTERM. Returns the exit code. */
export async function appCommand(argv: string[]): Promise<number> {
  const said = serversCliWords();
  const USAGE = said.appUsage(path.join(labDir(), 'orders.jsonl'));
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        name: { type: 'string', default: 'app-1' },
        listen: { type: 'string', default: '127.0.0.1:8081' },
        store: { type: 'string', default: path.join(labDir(), 'orders.jsonl') },
        'trust-proxy': { type: 'string', multiple: true, default: [] },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    console.error(`app: ${errorText(err)}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const where = parseHostPort(values.listen);
  if (!where) {
    console.error(`app: ${said.listenWants('127.0.0.81:8080', values.listen)}\n${USAGE}`);
    return 2;
  }

  let store: OrderStore;
  try {
    store = OrderStore.open(values.store, { log: (line) => console.warn(`app: ${line}`) });
  } catch (err) {
    console.error(`app: ${said.cannotOpenOrderLog((err as Error).message)}`);
    return 1;
  }

  const name = values.name;
  let running;
  try {
    running = await startOrderServer({ name, store, host: where.host, port: where.port, log: console.log, trustedProxies: values['trust-proxy'] });
  } catch (err) {
    store.close();
    console.error((err as Error).message); // listen() already names the role, the address and the fix
    return 1;
  }
  // Listen for Ctrl-C before saying where it listens: a script may signal it as soon as it reads that.
  const stopAsked = new Promise<NodeJS.Signals>((resolve) => {
    const stop = (sig: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(sig);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  console.log(said.appListening(name, running.url));
  console.log(said.appOrderLog(name, store.file, store.count));
  if (store.problems.length > 0) {
    // Each was told above with its line number; this is the summary an operator cannot miss.
    const where = store.problems.map((p) => p.line).join(', ');
    console.warn(said.appUnreadable(name, store.problems.length, where, store.damagedFile));
  }

  const signal = await stopAsked;

  // Finish the requests in flight first, then close the log: an order being written still lands.
  console.log(said.finishing(name, signal));
  await running.close();
  store.close();
  console.log(said.stopped(name));
  return 0;
}

// Run directly (not imported by the lab's CLI): start from the command line.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.exitCode = await appCommand(process.argv.slice(2));
}
