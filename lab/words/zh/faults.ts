// 工作坊的故障（lab/faults.ts）：每个故障破坏什么，用户会看到什么、用哪条命令看，以及 `faults` 和
// `fault` 命令说的话。数值来自故障自己的设定。
import type { faults as en } from '../en/faults.ts';

export const faults: typeof en = {
  described: {
    'edge-down': {
      breaks: () => '北区的边缘节点停了：全局负载均衡器（GSLB）把北区的手机指到南区的边缘节点',
      see: () =>
        'GSLB 的健康检查连续失败两次（servers/net/health.ts）之后，它对北区回答 127.0.0.22：在 GSLB 上执行 `dig -b 127.10.1.10 geektime.gslb.cdn.test`；递归解析器在 TTL（30 s）到期前仍会用旧的响应',
    },
    'origin-down': {
      breaks: () => '源站停了：缓存继续提供手里已有的内容，未命中（MISS）的请求拿到上一级缓存的 502',
      see: () => '已缓存的图片仍然命中（HIT）；没缓存的图片拿到 502 "bad gateway"，并指出被拒绝的连接；只有缓存规则写了 stale-if-error（RFC 5861 §4）的，才会返回过期的副本',
    },
    'slow-origin': {
      breaks: (f) => `源站对每个请求都晚 ${f.slowOriginSeconds} s 才响应：每次缓存未命中都很慢，命中的不受影响`,
      see: () => '用 curl -w "%{time_total}" 分别取一张带新查询串的图片（未命中）和一张已缓存的图片（HIT），比较耗时',
    },
    'app-down': {
      breaks: () => '应用服务器 app-1 停了：负载均衡器（SLB）把所有订单都发给 app-2',
      see: () => '订单的响应里是 X-Served-By: app-2；一次被拒绝的连接会立刻把 app-1 摘掉（被动检查），比它的健康检查还早',
    },
    'slb-health-failing': {
      breaks: () => 'app-1 的 /healthz 返回 503，但它其实还在接订单：SLB 在 2 次检查失败后把它摘掉',
      see: () => 'curl app-1/healthz → 503，直接向 app-1 POST → 201，可是经过 SLB 的订单全都落到 app-2 上（rise 2 / fall 2，servers/slb-health.ts）',
    },
    'expired-leaf': {
      breaks: () => 'SLB 发出的叶子证书已经过了 notAfter（RFC 5280 §4.1.2.5）',
      see: () => 'curl："SSL certificate problem: certificate has expired"（exit 60）；openssl s_client："verify error:num=10:certificate has expired"',
    },
    'missing-intermediate': {
      breaks: () => 'SLB 只发叶子证书，不带中间证书：客户端没法把它连到自己信任的根证书上（RFC 8446 §4.4.2）',
      see: () => 'curl："SSL certificate problem: unable to get local issuer certificate"（exit 60）；openssl s_client 显示的证书链只有一张证书',
    },
    'wrong-san': {
      breaks: () => 'SLB 发出的叶子证书有效，但属于另一个名字（shop.other.test）：没有哪个 SAN 和 www.geektime.test 对得上（RFC 6125 §6）',
      see: () => `curl："SSL: no alternative certificate subject name matches target host name 'www.geektime.test'"（exit 60）`,
    },
    'gslb-misconfigured': {
      breaks: () => 'GSLB 的区域表把北区的子网记到了南区名下：北区的手机被指到远处的边缘节点，而所有检查都是绿的',
      see: () => '在 GSLB 上执行 `dig -b 127.10.1.10 geektime.gslb.cdn.test`，回答是 127.0.0.22；它的 TXT 响应说明了原因（region south, by subnet）',
    },
    'dns-down': {
      breaks: () => '电商网站的权威 DNS 停了：本地 DNS 解析不了 geektime.test，回答 SERVFAIL',
      see: () => '向本地 DNS 执行 dig www.geektime.test：status SERVFAIL，并带有扩展 DNS 错误（Extended DNS Error）"No Reachable Authority"（RFC 8914 §4.23）',
    },
    'lame-delegation': {
      breaks: (f) => `顶级域（TLD）把 geektime.test 委派给 ${f.cdnNameServer}，可它并不是这个域的权威 DNS（失效委派，lame delegation）：本地 DNS 回答 SERVFAIL`,
      see: (f) => `向 TLD 执行 dig +norec www.geektime.test："geektime.test. NS ${f.cdnNameServer}."；再问那台服务器：status REFUSED，没有 AA`,
    },
    'link-loss': {
      breaks: (f) => `北区手机的无线链路每个方向丢掉 ${f.linkLossPercent}% 的包，所以大约 ${f.roundTripLossPercent}% 的往返会丢一个（tc netem，仅 ns 模式）`,
      see: () => '抓包里能看到 TCP 重传，DNS 会重试，页面变慢',
    },
    'link-delay': {
      breaks: (f) => `北区手机的无线链路每个方向多等 ${f.linkDelayMs} ms（tc netem，仅 ns 模式）`,
      see: () => 'ping 和 TCP 三次握手的耗时翻倍；DNS 的每一步、TLS 的每个往返都多出这段时间',
    },
  },
  groups: { 'slb-certificate': '负载均衡器（SLB）的证书' },

  noFault: (name, all) => `没有叫 "${name}" 的故障；故障有：${all.join('、')}`,
  linkNeedsNs: (name, noNetem) =>
    `${name} 需要实验运行在 ns 模式（sudo npm run lab -- up --net ns），那里手机的无线链路是一对真正的 veth，tc netem 才能让它变慢；这个实验运行在环回地址上，没有这样的链路${noNetem ? '，而且这个内核也没有 netem 队列规则（没有设置 CONFIG_NET_SCH_NETEM）' : ''}`,
  bothChange: (name, other, what) => `${name} 和 ${other} 改的都是${what}：先关掉 ${other}（npm run lab -- fault ${other} off）`,
  stoppedBy: (name) => `被故障 ${name} 停掉`,
  already: (name, on) => `${name} 本来就是${on ? '开启' : '关闭'}的：什么都没做`,
  stopped: '已停止',
  startedAgain: '已重新启动',
  restartedWithChange: '已带着改动重启',
  restartedAsBefore: '已按原样重启',
  restartedEmptyCache: '已清空缓存重启',
  roleDid: (role, did, status) => `${role} ${did}（${status}）`,
  notUp: (role, status) => `${role} 现在是 ${status}：等它再次启动时才会带上这个改动`,
  switchFailed: (name, on, role, why) => `${name} ${on ? 'on' : 'off'} 失败了，${role} 已恢复原样：${why}`,
  didNotComeUp: (role, why) => `${role} 没能启动起来：${why}`,
  isOn: (name, breaks) => `${name} 已开启：${breaks}`,
  isOff: (name) => `${name} 已关闭：恢复原样`,
  see: (see) => `怎么看：${see}`,
  linkOff: (name, delayKept) => `${name} 已关闭：无线链路恢复成规划的样子${delayKept ? '（原有的时延不变）' : ''}`,
  noRadioLink: (phone) => `规划里没有 ${phone} 的无线链路`,
  noNetem: (name, delay) => `${name}：这个内核没有 netem 队列规则（没有设置 CONFIG_NET_SCH_NETEM），所以没法让手机的链路${delay ? '变慢' : '丢包'}`,
  tcFailed: (name, command, why) => `${name}：tc ${command} 失败：${why}`,

  on: '开启',
  off: '关闭',
  noLab: (file) => `（没有从 ${file} 找到正在运行的实验：所有故障都是关闭的）`,
  switchOne: '开关一个故障：npm run lab -- fault NAME on|off',
  usage: (all) => `用法：npm run lab -- fault NAME on|off（故障有：${all.join('、')}）`,
};
