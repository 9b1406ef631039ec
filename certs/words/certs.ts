// The certificate chain's words in both languages (lab/lang.ts).
import { catalogue } from '../../lab/lang.ts';
import { certs as en } from './en/certs.ts';
import { certs as zh } from './zh/certs.ts';

export const certsWords = catalogue('certs', en, zh);
