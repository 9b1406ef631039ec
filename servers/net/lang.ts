// The language a learner reads the lab in: English or Chinese (the seed chapter's own language).
// Chosen once per process, like a C program's setlocale(): `--lang zh|en` if given, else the locale
// (LC_ALL, then LC_MESSAGES, then LANG, as POSIX orders them; "C"/"POSIX" say nothing), else what
// the OS's ICU reports, else English. Child processes inherit the choice through LAB_LANG.
//
// Every catalogue of words is a pair `{ en, zh }` where zh has en's type: a missing or mis-typed
// translation does not compile. `catalogue()` also records each pair so a test can walk them all.

export const LANGS = ['en', 'zh'] as const;
export type Lang = (typeof LANGS)[number];

/** 'zh' for zh_CN.UTF-8, zh-Hans, zh_TW…; 'en' for en_US, en-GB…; undefined for C, POSIX or anything else. */
export function langOfLocale(locale: string | undefined): Lang | undefined {
  const tag = locale?.trim().toLowerCase().split(/[._@]/)[0]?.split('-')[0];
  if (tag === 'zh') return 'zh';
  if (tag === 'en') return 'en';
  return undefined;
}

/** The language the environment asks for, in POSIX's order, then the OS's locale; English if none says. */
export function detectLang(env: NodeJS.ProcessEnv = process.env, osLocale: string | undefined = systemLocale()): Lang {
  const explicit = parseLang(env.LAB_LANG);
  if (explicit) return explicit;
  // POSIX: the first of LC_ALL, LC_MESSAGES, LANG that is set decides, even if it names a language we lack.
  for (const name of ['LC_ALL', 'LC_MESSAGES', 'LANG'] as const) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    if (value === 'C' || value === 'POSIX' || value.startsWith('C.')) break; // says nothing: ask the OS
    return langOfLocale(value) ?? 'en';
  }
  return langOfLocale(osLocale) ?? 'en';
}

function systemLocale(): string | undefined {
  try {
    return Intl.DateTimeFormat().resolvedOptions().locale;
  } catch {
    return undefined;
  }
}

/** 'zh' | 'en' from a flag's or variable's value (zh-CN, chinese, en_US… accepted); undefined otherwise. */
export function parseLang(value: unknown): Lang | undefined {
  // Anything not a string (a control request's JSON may hold any type) names no language.
  if (typeof value !== 'string' || value === '') return undefined;
  if (/^(chinese|中文)$/i.test(value)) return 'zh';
  if (/^english$/i.test(value)) return 'en';
  return langOfLocale(value);
}

let current: Lang = detectLang();

/** The process's language. */
export function lang(): Lang {
  return current;
}

/** Set the process's language (the CLI's --lang); children started after this inherit it. */
export function setLang(l: Lang): void {
  current = l;
  process.env.LAB_LANG = l;
}

/**
 * Take `--lang X` / `--lang=X` out of argv. Returns the rest, and the language or an error
 * (the error in both languages: the learner's language is what is in question).
 */
export function takeLangFlag(argv: readonly string[]): { rest: string[]; lang?: Lang; error?: string } {
  const rest: string[] = [];
  let chosen: Lang | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    let value: string | undefined;
    if (arg === '--lang') value = argv[++i] ?? '';
    else if (arg.startsWith('--lang=')) value = arg.slice('--lang='.length);
    else {
      rest.push(arg);
      continue;
    }
    chosen = parseLang(value);
    if (!chosen) return { rest, error: `--lang takes zh or en, not "${value}" / --lang 只接受 zh 或 en，而不是 "${value}"` };
  }
  return { rest, lang: chosen };
}

/** A pair of catalogues, the same shape in both languages. */
export interface Catalogue<T> {
  name: string;
  en: T;
  zh: T;
}

const registry: Catalogue<unknown>[] = [];

/**
 * Declare a catalogue: returns a function giving the words of the process's language (or the one
 * asked). `zh` must have `en`'s type, so a missing translation is a compile error.
 */
export function catalogue<T>(name: string, en: T, zh: NoInfer<T>): (l?: Lang) => T {
  registry.push({ name, en, zh } as Catalogue<unknown>);
  return (l = current) => (l === 'zh' ? zh : en);
}

/** Every catalogue declared so far (by the modules imported so far): for the test that walks them. */
export function catalogues(): readonly Catalogue<unknown>[] {
  return registry;
}
