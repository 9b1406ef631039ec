// `npm run lab [-- command]`: the lab's one entry point. Each command lives next to the role it
// drives; this file only dispatches and turns errors into one clear line and an exit code.
import { certsCommand } from '../certs/cli.ts';
import { orderCommand } from '../client/cli.ts';
import { digCommand } from '../client/dig.ts';
import { fetchCommand } from '../client/cdn-client.ts';
import { appCommand } from '../servers/order-service-cli.ts';
import { slbCommand } from '../servers/slb-cli.ts';
import { cacheCommand } from '../servers/cdn/cache-cli.ts';
import { originCommand } from '../servers/cdn/origin.ts';
import { browserCommand } from './browser.ts';
import { checkCommand, exercisesCommand } from './exercises/cli.ts';
import { faultCommand, faultsCommand } from './faults.ts';
import { roleCommand, statusCommand } from './control.ts';
import { setLang, takeLangFlag } from './lang.ts';
import { cliWords, errorText, isArgsError } from './words/cli.ts';
import { netCommand } from './net-ns/cli.ts';
import { upCommand } from './up.ts';
import { walkthroughCommand } from './walkthrough.ts';

const commands: Record<string, (argv: string[]) => Promise<number>> = {
  up: upCommand,
  status: statusCommand,
  role: roleCommand,
  faults: faultsCommand,
  fault: faultCommand,
  order: orderCommand,
  dig: digCommand,
  fetch: fetchCommand,
  certs: certsCommand,
  slb: slbCommand,
  app: appCommand,
  cache: cacheCommand,
  origin: originCommand,
  net: netCommand,
  browser: browserCommand,
  exercises: exercisesCommand,
  check: checkCommand,
};

async function main(all: string[]): Promise<number> {
  // --lang zh|en goes with any command: it sets the process's language (and its children's) first.
  const { rest: argv, lang, error } = takeLangFlag(all);
  if (error) {
    console.error(`lab: ${error}`);
    return 2;
  }
  if (lang) setLang(lang);
  const [first, ...rest] = argv;
  if (first === 'help' || first === '--help' || first === '-h') {
    console.log(cliWords().usage);
    return 0;
  }
  if (first === undefined || first.startsWith('-')) return walkthroughCommand(argv);
  const command = commands[first];
  if (!command) {
    console.error(`lab: ${cliWords().unknownCommand(first)}\n\n${cliWords().usage}`);
    return 2;
  }
  return command(rest);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    // A mistyped option (Node's parseArgs) is said in the learner's language, naming the option.
    console.error(`lab: ${errorText(err)}`);
    process.exit(isArgsError(err) ? 2 : 1);
  },
);
