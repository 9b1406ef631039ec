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
import { netCommand } from './net-ns/cli.ts';
import { upCommand } from './up.ts';
import { walkthroughCommand } from './walkthrough.ts';

const USAGE = `usage: npm run lab [-- <command> [options]]

  (no command)   start every role, walk the story, stop       [--mode classic|modern] [--from north|south] [--json] [--stay] [--no-capture] [--fault NAME ...]
  up             start every role and stay up until Ctrl-C     [--single-address] [--ephemeral] [--slb-port N] [--tls both|classic|modern]
  status         what each role of the running lab is doing (up, crashed, stopped, failed)
  role NAME stop|restart|crash   break one role of the running lab on purpose, or bring it back
  faults         the workshop's faults: what each breaks, and whether it is on in the running lab
  fault NAME on|off   switch one fault on in the running lab (edge-down, slow-origin, expired-leaf, ...), or off again
  order          place the seed's order against a running lab  [--mode classic|modern] [--from north|south] [--key K] [--name HOST] [--ca FILE]
  dig NAME       ask the local DNS like the phone does, and show its walk   [--type A] [--from north|south]
  fetch PATH     get a picture through the CDN like the phone does           [--from north|south] [--head]
  certs          make or reuse the lab's CA chain and print it [--renew] [--dir DIR]
  slb            run the SLB alone                             [--listen HOST:PORT] [--backend [NAME=]URL ...] [--tls both|classic|modern] [--classic-port N]
  app            run one app server alone                      [--name NAME] [--listen HOST:PORT] [--store FILE]
  cache          run one CDN cache alone, in front of any URL  --upstream URL [--name NAME] [--listen HOST:PORT] [--hostname NAME] [--max-bytes 64m]
  origin         run the CDN's origin alone                    [--listen HOST:PORT] [--dir DIR]
  net up|down|plan   the lab's network of namespaces alone (Linux, root): build it and stay until Ctrl-C,
                 remove what earlier runs left, or print the plan     [--delay KIND=MS] [--all] [--json] [--commands]
  browser        a real browser as the phone on a running lab: the shop's page, pictures via the CDN, the order button
                 (Chromium and certutil; in the phone's namespace with up --net ns)   [--from north|south] [--check: headless, place the order, print JSON]
  exercises [N]  the workshop's exercises, or one page with this lab's addresses
  check N name=value …   check your answer to exercise N (against the running lab)   [--all: every exercise, a summary to hand in]
  help           this text`;

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
    console.log(USAGE);
    return 0;
  }
  if (first === undefined || first.startsWith('-')) return walkthroughCommand(argv);
  const command = commands[first];
  if (!command) {
    console.error(`lab: unknown command "${first}"\n\n${USAGE}`);
    return 2;
  }
  return command(rest);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`lab: ${err.message}`);
    process.exit(1);
  },
);
