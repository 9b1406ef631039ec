// Exercise 7: the truth is computed from the capture of the last walkthrough: the encrypted
// pre-master opened with the SLB's key, then the PRF over the two randoms of that connection.
import fs from 'node:fs';
import path from 'node:path';
import { decryptPreMaster, masterSecretFrom } from '../master-secret.ts';
import { dissectCapture } from '../observe/dissect.ts';
import { readCapture } from '../observe/pcapng.ts';
import { readIfThere, right, verdict, wrong, type CheckContext, type Exercise } from './exercise.ts';

const asks = { premaster: 'the 48-byte pre-master in hex', master: 'the 48-byte master secret in hex' };

/** The classic connection in a capture: its two randoms and its encrypted pre-master, in wire order. */
export function classicHandshake(ctx: CheckContext): { clientRandom: string; serverRandom: string; epms: string } | string {
  const file = path.join(ctx.dir, 'capture.pcapng');
  const bytes = readIfThere(file);
  if (!bytes) return `no ${file}: run the walkthrough (npm run lab) first, with tcpdump installed`;
  const fields = dissectCapture(readCapture(bytes)).frames.flatMap((f) => f.layers.filter((l) => !l.decrypted).flatMap((l) => l.fields.map((x) => ({ ...x, summary: l.summary }))));
  const at = fields.findIndex((f) => f.ws === 'tls.handshake.epms');
  if (at < 0) return `${file} holds no classic handshake: run the walkthrough in classic mode (npm run lab)`;
  const before = fields.slice(0, at);
  const random = (hello: string) => before.filter((f) => f.ws === 'tls.handshake.random' && f.summary === hello).at(-1)?.value;
  const clientRandom = random('ClientHello');
  const serverRandom = random('ServerHello');
  if (!clientRandom || !serverRandom) return `${file} lacks a hello of the classic connection`;
  return { clientRandom, serverRandom, epms: fields[at]!.value };
}

const hex = (s: string | undefined) => (s ?? '').replace(/[\s:]/g, '').toLowerCase();

export const exercise: Exercise = {
  n: 7,
  slug: 'master-secret',
  title: 'The master secret by hand',
  seed: '§5',
  needs: 'a walkthrough run',
  asks,
  async check(ctx) {
    const hs = classicHandshake(ctx);
    if (typeof hs === 'string') return verdict([wrong(hs)]);
    const key = fs.readFileSync(path.join(ctx.dir, 'certs', 'leaf.key'), 'utf8');
    let pre: Buffer;
    try {
      pre = decryptPreMaster(Buffer.from(hs.epms, 'hex'), key);
    } catch {
      return verdict([wrong('the capture\'s pre-master does not open with the lab\'s current key: the certificates were remade since; run the walkthrough again')]);
    }
    const master = masterSecretFrom(pre, Buffer.from(hs.clientRandom, 'hex'), Buffer.from(hs.serverRandom, 'hex'));
    const a = { premaster: hex(ctx.answers.premaster), master: hex(ctx.answers.master) };
    return verdict([
      a.premaster === pre.toString('hex') ? right('premaster: the 48 bytes the phone chose, opened with the server\'s key')
        : a.premaster.length !== 96 ? wrong(`premaster: ${a.premaster.length / 2} bytes; a pre-master is 48 (it starts with the client's version, 0303)`)
        : wrong('premaster: not what the ClientKeyExchange of the capture holds (decrypt the epms of the last walkthrough\'s capture with .lab/certs/leaf.key)'),
      a.master === master.toString('hex') ? right('master: PRF(pre-master, "master secret", client random ‖ server random)')
        : a.master.length !== 96 ? wrong(`master: ${a.master.length / 2} bytes; the master secret is 48`)
        : wrong('master: not the PRF of that pre-master and the two randoms (the seed is the label, then the client random, then the server random)'),
    ]);
  },
};
