// A small DNS fuzzer for the tests: random bytes and mutated valid queries, over UDP and TCP.
// It asserts nothing itself; the caller checks that the server still answers afterwards.
import dgram from 'node:dgram';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { Packet } from '../servers/dns/dns-server.ts';

export function rawTcp(server: { host: string; port: number }, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(server.port, server.host, () => socket.end(bytes));
    socket.on('error', () => resolve());
    socket.on('close', () => resolve());
    socket.resume();
    socket.setTimeout(500, () => socket.destroy());
  });
}

/** A valid query for `name` (A, IN, RD set), to mutate. */
export function queryBytes(name: string): Buffer {
  const header = Buffer.from([0, 7, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
  return Buffer.concat([header, Packet.Name.encode(name), Buffer.from([0, 1, 0, 1])]);
}

/** Send `count` broken packets to the servers, round robin; every 100th also over TCP. */
export async function fuzz(servers: Array<{ host: string; port: number }>, count: number, seedName = 'www.geektime.test'): Promise<void> {
  const valid = queryBytes(seedName);
  const socket = dgram.createSocket('udp4');
  socket.on('message', () => {}); // answers to garbage are allowed, and ignored here
  for (let i = 0; i < count; i++) {
    let bytes: Buffer;
    if (i % 2 === 0) bytes = randomBytes(1 + (i % 300));
    else {
      bytes = Buffer.from(valid);
      for (let k = 0; k < 1 + (i % 5); k++) bytes[(i * 7 + k * 13) % bytes.length] = (i * 31 + k) & 0xff;
    }
    const target = servers[i % servers.length]!;
    await new Promise<void>((resolve) => socket.send(bytes, target.port, target.host, () => resolve()));
    if (i % 100 === 0) await rawTcp(target, Buffer.concat([Buffer.from([0, bytes.length]), bytes]));
  }
  socket.close();
}
