// report.html's words, one catalogue per language (zh has en's shape: a missing one does not compile).
import { catalogue } from '../../lang.ts';
import * as en from './en.ts';
import * as zh from './zh.ts';

export const reportWords = catalogue('report', { page: en.page, html: en.html, run: en.run }, { page: zh.page, html: zh.html, run: zh.run });
export type ReportWords = ReturnType<typeof reportWords>;
