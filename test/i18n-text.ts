// What the language tests look for in a rendered line: Chinese text, or English prose left behind.
// A Chinese line may hold protocol names, commands, values and field names (ClientHello, dig +norec,
// 127.0.0.1, tcp.flags.syn) but not an English sentence. We call a line untranslated when, after
// code, quoted strings, commands, paths, URLs, options and values are taken out, it still has a run
// of three lowercase English words, or English function words ("of the", "with"…) among its words; hyphenated names (edge-north) are names.
// One detector for every language test (test/i18n*.test.ts, test/report.test.ts).

const CJK = /[\u2e80-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]/;

/** True if the text holds a Chinese character or full-width punctuation. */
export function hasCjk(text: string): boolean {
  return CJK.test(text);
}

// Words that only prose has: a protocol name, field or value is never one of these.
const FUNCTION_WORDS = new Set(
  ('the a an and or but of to in on at by for from with without into onto over under after before ' +
    'is are was were be been being has have had does did do not no nor its it this that these those ' +
    'which who whom whose what when where why how than then there their they them you your we our ' +
    'can could will would should may might must each every any some all both either neither only ' +
    'also just still yet so if as here about against between through during until while because ' +
    'same other another such more most less least very too again once never always').split(' '),
);

/** A command a line may quote, up to the end of its clause: it is typed as it is in any language. */
const COMMAND =
  /\b(?:sudo |npm run \w+|npx \w+|apt(?:-get)? install|dig|curl|openssl \w+|tshark|tcpdump|ip (?:route|netns|addr|link|neigh|-n)|ping|traceroute|netstat|lsof|ss -\w+)\b[^，。；：（）\n,;]*/g;

/** The line with what may stay English in any language removed: code, quotes, commands, paths, URLs, options, values. */
export function proseOf(line: string, keep: ReadonlyArray<string | RegExp> = []): string {
  let text = line;
  for (const k of keep) text = typeof k === 'string' ? text.split(k).join(' ') : text.replace(k, ' ');
  return text
    .replace(/`[^`]*`/g, ' ')
    .replace(/"[^"]*"|“[^”]*”|'[^'\n]*'/g, ' ')
    .replace(/\b[a-z]+:\/\/\S+/g, ' ')
    .replace(COMMAND, ' ')
    .replace(/PRF\([^)]*\)|timer:\([^)]*\)/g, ' ')
    // A route in the kernel's own words: "default via 198.18.0.1 dev to-core", "local 127.0.0.80 from 127.10.1.10 dev lo uid 0".
    .replace(/\b(?:default|local|unicast|\d+(?:\.\d+){3}(?:\/\d+)?)(?: \d+(?:\.\d+){3})?(?: from \S+)?(?: via \S+)? dev \S+(?: [a-z]+ [\w.:/-]+)*/g, ' ')
    .replace(/\b(?:[0-9a-f]{2}:){5}[0-9a-f]{2}\b/gi, ' ') // MAC addresses, ff:ff:ff:ff:ff:ff too
    // An HTTP header as it was sent, up to the explanation after it: "Cache-Status: edge-north; hit; ttl=299".
    .replace(/\b[A-Z][A-Za-z]*(?:-[A-Z][A-Za-z]*)*: [^（\n]*?(?=\s{3}|（|$)/g, ' ')
    .replace(/\[[^\]\n]*\]/g, ' ') // a synopsis's optional parts: [--from north|south]
    .replace(/(^|\s)--?[a-z][\w-]*(=\S*)?/gi, ' ')
    .replace(/\S*[/\\|]\S*/g, ' ') // paths, ratios, a/b pairs, a synopsis's on|off
    .replace(/\S*\d\S*/g, ' '); // values: addresses, ports, hex, times, versions
}

/**
 * The English prose in a line meant to be Chinese, or undefined. Prose: three lowercase English
 * words in a row, or a run of English words (nothing Chinese between them) with two function
 * words, or three words with one. `keep` names what this line may hold as it is (a term, a fact).
 */
export function englishProse(line: string, keep: ReadonlyArray<string | RegExp> = []): string | undefined {
  const text = proseOf(line, keep);
  // Plain words only: a hyphenated token (pgw-north, to-phone-north, edge-down) is a name.
  const three = /(?<![\w-])[a-z]+(?:['’][a-z]+)?(?:[\s,;:]+[a-z]+(?:['’][a-z]+)?){2,}(?![\w-])/.exec(text);
  if (three) return three[0];
  for (const run of text.split(/[^\sA-Za-z'’,;:()\-]+/)) {
    const words = run.match(/[A-Za-z][A-Za-z'’-]*/g) ?? [];
    const fw = words.filter((w) => FUNCTION_WORDS.has(w));
    if ((words.length >= 3 && fw.length >= 1) || fw.length >= 2) return run.trim();
  }
  return undefined;
}

/** Every line of `lines` that holds English prose, with what was found: [] when all are Chinese. */
export function untranslatedLines(lines: readonly string[], keep: ReadonlyArray<string | RegExp> = []): Array<{ line: string; prose: string }> {
  return lines.flatMap((line) => {
    const prose = englishProse(line, keep);
    return prose ? [{ line, prose }] : [];
  });
}
