// The two TLS set-ups the lab compares, shared by the SLB (server side) and the client.
//
// classic: the seed's handshake. TLS 1.2 with RSA key exchange (TLS_RSA_WITH_AES_128_GCM_SHA256):
//   the client encrypts a pre-master secret with the server's public key, and
//   master = PRF(pre-master, "master secret", client random ‖ server random).
//   OpenSSL would add the extended master secret (RFC 7627), which hashes the whole handshake
//   into the master secret instead, and session tickets; both are switched off so the textbook
//   formula holds and every connection does a full handshake.
// modern: TLS 1.3 with (EC)DHE. No pre-master on the wire, forward secrecy.
import { constants } from 'node:crypto';
import type { SecureContextOptions } from 'node:tls';

export type TlsMode = 'classic' | 'modern';

// Raw OpenSSL option bits (Node exports SSL_OP_NO_TICKET but not the EMS bit).
export const SSL_OP_NO_EXTENDED_MASTER_SECRET = 0x1;
export const SSL_OP_NO_TICKET = constants.SSL_OP_NO_TICKET ?? 0x4000;
export const TEXTBOOK_TLS12 = SSL_OP_NO_EXTENDED_MASTER_SECRET | SSL_OP_NO_TICKET;

export const CLASSIC_CIPHER = 'AES128-GCM-SHA256'; // OpenSSL's name for TLS_RSA_WITH_AES_128_GCM_SHA256

export function tlsSettings(mode: TlsMode): SecureContextOptions {
  if (mode === 'classic') {
    return {
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
      ciphers: CLASSIC_CIPHER,
      secureOptions: TEXTBOOK_TLS12,
    };
  }
  return { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' };
}

/**
 * What the SLB accepts: by default both, so that the classic client, the modern client, curl and
 * `openssl s_client -tls1_2 -cipher AES128-GCM-SHA256` all work against one running lab. Any TLS 1.2
 * session it makes is a textbook one (no EMS, no tickets).
 */
export function slbTlsSettings(mode: TlsMode | 'both'): SecureContextOptions {
  if (mode !== 'both') return tlsSettings(mode);
  return { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3', secureOptions: TEXTBOOK_TLS12 };
}

export function parseTlsMode(value: string | undefined, fallback: TlsMode): TlsMode {
  if (value === undefined) return fallback;
  if (value === 'classic' || value === 'modern') return value;
  throw new Error(`--mode must be classic or modern, not "${value}"`);
}
