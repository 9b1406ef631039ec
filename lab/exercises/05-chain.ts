// Exercise 5: the chain. The truth is what the SLB serves (chain.crt) and the lab's root.
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { right, same, verdict, wrong, type Exercise } from './exercise.ts';

const asks = { sent: 'how many certificates the SLB sends', issuer: "the CN of the leaf's issuer", root: "the first 4 bytes of the root's SHA-256 fingerprint, like AB:CD:EF:01" };

export const exercise: Exercise = {
  n: 5,
  slug: 'chain',
  title: 'Reading the certificate chain with openssl',
  seed: '§5',
  needs: 'lab',
  asks,
  async check(ctx, lab) {
    const certs = path.dirname(lab.rootCa);
    const served = fs.readFileSync(path.join(certs, 'chain.crt'), 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    const leaf = new X509Certificate(served[0]!);
    const issuerCn = /CN=([^\n,]+)/.exec(leaf.issuer)?.[1] ?? '';
    const rootPrint = new X509Certificate(fs.readFileSync(lab.rootCa)).fingerprint256.split(':').slice(0, 4).join(':');
    return verdict([
      same(ctx.answers.sent, String(served.length)) ? right('sent: leaf and intermediate, not the root') : wrong(`sent: the SLB does not send ${ctx.answers.sent} certificates (count the BEGIN CERTIFICATE blocks of -showcerts)`),
      same(ctx.answers.issuer, issuerCn) ? right("issuer: the leaf's issuer is the intermediate") : wrong(`issuer: "${ctx.answers.issuer}" is not the CN in the leaf's issuer (the i: line of the first certificate)`),
      same(ctx.answers.root, rootPrint) ? right("root: the fingerprint a client pins its trust on") : wrong(`root: ${ctx.answers.root} is not the start of the root's SHA-256 fingerprint (openssl x509 -fingerprint -sha256)`),
    ]);
  },
};
