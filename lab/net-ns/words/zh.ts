// 实验的命名空间网络，用中文说：计划表、建了什么和花了多久、怎样在某台主机上运行命令、拆除时删了什么，
// 以及 `net` 命令自己的输出。计划和构建器只交出事实（lab/net-ns/plan.ts、build.ts），句子都在这里。
import { columns } from '../../text-width.ts';
import type { BuiltNetwork, NetDown, Teardown } from '../build.ts';
import { interfaceRows, tracePath, type LinkKind, type NetPlan } from '../plan.ts';

export function cannotBuildLine(reason: string, command: string): string {
  return `lab：实验的网络命名空间需要 Linux 和 root 权限（或者 CAP_NET_ADMIN 加 CAP_SYS_ADMIN）：${reason}。请运行：sudo npm run lab -- ${command}`;
}

export const cannotBuild = {
  notLinux: (platform: string) => `网络命名空间是 Linux 的功能，这里是 ${platform}`,
  lacks: (capabilities: string[]) => `这个进程缺少 ${capabilities.join(' 和 ')}`,
  mayNotWrite: (dir: string) => `这个进程不能写 ${dir}`,
  noIp: '没有安装 ip 命令（iproute2）',
};

export const buildErrors = {
  exists: (runId: string, first: string) => `运行 ${runId} 的命名空间已经存在（${first}…）：用 \`npm run lab -- net down\` 删掉之前运行留下的东西`,
  noNetem: '这个内核没有 netem 排队规则（CONFIG_NET_SCH_NETEM）',
  commandFailed: (command: string, line: string | undefined, said: string) => `\`${command}\` 失败了${line ? `，出错的是 \`${line}\`` : ''}：${said || '没有输出任何信息'}`,
  notInstalled: (command: string) => `没有安装 ${command}（iproute2）`,
  noSuchLinkKind: (kind: string, kinds: string[]) => `没有这种链路：${kind}（可选：${kinds.join('、')}）`,
  badDelay: (kind: string, ms: unknown) => `${kind} 的时延必须在 0-10000 ms 之间，而不是 ${ms}`,
  badDelaySpec: (spec: string) => `--delay 的格式是 KIND=MS，例如 radio=30，而不是 "${spec}"`,
};

export const claims = {
  address: (cidr: string, device: string) => `${device} 上的 ${cidr}`,
  noRoom: (block: string, preferred: string, fallback: string, claims: string[]) =>
    `实验的 ${block} 网络没有地方放了：这台机器用了 ${preferred}，还用遍了 ${fallback}（${claims.join('；')}）`,
  overlaps: (network: string, cidr: string, claim: string) => `实验的 ${network} 网络 ${cidr} 和 ${claim} 重叠`,
};

export const networkWhat = {
  'access-north': '北区手机的移动网络',
  'access-south': '南区手机的移动网络',
  'backbone-north': '北区运营商连到互联网的上行链路',
  'backbone-south': '南区运营商连到互联网的上行链路',
  'transit-shop': '电商网站连到互联网的上行链路',
  dns: 'DNS 服务器',
  'cdn-north': 'CDN 的北区站点',
  'cdn-south': 'CDN 的南区站点',
  'cdn-core': 'CDN 的上一级缓存（父节点）和网站的源站',
  'shop-dc': '电商网站的公网：SLB 的 VIP',
  'shop-apps': 'SLB 后面电商网站的私有子网',
};

export const nsLab = {
  moved: (block: string, from: string, to: string, because: string) => `${block} 网络从 ${from} 移到了 ${to}：${because}`,
  noRole: (name: string, roles: string[]) => `没有角色 ${name}：角色有 ${roles.join('、')}`,
  notRunning: (name: string) => `${name} 没有在运行`,
  stoppedByOperator: '由操作者停止',
};

export function planTable(plan: NetPlan): string[] {
  return columns([
    ['主机', '命名空间', '接口', '地址/前缀', 'MAC', '网关', '时延'],
    ...interfaceRows(plan).map((r) => [r.host, r.namespace, r.iface, r.address ?? (r.portOf ? `${r.portOf} 的端口` : ''), r.mac, r.gateway ?? '', r.delayMs ? `${r.delayMs} ms` : '']),
  ]);
}

export function networkLines(plan: NetPlan): string[] {
  return columns(
    plan.networks.map((n) => [
      n.name,
      n.cidr,
      n.rfc,
      n.gateway ? `网关 ${n.gateway.address}（${n.gateway.host}）` : '没有网关：只能经 SLB 到达',
      (networkWhat as Record<string, string | undefined>)[n.name] ?? n.what,
    ]),
  );
}

/** The routers' static routes: `ip route` syntax, the same in every language. */
export { routeLines } from './en.ts';

export function movedLines(plan: NetPlan): string[] {
  return plan.moved.map((m) => `${m.block} 地址块从 ${m.from} 移到了 ${m.to}：这台机器已经在用 ${m.because}。`);
}

function delayList(delays: Record<LinkKind, number>): string {
  return Object.entries(delays)
    .map(([kind, ms]) => `${kind} ${ms} ms`)
    .join('，');
}

export function builtLines(built: BuiltNetwork): string[] {
  const { plan, ms } = built;
  const routers = plan.hosts.filter((h) => h.kind === 'router').length;
  const switches = plan.hosts.flatMap((h) => h.interfaces.filter((i) => i.kind === 'bridge')).length;
  return [
    `建好了 ${plan.hosts.length} 个网络命名空间（${plan.hosts.length - routers} 台主机，${routers} 台路由器）、${plan.links.length} 根网线和 ${switches} 台交换机，用时 ${ms.total} ms` +
      `（命名空间和网线 ${ms.create}，地址和路由 ${ms.config}，转发 ${ms.forwarding}，时延 ${ms.delays}，解析配置 ${ms.resolvers}）。`,
    built.delays.applied
      ? `单向时延：${delayList(plan.delaysMs)}（一个包在一条链路上往返一次，要花两倍的时延）。`
      : `没有时延：${built.delays.reason}，所以链路和这台机器一样快；计划里的时延（${delayList(plan.delaysMs)}）没有生效。`,
  ];
}

export function howToLines(plan: NetPlan): string[] {
  const phone = plan.phones.north;
  const vip = plan.roles.slb.address;
  const pgw = plan.hosts.find((h) => h.name === 'pgw-north')!;
  const pgwToPhone = pgw.interfaces.find((i) => i.peer?.host === phone.host)!.name;
  const routers = tracePath(plan, phone.host, vip).routers;
  return [
    `在某台主机上运行命令：ip netns exec <namespace> <command>。例如：`,
    `  ip netns exec ${phone.namespace} ip route get ${vip}     # 手机的判断：目标不在它的网络上，所以交给默认网关`,
    `  ip netns exec ${phone.namespace} ping -c 3 ${vip}        # SLB 的 VIP，隔着 ${routers} 台路由器：回复到达时 TTL 为 ${64 - routers}`,
    `  ip -n ${phone.namespace} neigh                               # 手机的 ARP 缓存（RFC 826），有了一些流量之后再看`,
    `  ip netns exec ${pgw.namespace} tcpdump -eni ${pgwToPhone}      # 从网关这一端看手机的链路，连 MAC 地址一起`,
    `  ip netns exec ${phone.namespace} bash                        # 手机上的 shell（exit 退出）`,
    `每个命名空间的 DNS 解析器都是 ${plan.nameserver}（local-dns；角色在那里运行起来之后才会响应）。`,
  ];
}

