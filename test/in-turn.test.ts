// servers/net/in-turn.ts on its own: pipelined requests one at a time, in order, and none started
// for a connection that is closing or gone. (The caches and the SLB are driven the same way in
// test/hostile/*-pipelining.test.ts.)
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { inTurn } from '../servers/net/in-turn.ts';

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;
/** Every callback the event loop has queued so far has run (promise reactions included). */
const settled = () => new Promise((resolve) => setImmediate(() => setImmediate(resolve)));

async function server(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>) {
  const s = http.createServer(inTurn(handler));
  servers.push(s);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return (s.address() as net.AddressInfo).port;
}

describe('inTurn', () => {
  it('a client that leaves while its first answer is made: the requests it queued behind it are never started', async () => {
    const started: string[] = [];
    let leave!: () => void;
    const left = new Promise<void>((resolve) => (leave = resolve));
    let firstDone!: () => void;
    const firstReturned = new Promise<void>((resolve) => (firstDone = resolve));
    const port = await server(async (req, res) => {
      started.push(req.url!);
      if (req.url === '/first') {
        req.socket.once('close', () => leave());
        client.destroy(); // the client goes away while its first answer is under way
        await left;
        res.end('late');
        setImmediate(firstDone);
        return;
      }
      res.end('ok');
    });
    const client = net.connect(port, '127.0.0.1');
    client.on('error', () => {});
    client.write(get('/first') + get('/second') + get('/third'));
    await firstReturned;
    await settled();
    expect(started).toEqual(['/first']);
  });

  it('pipelined requests start one at a time, in order, each after the one before has answered', async () => {
    const events: string[] = [];
    const port = await server(async (req, res) => {
      events.push(`start ${req.url}`);
      await new Promise((resolve) => setImmediate(resolve));
      events.push(`answered ${req.url}`);
      res.end(req.url);
    });
    const client = net.connect(port, '127.0.0.1');
    const answers = new Promise<string>((resolve) => {
      let text = '';
      client.on('data', (d) => {
        text += d.toString('latin1');
        if ((text.match(/HTTP\/1\.1 200/g) ?? []).length === 3 && text.endsWith('/c')) resolve(text);
      });
    });
    client.write(get('/a') + get('/b') + get('/c'));
    const text = await answers;
    client.destroy();
    expect([...text.matchAll(/\r\n\r\n(\/[abc])/g)].map((m) => m[1])).toEqual(['/a', '/b', '/c']);
    expect(events).toEqual(['start /a', 'answered /a', 'start /b', 'answered /b', 'start /c', 'answered /c']);
  });
});
