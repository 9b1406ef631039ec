// parseArgs for `lab dig` and `lab fetch`, with its errors in the learner's language: Node's own
// message is English, so the option and what was wrong with it are taken out of it as facts.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { digFetchWords, type BadOption } from './words/dig-fetch.ts';

/** parseArgs(config), or an Error that names the bad option and shows `usage`. */
export function parseCommandLine<T extends ParseArgsConfig>(config: T, usage: string): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    const bad = badOptionOf(err);
    if (!bad) throw err;
    throw new Error(digFetchWords().badOption(bad, usage));
  }
}

/** parseArgs's error as facts; undefined for anything that is not a command-line error. */
export function badOptionOf(err: unknown): BadOption | undefined {
  const e = err as NodeJS.ErrnoException;
  const kind = e?.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? 'unknown' : e?.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' ? 'bad-value' : undefined;
  if (!kind) return undefined;
  // Node names the option in quotes: "Unknown option '--x'. …", "Option '--type <value>' argument missing".
  const option = /'(-[^']*)'/.exec(e.message)?.[1];
  return { kind, ...(option !== undefined && { option }), message: e.message };
}
