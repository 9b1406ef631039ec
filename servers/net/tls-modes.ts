// The two TLS set-ups the lab compares, shared by the SLB (server side) and the client.
//
// classic: the seed's handshake. TLS 1.2 with RSA key exchange (TLS_RSA_WITH_AES_128_GCM_SHA256):
//   the client encrypts a pre-master secret with the server's public key, and
//   master = PRF(pre-master, "master secret", client random ‖ server random).
//   OpenSSL would add the extended master secret (RFC 7627), which hashes the whole handshake
//   into the master secret instead, and session tickets; both are switched off so the textbook
//   formula holds and every connection does a full handshake.
//   Anyone who records the traffic and later gets the server's private key reads all of it: no
//   forward secrecy. That is why the SLB serves classic only on a listener of its own.
// modern: TLS 1.3 with (EC)DHE. No pre-master on the wire, forward secrecy.
import { constants } from 'node:crypto';
import type { SecureContextOptions } from 'node:tls';

export type TlsMode = 'classic' | 'modern';

/**
 * What the SLB's listeners speak:
 *   'modern'  one listener, forward-secret key exchange only (TLS 1.3, and TLS 1.2 with ECDHE);
 *   'classic' one listener, the seed's TLS 1.2 RSA key exchange only;
 *   'both'    the shop's port is modern, and a second port is classic, for the lesson.
 */
export type SlbTlsMode = TlsMode | 'both';

// Raw OpenSSL option bits (Node exports SSL_OP_NO_TICKET but not the EMS bit).
export const SSL_OP_NO_EXTENDED_MASTER_SECRET = 0x1;
export const SSL_OP_NO_TICKET = constants.SSL_OP_NO_TICKET ?? 0x4000;
export const TEXTBOOK_TLS12 = SSL_OP_NO_EXTENDED_MASTER_SECRET | SSL_OP_NO_TICKET;
/** Refuse every renegotiation (RFC 5746 §4.2: answer the ClientHello with no_renegotiation).
 *  Node allows a client 3 renegotiations per 10 minutes by default, each a full RSA decryption
 *  or ECDHE computation for the server, asked for at no cost by the client. */
export const SSL_OP_NO_RENEGOTIATION = constants.SSL_OP_NO_RENEGOTIATION ?? 0x40000000;

export const CLASSIC_CIPHER = 'AES128-GCM-SHA256'; // OpenSSL's name for TLS_RSA_WITH_AES_128_GCM_SHA256

/** TLS 1.2 suites with an ephemeral key exchange (ECDHE) and an AEAD cipher, in the server's
 *  order of preference. TLS 1.3 suites are all forward secret and keep OpenSSL's defaults. */
export const FORWARD_SECRET_TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** The client's settings for one mode: exactly one way to talk, so a run shows that way. */
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

/** What one SLB listener accepts. */
export function slbListenerSettings(mode: TlsMode): SecureContextOptions {
  if (mode === 'classic') {
    return { ...tlsSettings('classic'), secureOptions: TEXTBOOK_TLS12 | SSL_OP_NO_RENEGOTIATION };
  }
  return forwardSecretServerSettings();
}

/**
 * A server that speaks only forward-secret TLS: TLS 1.3, or TLS 1.2 with ECDHE and an AEAD cipher,
 * no renegotiation. The SLB's shop port and the CDN's edges (what public sites and CDNs serve today).
 * A TLS 1.2 client that offers only RSA key exchange gets a handshake_failure alert (OpenSSL:
 * "no shared cipher") rather than a session whose recording the server's key would unlock.
 */
export function forwardSecretServerSettings(): SecureContextOptions {
  return {
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.3',
    ciphers: FORWARD_SECRET_TLS12_CIPHERS,
    honorCipherOrder: true,
    secureOptions: SSL_OP_NO_RENEGOTIATION,
  };
}

export function parseTlsMode(value: string | undefined, fallback: TlsMode): TlsMode {
  if (value === undefined) return fallback;
  if (value === 'classic' || value === 'modern') return value;
  throw new Error(`--mode must be classic or modern, not "${value}"`);
}

export function parseSlbTlsMode(value: string | undefined, fallback: SlbTlsMode): SlbTlsMode {
  if (value === undefined) return fallback;
  if (value === 'both' || value === 'classic' || value === 'modern') return value;
  throw new Error(`--tls must be both, classic or modern, not "${value}"`);
}
