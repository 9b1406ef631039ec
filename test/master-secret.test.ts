// The three randoms: the master secret recomputed from a real classic handshake read off the wire
// must equal the SLB's key log, and every way of not matching must fail loudly and say which.
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { placeOrder } from '../client/order-client.ts';
import { RecordingSocket } from '../client/recording-socket.ts';
import {
  MasterSecretError,
  checkMasterSecret,
  classicHandshakeFrom,
  modernKeyExchange,
  prfSha256,
  type MasterSecretInput,
} from '../lab/master-secret.ts';
import { prf } from '../lab/tls12-prf.ts';
import { CLASSIC_CIPHER } from '../servers/net/tls-modes.ts';
import { decodeRecording, type RecordedTlsConnection } from '../lab/observe/tls-recorder.ts';
import type { TlsMode } from '../servers/net/tls-modes.ts';
import { makeChainDir, startShop, type Shop } from './shop-fixture.ts';
import { words } from '../lab/story/words/index.ts';

const chain = makeChainDir('lab-master-secret-');
const keyLogFile = path.join(chain.dir, 'keylog.txt'); // where the shop fixture's SLB writes it
let shop: Shop;
let leafKeyPem: string;

beforeAll(async () => {
  shop = await startShop(chain);
  leafKeyPem = fs.readFileSync(chain.files.leafKey, 'utf8');
});
afterAll(async () => {
  await shop.close();
  fs.rmSync(chain.dir, { recursive: true, force: true });
});

/** The seed's order, straight to the SLB (classic port or the shop's), recorded at the phone's socket. */
async function orderRecorded(mode: TlsMode): Promise<RecordedTlsConnection> {
  let closed = () => {};
  const whenClosed = new Promise<void>((resolve) => (closed = resolve));
  const port = mode === 'classic' ? shop.slb.classicPort! : shop.slb.port;
  const result = await placeOrder({ hostname: 'www.geektime.test', address: shop.slb.host, port, rootCaPem: shop.rootPem, mode, record: true, onTcpClose: () => closed() });
  expect(result.status).toBe(201);
  await whenClosed;
  await shop.slb.flushKeyLog(); // the SLB writes its key log off the request path
  return decodeRecording(result.wire!.chunks);
}

/** Run `fn`, expect a MasterSecretError, return it. */
function failure(fn: () => unknown): MasterSecretError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MasterSecretError);
    return err as MasterSecretError;
  }
  throw new Error('expected the master secret check to fail, and it passed');
}

describe('the TLS 1.2 PRF', () => {
  it('matches the published P_SHA256 test vector (the one `openssl kdf TLS1-PRF` reproduces)', () => {
    const out = prfSha256(Buffer.from('9bbe436ba940f017b17652849a71db35', 'hex'), 'test label', Buffer.from('a0ba9f936cda311827a6f796ffd5198c', 'hex'), 100);
    expect(out.toString('hex')).toBe(
      'e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab' +
        '4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66',
    );
  });

  it('with SHA-384 (the _SHA384 suites) matches the published P_SHA384 vector (`openssl kdf -kdfopt digest:SHA384 TLS1-PRF` gives the same)', () => {
    const out = prf('sha384', Buffer.from('b80b733d6ceefcdc71566ea48e5567df', 'hex'), 'test label', Buffer.from('cd665cf6a8447dd6ff8b27555edb7465', 'hex'), 148);
    expect(out.toString('hex')).toBe(
      '7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cde9ca0faa60be9fe34f82b1233c9146a0e534cb400fed2700884f9dc236f80edd8b' +
        'fa961144c9e8d792eca722a7b32fc3d416d473ebc2c5fd4abfdad05d9184259b5bf8cd4d90fa0d31e2dec479e4f1a26066f2eea9a69236a3e52655c9e9aee691c8' +
        'f3a26854308d5eaa3be85e0990703d73e56f',
    );
  });
});

describe('classic mode: the master secret from the three randoms', () => {
  let conn: RecordedTlsConnection;
  let input: MasterSecretInput;
  let line: string;
  beforeAll(async () => {
    conn = await orderRecorded('classic');
    input = { ...classicHandshakeFrom(conn.events), privateKeyPem: leafKeyPem, keyLogFile };
    line = fs.readFileSync(keyLogFile, 'utf8').split('\n').find((l) => l.startsWith(`CLIENT_RANDOM ${conn.clientRandom}`))!;
  });

  it('reads the inputs off the wire: both randoms, the client version, the encrypted pre-master, no EMS', () => {
    expect(input.clientRandom).toBe(conn.clientRandom);
    expect(input.serverRandom).toBe(conn.serverRandom);
    expect(input.clientVersion).toBe(0x0303);
    expect(input.encryptedPreMaster).toHaveLength(256);
    expect(input.extendedMasterSecret).toBe(false);
    expect(line).toMatch(/^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}$/);
  });

  it('decrypts the pre-master with the SLB’s key and recomputes exactly the key log’s master secret', () => {
    const check = checkMasterSecret(input);
    expect(check.matches).toBe(true);
    expect(check.preMaster).toHaveLength(48);
    expect(check.preMaster.subarray(0, 2).toString('hex')).toBe('0303');
    expect(check.master.toString('hex')).toBe(line.split(' ')[2]);
    expect(check.keyLogMaster.equals(check.master)).toBe(true);
  });

  it('a tampered key log line (one hex digit of the master flipped, in a copy) fails loudly', () => {
    const tampered = path.join(chain.dir, 'keylog-tampered.txt');
    const at = line.length - 10; // inside the master secret, not the client random
    const flippedLine = line.slice(0, at) + (line[at] === '0' ? '1' : '0') + line.slice(at + 1);
    fs.writeFileSync(tampered, fs.readFileSync(keyLogFile, 'utf8').replace(line, flippedLine));
    const err = failure(() => checkMasterSecret({ ...input, keyLogFile: tampered }));
    expect(err.reason).toBe('key-log-mismatch');
    expect(err.message).toMatch(/key log does not match/);
    expect(err.message).toMatch(/tampered/);
    expect(err.computed.master?.toString('hex')).toBe(line.split(' ')[2]);
  });

  it('a key log without this connection’s line fails loudly, saying there is no line', () => {
    const without = path.join(chain.dir, 'keylog-without.txt');
    fs.writeFileSync(without, fs.readFileSync(keyLogFile, 'utf8').replace(`${line}\n`, ''));
    const err = failure(() => checkMasterSecret({ ...input, keyLogFile: without }));
    expect(err.reason).toBe('no-key-log-line');
    expect(err.message).toMatch(new RegExp(`no CLIENT_RANDOM line for client random ${conn.clientRandom}`));
  });

  it('the wrong private key cannot recover a pre-master', () => {
    const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const err = failure(() => checkMasterSecret({ ...input, privateKeyPem: other }));
    expect(err.reason).toBe('bad-pre-master');
  });
});

