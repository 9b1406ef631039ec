// Exercise 4: the learner's own header dumps. A HIT at an edge of this lab (with an Age), then,
// later, the same picture fetched after a purge: a miss at that edge.
import { curlHeaders, readIfThere, right, verdict, workFile, wrong, type Exercise } from './exercise.ts';

export const exercise: Exercise = {
  n: 4,
  slug: 'cache',
  title: 'Cache headers: Age, HIT, and a purge',
  seed: '§4',
  needs: 'lab',
  asks: {},
  async check(ctx, lab) {
    const files = { hit: workFile(ctx, '04-hit.txt'), after: workFile(ctx, '04-after-purge.txt') };
    const hitText = readIfThere(files.hit)?.toString('utf8');
    const afterText = readIfThere(files.after)?.toString('utf8');
    if (!hitText) return verdict([wrong(`no ${files.hit}: save the headers of a second fetch there (curl -sI … > ${files.hit})`)]);
    const edges = lab.roles.filter((r) => r.name.startsWith('edge-') && !r.name.endsWith('-tls')).map((r) => r.name);
    const hit = curlHeaders(hitText);
    const lines: string[] = [];
    const status = hit.h['cache-status'] ?? '';
    const edgeHit = edges.find((e) => new RegExp(`(^|,)\\s*${e}; hit\\b`).test(status));
    lines.push(hit.status === 200 ? right('the first file is a 200') : wrong(`the first file's status is ${hit.status || 'missing'}, not 200: fetch /images/phone.png`));
    lines.push(edgeHit ? right(`the first file is a HIT at ${edgeHit}`) : wrong('the first file has no Cache-Status entry saying an edge of this lab served it from its cache (fetch the picture again: the second fetch is the HIT)'));
    lines.push(/^\d+$/.test(hit.h.age ?? '') ? right('it carries an Age') : wrong('the first file has no Age header: a cached answer says how old it is (RFC 9111 §5.1)'));
    if (!afterText) return verdict([...lines, wrong(`no ${files.after}: purge the picture (parent, then the edge) and save the headers of the next fetch there`)]);
    const after = curlHeaders(afterText);
    const afterStatus = after.h['cache-status'] ?? '';
    const edgeMiss = edgeHit && new RegExp(`(^|,)\\s*${edgeHit}; fwd=uri-miss`).test(afterStatus);
    lines.push(edgeMiss ? right(`after the purge ${edgeHit} had to fetch it again (fwd=uri-miss)`) : wrong(`the second file does not show ${edgeHit ?? 'the edge'} missing the picture (fwd=uri-miss): was it purged at that edge, and fetched from the same edge?`));
    const parentMiss = /(^|,)\s*parent; fwd=uri-miss/.test(afterStatus);
    lines.push(parentMiss ? right('and so did the parent: it was purged first') : wrong('the parent still served it from its cache: purge the parent before the edge, or the edge refills from the parent\'s copy'));
    const t1 = Date.parse(hit.h.date ?? '');
    const t2 = Date.parse(after.h.date ?? '');
    lines.push(t2 >= t1 ? right('the second fetch is the later one') : wrong('the second file is older than the first (its Date): fetch after the purge'));
    return verdict(lines);
  },
};
