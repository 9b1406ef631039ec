// The words of the lab's command line, in both languages (lab/lang.ts): its help and its errors.
// Node's parseArgs errors are said again in the learner's language by servers/words/args.ts (the
// servers' own commands need it too, and servers/ imports nothing from lab/words).
import { catalogue } from '../lang.ts';
import { cli as en } from './en/cli.ts';
import { cli as zh } from './zh/cli.ts';

export const cliWords = catalogue('cli', en, zh);
export { errorText, isArgsError } from '../../servers/words/args.ts';
