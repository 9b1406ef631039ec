// The workshop's exercises, in the order a session takes them. Each is a page (en/NN-name.md and
// its Chinese twin zh/NN-name.md) and a checker (NN-name.ts) whose words are in words/;
// lab/exercises/README.md is the instructor's page.
import type { Exercise } from './exercise.ts';
import { exercise as dnsWalk } from './01-dns-walk.ts';
import { exercise as gslbRegions } from './02-gslb-regions.ts';
import { exercise as failover } from './03-failover.ts';
import { exercise as cache } from './04-cache.ts';
import { exercise as chain } from './05-chain.ts';
import { exercise as classicModern } from './06-classic-modern.ts';
import { exercise as masterSecret } from './07-master-secret.ts';
import { exercise as tcpHandshake } from './08-tcp-handshake.ts';
import { exercise as idempotency } from './09-idempotency.ts';
import { exercise as subnetGateway } from './10-subnet-gateway.ts';
import { exercise as packetPath } from './11-packet-path.ts';
import { exercise as brokenChain } from './12-broken-chain.ts';
import { exercise as revalidateStale } from './13-revalidate-stale.ts';

export const EXERCISES: readonly Exercise[] = [dnsWalk, gslbRegions, failover, cache, chain, classicModern, masterSecret, tcpHandshake, idempotency, subnetGateway, packetPath, brokenChain, revalidateStale];
