// What `lab up` prints of its roles' log lines: cut to a readable length, and past a rate counted
// rather than printed, so a flood of requests cannot flood the terminal (or the file it goes to).
import { describe, expect, it } from 'vitest';
import { rateLimitedSink } from '../lab/log-sink.ts';

describe('rateLimitedSink', () => {
  it('cuts long lines, saying how much was left out', () => {
    const out: string[] = [];
    rateLimitedSink((l) => out.push(l), { maxLineChars: 20 })(`GET /index.html?p=${'x'.repeat(16_000)}`);
    expect(out).toEqual(['GET /index.html?p=xx… (15998 more characters)']);
  });

  it('prints at most perSecond lines a second, then one line saying how many were left out; supervisor lines always pass', () => {
    let t = 0;
    const out: string[] = [];
    const sink = rateLimitedSink((l) => out.push(l), { perSecond: 3, now: () => t, always: (l) => l.startsWith('supervisor: ') });
    for (let i = 0; i < 10; i++) sink(`request ${i}`);
    sink('supervisor: edge-north: crashed: boom');
    expect(out).toEqual(['request 0', 'request 1', 'request 2', 'supervisor: edge-north: crashed: boom']);
    t = 1_000;
    sink('request 10');
    expect(out.slice(4)).toEqual(['… 7 log line(s) left out in the last 1 s (more than 3 a second)', 'request 10']);
  });

  it('says how many were left out when the second ends, even if no line comes after', async () => {
    const out: string[] = [];
    const sink = rateLimitedSink((l) => out.push(l), { perSecond: 1 });
    sink('a');
    sink('b');
    sink('c');
    const deadline = Date.now() + 3_000;
    while (out.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(out).toEqual(['a', '… 2 log line(s) left out in the last 1 s (more than 1 a second)']);
  });
});
