// Exercise 9: the truth is the app servers' store (orders.jsonl): one order for the learner's key,
// two distinct orders with the same body and no key, both taken while this lab runs.
import fs from 'node:fs';
import { right, same, verdict, wrong, type Exercise } from './exercise.ts';

const asks = { key: 'the Idempotency-Key you used', twice: 'the two order ids you got without a key, comma-separated', replayed: 'the Idempotent-Replayed header of your retry' };

interface Stored { id: string; createdAt: string; idempotencyKey?: string; requestHash: string }

export const exercise: Exercise = {
  n: 9,
  slug: 'idempotency',
  title: 'The order retried, with and without an idempotency key',
  seed: '§6',
  needs: 'lab',
  asks,
  async check(ctx, lab) {
    const orders = (fs.existsSync(lab.orderLog) ? fs.readFileSync(lab.orderLog, 'utf8') : '').split('\n').filter(Boolean).flatMap((l) => { try { return [JSON.parse(l) as Stored]; } catch { return []; } });
    const since = Date.parse(lab.startedAt);
    const withKey = orders.filter((o) => o.idempotencyKey === ctx.answers.key);
    const ids = (ctx.answers.twice ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    const twice = ids.map((id) => orders.find((o) => o.id === id));
    const lines = [
      withKey.length === 1 ? right('key: one order for your key, however often you sent it') : withKey.length === 0 ? wrong(`key: no order carries the key "${ctx.answers.key}" (send it in the Idempotency-Key header)`) : wrong('key: more than one order carries that key'),
    ];
    if (ids.length !== 2 || new Set(ids).size !== 2) lines.push(wrong('twice: give two different order ids, comma-separated'));
    else if (twice.some((o) => !o)) lines.push(wrong(`twice: ${ids.filter((_, i) => !twice[i]).join(', ')} is not an order in the store`));
    else if (twice.some((o) => o!.idempotencyKey !== undefined)) lines.push(wrong('twice: those orders were placed with a key; place two without one'));
    else if (twice.some((o) => Date.parse(o!.createdAt) < since)) lines.push(wrong('twice: those orders are older than this lab: place them now'));
    else if (twice[0]!.requestHash !== twice[1]!.requestHash) lines.push(wrong('twice: the two orders are not the same request (send the same body twice)'));
    else lines.push(right('twice: the same request, taken twice: without a key the server cannot tell a retry'));
    lines.push(same(ctx.answers.replayed, 'true') ? right('replayed: the retry got the first answer again') : wrong('replayed: look at the headers of the second answer with your key (curl -si)'));
    return verdict(lines);
  },
};
