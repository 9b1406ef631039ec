// The browser command's words in both languages (lab/lang.ts).
import { catalogue } from '../lang.ts';
import { browser as en } from './en/browser.ts';
import { browser as zh } from './zh/browser.ts';

export const browserWords = catalogue('browser', en, zh);
