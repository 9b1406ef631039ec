// The namespace network's words, one catalogue per language (en.ts, zh.ts: the same exports, and
// the compiler holds zh.ts to en.ts's shape). The `net` command, the builder and the lab in
// namespaces ask netWords() for the process's language, or netWords('zh') for one in particular.
import { catalogue } from '../../lang.ts';
import * as en from './en.ts';
import * as zh from './zh.ts';

export const netWords = catalogue('net-ns', en, zh);
export type NetWords = ReturnType<typeof netWords>;
