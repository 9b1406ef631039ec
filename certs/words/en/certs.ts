// What `npm run lab -- certs` says: the chain it made or reused, each certificate's fields, the walk
// from the leaf up to the trusted root (certs/describe.ts), and how to check it with openssl.
// Field and extension names as X.509 and openssl spell them (basicConstraints, keyUsage, SAN…)
// and every value (names, serials, hex, dates) are the same in every language.

type Role = 'leaf' | 'intermediate' | 'root';

export const certs = {
  // ── the command ─────────────────────────────────────────────────────────────────────────
  usage: 'usage: npm run lab -- certs [--renew] [--dir <path>]',
  help: (dir: string) => `  --renew      remake root, intermediate and both leaves even if they are fine\n  --dir <path> where the files live (default: ${dir})`,
  cannotMake: (dir: string, why: string) => `Could not make the certificate chain in ${dir}: ${why}`,
  chainIn: (dir: string) => `Certificate chain in ${dir}`,
  made: (why: string | undefined) => `made    (${why})`,
  reused: 'reused',
  chainCrt: 'leaf + intermediate: what the SLB sends',
  cdnChainCrt: "cdn + intermediate: what the CDN's edges send (static.geektime.test)",
  checkYourself: 'Check it yourself (each should print "OK"):',

  // ── one certificate ───────────────────────────────────────────────────────────────────────
  /** Labels are padded to labelWidth display columns, then one space, then the value. */
  labelWidth: 17,
  label: {
    subject: 'subject:',
    issuer: 'issuer:',
    serial: 'serial:',
    valid: 'valid:',
    publicKey: 'public key:',
    signedWith: 'signed with:',
    fingerprint: 'SHA-256 fingerprint:',
    extensions: 'extensions:',
    ski: 'SKI (own key id):',
    aki: "AKI (signer's):",
  },
  notDecoded: (why: string) => `(not decoded: ${why})`,
  noKeyId: '(no key id)',
  critical: ' (critical)',
  present: ' (present)',
  validity: (from: string, to: string, daysLeft: number) => `from ${from} to ${to} (${daysLeft >= 0 ? `${daysLeft} days left` : `EXPIRED ${-daysLeft} days ago`})`,
  /** "RSA 2048 bits, SPKI SHA-256 F7:95:…": the key's type, its size, its hash. */
  publicKey: (type: string, bits: number | undefined, curve: string | undefined, spki: string) =>
    `${type} ${bits ? `${bits} bits` : (curve ?? '')}, SPKI SHA-256 ${spki}`,
  heading: (label: string, cn: string) => `${label}: ${cn}`,
  role: { leaf: 'leaf', intermediate: 'intermediate', root: 'root' } as Record<Role, string>,
  numbered: (n: number, role: string) => `#${n} ${role}`,
  /** A certificate and its common name: "#1 leaf (CN=www.geektime.test)". */
  named: (label: string, cn: string) => `${label} (${cn})`,
  trustedRoot: 'trusted root',
  notSent: '   (not sent by the server: the client already has it)',

  // ── the walk ────────────────────────────────────────────────────────────────────────────
  none: 'No certificates.',
  notIssued: (child: string, parent: string) => `✗ ${child} was NOT issued by ${parent}: its issuer name or AKI does not match`,
  badSignature: (child: string, parent: string) => `✗ ${child} names ${parent} as issuer, but the signature does NOT verify with its public key`,
  keyIdsMatch: (id: string) => ` (AKI = issuer SKI = ${id})`,
  keyIdsDiffer: (aki: string, ski: string) => ` (but AKI ${aki} ≠ issuer SKI ${ski})`,
  signed: (child: string, parent: string, parentRole: string, keyIds: string) => `✓ ${child} ← signed by → ${parent}: signature verified with the ${parentRole}'s public key${keyIds}`,
  walkHead: 'Chain of signatures, from the leaf up:',
  topIsRoot: (label: string) => `${label} is the trusted root itself (servers usually leave it out).`,
  anchorSelfSigned: (who: string) => `✓ ${who} is self-signed: trusted because the client already has it, not because of a signature.`,
  anchorNotRoot: (who: string) => `✗ ${who} is not self-signed: it is not a root.`,
  intact: 'Result: every link verifies up to the trusted root, so a client that trusts it accepts this chain.',
  broken: 'Result: the chain is BROKEN (see ✗ above); a client that trusts only this root rejects it.',
  endsSelfSigned: (who: string) => `${who} is self-signed: the chain ends here, trusted only if the client already has this certificate.`,
  endsUnknown: (label: string, issuer: string) => `${label} was signed by "${issuer}", which is not in the bundle; no trusted root was given to check against.`,
};