export function teardownLine(t: Teardown): string {
  const killed = t.killed.length ? `，并停止了仍在里面运行的 ${t.killed.length} 个进程（${t.killed.join('、')}）` : '';
  return `删除了 ${t.namespaces.length} 个命名空间和 ${t.dirs.length} 个解析配置目录（${t.prefix}*）${killed}，用时 ${t.ms} ms。`;
}

export function netDownLines(down: NetDown): string[] {
  if (!down.removed.length && !down.running.length) return ['没有要删除的：实验的命名空间和 /etc/netns 目录都已经不在了。'];
  return [
    ...down.removed.map(teardownLine),
    ...down.running.map((r) => `没有动 ${r.prefix}*：它的进程 ${r.pid} 还在运行（在那边按 Ctrl-C 停止它，或者强制删除：npm run lab -- net down --all）。`),
  ];
}

const usageRows = columns([
  ['  up', '建好网络并打印出来，一直运行到按 Ctrl-C，然后删除它', '[--delay KIND=MS ...]'],
  ['  down', '删除之前运行留下的东西（进程已经不在的那些）', '[--all：连还在运行的也删]'],
  ['  plan', '打印计划，什么都不建（不需要特权）', '[--json] [--commands] [--delay KIND=MS ...]'],
], 3);

export const cli = {
  usage: `用法：npm run lab -- net <up|down|plan> [选项]

${usageRows.join('\n')}

  KIND 是 radio、backbone、transit、dns、cdn-edge、cdn-core、dc 之一；MS 是单向时延，单位 ms。`,
  unknownCommand: (sub: string) => `lab net：未知命令 "${sub}"`,
  networks: '网络：',
  hosts: '主机：',
  routes: '路由器的路由（它们所在网络之外的）：',
  isUp: '网络已经建好。按 Ctrl-C 删除它。',
  removing: (signal: string) => `${signal}：正在删除网络……`,
  unchecked: (platform: string) => `没有对照这台机器的地址检查（${platform}：没有 ip 命令）。`,
  nothingBuilt: (runId: string) => `什么都没有建。命名空间的名字里带着建它们的进程号（这里是 ${runId}）。`,
  buildIt: '建网络：sudo npm run lab -- net up    它运行的命令：npm run lab -- net plan --commands',
};
