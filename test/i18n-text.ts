// What the language tests look for in a rendered line: Chinese text, or English prose left behind.
// A Chinese line may hold protocol names, commands, values and field names (ClientHello, dig +norec,
// 127.0.0.1, tcp.flags.syn) but not an English sentence: we call a line untranslated when, after
// code, quoted strings, paths, URLs, options and values are taken out, it still has English
// function words ("the", "with", "from"…) among English words.

const CJK = /[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]/;

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

/** The line with what may stay English in any language removed: code, quotes, paths, URLs, options, values. */
export function proseOf(line: string): string {
  return line
    .replace(/`[^`]*`/g, ' ')
    .replace(/"[^"]*"|“[^”]*”|'[^']*'/g, ' ')
    .replace(/\bhttps?:\/\/\S+/g, ' ')
    // A command and its arguments, to the end of the clause: npm run lab -- fault edge-down on.
    .replace(/\b(?:npm run \w+|npx \w+|dig|curl|openssl \w+|tshark|tcpdump|ip (?:route|netns|addr|link|neigh)|ping|traceroute|ss -\w+)\b[^，。；：）\n,;]*/g, ' ')
    // The kernel's own answer to ip route get: local 127.0.0.80 from 127.10.1.10 dev lo uid 0.
    .replace(/\b(?:local |unicast )?\d+(?:\.\d+){3}(?: from \d+(?:\.\d+){3})?(?: via \d+(?:\.\d+){3})? dev \S+.*$/g, ' ')
    .replace(/(^|\s)--?[a-z][\w-]*(=\S*)?/gi, ' ')
    .replace(/\S*[/\\]\S*/g, ' ') // paths, ratios, a/b pairs
    .replace(/\S*\d\S*/g, ' '); // values: addresses, ports, hex, times, versions
}

/**
 * The English prose in a line meant to be Chinese, or undefined. Prose: a run of at least three
 * ASCII words (nothing Chinese between them) with a function word among them, or a run of two
 * words that are both function words ("of the").
 */
export function englishProse(line: string): string | undefined {
  const text = proseOf(line);
  // Runs of ASCII words separated by spaces and ASCII punctuation only.
  for (const run of text.split(/[^\sA-Za-z'’,;:()\-]+/)) {
    const words = run.match(/[A-Za-z][A-Za-z'’-]*/g) ?? [];
    const fw = words.filter((w) => FUNCTION_WORDS.has(w));
    if ((words.length >= 3 && fw.length >= 1) || fw.length >= 2) return run.trim();
  }
  return undefined;
}

/** Every line of `lines` that holds English prose, with what was found: [] when all are Chinese. */
export function untranslatedLines(lines: readonly string[]): Array<{ line: string; prose: string }> {
  return lines.flatMap((line) => {
    const prose = englishProse(line);
    return prose ? [{ line, prose }] : [];
  });
}
