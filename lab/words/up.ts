// The long-running lab's words in both languages (lab/lang.ts): `up`, `status`, `role`, the
// supervisor's lines, and the errors of state.json, the control socket and role processes.
import { catalogue } from '../lang.ts';
import { up as en } from './en/up.ts';
import { up as zh } from './zh/up.ts';

export const upWords = catalogue('up', en, zh);
