// 演示（walkthrough）自己的话，在故事之外（lab/walkthrough.ts、lab/capture.ts）：第一行和最后一行、
// 留下的文件和抓包、没有抓包时的说明，以及某一步失败时说什么。故事本身的话在 lab/story/words。

export const opening: string = '网上买东西时到底发生了什么：每一步都用真实的 socket，就在这台机器上。';

export const allDone = (ms: number) => `三步全部完成，用时 ${ms} ms。`;

// ── 选项和启动 ──

export const badFrom = (value: string) => `--from 只能是 north 或 south，而不是 "${value}"`;
export const badNet = (value: string) => `--net 只能是 loopback 或 ns，而不是 "${value}"`;
export const badCapture = (value: string) => `--capture 只能是 phone 或 all，而不是 "${value}"`;
export const faultWithNs: string = '--fault 暂时不能和 --net ns 一起用：请在环回（loopback）实验环境上运行';
export const startFailed = (message: string) => `实验环境启动失败：${message}`;

// ── 某一步失败 ──

export const stepTitles = { 1: '通过 CDN 看图片', 2: '建立连接', 3: '下单' };

export const stepFailed = (step: number, title: string, role: string, what: string, cause: string, tryThis: string) =>
  `第 ${step} 步（${title}）在 ${role} 失败，当时正在${what}：${cause}\n  试试：${tryThis}`;

export const edgeCache: string = '边缘节点';

export const doing = {
  resolving: (name: string) => `解析 ${name}`,
  resolvingAgain: (name: string) => `再次解析 ${name}`,
  fetchingFirst: (urlPath: string) => `第一次获取 ${urlPath}`,
  fetching: (urlPath: string) => `获取 ${urlPath}`,
  fetchingAgain: (urlPath: string) => `再次获取 ${urlPath}`,
  fetchingPictureAgain: '第二次获取图片',
  connecting: (address: string, port: number) => `连接 ${address}:${port} 并发送订单`,
  checkingDirect: '检查手机是否直接和 SLB 通信',
  recomputingMaster: '重新计算主密钥（master secret）',
  placingOrder: '下单',
};

export const cause = {
  answered: (status: number) => `它的响应是 ${status}`,
  notAHit: (cacheStatus: string | undefined) => `没有命中（Cache-Status: ${cacheStatus}）`,
  notDirect: (phoneEnd: string, accepted: string[], orderFrom: string | undefined) =>
    `手机的连接是 ${phoneEnd}，但 SLB 从手机的地址${accepted.length ? `接受的连接是 ${accepted.join(', ')}` : '没有接受任何连接'}，订单${orderFrom ? `来自 ${orderFrom}` : '也不是任何人发来的'}`,
  answerWas: (status: number, body: string) => `响应是 ${status} ${body}`,
};

export const tryThis = {
  dns: '先 npm run lab -- up，再用 npm run lab -- dig static.geektime.test 看解析的全过程',
  cdn: '先 npm run lab -- up，再 npm run lab -- fetch /images/phone.png，或者经边缘节点 curl -v',
  digShop: 'npm run lab -- dig www.geektime.test',
  connect: '先 npm run lab -- up，再 npm run lab -- order，或者用 openssl s_client 连 SLB',
  direct: '手机和 SLB 之间不能有任何中间方：检查 DNS 的响应是不是 SLB 自己的地址（npm run lab -- dig www.geektime.test）',
  keyLog: '检查 .lab/keylog.txt 是不是 SLB 的密钥日志（key log），有没有被改过',
  order: '先 npm run lab -- up，再 npm run lab -- order',
};

// ── 交给故事的词（原样打印） ──

export const captureLacksConnection: string = '抓包里没有这个连接';
export const captureLacksRequest: string = '抓包里没有这个请求';
// ── 抓包 ──

const without = '所以没有 capture.pcapng：本次运行的帧、TCP 序号和 TLS 记录都不会被记录下来（运行本身不受影响）';

export const capture = {
  notLinux: `没有抓包：实验只在 Linux 的环回接口上抓包（可以自己用 Wireshark 抓 lo0），${without}`,
  noTcpdump: `没有抓包：没有安装 tcpdump（apt install tcpdump），${without}`,
  noCaptureFlag: '不抓包（--no-capture）',
  failed: (message: string) => `没有抓包：${message}`,
  none: '没有抓包',
  didNotStart: (ms: number, stderr: string) => `tcpdump 在 ${ms} ms 内没有启动：${stderr}`,
  stopped: (code: number | null, stderr: string) => `tcpdump 已退出（exit ${code}）：${stderr || '没有给出原因'}`,
  lostUnknown: (file: string) => `警告：tcpdump 没有报告丢了多少帧：${file} 可能不完整。`,
  lost: (n: number, file: string) =>
    `警告：抓包丢了 ${n} 帧（tcpdump：dropped by kernel）：${file} 不完整，缺了哪些也无法和讲解对照。请再运行一次（机器太忙时 tcpdump 抢不到 CPU）。`,
};

// ── 结束：本次运行留下的文件 ──

const lostText = (lost: number | undefined) => (lost === 0 ? '一帧未丢' : lost === undefined ? '丢帧数不明' : `丢了 ${lost} 帧`);

export const artifacts = (report: string, trace: string, keyLog: string) => `生成的文件：${report}（用浏览器打开），${trace}，TLS 密钥日志（key log）${keyLog}`;
export const captureFile = (file: string, frames: number, lost: number | undefined) =>
  `抓包文件：${file}（${frames} 帧，${lostText(lost)}；内含本次运行的 TLS 密钥）：用 Wireshark 打开，或者运行`;
export const slbLinkCapture = (file: string, frames: number, lost: number | undefined) => `同一个订单在 SLB 自己那条链路上的抓包：${file}（${frames} 帧，${lostText(lost)}）。`;
export const everyLink = (dir: string, files: number, frames: number, lost: number) =>
  `每条链路的抓包（--capture all）：${dir}/（${files} 个文件，共 ${frames} 帧，${lostText(lost)}；每个文件都带着 TLS 密钥）。`;
export const healthChecksInside: string = '  （所有角色共用一个地址时，健康检查无法按地址区分出来，所以抓包里也有它们）';

export const stays: string = '实验环境继续运行（--stay）。可以这样访问：';
export const pressCtrlC: string = '按 Ctrl-C 停止。';
