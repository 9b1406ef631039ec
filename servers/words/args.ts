// A mistyped command line in the learner's language: every command of the lab and of the servers
// run alone parses its options with Node's parseArgs, whose errors are English.
import { catalogue, type Lang } from '../net/lang.ts';
import { args as en } from './en/args.ts';
import { args as zh } from './zh/args.ts';

export const argsWords = catalogue('args', en, zh);

/** Node's parseArgs found a mistyped command line (a usage error: exit 2). */
export function isArgsError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

/**
 * A parseArgs error (ERR_PARSE_ARGS_*) in the learner's language, naming the option as typed; any
 * other error's own message. English keeps Node's words.
 */
export function errorText(err: unknown, l?: Lang): string {
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const said = argsWords(l);
  // Node quotes what it means: "Unknown option '--foo'", "Option '-f, --from <value>' argument missing".
  const quoted = /'([^']*)'/.exec(message)?.[1] ?? '';
  const option = quoted.replace(/ <value>$/, '').replace(/^-\w, /, '');
  switch (e?.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return said.unknownOption(option, message);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return / argument missing$/.test(message) ? said.missingValue(option, message) : said.takesNoValue(option, message);
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return said.unexpectedArgument(option, message);
    default:
      return message;
  }
}
