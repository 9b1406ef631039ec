// The TLS 1.2 PRF (RFC 5246 §5): how TLS 1.2 stretches one secret into as many bytes as it needs.
// Used for the master secret (lab/master-secret.ts) and for the key block that turns the master
// secret into the record keys (lab/observe/tls-decrypt.ts). node:crypto only.
import { createHmac } from 'node:crypto';

/**
 * P_hash(secret, seed): stretch a secret to any length.
 *   A(0) = seed,  A(i) = HMAC(secret, A(i-1))
 *   output = HMAC(secret, A(1) ‖ seed) ‖ HMAC(secret, A(2) ‖ seed) ‖ …   (cut to `length`)
 */
export function pHash(hash: 'sha256' | 'sha384', secret: Buffer, seed: Buffer, length: number): Buffer {
  const hmac = (data: Buffer) => createHmac(hash, secret).update(data).digest();
  const blocks: Buffer[] = [];
  let a = seed;
  for (let produced = 0; produced < length; produced += blocks.at(-1)!.length) {
    a = hmac(a);
    blocks.push(hmac(Buffer.concat([a, seed]))); // 32 bytes each for SHA-256, 48 for SHA-384
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/** PRF(secret, label, seed) = P_hash(secret, label ‖ seed). The hash is SHA-256 for every TLS 1.2
 *  suite except those whose name ends in _SHA384 (RFC 5246 §5, RFC 5289 §3.2). */
export function prf(hash: 'sha256' | 'sha384', secret: Buffer, label: string, seed: Buffer, length: number): Buffer {
  return pHash(hash, secret, Buffer.concat([Buffer.from(label, 'ascii'), seed]), length);
}

export const pSha256 = (secret: Buffer, seed: Buffer, length: number) => pHash('sha256', secret, seed, length);
export const prfSha256 = (secret: Buffer, label: string, seed: Buffer, length: number) => prf('sha256', secret, label, seed, length);
