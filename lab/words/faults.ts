// The faults' words in both languages (lab/lang.ts).
import { catalogue } from '../lang.ts';
import { faults as en } from './en/faults.ts';
import { faults as zh } from './zh/faults.ts';

export type { FaultFacts } from './en/faults.ts';
export const faultWords = catalogue('faults', en, zh);
