// The servers' run-alone commands' words in both languages (lab/lang.ts).
import { catalogue } from '../net/lang.ts';
import { serversCli as en } from './en/cli.ts';
import { serversCli as zh } from './zh/cli.ts';

export const serversCliWords = catalogue('servers-cli', en, zh);
