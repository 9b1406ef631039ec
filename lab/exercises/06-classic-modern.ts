// Exercise 6: the learner's capture must hold one classic handshake (an RSA ClientKeyExchange on
// the wire) and one TLS 1.3 handshake (a ServerHello choosing TLS 1.3).
import { dissectCapture } from '../observe/dissect.ts';
import { readCapture } from '../observe/pcapng.ts';
import { readIfThere, right, same, verdict, workFile, wrong, type Exercise } from './exercise.ts';

const asks = { visible: "in which mode the server's certificate can be read in the capture: classic or modern" };

export const exercise: Exercise = {
  n: 6,
  slug: 'classic-modern',
  title: 'Classic and modern TLS in one capture',
  seed: '§5',
  needs: 'lab',
  asks,
  async check(ctx, lab) {
    const file = workFile(ctx, '06-tls.pcapng');
    const bytes = readIfThere(file);
    if (!bytes) return verdict([wrong(`no capture at ${file}: capture while you place the order in both modes`)]);
    let frames;
    try {
      frames = dissectCapture(readCapture(bytes), { keyLog: '' }).frames;
    } catch (err) {
      return verdict([wrong(`${file} is not a capture this lab can read (${(err as Error).message}): write it with tcpdump -w`)]);
    }
    const fields = frames.flatMap((f) => f.layers.flatMap((l) => l.fields.map((x) => ({ ws: x.ws, value: x.value, layer: l.summary }))));
    const classic = fields.some((f) => f.ws === 'tls.handshake.epms');
    const modern = frames.some((f) => f.layers.some((l) => l.summary === 'ServerHello' && l.fields.some((x) => x.name === 'supported_versions data' && x.value === 'TLS 1.3')));
    return verdict([
      classic ? right('the capture holds a classic handshake: the encrypted pre-master is on the wire') : wrong('the capture holds no classic handshake (no ClientKeyExchange with an encrypted pre-master): place an order with --mode classic while capturing'),
      modern ? right('and a TLS 1.3 handshake (the ServerHello chose TLS 1.3)') : wrong('the capture holds no TLS 1.3 handshake: place an order with --mode modern while capturing'),
      same(ctx.answers.visible, 'classic') ? right('visible: only TLS 1.2 sends the certificate in the clear') : wrong('visible: look again at the Certificate message in each handshake (tshark -Y tls.handshake.type==11)'),
    ]);
  },
};
