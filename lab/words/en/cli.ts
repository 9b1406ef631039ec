// What `npm run lab` itself says: its help, and the lines it prints when a command is unknown or
// fails. The command names, options and values are the same in every language.

export const cli = {
  usage: `usage: npm run lab [-- <command> [options]] [--lang zh|en]

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
  help           this text

  --lang zh|en   the language the lab speaks, with any command (default: from the locale, LC_ALL, LC_MESSAGES or LANG)`,
  unknownCommand: (name: string) => `unknown command "${name}"`,
  /** "--from must be north or south, not "x"" and its kin, said by many commands. */
  mustBe: (flag: string, choices: readonly string[], got: string | undefined) => `${flag} must be ${choices.join(' or ')}, not "${got}"`,
  portNumber: (flag: string, got: string) => `${flag} must be a port number 0-65535, not "${got}"`,
  noArguments: (command: string, got: readonly string[]) => `${command} takes no arguments (got ${got.join(' ')})`,
};
