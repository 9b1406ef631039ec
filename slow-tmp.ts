import tls from 'node:tls';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
process.env.LAB_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'slowlab-'));
const { startLab } = await import('./lab/up.ts');
const lab = await startLab({ ephemeral: true });
const slb = lab.state.roles.find((r) => r.name === 'slb')!;
const t0 = Date.now();
let closed = 0, got408 = 0, hs = 0; const closes: number[] = [];
const socks: tls.TLSSocket[] = [];
for (let i = 0; i < Number(process.argv[2]); i++) {
  const s = tls.connect({ host: slb.host, port: slb.port, localAddress: `127.66.0.${(i % 8) + 1}`, rejectUnauthorized: false, servername: 'www.geektime.test' }, () => { hs++; s.write('POST /purchaseOrder HTTP/1.1\r\nHost: www.geektime.test\r\n'); });
  s.on('data', (d) => { if (d.toString().includes('408')) got408++; });
  s.on('close', () => { closed++; closes.push(Date.now() - t0); }); s.on('error', () => {});
  socks.push(s);
}
const iv = setInterval(() => { for (const s of socks) if (!s.destroyed) s.write('X'); }, 1000);
setTimeout(async () => { console.log('handshakes', hs, 'closed', closed, '408s', got408, 'first close', closes[0], 'last', closes.at(-1)); clearInterval(iv); for (const s of socks) s.destroy(); await lab.stop(); process.exit(0); }, 15000);
