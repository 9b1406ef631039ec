// What the long-running lab says: `npm run lab -- up` (its listing of the roles, how to reach them,
// its notes and errors), the supervisor's lines when a role crashes or comes back, the operator
// commands `status` and `role`, and the errors of state.json, the control socket and role processes.
// Commands quoted in these lines (dig, curl, openssl…) are the same in every language.

export const up = {

  // ── starting ─────────────────────────────────────────────────────────────────────────────
  portNeedsPrivilege: (role: string, port: number, instead: number) =>
    `${role}: port ${port} needs privilege, so it listens on ${instead} instead (for ${port}: run as root, or \`sudo sysctl net.ipv4.ip_unprivileged_port_start=${port}\`)`,
  /** One note per standard port the lab could not use: the roles that moved, where to, and how to get it. */
  portsMoved: (standard: number, roles: string[], instead: number) =>
    `port ${standard} needs privilege, so ${roles.join(', ')} listen${roles.length === 1 ? 's' : ''} on ${instead} instead ` +
    `(for ${standard}: run as root, give node CAP_NET_BIND_SERVICE, or \`sudo sysctl net.ipv4.ip_unprivileged_port_start=${standard}\`)`,
  portTaken: (role: string, where: string, instead: number) => `${role}: ${where} is taken by another program, so it listens on ${instead} instead`,
  noPortToTry: (role: string) => `${role}: no port to try`,
  httpsOf: (role: string) => `${role} (https)`,
  cannotOpenOrderLog: (file: string, why: string) => `cannot open the order log ${file}: ${why}`,
  notRunning: (role: string, why: string | undefined) => `${role} is not running (${why ?? 'down'})`,

  // ── `up`: the listing ─────────────────────────────────────────────────────────────────────
  certificates: (made: readonly string[], dir: string) => `Certificates: ${made.length ? `made ${made.join(', ')}` : 'reused'} (${dir}/)`,
  note: (note: string) => `Note: ${note}`,
  rolesPerRole: 'Roles (one loopback address per role):',
  rolesSingle: 'Roles (one address, one port per role):',
  rolesNs: 'Roles (every host its own network namespace):',
  down: '(DOWN)',
  couldNotStart: (role: string, why: string) => `DOWN: ${role} could not start: ${why}`,
  othersUp: (role: string) => `The other roles are up. After fixing it: npm run lab -- role ${role} restart`,
  reachWith: 'Reach it with:',
  state: (file: string) => `State: ${file}`,
  stateNs: (file: string) => `State: ${file} (hosts, namespaces, interfaces, addresses, MACs, routes, links)`,
  isUp: 'Lab is up. Press Ctrl-C to stop.',
  stopping: 'Stopping...',
  stopped: 'Lab stopped.',
  stoppedNs: 'Lab stopped, network removed.',

  // ── how to reach it: the commands stay, the comments are words ─────────────────────────────
  reach: {
    phoneQuestion: "the phone's question to its local DNS",
    rootReferral: "the root's referral",
    pictureOverHttps: 'a picture over HTTPS, as an https page loads it',
    orModern: '(or --mode modern)',
    wireshark: (filter: string | undefined, keyLog: string) =>
      `Wireshark: capture on loopback${filter ? ` with the capture filter "${filter}" (no health checks)` : ''}, TLS key log: ${keyLog}`,
    phones: (north: string, south: string) => `The phones: ${north}, ${south}. Reach the lab as the phone:`,
    cdnOverHttps: '(the CDN over HTTPS)',
    routers: '(the routers on the way: each answers when the TTL runs out there)',
    wiresharkNs: (command: string) => `(Wireshark: ${command})`,
    browserNs: "(Chromium as the phone, in its namespace)",
  },

  // ── the supervisor's lines (lab/supervisor.ts) ───────────────────────────────────────────
  supervisor: {
    staleError: (role: string, message: string) => `${role}: an error from an instance no longer running, ignored: ${message}`,
    status: (role: string, status: string, reason: string | undefined) => `${role}: ${status}: ${reason}`,
    upAgain: (role: string, restarts: number) => `${role}: up again (restart ${restarts})`,
    stopped: (role: string, reason: string | undefined) => `${role}: stopped (${reason})`,
    byOperator: 'stopped by the operator',
    leftDown: (message: string, times: number) => `${message}; crashed ${times} times in a minute, left down`,
    toldToCrash: (role: string) => `${role} was told to crash (lab role ${role} crash)`,
    noRole: (role: string, roles: readonly string[]) => `no role "${role}" (roles: ${roles.join(', ')})`,
  },

  // ── role processes (ns mode: lab/role-process.ts, lab/role-host.ts) ───────────────────────
  process: {
    notListening: (role: string, seconds: number) => `${role}: not listening after ${seconds} s`,
    couldNotStart: (role: string, file: string, why: string) => `${role}: could not start ${file}: ${why}`,
    exitedEarly: (role: string, how: string) => `${role}: exited before it was listening (${how})`,
    exitCode: (code: number | null) => `code ${code}`,
    exited: (role: string) => `${role} exited`,
    didNotAnswer: (role: string, method: string, seconds: number) => `${role} did not answer ${method} within ${seconds} s`,
    gone: (role: string) => `${role} is gone`,
    byHand: 'lab/role-host.ts is started by the lab (it needs an IPC channel), not by hand',
    noMethod: (method: string) => `no method ${method}`,
  },

  // ── state.json (lab/state.ts) ──────────────────────────────────────────────────────────
  alreadyRunning: (dir: string, pid: number, file: string) =>
    `a lab is already running from ${dir} (process ${pid}, see ${file}): stop it with Ctrl-C in its terminal (or \`kill ${pid}\`), or give this one its own folder with LAB_DIR=...`,
  noRunningLab: (file: string) => `no running lab found (${file} is missing): start one with \`npm run lab -- up\``,
  staleState: (file: string, pid: number) => `${file} names process ${pid}, which is not running: start the lab with \`npm run lab -- up\``,
  noSuchRole: (role: string, roles: readonly string[]) => `the running lab has no role "${role}" (it has ${roles.join(', ')})`,

  // ── the control socket and its commands (lab/control.ts) ────────────────────────────────────
  control: {
    lineTooLong: 'request line too long',
    notJson: 'not JSON',
    noFaultSwitches: 'this lab has no fault switches',
    faultNeeds: 'fault needs "name" (a string) and "on" (true or false)',
    unknownCommand: (cmd: string) => `unknown command ${cmd}`,
    noAnswer: (ms: number) => `the lab did not answer within ${ms} ms`,
    noLabListening: (file: string) => `no lab is listening on ${file}: start one with \`npm run lab -- up\``,
    answerNotJson: (data: string) => `the lab answered something that is not JSON: ${data}`,
    /** One role in `status`: after its name and status (values, as the supervisor says them). */
    since: (since: string) => `since ${since}`,
    restarted: (times: number) => `, restarted ${times}×`,
    roleUsage: 'usage: npm run lab -- role NAME stop|restart|crash',
    toldToCrash: (role: string) => `${role} was told to crash; the supervisor restarts it (see \`npm run lab -- status\`)`,
  },
  noControlSocket: (pid: number) => `the running lab (process ${pid}) has no control socket`,
};
