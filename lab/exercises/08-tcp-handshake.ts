// Exercise 8: the truth is the capture of the last walkthrough: the phone's connection to the SLB.
import path from 'node:path';
import { decodeFrame, tcpConnections } from '../observe/packets.ts';
import { readCapture } from '../observe/pcapng.ts';
import { readState } from '../state.ts';
import type { Lang } from '../lang.ts';
import { readIfThere, right, same, verdict, wrong, type Exercise } from './exercise.ts';
import { say as words } from './words/index.ts';

const say = (l?: Lang) => words(l).tcpHandshake;

export const exercise: Exercise = {
  n: 8,
  slug: 'tcp-handshake',
  seed: '§5',
  needs: 'a walkthrough run',
  words: say,
  async check(ctx) {
    const w = say();
    const file = path.join(ctx.dir, 'capture.pcapng');
    const bytes = readIfThere(file);
    if (!bytes) return verdict([wrong(w.noCapture(file))]);
    const capture = readCapture(bytes);
    // The SLB's ports: from the trace of that run (its roles), else the running lab.
    let ports: number[] = [];
    try {
      ports = (JSON.parse(readIfThere(path.join(ctx.dir, 'trace.json'))?.toString() ?? '{}') as { roles?: Array<{ name: string; port: number }> }).roles?.filter((r) => r.name.startsWith('slb')).map((r) => r.port) ?? [];
    } catch {
      /* no trace */
    }
    if (!ports.length) ports = (() => { try { return readState().roles.filter((r) => r.name.startsWith('slb')).map((r) => r.port); } catch { return [443, 4433]; } })();
    const conn = tcpConnections(capture).find((c) => ports.includes(c.server.port));
    if (!conn) return verdict([wrong(w.noConnection(file))]);
    const segs = capture.frames.map(decodeFrame).filter((d) => d.tcp && d.ipv4 && [d.tcp.sourcePort, d.tcp.destinationPort].includes(conn.client.port) && [d.tcp.sourcePort, d.tcp.destinationPort].includes(conn.server.port));
    const syn = segs.find((d) => d.tcp!.flags.syn && !d.tcp!.flags.ack)!;
    const synAck = segs.find((d) => d.tcp!.flags.syn && d.tcp!.flags.ack);
    const third = synAck && segs.find((d) => d.frame.number > synAck.frame.number && d.tcp!.sourcePort === conn.client.port);
    if (!synAck || !third) return verdict([wrong(w.partial(file))]);
    const a = ctx.answers;
    const relative = (v: string | undefined) => v === '0' || v === '1';
    return verdict([
      same(a['client-isn'], String(syn.tcp!.seq)) ? right(w.clientRight) : wrong(relative(a['client-isn']) ? w.clientRelative : w.clientWrong(a['client-isn']!)),
      same(a['server-isn'], String(synAck.tcp!.seq)) ? right(w.serverRight) : wrong(relative(a['server-isn']) ? w.serverRelative : w.serverWrong(a['server-isn']!)),
      same(a.ack, String(third.tcp!.ack)) ? right(w.ackRight) : wrong(relative(a.ack) ? w.ackRelative : w.ackWrong(a.ack!)),
    ]);
  },
};
