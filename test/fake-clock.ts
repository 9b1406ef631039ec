// A clock the cache tests move by hand, so ages and TTLs are exact and no test waits for time to pass.

export interface Clock {
  now: () => number;
  advance: (seconds: number) => void;
}

/** Starts on a whole second, as HTTP dates are, so ages and TTLs come out exact. */
export function fakeClock(): Clock {
  let t = Math.floor(Date.now() / 1000) * 1000;
  return { now: () => t, advance: (seconds) => void (t += seconds * 1000) };
}
