// The running lab's operator channel: a Unix socket in the lab folder (0600, so only the user who
// started the lab can use it), one JSON line in, one JSON line out.
//   {"cmd":"status"}                          → {"ok":true,"roles":[{name,status,reason,since,restarts}]}
//   {"cmd":"stop"|"restart"|"crash","role":R}  → {"ok":true,"role":{...}}
//   {"cmd":"fault","name":F,"on":true|false}   → {"ok":true,"done":"what was done","faults":[on now]}
// A request may carry "lang":"zh"|"en": the reply's words (and errors) are then in that language,
// the asker's, which may not be the lab's.
// `npm run lab -- status`, `npm run lab -- role NAME stop|restart|crash` and
// `npm run lab -- fault NAME on|off` (lab/faults.ts) are its clients.
import fs from 'node:fs';
import net from 'node:net';
import { guardConnections, progressDeadline } from '../servers/net/limits.ts';
import { readState } from './state.ts';
import type { RoleControl, RoleRecord } from './supervisor.ts';
import type { FaultSwitches } from './faults.ts';
import { lang, parseLang, type Lang } from './lang.ts';
import { padEndWidth } from './text-width.ts';
import { cliWords } from './words/cli.ts';
import { upWords } from './words/up.ts';

export type ControlRequest = ({ cmd: 'status' } | { cmd: 'stop' | 'restart' | 'crash'; role: string } | { cmd: 'fault'; name: string; on: boolean }) & { lang?: Lang };
export type ControlReply = { ok: true; roles?: RoleRecord[]; role?: RoleRecord; done?: string; faults?: string[] } | { ok: false; error: string };

const MAX_LINE = 1024;

export async function startControl(file: string, supervisor: RoleControl, faults?: FaultSwitches): Promise<{ close(): Promise<void> }> {
  fs.rmSync(file, { force: true }); // a socket left by a lab that was killed
  const server = net.createServer((socket) => {
    const deadline = progressDeadline(socket, 5_000);
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('error', () => {});
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const end = buffer.indexOf('\n');
      if (end < 0) {
        if (buffer.length > MAX_LINE) {
          // Say why, then stop reading: a writer that goes on must not grow the buffer.
          socket.end(JSON.stringify({ ok: false, error: upWords().control.lineTooLong }) + '\n');
          socket.destroySoon();
          socket.removeAllListeners('data');
        }
        return;
      }
      deadline.stop();
      socket.pause();
      void answer(buffer.slice(0, end), supervisor, faults).then((reply) => socket.end(JSON.stringify(reply) + '\n'));
    });
  });
  guardConnections(server, { maxConnections: 16, maxPerClient: 16 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(file, () => resolve());
  });
  fs.chmodSync(file, 0o600);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        fs.rmSync(file, { force: true });
      }),
  };
}

async function answer(line: string, supervisor: RoleControl, faults?: FaultSwitches): Promise<ControlReply> {
  let req: ControlRequest;
  try {
    req = JSON.parse(line) as ControlRequest;
  } catch {
    return { ok: false, error: upWords().control.notJson };
  }
  const l = parseLang(req?.lang) ?? lang();
  const said = upWords(l).control;
  try {
    switch (req.cmd) {
      case 'status':
        return { ok: true, roles: supervisor.status() };
      case 'stop':
        return { ok: true, role: await supervisor.stop(req.role) };
      case 'restart':
        return { ok: true, role: await supervisor.restart(req.role) };
      case 'crash':
        supervisor.crash(req.role);
        return { ok: true };
      case 'fault': {
        if (!faults) return { ok: false, error: said.noFaultSwitches };
        if (typeof req.name !== 'string' || typeof req.on !== 'boolean') return { ok: false, error: said.faultNeeds };
        return { ok: true, ...(await faults.set(req.name, req.on, l)) };
      }
      default:
        return { ok: false, error: said.unknownCommand(JSON.stringify((req as { cmd: unknown }).cmd)) };
    }
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

/** Send one request to the running lab's control socket. */
export function control(file: string, req: ControlRequest, timeoutMs = 10_000): Promise<ControlReply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(file);
    let data = '';
    socket.setEncoding('utf8');
    const said = upWords().control;
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(said.noAnswer(timeoutMs))));
    socket.on('connect', () => socket.write(JSON.stringify(req) + '\n'));
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? new Error(said.noLabListening(file)) : err),
    );
    socket.on('end', () => {
      try {
        resolve(JSON.parse(data) as ControlReply);
      } catch {
        reject(new Error(said.answerNotJson(data.slice(0, 200))));
      }
    });
  });
}

function controlOf(): string {
  const state = readState();
  if (!state.control) throw new Error(upWords().noControlSocket(state.pid));
  return state.control;
}

/** One role: its name and status (values, as the supervisor says them), since when, why. */
function line(r: RoleRecord): string {
  const said = upWords().control;
  const restarts = r.restarts ? said.restarted(r.restarts) : '';
  return `  ${padEndWidth(r.name, 10)} ${padEndWidth(r.status, 8)} ${said.since(r.since)}${restarts}${r.reason ? `  ${r.reason}` : ''}`;
}

/** `npm run lab -- status`: every role of the running lab and what the supervisor says of it. */
export async function statusCommand(argv: string[]): Promise<number> {
  if (argv.length) throw new Error(cliWords().noArguments('status', argv));
  const reply = await control(controlOf(), { cmd: 'status', lang: lang() });
  if (!reply.ok) throw new Error(reply.error);
  for (const r of reply.roles ?? []) console.log(line(r));
  return (reply.roles ?? []).every((r) => r.status === 'up') ? 0 : 3;
}

/** `npm run lab -- role NAME stop|restart|crash`: break one role on purpose, or bring it back. */
export async function roleCommand(argv: string[]): Promise<number> {
  const [name, action] = argv;
  if (!name || (action !== 'stop' && action !== 'restart' && action !== 'crash') || argv.length !== 2) {
    throw new Error(upWords().control.roleUsage);
  }
  const reply = await control(controlOf(), { cmd: action, role: name, lang: lang() });
  if (!reply.ok) throw new Error(reply.error);
  if (reply.role) console.log(line(reply.role));
  else console.log(`  ${upWords().control.toldToCrash(name)}`);
  return 0;
}
