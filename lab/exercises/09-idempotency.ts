// Exercise 9: the truth is the app servers' store (orders.jsonl): one order for the learner's key,
// two distinct orders with the same body and no key, both taken while this lab runs.
import fs from 'node:fs';
import type { Lang } from '../lang.ts';
import { right, same, verdict, wrong, type Exercise } from './exercise.ts';
import { say as words } from './words/index.ts';

const say = (l?: Lang) => words(l).idempotency;

interface Stored { id: string; createdAt: string; idempotencyKey?: string; requestHash: string }

export const exercise: Exercise = {
  n: 9,
  slug: 'idempotency',
  seed: '§6',
  needs: 'lab',
  words: say,
  async check(ctx, lab) {
    const w = say();
    const orders = (fs.existsSync(lab.orderLog) ? fs.readFileSync(lab.orderLog, 'utf8') : '').split('\n').filter(Boolean).flatMap((l) => { try { return [JSON.parse(l) as Stored]; } catch { return []; } });
    const since = Date.parse(lab.startedAt);
    const withKey = orders.filter((o) => o.idempotencyKey === ctx.answers.key);
    const ids = (ctx.answers.twice ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    const twice = ids.map((id) => orders.find((o) => o.id === id));
    const lines = [
      withKey.length === 1 ? right(w.keyRight) : withKey.length === 0 ? wrong(w.keyNone(ctx.answers.key!)) : wrong(w.keyMany),
    ];
    if (ids.length !== 2 || new Set(ids).size !== 2) lines.push(wrong(w.twiceNotTwo));
    else if (twice.some((o) => !o)) lines.push(wrong(w.twiceUnknown(ids.filter((_, i) => !twice[i]))));
    else if (twice.some((o) => o!.idempotencyKey !== undefined)) lines.push(wrong(w.twiceKeyed));
    else if (twice.some((o) => Date.parse(o!.createdAt) < since)) lines.push(wrong(w.twiceOld));
    else if (twice[0]!.requestHash !== twice[1]!.requestHash) lines.push(wrong(w.twiceDiffer));
    else lines.push(right(w.twiceRight));
    lines.push(same(ctx.answers.replayed, 'true') ? right(w.replayedRight) : wrong(w.replayedWrong));
    return verdict(lines);
  },
};
