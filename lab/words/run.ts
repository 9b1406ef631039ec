// The walkthrough's words around the story, one catalogue per language (en/run.ts, zh/run.ts: the
// same exports, and the compiler holds zh/ to en/'s shape).
import { catalogue } from '../lang.ts';
import * as en from './en/run.ts';
import * as zh from './zh/run.ts';

export const runWords = catalogue('run', en, zh);
export type RunWords = ReturnType<typeof runWords>;
