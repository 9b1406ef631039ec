// The resolver's message cache (Unbound keeps one beside its RRset cache): whole answers, kept as
// the bytes that went out.
//
// Answering from the RRset cache means following the CNAME chain one record set at a time, copying
// each record with its TTL counted down, and encoding a message. For the few questions a resolver
// is asked again and again, that was three quarters of its CPU per answer (npm run bench). So the
// encoded answer is kept too. When the same question comes again from the same subnet, a copy of
// its bytes gets only what must change (RFC 1035 §4.1): the query's ID, and each record's TTL,
// counted down to the moment it goes out, as the RRset cache would have served it.
//
// An entry holds only while every record in it is still good in the RRset cache: no TTL has run
// out, and the RRset cache has not changed since the entry was made (its generation, which every
// record put and every flush moves on). That rule is crude, since a walk for any name ends every
// entry, and safe: a record replaced or flushed there never lives on here. Anything else is a
// miss, and the answer is made from the RRset cache again.
import { answerTtlOffsets } from './wire.ts';

interface Entry<T> {
  bytes: Buffer;
  /** Where each answer record's TTL is in `bytes`, and when that record expires (ms). */
  ttlAt: number[];
  expires: number[];
  /** The RRset cache's generation when the answer was made. */
  generation: number;
  /** What the resolver wants back with the bytes (what the answer says, for its walk log). */
  about: T;
}

export interface KeptAnswer<T> {
  /** The answer for this query: its ID and TTLs written in. */
  bytes: Buffer;
  /** The TTLs written in, one per answer record, in order. */
  ttls: number[];
  about: T;
}

export class MessageCache<T> {
  /** Oldest first (a Map keeps insertion order): the first to go when it is full. */
  private entries = new Map<string, Entry<T>>();

  constructor(private readonly maxEntries: number) {}

  /** The kept answer under `key`, made out for query `id` at time `now`; undefined when there is none that still holds. */
  answer(key: string, id: number, now: number, generation: number): KeptAnswer<T> | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    const ttls = e.expires.map((expires) => Math.ceil((expires - now) / 1000));
    if (e.generation !== generation || ttls.some((ttl) => ttl <= 0)) {
      this.entries.delete(key);
      return undefined;
    }
    const bytes = Buffer.from(e.bytes);
    bytes.writeUInt16BE(id, 0);
    for (let i = 0; i < ttls.length; i++) bytes.writeUInt32BE(ttls[i]!, e.ttlAt[i]!);
    return { bytes, ttls, about: e.about };
  }

  /** Keep an answer: `expires` holds when each of its answer records expires in the RRset cache. */
  keep(key: string, bytes: Buffer, expires: number[], generation: number, about: T): void {
    const ttlAt = answerTtlOffsets(bytes);
    if (ttlAt.length !== expires.length) return; // not the answer the records describe: keep nothing
    this.entries.delete(key); // re-insert: newest last
    this.entries.set(key, { bytes: Buffer.from(bytes), ttlAt, expires, generation, about });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }
}
