// The terminal's words for each event of the story: one function, each kind worded in one place,
// from the event alone (so a trace.json read back renders exactly what the run printed), in the
// language asked for (the report renders a run in the run's language, whatever this process's is).
// The sentences are in lab/story/words/{en,zh}/; this only picks them by event kind.
// Lines are as the narrator's say() takes them: it adds the step's two-space margin.
import type { OnWire, StepStart, StoryEvent } from '../events.ts';
import { words } from '../words/index.ts';
import { lang, type Lang } from '../../lang.ts';

/** ", frame 12" (or ", frames 12, 13"; "，帧 12") for a message the capture holds; nothing when it does not. The lead defaults to the language's comma. */
export function frameNote(event: OnWire, lead?: string, l: Lang = lang()): string {
  return words(l).story.frameNote(event.frames, lead);
}

/** A step's heading, from its facts. */
export function stepTitle(e: StepStart, l: Lang = lang()): string {
  return words(l).story.stepTitle(e.step, e.data);
}

export function renderTerminal(event: StoryEvent, l: Lang = lang()): string[] {
  const w = words(l);
  const s = w.story;
  switch (event.kind) {
    case 'step':
      return [stepTitle(event, l)]; // the transcript sets it apart (render/transcript.ts)
    case 'step-done':
      return [s.stepTime(event.data.ms)];
    case 'capture':
      return []; // said after the steps, with the artifacts
    case 'lab-up':
      return s.labUpLines(event.data);
    case 'again':
      return s.againLines;
    case 'slb-accept':
      return s.slbAcceptLines(event.data);
    case 'tcp-story':
      return s.tcpStoryLines(event.data);
    case 'tcp-segment':
    case 'tcp-handshake':
      return []; // told with tcp-story
    case 'socket-states':
      return s.socketStateLines(event.data);
    case 'socket-changes':
      return s.socketChangeLines(event.data);
    case 'tls-recording':
      return s.tlsRecordingLines(event.data);
    case 'tls':
      return [s.tlsLine(event.frames, event.data)];
    case 'tls-session':
      return w.tls.tlsSessionLines(event.data).map((x) => `  ${x}`);
    case 'master-secret':
      return w.tls.masterSecretLines(event.data);
    case 'key-exchange':
      return w.tls.modernKeyExchangeLines(event.data);
    case 'dns-query':
      return [s.phoneQueryLine(event.data, event.frames)];
    case 'dns-resolution':
      return [s.resolutionLine(event.data)];
    case 'dns-walk-query':
      // dig +trace's question line, with the frame that carried it.
      return [`  ${w.dns.walkQuestionLine(event.data, event.data.index)}${s.frameNote(event.frames, '  ')}`];
    case 'dns-walk-answer': {
      const [answer, ...rest] = w.dns.walkReplyLines(event.data);
      return [`  ${answer}${s.frameNote(event.frames, '  ')}`, ...rest.map((x) => `  ${x}`)];
    }
    case 'gslb-decision':
      return [w.dns.gslbReasoningLine(event.data)];
    case 'dns-answer':
      return [s.phoneAnswerHeading(event.frames), ...event.data.chain.map((r) => `    ${w.dns.recordLine(r)}`)];
    case 'http-request':
      // Step 1's hops are told with the whole fetch (cache-path), the SLB's hop with its choice (slb-forward).
      return event.step === 3 && 'request' in event.data ? w.order.orderRequestLines(event.data.request) : [];
    case 'http-response':
      return []; // step 1: told with the fetch (cache-path); step 3: with order-answer and slb-forward
    case 'order-answer':
      return w.order.orderAnswerLines(event.data);
    case 'layers':
      return event.data.observed ? s.observedLayerLines(event.data) : s.computedLayerLines(event.data);
    case 'slb-forward':
      return [s.slbForwardLine(event.data)];
    case 'ip-path':
      return s.ipPathLines(event.data);
    case 'cache-path':
      return s.cachePathLinesOf(event.data);
  }
}
