// Exercise 7: the truth is computed from the capture of the last walkthrough: the encrypted
// pre-master opened with the SLB's key, then the PRF over the two randoms of that connection.
import fs from 'node:fs';
import path from 'node:path';
import { decryptPreMaster, masterSecretFrom } from '../master-secret.ts';
import { dissectCapture } from '../observe/dissect.ts';
import { readCapture } from '../observe/pcapng.ts';
import type { Lang } from '../lang.ts';
import { readIfThere, right, verdict, wrong, type CheckContext, type Exercise } from './exercise.ts';
import { say as words } from './words/index.ts';

const say = (l?: Lang) => words(l).masterSecret;

/** The classic connection in a capture: its two randoms and its encrypted pre-master, in wire order. */
export function classicHandshake(ctx: CheckContext): { clientRandom: string; serverRandom: string; epms: string } | string {
  const file = path.join(ctx.dir, 'capture.pcapng');
  const bytes = readIfThere(file);
  if (!bytes) return say().noCapture(file);
  const fields = dissectCapture(readCapture(bytes)).frames.flatMap((f) => f.layers.filter((l) => !l.decrypted).flatMap((l) => l.fields.map((x) => ({ ...x, summary: l.summary }))));
  const at = fields.findIndex((f) => f.ws === 'tls.handshake.epms');
  if (at < 0) return say().noClassic(file);
  const before = fields.slice(0, at);
  const random = (hello: string) => before.filter((f) => f.ws === 'tls.handshake.random' && f.summary === hello).at(-1)?.value;
  const clientRandom = random('ClientHello');
  const serverRandom = random('ServerHello');
  if (!clientRandom || !serverRandom) return say().noHello(file);
  return { clientRandom, serverRandom, epms: fields[at]!.value };
}

const hex = (s: string | undefined) => (s ?? '').replace(/[\s:]/g, '').toLowerCase();

export const exercise: Exercise = {
  n: 7,
  slug: 'master-secret',
  seed: '§5',
  needs: 'a walkthrough run',
  words: say,
  async check(ctx) {
    const w = say();
    const hs = classicHandshake(ctx);
    if (typeof hs === 'string') return verdict([wrong(hs)]);
    const key = fs.readFileSync(path.join(ctx.dir, 'certs', 'leaf.key'), 'utf8');
    let pre: Buffer;
    try {
      pre = decryptPreMaster(Buffer.from(hs.epms, 'hex'), key);
    } catch {
      return verdict([wrong(w.keyChanged)]);
    }
    const master = masterSecretFrom(pre, Buffer.from(hs.clientRandom, 'hex'), Buffer.from(hs.serverRandom, 'hex'));
    const a = { premaster: hex(ctx.answers.premaster), master: hex(ctx.answers.master) };
    return verdict([
      a.premaster === pre.toString('hex') ? right(w.premasterRight)
        : a.premaster.length !== 96 ? wrong(w.premasterLength(a.premaster.length / 2))
        : wrong(w.premasterWrong),
      a.master === master.toString('hex') ? right(w.masterRight)
        : a.master.length !== 96 ? wrong(w.masterLength(a.master.length / 2))
        : wrong(w.masterWrong),
    ]);
  },
};
