// The walkthrough's own words, around the story (lab/walkthrough.ts, lab/capture.ts): its first
// line and its last, the artifacts and the capture it leaves, the notes when there is no capture,
// and what it says when a step fails. The story itself is lab/story/words'.

export const opening: string = 'What happens when you buy something online: every step on real sockets, on this machine.';

export const allDone = (ms: number) => `All three steps done in ${ms} ms.`;

// ── Options and start ──

export const badFrom = (value: string) => `--from must be north or south, not "${value}"`;
export const badNet = (value: string) => `--net must be loopback or ns, not "${value}"`;
export const badCapture = (value: string) => `--capture must be phone or all, not "${value}"`;
export const faultWithNs: string = '--fault is not supported with --net ns yet: run it on the loopback lab';
export const startFailed = (message: string) => `starting the lab failed: ${message}`;

// ── A step that fails ──

export const stepTitles = { 1: 'pictures via the CDN', 2: 'the connection', 3: 'the order' };

/** "step 1 (pictures via the CDN) failed at local-dns while resolving …: …", then what to try. */
export const stepFailed = (step: number, title: string, role: string, what: string, cause: string, tryThis: string) =>
  `step ${step} (${title}) failed at ${role} while ${what}: ${cause}\n  Try: ${tryThis}`;

/** Where a step failed, when it is no role's own name. */
export const edgeCache: string = 'edge cache';

/** What the walkthrough was doing when it failed. */
export const doing = {
  resolving: (name: string) => `resolving ${name}`,
  resolvingAgain: (name: string) => `resolving ${name} again`,
  fetchingFirst: (urlPath: string) => `fetching ${urlPath} the first time`,
  fetching: (urlPath: string) => `fetching ${urlPath}`,
  fetchingAgain: (urlPath: string) => `fetching ${urlPath} again`,
  fetchingPictureAgain: 'fetching the picture a second time',
  connecting: (address: string, port: number) => `connecting to ${address}:${port} and sending the order`,
  checkingDirect: 'checking that the phone talked to the SLB directly',
  recomputingMaster: 'recomputing the master secret',
  placingOrder: 'placing the order',
};

/** Why it failed, when the walkthrough itself found it wrong. */
export const cause = {
  answered: (status: number) => `it answered ${status}`,
  notAHit: (cacheStatus: string | undefined) => `it was not a hit (Cache-Status: ${cacheStatus})`,
  notDirect: (phoneEnd: string, accepted: string[], orderFrom: string | undefined) =>
    `the phone's connection is ${phoneEnd}, but the SLB accepted ${accepted.join(', ') || 'no connection'} from the phone's address and took the order from ${orderFrom ?? 'nobody'}`,
  answerWas: (status: number, body: string) => `the answer was ${status} ${body}`,
};

/** What to try next. */
export const tryThis = {
  dns: 'npm run lab -- up, then npm run lab -- dig static.geektime.test to see the walk',
  cdn: 'npm run lab -- up, then npm run lab -- fetch /images/phone.png, or curl -v through the edge',
  digShop: 'npm run lab -- dig www.geektime.test',
  connect: 'npm run lab -- up, then npm run lab -- order, or openssl s_client against the SLB',
  direct: "nothing may stand between the phone and the SLB: check that the DNS answer is the SLB's own address (npm run lab -- dig www.geektime.test)",
  keyLog: "check that .lab/keylog.txt is the SLB's key log and was not edited",
  order: 'npm run lab -- up, then npm run lab -- order',
};

// ── Words the walkthrough hands to the story (they are printed as they are) ──

export const captureLacksConnection: string = 'the capture does not hold this connection';
export const captureLacksRequest: string = 'the capture does not hold the request';
// ── The capture ──

const without = 'so no capture.pcapng: the frames, TCP sequence numbers and TLS records of this run are not recorded (the run itself is the same)';

export const capture = {
  notLinux: `no capture: the lab captures on Linux loopback only (use Wireshark on lo0 yourself), ${without}`,
  noTcpdump: `no capture: tcpdump is not installed (apt install tcpdump), ${without}`,
  noCaptureFlag: 'no capture (--no-capture)',
  failed: (message: string) => `no capture: ${message}`,
  none: 'no capture',
  didNotStart: (ms: number, stderr: string) => `tcpdump did not start within ${ms} ms: ${stderr}`,
  stopped: (code: number | null, stderr: string) => `tcpdump stopped (exit ${code}): ${stderr || 'no reason given'}`,
  lostUnknown: (file: string) => `WARNING: tcpdump did not report how many frames it dropped: ${file} may be incomplete.`,
  lost: (n: number, file: string) =>
    `WARNING: the capture LOST ${n} frame(s) (tcpdump: dropped by kernel): ${file} is incomplete, and what it is missing cannot be checked against the narration. Run again (a busy machine starves tcpdump).`,
};

// ── The end: what the run leaves ──

/** "none lost", "3 lost", "unknown number lost". */
const lostText = (lost: number | undefined) => (lost === 0 ? 'none lost' : `${lost ?? 'unknown number'} lost`);

export const artifacts = (report: string, trace: string, keyLog: string) => `Artifacts: ${report} (open it in a browser), ${trace}, TLS key log ${keyLog}`;
export const captureFile = (file: string, frames: number, lost: number | undefined) =>
  `Capture: ${file} (${frames} frames, ${lostText(lost)}; this run's TLS secrets inside): open it in Wireshark, or`;
export const slbLinkCapture = (file: string, frames: number, lost: number | undefined) => `The same order on the SLB's own link: ${file} (${frames} frames, ${lostText(lost)}).`;
export const everyLink = (dir: string, files: number, frames: number, lost: number) =>
  `Every link (--capture all): ${dir}/ (${files} files, ${frames} frames, ${lostText(lost)}; the TLS secrets inside each).`;
export const healthChecksInside: string = '  (on one address the health checks cannot be told apart by address, so they are in it too)';

export const stays: string = 'The lab stays up (--stay). Reach it with:';
export const pressCtrlC: string = 'Press Ctrl-C to stop.';
