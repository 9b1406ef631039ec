// Exercise 13: the learner's header dumps of /stock: a revalidation answered 304 upstream, then,
// with the origin down, the stale copy served under stale-if-error, older than its 2 s lifetime.
import { curlHeaders, readIfThere, right, verdict, workFile, wrong, type Exercise } from './exercise.ts';

export const exercise: Exercise = {
  n: 13,
  slug: 'revalidate-stale',
  title: 'Revalidation, and a stale answer when the origin is down',
  seed: '§4',
  needs: 'lab',
  asks: {},
  async check(ctx, lab) {
    const lines: string[] = [];
    const first = readIfThere(workFile(ctx, '13-revalidated.txt'))?.toString('utf8');
    const second = readIfThere(workFile(ctx, '13-stale.txt'))?.toString('utf8');
    if (!first) return verdict([wrong(`no ${workFile(ctx, '13-revalidated.txt')}: fetch /stock, wait 3 s, and save the headers of the next fetch there`)]);
    const { status: s1, h: h1 } = curlHeaders(first);
    lines.push(s1 === 200 && /"[^"]+"/.test(h1.etag ?? '') ? right('the first file is the stock, with its ETag') : wrong('the first file is not a 200 for /stock with an ETag (fetch /stock through the edge)'));
    lines.push(/fwd=stale; fwd-status=304/.test(h1['cache-status'] ?? '') ? right('a cache revalidated it and got 304 Not Modified') : wrong('the first file shows no revalidation (fwd=stale; fwd-status=304): wait until the copy is stale (over 2 s) and fetch again'));
    if (!second) return verdict([...lines, wrong(`no ${workFile(ctx, '13-stale.txt')}: with origin-down on, wait 3 s and save the headers of a fetch there`)]);
    const { status: s2, h: h2 } = curlHeaders(second);
    lines.push(s2 === 200 ? right('with the origin down, the shopper still got a 200') : wrong(`the second file is not a 200 (${second.split('\n')[0]?.trim()}): was the copy still within stale-if-error's minute?`));
    lines.push(/detail="?stale-if-error"?/.test(h2['cache-status'] ?? '') ? right('served stale, as stale-if-error allows') : wrong('the second file shows no stale-if-error in Cache-Status: turn origin-down on, wait until the copy is stale, then fetch'));
    lines.push(Number(h2.age) >= 2 ? right('and its Age has reached the 2 s lifetime: it is stale') : wrong('the second file\'s Age is within the copy\'s lifetime: wait longer before fetching'));
    return verdict(lines);
  },
};