describe('classic mode with extended master secret left on', () => {
  it('is detected from the hellos, and the check refuses the textbook formula', async () => {
    // An OpenSSL server and client with their defaults: TLS 1.2 + RSA key exchange, but EMS on.
    const keyLog = path.join(chain.dir, 'keylog-ems.txt');
    const server = tls.createServer({
      cert: fs.readFileSync(chain.files.fullChain, 'utf8'),
      key: leafKeyPem,
      maxVersion: 'TLSv1.2',
      ciphers: CLASSIC_CIPHER,
    });
    server.on('keylog', (l: Buffer) => fs.appendFileSync(keyLog, l));
    server.on('secureConnection', (s) => s.end('hello'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      // The client on a recorder around its own socket: the handshake's bytes, straight from the connection.
      const recorder = new RecordingSocket(net.connect({ host: '127.0.0.1', port: (server.address() as { port: number }).port, allowHalfOpen: true }));
      await new Promise<void>((resolve, reject) => {
        const s = tls.connect({ socket: recorder, servername: 'www.geektime.test', ca: shop.rootPem, maxVersion: 'TLSv1.2', ciphers: CLASSIC_CIPHER });
        s.on('data', () => {});
        s.on('end', () => resolve());
        s.on('error', reject);
      });
      const conn = decodeRecording(recorder.chunks);
      const handshake = classicHandshakeFrom(conn.events);
      expect(handshake.extendedMasterSecret).toBe(true);
      const err = failure(() => checkMasterSecret({ ...handshake, privateKeyPem: leafKeyPem, keyLogFile: keyLog }));
      expect(err.reason).toBe('extended-master-secret');
      expect(err.message).toMatch(/extended master secret \(RFC 7627\) was negotiated/);
      expect(err.message).toMatch(/textbook formula/);
      // And indeed: the pre-master decrypted fine, but the textbook master is not what OpenSSL used.
      expect(fs.readFileSync(keyLog, 'utf8')).not.toContain(err.computed.master!.toString('hex'));
    } finally {
      server.close();
    }
  });
});

describe('modern mode: nothing to recover', () => {
  let conn: RecordedTlsConnection;
  beforeAll(async () => {
    conn = await orderRecorded('modern');
  });

  it('names the ECDHE group from the ServerHello key_share and explains forward secrecy', () => {
    const modern = modernKeyExchange(conn.events, fs.readFileSync(keyLogFile, 'utf8'));
    // OpenSSL 3.0 (Node 20, 22) picks x25519; OpenSSL 3.5 (Node 24, 26) the hybrid X25519MLKEM768
    // first, as browsers do. Either way the sizes are the group's own (RFC 7748; FIPS 203 + 32).
    const sizes: Record<string, { id: number; client: number; server: number }> = {
      x25519: { id: 29, client: 32, server: 32 },
      X25519MLKEM768: { id: 0x11ec, client: 1184 + 32, server: 1088 + 32 },
    };
    const want = sizes[modern.group];
    expect(want, `group ${modern.group}`).toBeDefined();
    expect(modern.groupId).toBe(want!.id);
    expect(modern.clientKeyShares).toContain(modern.group);
    expect(modern.serverPublicKeyBytes).toBe(want!.server);
    expect(modern.keyLogLabels).toEqual(expect.arrayContaining(['CLIENT_HANDSHAKE_TRAFFIC_SECRET', 'SERVER_TRAFFIC_SECRET_0', 'CLIENT_TRAFFIC_SECRET_0']));
    expect(modern.keyLogLabels).not.toContain('CLIENT_RANDOM');
    expect(modern.clientPublicKeyBytes).toBe(want!.client);
    const said = words().tls.modernKeyExchangeLines(modern).join(' ');
    expect(said).toMatch(
      modern.group === 'x25519'
        ? /Diffie-Hellman on x25519: the client sent a 32-byte public key/
        : /a hybrid of two.*x25519 elliptic-curve Diffie-Hellman, and ML-KEM-768.*a 1216-byte key share.*1120 bytes in the ServerHello/,
    );
    expect(said).toMatch(/forward secrecy/);
    expect(said).toMatch(/never left the two ends/);
  });

  it('the classic check refuses a TLS 1.3 connection and says why', () => {
    const err = failure(() => classicHandshakeFrom(conn.events));
    expect(err.reason).toBe('not-classic');
    expect(err.message).toMatch(/TLS 1\.3/);
  });
});
