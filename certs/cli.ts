// `npm run lab -- certs [--renew] [--dir <path>]`: make (or reuse) the lab's certificate
// chain, explain it, and show how to check it with openssl, independently of this code.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { labDir } from '../lab/paths.ts';
import { ensureChain } from './chain.ts';
import { describeChain } from './describe.ts';
import { errorText } from '../lab/words/cli.ts';
import { padEndWidth } from '../lab/text-width.ts';
import { certsWords } from './words/certs.ts';

/** Quote a path for a POSIX shell only when it needs it, so commands stay copy-pasteable. */
function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export async function certsCommand(argv: string[]): Promise<number> {
  const said = certsWords();
  let values: { renew?: boolean; dir?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        renew: { type: 'boolean' },
        dir: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    console.error(`${errorText(err)}\n${said.usage}`);
    return 2;
  }
  if (values.help) {
    console.log(`${said.usage}\n${said.help(path.join(labDir(), 'certs'))}`);
    return 0;
  }

  const dir = path.resolve(values.dir ?? path.join(labDir(), 'certs'));
  let result;
  try {
    result = ensureChain({ dir, renew: values.renew ?? false });
  } catch (err) {
    console.error(said.cannotMake(dir, (err as Error).message));
    return 1;
  }
  const { files, made, reasons } = result;

  // 1. What happened to each file, and why.
  // The files' own names (root, leaf, chain.crt…) on the left, as on disk.
  console.log(said.chainIn(files.dir));
  for (const role of ['root', 'intermediate', 'leaf', 'cdn'] as const) {
    const reason = reasons.find((r) => r.startsWith(`${role}:`));
    const verdict = made.includes(role) ? said.made(reason?.slice(role.length + 2)) : said.reused;
    console.log(`  ${padEndWidth(role, 13)} ${verdict}`);
  }
  console.log(`  chain.crt     ${said.chainCrt}`);
  console.log(`  cdn-chain.crt ${said.cdnChainCrt}\n`);

  // 2. What is in the certificates, and who signed whom.
  const read = (file: string) => fs.readFileSync(file, 'utf8');
  console.log(describeChain([read(files.leafCert), read(files.intermediateCert)], read(files.rootCert)));

  // 3. Check it yourself with a different tool.
  const verify = `openssl verify -CAfile ${shellQuote(files.rootCert)} -untrusted ${shellQuote(files.intermediateCert)}`;
  console.log(`\n${said.checkYourself}`);
  console.log(`  ${verify} ${shellQuote(files.leafCert)}`);
  console.log(`  ${verify} -purpose sslserver ${shellQuote(files.leafCert)}`);
  console.log(`  ${verify} -purpose sslserver ${shellQuote(files.cdnCert)}`);
  return 0;
}
