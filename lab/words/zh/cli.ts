// `npm run lab` 自己说的话：帮助，以及命令未知或失败时打印的那一行。命令名、选项和取值在各种语言里都一样。
import type { cli as en } from '../en/cli.ts';

export const cli: typeof en = {
  usage: `用法：npm run lab [-- <命令> [选项]] [--lang zh|en]

  （不带命令）   启动所有角色，把整个故事走一遍，然后停止
                 [--mode classic|modern] [--from north|south] [--json] [--stay] [--no-capture] [--fault NAME ...]
  up             启动所有角色并一直运行，直到按 Ctrl-C
                 [--single-address] [--ephemeral] [--slb-port N] [--tls both|classic|modern]
  status         正在运行的实验里每个角色的状态（up、crashed、stopped、failed）
  role NAME stop|restart|crash
                 故意弄坏正在运行的实验里的一个角色，或者把它恢复
  faults         工作坊的故障：每个故障破坏什么，在正在运行的实验里是否开启
  fault NAME on|off
                 在正在运行的实验里开启一个故障（edge-down、slow-origin、expired-leaf……），或者再关掉
  order          像手机那样向正在运行的实验下原文里的那笔订单
                 [--mode classic|modern] [--from north|south] [--key K] [--name HOST] [--ca FILE]
  dig NAME       像手机那样问本地 DNS，并展示它一步步的查询过程
                 [--type A] [--from north|south]
  fetch PATH     像手机那样经 CDN 取一张图片
                 [--from north|south] [--head]
  certs          生成（或沿用）实验的 CA 证书链，并把它打印出来
                 [--renew] [--dir DIR]
  slb            单独运行负载均衡器（SLB）
                 [--listen HOST:PORT] [--backend [NAME=]URL ...] [--tls both|classic|modern] [--classic-port N]
  app            单独运行一台应用服务器
                 [--name NAME] [--listen HOST:PORT] [--store FILE]
  cache          单独运行一个 CDN 缓存，放在任意 URL 前面
                 --upstream URL [--name NAME] [--listen HOST:PORT] [--hostname NAME] [--max-bytes 64m]
  origin         单独运行 CDN 的源站
                 [--listen HOST:PORT] [--dir DIR]
  net up|down|plan
                 单独操作实验的网络命名空间（Linux，需要 root）：建好并保持到按 Ctrl-C，
                 清掉以前运行留下的东西，或者打印规划
                 [--delay KIND=MS] [--all] [--json] [--commands]
  browser        在正在运行的实验上用真正的浏览器当手机：电商网站的页面、经 CDN 来的图片、下单按钮
                 （需要 Chromium 和 certutil；用 up --net ns 时在手机的网络命名空间里运行）
                 [--from north|south] [--check：无界面运行，下单，打印 JSON]
  exercises [N]  工作坊的练习，或者带着本实验地址的某一页练习
  check N name=value …
                 检查你对练习 N 的答案（对照正在运行的实验）
                 [--all：所有练习，输出一份可以上交的汇总]
  help           显示这段说明

  --lang zh|en   实验使用的语言，可以和任何命令一起用（默认取自区域设置：LC_ALL、LC_MESSAGES 或 LANG）`,
  unknownCommand: (name) => `未知的命令 "${name}"`,
  mustBe: (flag, choices, got) => `${flag} 只能是 ${choices.join(' 或 ')}，而不是 "${got}"`,
  portNumber: (flag, got) => `${flag} 必须是 0-65535 之间的端口号，而不是 "${got}"`,
  noArguments: (command, got) => `${command} 不接受参数（收到了 ${got.join(' ')}）`,
};
