// 长时间运行的实验说的话：`npm run lab -- up`（角色清单、怎样访问它们、提示和错误），角色崩溃或恢复时
// supervisor 打印的行，运维命令 `status` 和 `role`，以及 state.json、控制套接字和角色进程的错误。
// 这些行里引用的命令（dig、curl、openssl……）在各种语言里都一样。
import type { up as en } from '../en/up.ts';

export const up: typeof en = {

  portNeedsPrivilege: (role, port, instead) =>
    `${role}：端口 ${port} 需要特权，所以改为监听 ${instead}（要用 ${port}：以 root 运行，或者执行 \`sudo sysctl net.ipv4.ip_unprivileged_port_start=${port}\`）`,
  portsMoved: (standard, roles, instead) =>
    `端口 ${standard} 需要特权，所以 ${roles.join('、')} 改为监听 ${instead}` +
    `（要用 ${standard}：以 root 运行，给 node 加上 CAP_NET_BIND_SERVICE 能力，或者执行 \`sudo sysctl net.ipv4.ip_unprivileged_port_start=${standard}\`）`,
  portTaken: (role, where, instead) => `${role}：${where} 已被别的程序占用，所以改为监听 ${instead}`,
  noPortToTry: (role) => `${role}：没有可以尝试的端口`,
  httpsOf: (role) => `${role}（https）`,
  cannotOpenOrderLog: (file, why) => `打不开订单日志 ${file}：${why}`,
  notRunning: (role, why) => `${role} 没有在运行（${why ?? 'down'}）`,

  certificates: (made, dir) => `证书：${made.length ? `新生成了 ${made.join('、')}` : '沿用已有的'}（${dir}/）`,
  note: (note) => `提示：${note}`,
  rolesPerRole: '角色（每个角色一个环回地址）：',
  rolesSingle: '角色（同一个地址，每个角色一个端口）：',
  rolesNs: '角色（每台主机一个自己的网络命名空间）：',
  down: '（DOWN）',
  couldNotStart: (role, why) => `DOWN：${role} 没能启动：${why}`,
  othersUp: (role) => `其他角色都已启动。修好之后执行：npm run lab -- role ${role} restart`,
  reachWith: '可以这样访问它：',
  state: (file) => `状态文件：${file}`,
  stateNs: (file) => `状态文件：${file}（主机、网络命名空间、网卡、地址、MAC、路由、链路）`,
  isUp: '实验已启动。按 Ctrl-C 停止。',
  stopping: '正在停止……',
  stopped: '实验已停止。',
  stoppedNs: '实验已停止，网络已删除。',

  reach: {
    phoneQuestion: '手机向它的本地 DNS 提的问题',
    rootReferral: '根域名服务器的转介（referral）',
    pictureOverHttps: '经 HTTPS 取一张图片，就像 https 页面加载它那样',
    orModern: '（或者 --mode modern）',
    wireshark: (filter, keyLog) => `Wireshark：在环回接口上抓包${filter ? `，抓包过滤器用 "${filter}"（不抓健康检查）` : ''}，TLS 密钥日志（key log）：${keyLog}`,
    phones: (north, south) => `手机：${north}，${south}。以手机的身份访问实验：`,
    cdnOverHttps: '（经 HTTPS 访问 CDN）',
    routers: '（沿途的路由器：TTL 在哪一跳耗尽，哪一跳就回答）',
    wiresharkNs: (command) => `（Wireshark：${command}）`,
    browserNs: '（Chromium 当手机，在手机的网络命名空间里运行）',
  },

  supervisor: {
    staleError: (role, message) => `${role}：一个已经不在运行的实例报了错，忽略：${message}`,
    status: (role, status, reason) => `${role}：${status}：${reason}`,
    upAgain: (role, restarts) => `${role}：已重新启动（第 ${restarts} 次重启）`,
    stopped: (role, reason) => `${role}：已停止（${reason}）`,
    byOperator: '被运维人员停掉',
    leftDown: (message, times) => `${message}；一分钟内崩溃了 ${times} 次，不再重启`,
    toldToCrash: (role) => `${role} 被要求崩溃（lab role ${role} crash）`,
    noRole: (role, roles) => `没有叫 "${role}" 的角色（角色有：${roles.join('、')}）`,
  },

  process: {
    notListening: (role, seconds) => `${role}：${seconds} s 之后仍没有开始监听`,
    couldNotStart: (role, file, why) => `${role}：无法启动 ${file}：${why}`,
    exitedEarly: (role, how) => `${role}：还没开始监听就退出了（${how}）`,
    exitCode: (code) => `退出码 ${code}`,
    exited: (role) => `${role} 已退出`,
    didNotAnswer: (role, method, seconds) => `${role} 在 ${seconds} s 内没有回答 ${method}`,
    gone: (role) => `${role} 已经不在了`,
    byHand: 'lab/role-host.ts 由实验启动（它需要一个 IPC 通道），不能手动运行',
    noMethod: (method) => `没有 ${method} 这个方法`,
  },

  alreadyRunning: (dir, pid, file) =>
    `已经有一个实验从 ${dir} 运行着（进程 ${pid}，见 ${file}）：在它的终端里按 Ctrl-C 停掉它（或者执行 \`kill ${pid}\`），或者用 LAB_DIR=... 给这一个单独的目录`,
  noRunningLab: (file) => `没有找到正在运行的实验（${file} 不存在）：用 \`npm run lab -- up\` 启动一个`,
  staleState: (file, pid) => `${file} 指向进程 ${pid}，可它并没有在运行：用 \`npm run lab -- up\` 启动实验`,
  noSuchRole: (role, roles) => `正在运行的实验里没有角色 "${role}"（它有：${roles.join('、')}）`,

  control: {
    lineTooLong: '请求行太长',
    notJson: '不是 JSON',
    noFaultSwitches: '这个实验没有故障开关',
    faultNeeds: 'fault 需要 "name"（字符串）和 "on"（true 或 false）',
    unknownCommand: (cmd) => `未知的命令 ${cmd}`,
    noAnswer: (ms) => `实验在 ${ms} ms 内没有回答`,
    noLabListening: (file) => `${file} 上没有实验在监听：用 \`npm run lab -- up\` 启动一个`,
    answerNotJson: (data) => `实验回答的不是 JSON：${data}`,
    since: (since) => `自 ${since}`,
    restarted: (times) => `，已重启 ${times} 次`,
    roleUsage: '用法：npm run lab -- role NAME stop|restart|crash',
    toldToCrash: (role) => `已让 ${role} 崩溃；supervisor 会重启它（见 \`npm run lab -- status\`）`,
  },
  noControlSocket: (pid) => `正在运行的实验（进程 ${pid}）没有控制套接字`,
};
