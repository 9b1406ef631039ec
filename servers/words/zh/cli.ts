// 服务端单独运行时的命令（slb、app、cache、origin）说的话：用法、错误和状态行。服务端在线路上的
// 回答（HTTP 报文体、DNS）是协议数据，不是这里的话。
import type { serversCli as en } from '../en/cli.ts';

export const serversCli: typeof en = {
  appUsage: (store) => `用法：app [--name app-1] [--listen 127.0.0.1:8081] [--store <文件>] [--trust-proxy ADDRESS ...]
  --name         这台服务器的名字，放在 X-Served-By 里返回            （默认 app-1）
  --listen       明文 HTTP 的 host:port（TLS 由 SLB 终结）；
                 端口 0 表示任选一个空闲端口                          （默认 127.0.0.1:8081）
  --store        订单日志，每笔订单一行 JSON                          （默认 ${store}）
  --trust-proxy  相信哪个地址发来的 X-Forwarded-* 头部：SLB 的地址（可重复；默认不信任任何地址）`,
  originUsage: (dir) => `用法：origin [--listen 127.0.0.40:8080] [--dir <目录>] [--hostname static.geektime.test] [--slow-ms 0]
  --listen    明文 HTTP 的 host:port；端口 0 表示任选一个空闲端口   （默认 127.0.0.40:8080）
  --dir       内容目录，第一次使用时生成                            （默认 ${dir}）
  --hostname  要服务的 Host 名字；可重复                            （默认 static.geektime.test）
  --slow-ms   每个内容响应都延迟这么多毫秒（实验用的开关）          （默认 0）`,
  cacheUsage: `用法：cache --upstream URL [--name NAME] [--listen HOST:PORT] [--hostname NAME ...]
             [--upstream-host NAME] [--max-bytes 64m] [--max-object-bytes 16m]
             [--max-header-bytes 32k] [--purge-token TOKEN | --no-purge]
  PURGE 需要 Authorization: Bearer <token>；不给 --purge-token 时会随机生成一个并打印出来。
  放在边缘节点后面的上一级缓存，--max-header-bytes 要比边缘节点的上限多 1k（边缘 32k，上一级 33k）。`,

  listenWants: (example, got) => `--listen 需要 host:port，例如 ${example}，而收到的是 "${got}"`,
  listenWantsNot: (example, got) => `--listen 需要 host:port，例如 ${example}，而不是 "${got}"`,
  portNumber: (flag, got) => `${flag} 必须是端口号，而不是 "${got}"`,
  cannotRead: (what, file) =>
    `读不了${what === 'chain' ? '证书链' : '私钥'} ${file}：执行 \`npm run lab -- certs\` 生成实验的证书链，或者用 --cert/--key 指定`,
  upstreamRequired: '必须给出 --upstream（上一级缓存或源站，例如 http://127.0.0.30:8080）',
  sizeWanted: (flag, got) => `${flag} 需要一个大小，例如 64m、512k 或 1g，而不是 "${got}"`,
  slowMsWanted: (got) => `--slow-ms 需要一个整数毫秒数，而收到的是 "${got}"`,
  cannotOpenOrderLog: (why) => `打不开订单日志：${why}`,

  slbListening: (where, mode, classic, backends) =>
    `slb 正在监听 ${where}（TLS：${mode}${classic ? `，经典的 TLS 1.2 RSA 在 ${classic}` : ''}），转发给 ${backends}`,
  appListening: (name, url) => `${name} 正在监听 ${url}（明文 HTTP；TLS 由前面的 SLB 终结）`,
  appOrderLog: (name, file, count) => `${name} 的订单日志：${file}（目前有 ${count} 笔订单）。按 Ctrl-C 停止。`,
  appUnreadable: (name, count, lines, copy) => `${name}：订单日志里有 ${count} 行读不出来（第 ${lines} 行），已复制到 ${copy}`,
  cacheListening: (name, url, hostnames, upstream, hostHeader, mib, tryIt) =>
    `${name} 正在监听 ${url}，服务 ${hostnames}；上游 ${upstream}${hostHeader ? `（Host：${hostHeader}）` : ''}；内存 ${mib} MiB。试试：${tryIt}`,
  purgeToken: (command) => `PURGE 令牌（仅供运维）：${command}`,
  originListening: (url, hostnames, slowMs) => `origin 正在监听 ${url}，服务 Host ${hostnames}${slowMs > 0 ? `（每个响应都延迟 ${slowMs} ms）` : ''}`,
  originContent: (dir) => `源站的内容在 ${dir}：`,
  bytes: (n) => `${n.toLocaleString('en')} 字节`,
  tryIt: (command) => `试试：${command}`,
  ctrlC: '按 Ctrl-C 停止。',
  finishing: (who, signal) => `${who}：收到 ${signal}，正在处理完进行中的请求`,
  stopped: (who) => `${who}：已停止`,
};
