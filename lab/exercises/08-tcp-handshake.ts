// Exercise 8: the truth is the capture of the last walkthrough: the phone's connection to the SLB.
import path from 'node:path';
import { decodeFrame, tcpConnections } from '../observe/packets.ts';
import { readCapture } from '../observe/pcapng.ts';
import { readState } from '../state.ts';
import { readIfThere, right, same, verdict, wrong, type Exercise } from './exercise.ts';

const asks = { 'client-isn': "the SYN's sequence number", 'server-isn': "the SYN-ACK's sequence number", ack: 'the acknowledgment number of the third segment' };

export const exercise: Exercise = {
  n: 8,
  slug: 'tcp-handshake',
  title: "The TCP handshake's sequence numbers",
  seed: '§5',
  needs: 'a walkthrough run',
  asks,
  async check(ctx) {
    const file = path.join(ctx.dir, 'capture.pcapng');
    const bytes = readIfThere(file);
    if (!bytes) return verdict([wrong(`no ${file}: run the walkthrough (npm run lab) first, with tcpdump installed`)]);
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
    if (!conn) return verdict([wrong(`${file} holds no connection to the SLB: run the walkthrough again`)]);
    const segs = capture.frames.map(decodeFrame).filter((d) => d.tcp && d.ipv4 && [d.tcp.sourcePort, d.tcp.destinationPort].includes(conn.client.port) && [d.tcp.sourcePort, d.tcp.destinationPort].includes(conn.server.port));
    const syn = segs.find((d) => d.tcp!.flags.syn && !d.tcp!.flags.ack)!;
    const synAck = segs.find((d) => d.tcp!.flags.syn && d.tcp!.flags.ack);
    const third = synAck && segs.find((d) => d.frame.number > synAck.frame.number && d.tcp!.sourcePort === conn.client.port);
    if (!synAck || !third) return verdict([wrong(`${file} lacks part of the handshake: run the walkthrough again`)]);
    const a = ctx.answers;
    const relative = (v: string | undefined) => v === '0' || v === '1';
    return verdict([
      same(a['client-isn'], String(syn.tcp!.seq)) ? right("client-isn: the phone's random ISN") : wrong(`client-isn: ${relative(a['client-isn']) ? 'that is the relative number; give the raw one (tcp.seq_raw)' : `${a['client-isn']} is not the sequence number of the phone's SYN to the SLB`}`),
      same(a['server-isn'], String(synAck.tcp!.seq)) ? right("server-isn: the SLB's own random ISN") : wrong(`server-isn: ${relative(a['server-isn']) ? 'that is the relative number; give the raw one' : `${a['server-isn']} is not the SYN-ACK's sequence number`}`),
      same(a.ack, String(third.tcp!.ack)) ? right('ack: the server\'s ISN + 1: its SYN took one number') : wrong(`ack: ${relative(a.ack) ? 'that is the relative number; give the raw one (tcp.ack_raw)' : `${a.ack} is not the acknowledgment number of the phone's third segment`}`),
    ]);
  },
};
