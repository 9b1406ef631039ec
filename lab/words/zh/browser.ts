// `npm run lab -- browser` 说的话（lab/browser.ts）。它的 --check 输出是 JSON：是数据，不是话。
import type { browser as en } from '../en/browser.ts';

export const browser: typeof en = {
  noBrowser: 'PATH 里没有 Chromium 或 Chrome（apt install chromium），所以没有浏览器来当手机',
  noCertutil: 'PATH 里没有 certutil（apt install libnss3-tools）：要靠它把实验的根证书放进临时的浏览器配置',
  certutilFailed: (step, why) => `certutil ${step} 失败：${why}`,
  loopbackResolver: (rules) => `在环回地址上，浏览器的解析器被直接告知这些名字在哪里（${rules}）；用 --net ns 时，它会去问实验的本地 DNS。`,
  opening: (url, namespace) =>
    `正在打开 ${url}${namespace ? `，在手机的网络命名空间 ${namespace} 里` : ''}，用的是一份只信任实验根证书的临时配置。关闭浏览器（或按 Ctrl-C）即结束。`,
  pipe: (why) => `与浏览器之间的管道出错：${why}`,
  exited: (how) => `浏览器退出了（${how}）`,
  exitCode: (code) => `退出码 ${code}`,
  noAnswer: (method, seconds) => `浏览器在 ${seconds} s 内没有回答 ${method}`,
  noLoad: (seconds) => `浏览器在 ${seconds} s 内没有加载完页面`,
  scriptFailed: (why) => `页面里的脚本失败了：${why}`,
  browserSaid: (line) => `（浏览器：${line}）`,
  cannotRemoveProfile: (dir, why) => `删不掉临时的浏览器配置 ${dir}：${why}`,
};
