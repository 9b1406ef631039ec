// One role as a process of its own: what `ip netns exec <host> node lab/role-host.ts` runs in ns
// mode, so each role lives in its host's network namespace with that host's interfaces, routes and
// TCP stack. It starts the role from its spec (lab/roles.ts) and talks to the `lab` process over
// Node's IPC channel (the fd survives `ip netns exec`, which only changes namespaces, then execs):
//
//   → { type: 'ready', host, port, classicPort?, tlsPort? }   once listening (the SLB's classic
//                                                        port, an edge's https port)
//   → { type: 'failed', message }                        it could not start; the process exits 1
//   → { type: 'event', name, args }                      what the walkthrough observes (below)
//   → { type: 'log', line }                              the role's own log lines
//   ← { type: 'call', id, method }   → { type: 'reply', id, value } or { type: 'reply', id, error }
//   ← { type: 'stop' }                                   close, then exit 0
//
// One IPC channel delivers messages in order, so a reply to 'sync' comes after every event the
// role emitted before it: the walkthrough's barrier before it reads what a role observed.
import type { EventEmitter } from 'node:events';
import { OBSERVED, startRole, type RoleSpec, type RunningRole } from './roles.ts';
import { upWords } from './words/up.ts';


export type HostMessage =
  | { type: 'ready'; host: string; port: number; classicPort?: number; tlsPort?: number; pid: number }
  | { type: 'failed'; message: string }
  | { type: 'event'; name: string; args: unknown[] }
  | { type: 'log'; line: string }
  | { type: 'reply'; id: number; value?: unknown; error?: string };

export type ParentMessage = { type: 'spec'; spec: RoleSpec } | { type: 'call'; id: number; method: Method } | { type: 'stop' };

/** What the lab may ask a role process. */
export type Method = 'sync' | 'flushKeyLog' | 'flushWalkLog' | 'health';

/** To the lab, while it listens: a role whose lab went away says nothing more (and is stopping). */
function send(message: HostMessage): void {
  if (process.connected) process.send?.(message);
}

async function main(): Promise<void> {
  if (!process.send) throw new Error(upWords().process.byHand);
  // The spec comes over the channel, not the command line: it carries the PURGE token, and any
  // user of the machine can read a process's arguments (/proc/<pid>/cmdline).
  const spec = await new Promise<RoleSpec>((resolve) => process.once('message', (m: ParentMessage) => m.type === 'spec' && resolve(m.spec)));
  let role: RunningRole;
  try {
    role = await startRole(spec, { log: (line) => send({ type: 'log', line }) });
  } catch (err) {
    send({ type: 'failed', message: (err as Error).message });
    process.exitCode = 1;
    if (process.connected) process.disconnect();
    return;
  }
  const events = (role as { events?: EventEmitter }).events;
  for (const name of OBSERVED[spec.kind] ?? []) events?.on(name, (...args: unknown[]) => send({ type: 'event', name, args }));

  const methods: Record<Method, () => Promise<unknown>> = {
    sync: async () => true,
    flushKeyLog: async () => (role as { flushKeyLog?: () => Promise<void> }).flushKeyLog?.(),
    flushWalkLog: async () => (role as { flushWalkLog?: () => Promise<void> }).flushWalkLog?.(),
    // The GSLB's view of its edges: whether each is healthy yet (true, false, or 'unknown' before its first check).
    health: async () => (role as { edges?: () => unknown }).edges?.() ?? null,
  };
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await role.close().catch(() => {});
      if (process.connected) process.disconnect();
      process.exit(0);
    })());
  process.on('message', (m: ParentMessage) => {
    if (m.type === 'stop') void stop();
    else if (m.type === 'call') {
      const method = methods[m.method];
      if (!method) return send({ type: 'reply', id: m.id, error: upWords().process.noMethod(m.method) });
      method().then(
        (value) => send({ type: 'reply', id: m.id, value }),
        (err: Error) => send({ type: 'reply', id: m.id, error: err.message }),
      );
    }
  });
  // The lab went away without saying stop (killed): a role must not outlive it.
  process.on('disconnect', () => void stop());
  process.on('SIGTERM', () => void stop());
  // A Ctrl-C at the terminal reaches the whole process group; the lab stops its roles itself (over
  // the channel, so each closes properly: the SLB flushes its key log), or by going away.
  process.on('SIGINT', () => {});
  const { classicPort, tlsPort } = role as { classicPort?: number; tlsPort?: number };
  send({ type: 'ready', host: role.host, port: role.port, ...(classicPort !== undefined && { classicPort }), ...(tlsPort !== undefined && { tlsPort }), pid: process.pid });
}

void main();
