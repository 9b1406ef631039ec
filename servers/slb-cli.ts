// `npm run lab -- slb`: the SLB alone, in front of any app servers (for workshops across machines).
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chainFiles } from '../certs/chain.ts';
import { parseHostPort } from './net/listen.ts';
import { parseSlbTlsMode } from './net/tls-modes.ts';
import { labDir } from './net/paths.ts';
import { startSlb } from './slb.ts';
import { serversCliWords } from './words/cli.ts';

export async function slbCommand(argv: string[]): Promise<number> {
  const said = serversCliWords();
  const { values } = parseArgs({
    args: argv,
    options: {
      listen: { type: 'string', default: '127.0.0.80:8443' },
      backend: { type: 'string', multiple: true },
      cert: { type: 'string' },
      key: { type: 'string' },
      name: { type: 'string', multiple: true },
      tls: { type: 'string', default: 'both' },
      'classic-port': { type: 'string', default: '4433' },
      keylog: { type: 'string' },
      'health-from': { type: 'string' },
    },
  });
  const files = chainFiles(path.join(labDir(), 'certs'));
  const where = parseHostPort(values.listen);
  if (!where) throw new Error(`slb: ${said.listenWantsNot('127.0.0.80:8443', values.listen)}`);
  const backends = (values.backend ?? ['http://127.0.0.81:8080', 'http://127.0.0.82:8080']).map((spec, i) => {
    // --backend app-1=http://10.0.0.5:8080, or just the URL
    const eq = spec.indexOf('=');
    return eq > 0 ? { name: spec.slice(0, eq), url: spec.slice(eq + 1) } : { name: `app-${i + 1}`, url: spec };
  });
  const mode = parseSlbTlsMode(values.tls, 'both');
  const classicPort = Number(values['classic-port']);
  if (!Number.isInteger(classicPort) || classicPort < 0 || classicPort > 65535) throw new Error(said.portNumber('--classic-port', values['classic-port']));
  const certFile = values.cert ?? files.fullChain;
  const keyFile = values.key ?? files.leafKey;
  const readPem = (file: string, what: 'chain' | 'key') => {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch {
      throw new Error(`slb: ${said.cannotRead(what, file)}`);
    }
  };
  const slb = await startSlb({
    host: where.host,
    port: where.port,
    cert: readPem(certFile, 'chain'),
    key: readPem(keyFile, 'key'),
    serverNames: values.name ?? ['www.geektime.test', 'geektime.test'],
    backends,
    tls: mode,
    classicPort,
    keyLogFile: values.keylog ?? path.join(labDir(), 'keylog.txt'),
    healthCheckFrom: values['health-from'],
  });
  const classic = slb.classicPort !== undefined && slb.classicPort !== slb.port ? `${slb.host}:${slb.classicPort}` : undefined;
  // Listen for Ctrl-C before saying where it listens: a script may signal it as soon as it reads that.
  const stopAsked = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  console.log(said.slbListening(`${slb.host}:${slb.port}`, mode, classic, backends.map((b) => `${b.name}=${b.url}`).join(', ')));
  await stopAsked;
  await slb.close();
  return 0;
}
