// 实验里每个角色、每台主机是什么，几个字说清楚（与 ../en/roles.ts 一一对应）。

export const hostWhat = {
  'phone-north': '购物者的手机，北区',
  'phone-south': '购物者的手机，南区',
  'pgw-north': '北区运营商的 PGW：手机的默认网关',
  'pgw-south': '南区运营商的 PGW：手机的默认网关',
  core: '互联网',
  'shop-router': '电商网站数据中心的边界路由器',
  root: 'DNS 根域名服务器',
  tld: '顶级域 test. 的 DNS 服务器',
  'shop-dns': '电商网站的权威 DNS',
  'cdn-dns': 'CDN 的权威 DNS',
  gslb: 'CDN 的全局负载均衡器（GSLB）',
  'local-dns': '手机的本地 DNS（递归）',
  'edge-north': 'CDN 边缘节点，北区',
  'edge-south': 'CDN 边缘节点，南区',
  parent: 'CDN 的上一级缓存（父节点）',
  origin: '电商网站给 CDN 的源站',
  slb: '电商网站的负载均衡器（SLB，VIP 在 eth0 上）',
  'app-1': '应用服务器',
  'app-2': '应用服务器',
};

export const roleWhat = {
  root: 'DNS 根域名服务器：把查询引向 test.',
  tld: '顶级域 test. 的 DNS 服务器：把查询引向电商网站和 CDN',
  'shop-dns': '电商网站的权威 DNS（geektime.test）',
  'cdn-dns': 'CDN 的权威 DNS（cdn.test）',
  gslb: 'CDN 的全局负载均衡器（gslb.cdn.test）：为每个客户端选一个边缘节点',
  'local-dns': '手机的本地 DNS：一个递归解析器',
  origin: '源站：电商网站的 Web 层和图片存储，在 CDN 后面',
  parent: 'CDN 的上一级缓存（父节点）：边缘节点的上游',
  'edge-north': '北区的 CDN 边缘节点',
  'edge-south': '南区的 CDN 边缘节点',
  'app-1': '应用服务器：POST /purchaseOrder',
  'app-2': '应用服务器：POST /purchaseOrder',
  slb: '电商网站的负载均衡器（SLB）：终结 TLS，再用明文 HTTP 转发给应用服务器',
  'edge-north-tls': '同一个边缘节点的 HTTPS 端口：https 页面从这里取 static.geektime.test 的内容',
  'edge-south-tls': '同一个边缘节点的 HTTPS 端口：https 页面从这里取 static.geektime.test 的内容',
  'slb-classic': 'SLB 的经典端口：只用原文里的 TLS 1.2 RSA 密钥交换（没有前向保密）',
};

/** A region as the seed's reader says it, with the value the commands take: "北区（north）". */
export function regionName(region: string | undefined): string {
  return region === 'north' ? '北区（north）' : region === 'south' ? '南区（south）' : `${region} 区域`;
}

/** A mode likewise: "经典模式（classic）". */
export function modeName(mode: string): string {
  return mode === 'classic' ? '经典模式（classic）' : mode === 'modern' ? '现代模式（modern）' : `${mode} 模式`;
}

/** A role's or host's description in Chinese, by its name; a name not here keeps the state's words. */
export function whatIs(name: string, stated: string): string {
  return (roleWhat as Record<string, string>)[name] ?? (hostWhat as Record<string, string>)[name] ?? stated;
}
