// `npm run lab -- order` and the order client (client/cli.ts, client/order-client.ts): what they
// say of their own, in English and Chinese. The order's story (the connection, the TLS session, the
// answer) is lab/story/words'; the chain's steps are client/chain-check.ts'.
import { catalogue } from '../../lab/lang.ts';

const en = {
  badFrom: (value: string) => `--from must be north or south, not "${value}"`,
  badBody: (message: string) => `--body must be JSON: ${message}`,
  retrySafely: (key: string) => `Not sure the order was taken? Retry safely with: npm run lab -- order --key ${key}`,
  noAddress: (name: string) => `the lab knows no address for ${name}`,
  noAnswer: (where: string, ms: number) => `no answer from ${where} within ${ms} ms`,
  refused: (where: string) => `nothing listens on ${where} (connection refused): is the lab up? Start it with \`npm run lab -- up\``,
  handshakeFailed: (where: string, message: string, mode: string, offer: string) => `the TLS handshake with ${where} failed: ${message} (mode ${mode}: does the server offer ${offer}?)`,
  /** What a server must offer for each mode (values: protocol and cipher names). */
  offers: { classic: 'TLS 1.2 with AES128-GCM-SHA256', modern: 'TLS 1.3' },
  failed: (url: string, where: string, code: string | undefined, message: string) => `the order to ${url} (${where}) failed: ${code ?? ''} ${message}`.trim(),
};

const zh: typeof en = {
  badFrom: (value) => `--from 只能是 north 或 south，而不是 "${value}"`,
  badBody: (message) => `--body 必须是 JSON：${message}`,
  retrySafely: (key) => `不确定订单有没有下成功？用同一个 key 重试是安全的：npm run lab -- order --key ${key}`,
  noAddress: (name) => `实验环境里没有 ${name} 的地址`,
  noAnswer: (where, ms) => `${where} 在 ${ms} ms 内没有响应`,
  refused: (where) => `${where} 上没有服务在监听（连接被拒绝）：实验环境启动了吗？用 \`npm run lab -- up\` 启动它`,
  handshakeFailed: (where, message, mode, offer) => `和 ${where} 的 TLS 握手失败：${message}（模式 ${mode}：服务端提供 ${offer} 吗？）`,
  offers: { classic: 'TLS 1.2 和 AES128-GCM-SHA256', modern: 'TLS 1.3' },
  failed: (url, where, code, message) => `发往 ${url}（${where}）的订单失败：${`${code ?? ''} ${message}`.trim()}`,
};

export const orderWords = catalogue('order', en, zh);
