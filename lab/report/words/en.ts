// report.html's own words in English: headings, buttons, legends, tooltips, aria labels, and the
// texts the page script builds at run time (`page`: plain strings with {placeholders}, because they
// travel to the browser as JSON). The step's narration and the fields' meanings are the story's
// words (lab/story/words); this file holds only the page around them.

/** What page.js builds in the browser. Every value is a string: {name} is filled in there. */
export const page = {
  notInCapture: 'not in this capture (another link)',
  noCapture: 'no capture in this run',
  frame: 'frame {n}',
  frames: 'frames {list}',
  position: '{i} / {n}',
  /** Between a label and its value. */
  colon: ': ',
  meta: 'step {step} · {since}{wireAt} · {frames}',
  severalFrames: 'This message is in several frames: ',
  clientRandom: 'client random (ClientHello)',
  serverRandom: 'server random (ServerHello)',
  preMaster: "pre-master secret (computed, not seen: on the wire it is encrypted; the lab opened it with the SLB's private key)",
  prfInputs: 'PRF inputs',
  prfFormula: 'secret = pre-master, label = "master secret", seed = client random ‖ server random (64 bytes)',
  master: 'master secret = PRF(…) (48 bytes)',
  keyLogLine: 'key log line {line} ({file})',
  keyLog: 'key log',
  notFound: 'not found',
  checkYourself: 'Check it yourself: ',
  secretsIn: "this connection's secrets in {file}",
  theKeyLog: 'the key log',
  frameMissing: 'Frame {n} is not in this report (no capture).',
  frameTitle: 'Frame {n}: {length} bytes on the wire',
  firstShown: ' (the first {shown} shown)',
  decrypted: "Decrypted: the {from}'s TLS record (record {record} of this connection), opened with {key} from the key log",
  sides: { client: 'client', server: 'server' },
  howTo: 'Hover a field to see its bytes; click a field or a byte for what it means.',
  part: ' (part)',
  partOf: ' (part of it: TCP carried the rest in another segment)',
  bytesOfFrame: 'bytes {first}–{last} of the frame ({count})',
  bytesOfRecord: 'bytes {first}–{last} of the decrypted record ({count})',
  byte: '{n} byte',
  bytes: '{n} bytes',
  router: ' (router)',
  runThere: 'Run a command there: ',
  runCommand: 'ip netns exec {ns} <command>',
  interfaces: 'interfaces:',
  routes: 'routes:',
  sentReceived: 'In this run it sent {sent} and received {received} of the messages:',
  silent: 'It sent or received no message of the story in this run.',
};

/** The page's static text (built in lab/report.ts, diagram.ts and map.ts). */
export const html = {
  lang: 'en',
  stepNames: { 1: 'Pictures via the CDN', 2: 'The connection: TCP, then TLS', 3: 'The order' } as Record<number, string>,
  step: (n: number) => `Step ${n}`,
  seed: (section: string) => `seed ${section}: `,
  mapHeading: 'The map',
  mapHintNs: 'Every host and router of this run, each in its own network namespace, joined by its cables (hover a cable for its delay).',
  mapHintLoopback: 'Every role of this run, on its own loopback address; a line where two of them talked.',
  mapClick: ' Click one for what it is and what it did.',
  mapAria: 'the map: every role and where it is',
  cable: (a: string, b: string, network: string | undefined, delayMs: number | undefined) => `${a} — ${b}${network ? `: ${network}, ${delayMs} ms one way` : ''}`,
  stageAria: 'the timeline and the detail of one message',
  prev: 'previous message (←)',
  next: 'next message (→)',
  messages: (n: number) => `${n} messages`,
  // {filter}: the Wireshark display filter, put in as code.
  wireOrder: 'in wire order: time since the first frame, frame number (Wireshark: {filter})',
  narratedOrder: 'no capture: in the order the run narrated them',
  zoomOut: 'smaller (−)',
  zoomFit: 'fit the width (0)',
  fit: 'fit',
  zoomIn: 'larger (+)',
  detailHint: "Press → (or click an arrow) to step through the run one message at a time: the frame's bytes, field by field, open here.",
  storyHeading: 'The story, step by step',
  // the diagram
  groups: { phone: 'the phone', dns: 'its DNS', names: 'name servers', cdn: 'the CDN', shop: 'the shop' },
  timeFrame: 'time, frame',
  message: 'message',
  lanesAria: 'the roles, one lane each',
  partAria: (step: number) => `messages of step ${step}`,
  onTheWire: (at: string) => `${at} (on the wire)`,
  framesLabel: (frames: readonly number[], range: boolean) =>
    frames.length === 1 ? `frame ${frames[0]}` : range ? `frames ${frames[0]}–${frames.at(-1)}` : `frames ${frames.join(', ')}`,
  // the page data
  sinceFirstFrame: (ms: string) => `${ms} ms after the first frame`,
  intoTheRun: (ms: number) => `${ms} ms into the run`,
  phone: "the shopper's phone: the client",
};

/** What walkthrough.ts calls the report. */
export const run = {
  title: 'What happens when you buy something online',
  subtitle: (at: string, mode: string, region: string, phone: string) => `A run of ${at}: ${mode} TLS, the phone in the ${region} (${phone})`,
};
