// .lab/state.json: how exercises, tests and outside tools find a running lab.
// Written when every role is ready, removed when the lab stops.
import fs from 'node:fs';
import path from 'node:path';
import { labDir } from './paths.ts';
import type { NetPlan } from './net-ns/plan.ts';
import type { RoleStatus } from './supervisor.ts';
import { upWords } from './words/up.ts';

export interface RoleState {
  name: string;
  what: string;
  host: string;
  port: number;
  protocol: 'https' | 'http' | 'dns';
  url?: string;
  /** Another listener of the role named here (slb-classic is the SLB's second port). */
  partOf?: string;
  /** What the supervisor says of it now (lab/supervisor.ts): up, crashed, stopped, failed. */
  status?: RoleStatus;
  /** Why it is not up. */
  reason?: string;
  /** How often it was started again after a crash or by the operator. */
  restarts?: number;
  /** Where its health checks leave from, when not from `host` (a capture filter leaves them out). */
  healthChecksFrom?: string;
  /** ns mode: the network namespace of its host (`ip netns exec <namespace> …` runs a command there), and its process. */
  namespace?: string;
  pid?: number;
}

export interface LabState {
  pid: number;
  startedAt: string;
  /** 'namespaces': every host its own network namespace (ns mode); else loopback addresses. */
  addressing: 'per-role' | 'single' | 'namespaces';
  /** Host name the shop's certificate is for (until DNS resolves it, map it with curl --resolve). */
  shopHost: string;
  roles: RoleState[];
  rootCa: string;
  intermediateCa: string;
  keyLog: string;
  orderLog: string;
  /** The local DNS's log of every resolution it made (one JSON line each, like dnstap). */
  walkLog: string;
  /** The operator's token for PURGE at the CDN caches (state.json is 0600 for this reason). */
  purge?: { token: string; how: string };
  /** The operator socket of `lab up` (lab/control.ts): status, stop, restart, crash a role. */
  control?: string;
  /** The workshop's faults that are on now (lab/faults.ts: `npm run lab -- fault NAME on|off`). */
  faults?: string[];
  /** ns mode: the network (hosts, namespaces, interfaces, addresses, MACs, routes, links, delays). */
  net?: NetPlan;
}

export function statePath(): string {
  return path.join(labDir(), 'state.json');
}

export function writeState(state: LabState): string {
  const file = statePath();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // 0600 (made anew each time, so a left-over .tmp cannot keep wider bits): it carries the PURGE token.
  fs.rmSync(`${file}.tmp`, { force: true });
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file); // readers never see half a file
  return file;
}

/** Remove state.json, but only if it still describes this process's lab. */
export function removeState(pid: number = process.pid): void {
  try {
    const state = JSON.parse(fs.readFileSync(statePath(), 'utf8')) as LabState;
    if (state.pid !== pid) return;
  } catch {
    return; // already gone, or not ours to judge
  }
  fs.rmSync(statePath(), { force: true });
}

/** Refuse to start a second lab on the same runtime folder: they would share logs and state. */
export function assertNoRunningLab(): void {
  let state: LabState;
  try {
    state = JSON.parse(fs.readFileSync(statePath(), 'utf8')) as LabState;
  } catch {
    return;
  }
  if (state.pid !== process.pid && isAlive(state.pid)) {
    throw new Error(upWords().alreadyRunning(labDir(), state.pid, statePath()));
  }
}

/** A path as a person would type it: relative to here when that is shorter and inside, else absolute. */
export function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

/** The running lab's state, or a clear error saying how to start one. */
export function readState(): LabState {
  const file = statePath();
  let state: LabState;
  try {
    state = JSON.parse(fs.readFileSync(file, 'utf8')) as LabState;
  } catch {
    throw new Error(upWords().noRunningLab(file));
  }
  if (!isAlive(state.pid)) {
    throw new Error(upWords().staleState(file, state.pid));
  }
  return state;
}

export function findRole(state: LabState, name: string): RoleState {
  const role = state.roles.find((r) => r.name === name);
  if (!role) throw new Error(upWords().noSuchRole(name, state.roles.map((r) => r.name)));
  return role;
}

/** Is the process alive? A zombie (killed, not yet reaped by its parent) is not: it runs no more. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return !fs.existsSync('/proc/self'); // gone between the two looks; or no /proc (not Linux), where kill(pid, 0) has answered
  }
}
