// Exercise 4: the learner's own header dumps. A HIT at an edge of this lab (with an Age), then,
// later, the same picture fetched after a purge: a miss at that edge.
import type { Lang } from '../lang.ts';
import { curlHeaders, readIfThere, right, verdict, workFile, wrong, type Exercise } from './exercise.ts';
import { say as words } from './words/index.ts';

const say = (l?: Lang) => words(l).cache;

export const exercise: Exercise = {
  n: 4,
  slug: 'cache',
  seed: '§4',
  needs: 'lab',
  words: say,
  async check(ctx, lab) {
    const w = say();
    const files = { hit: workFile(ctx, '04-hit.txt'), after: workFile(ctx, '04-after-purge.txt') };
    const hitText = readIfThere(files.hit)?.toString('utf8');
    const afterText = readIfThere(files.after)?.toString('utf8');
    if (!hitText) return verdict([wrong(w.noHitFile(files.hit))]);
    const edges = lab.roles.filter((r) => r.name.startsWith('edge-') && !r.name.endsWith('-tls')).map((r) => r.name);
    const hit = curlHeaders(hitText);
    const lines: string[] = [];
    const status = hit.h['cache-status'] ?? '';
    const edgeHit = edges.find((e) => new RegExp(`(^|,)\\s*${e}; hit\\b`).test(status));
    lines.push(hit.status === 200 ? right(w.status200) : wrong(w.statusNot200(hit.status)));
    lines.push(edgeHit ? right(w.hitAt(edgeHit)) : wrong(w.noHit));
    lines.push(/^\d+$/.test(hit.h.age ?? '') ? right(w.age) : wrong(w.noAge));
    if (!afterText) return verdict([...lines, wrong(w.noAfterFile(files.after))]);
    const after = curlHeaders(afterText);
    const afterStatus = after.h['cache-status'] ?? '';
    const edgeMiss = edgeHit && new RegExp(`(^|,)\\s*${edgeHit}; fwd=uri-miss`).test(afterStatus);
    lines.push(edgeMiss ? right(w.edgeMissed(edgeHit!)) : wrong(w.edgeNotMissed(edgeHit)));
    const parentMiss = /(^|,)\s*parent; fwd=uri-miss/.test(afterStatus);
    lines.push(parentMiss ? right(w.parentMissed) : wrong(w.parentNotMissed));
    const t1 = Date.parse(hit.h.date ?? '');
    const t2 = Date.parse(after.h.date ?? '');
    lines.push(t2 >= t1 ? right(w.later) : wrong(w.notLater));
    return verdict(lines);
  },
};
