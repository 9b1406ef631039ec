// The key-exchange groups the lab's words explain: a fact about the groups, the same in every language.

/**
 * A hybrid group (RFC 9794 terms; draft-ietf-tls-ecdhe-mlkem): each key share is an ML-KEM-768
 * part (FIPS 203) followed or preceded by a classical ECDH part. OpenSSL 3.5 (Node 24 and later)
 * offers X25519MLKEM768 first, as Chrome and Firefox do: what a shopper's phone uses today.
 */
export const HYBRID_GROUPS: Readonly<Record<string, { kem: string; ecdh: string }>> = {
  X25519MLKEM768: { kem: 'ML-KEM-768', ecdh: 'x25519' },
  SecP256r1MLKEM768: { kem: 'ML-KEM-768', ecdh: 'secp256r1' },
  SecP384r1MLKEM1024: { kem: 'ML-KEM-1024', ecdh: 'secp384r1' },
};
