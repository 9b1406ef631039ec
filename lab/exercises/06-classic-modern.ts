// Exercise 6: the learner's capture must hold one classic handshake (an RSA ClientKeyExchange on
// the wire) and one TLS 1.3 handshake (a ServerHello choosing TLS 1.3).
import { dissectCapture } from '../observe/dissect.ts';
import { readCapture } from '../observe/pcapng.ts';
import type { Lang } from '../lang.ts';
import { readIfThere, right, same, verdict, workFile, wrong, type Exercise } from './exercise.ts';
import { say as words } from './words/index.ts';

const say = (l?: Lang) => words(l).classicModern;

export const exercise: Exercise = {
  n: 6,
  slug: 'classic-modern',
  seed: '§5',
  needs: 'lab',
  words: say,
  async check(ctx, lab) {
    const w = say();
    const file = workFile(ctx, '06-tls.pcapng');
    const bytes = readIfThere(file);
    if (!bytes) return verdict([wrong(w.noCapture(file))]);
    let frames;
    try {
      frames = dissectCapture(readCapture(bytes), { keyLog: '' }).frames;
    } catch (err) {
      return verdict([wrong(w.unreadable(file, (err as Error).message))]);
    }
    const fields = frames.flatMap((f) => f.layers.flatMap((l) => l.fields.map((x) => ({ ws: x.ws, value: x.value, layer: l.summary }))));
    const classic = fields.some((f) => f.ws === 'tls.handshake.epms');
    const modern = frames.some((f) => f.layers.some((l) => l.summary === 'ServerHello' && l.fields.some((x) => x.name === 'supported_versions data' && x.value === 'TLS 1.3')));
    return verdict([
      classic ? right(w.classic) : wrong(w.noClassic),
      modern ? right(w.modern) : wrong(w.noModern),
      same(ctx.answers.visible, 'classic') ? right(w.visibleRight) : wrong(w.visibleWrong),
    ]);
  },
};
