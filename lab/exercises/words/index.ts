// The workshop's words, one catalogue per language (en.ts, zh.ts: the same shape, checked by the
// compiler). Checkers ask say() for the process's language; the runner and tests may ask for one.
import { catalogue } from '../../lang.ts';
import { en } from './en.ts';
import { zh } from './zh.ts';

export const say = catalogue('exercises', en, zh);
export type { Words } from './en.ts';
