// Where `lab up` prints its roles' log lines. Strangers decide what those lines say and how many
// there are (a URL of 16 KB, 500 requests a second), and the terminal may be a file: so each line
// is cut to a readable length, and past a rate the lines are counted instead of printed, with one
// line a second saying how many were left out. What the supervisor says (a role crashed, restarted,
// stopped) always gets through: the operator must see it.

export interface SinkOptions {
  /** Characters kept of one line. */
  maxLineChars?: number;
  /** Lines printed per second before the rest are only counted. */
  perSecond?: number;
  /** Lines that always get through. */
  always?: (line: string) => boolean;
  now?: () => number;
}

export function rateLimitedSink(print: (line: string) => void, opts: SinkOptions = {}): (line: string) => void {
  const maxChars = opts.maxLineChars ?? 400;
  const perSecond = opts.perSecond ?? 50;
  const now = opts.now ?? Date.now;
  let windowStart = now();
  let printed = 0;
  let suppressed = 0;
  const cut = (line: string) => (line.length <= maxChars ? line : `${line.slice(0, maxChars)}… (${line.length - maxChars} more characters)`);
  const flush = () => {
    const t = now();
    if (suppressed > 0) print(`… ${suppressed} log line(s) left out in the last ${Math.max(1, Math.round((t - windowStart) / 1000))} s (more than ${perSecond} a second)`);
    windowStart = t;
    printed = 0;
    suppressed = 0;
  };
  return (line: string) => {
    if (now() - windowStart >= 1_000) flush();
    if (opts.always?.(line) || printed < perSecond) {
      printed++;
      print(cut(line));
      return;
    }
    // Say how many were left out when this second ends, even if no line comes after.
    if (suppressed++ === 0) setTimeout(() => (suppressed > 0 ? flush() : undefined), Math.max(0, 1_000 - (now() - windowStart))).unref();
  };
}
