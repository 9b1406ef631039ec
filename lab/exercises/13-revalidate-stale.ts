// Exercise 13: the learner's header dumps of /stock: a revalidation answered 304 upstream, then,
// with the origin down, the stale copy served under stale-if-error, older than its 2 s lifetime.
import type { Lang } from '../lang.ts';
import { curlHeaders, readIfThere, right, verdict, workFile, wrong, type Exercise } from './exercise.ts';
import { say as words } from './words/index.ts';

const say = (l?: Lang) => words(l).revalidateStale;

export const exercise: Exercise = {
  n: 13,
  slug: 'revalidate-stale',
  seed: '§4',
  needs: 'lab',
  words: say,
  async check(ctx, lab) {
    const w = say();
    const lines: string[] = [];
    const first = readIfThere(workFile(ctx, '13-revalidated.txt'))?.toString('utf8');
    const second = readIfThere(workFile(ctx, '13-stale.txt'))?.toString('utf8');
    if (!first) return verdict([wrong(w.noFirst(workFile(ctx, '13-revalidated.txt')))]);
    const { status: s1, h: h1 } = curlHeaders(first);
    lines.push(s1 === 200 && /"[^"]+"/.test(h1.etag ?? '') ? right(w.stock) : wrong(w.noStock));
    lines.push(/fwd=stale; fwd-status=304/.test(h1['cache-status'] ?? '') ? right(w.revalidated) : wrong(w.notRevalidated));
    if (!second) return verdict([...lines, wrong(w.noSecond(workFile(ctx, '13-stale.txt')))]);
    const { status: s2, h: h2 } = curlHeaders(second);
    lines.push(s2 === 200 ? right(w.still200) : wrong(w.not200(second.split('\n')[0]?.trim() ?? '')));
    lines.push(/detail="?stale-if-error"?/.test(h2['cache-status'] ?? '') ? right(w.servedStale) : wrong(w.notStale));
    lines.push(Number(h2.age) >= 2 ? right(w.aged) : wrong(w.young));
    return verdict(lines);
  },
};
