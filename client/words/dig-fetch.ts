// What `lab dig` and `lab fetch` say besides the story's words (lab/story/words: the walk, the cache
// path): their usage, their errors and fetch's summary lines, in English and Chinese. The commands
// (client/dig.ts, client/cdn-client.ts) hand over facts; the sentences live here only.
import { catalogue } from '../../lab/lang.ts';

/** One `lab fetch`, as facts: the DNS chain to the edge, the connection, the answer. */
export interface FetchSummary {
  /** The name looked up (static.geektime.test), and where each step of its chain led, ending at the edge's address. */
  host: string;
  chain: string[];
  localDns: { host: string; port: number };
  method: 'GET' | 'HEAD';
  url: string;
  local: { address: string; port: number };
  /** The edge role DNS led to, and the address and port the connection reached. */
  edge: string;
  remote: { address: string; port: number };
  status: number;
  bytes: number;
  ms: number;
}

/** A command line parseArgs rejected: which option, and what was wrong with it. */
export interface BadOption {
  kind: 'unknown' | 'bad-value';
  /** The option as written ('--x', or '--type <value>'); undefined if it could not be read from the error. */
  option?: string;
  /** Node's own message, in English. */
  message: string;
}

interface DigFetchWords {
  digUsage: string;
  fetchUsage: string;
  badOption: (b: BadOption, usage: string) => string;
  fromRegion: (value: string) => string;
  pathSlash: (path: string) => string;
  noAnswerWithin: (url: string, ms: number) => string;
  nothingListens: (host: string, why: string) => string;
  noEdgeAt: (host: string, address: string) => string;
  fetchLines: (f: FetchSummary) => string[];
}

export const digFetchWords = catalogue<DigFetchWords>(
  'client-dig-fetch',
  {
    digUsage: 'usage: npm run lab -- dig <name> [--type A] [--from north|south]',
    fetchUsage: 'usage: npm run lab -- fetch [<path>] [--from north|south] [--head]',
    badOption: (b, usage) => `${b.message}\n${usage}`,
    fromRegion: (value) => `--from must be north or south, not "${value}"`,
    pathSlash: (path) => `the path must start with "/", e.g. /images/phone.png, not "${path}"`,
    noAnswerWithin: (url, ms) => `no answer for ${url} within ${ms} ms`,
    nothingListens: (host, why) => `nothing listens where ${host} points (${why}): is the edge cache up?`,
    noEdgeAt: (host, address) => `DNS pointed ${host} at ${address}, where no edge cache of this lab listens`,
    fetchLines: (f) => [
      `${f.host} → ${f.chain.join(' → ')} (local DNS ${f.localDns.host}:${f.localDns.port})`,
      `${f.method} ${f.url} from ${f.local.address}:${f.local.port} → ${f.edge} ${f.remote.address}:${f.remote.port}`,
      `${f.status}, ${f.bytes} bytes, ${f.ms} ms`,
    ],
  },
  {
    digUsage: '用法：npm run lab -- dig <域名> [--type A] [--from north|south]',
    fetchUsage: '用法：npm run lab -- fetch [<路径>] [--from north|south] [--head]',
    badOption: (b, usage) => {
      const which = b.option ? ` ${b.option}` : '';
      return `${b.kind === 'unknown' ? `没有这个选项${which}` : `选项${which} 的值不对（缺了值，或者它不接受值）`}\n${usage}`;
    },
    fromRegion: (value) => `--from 只能是 north 或 south，而不是 "${value}"`,
    pathSlash: (path) => `路径必须以 "/" 开头，例如 /images/phone.png，而不是 "${path}"`,
    noAnswerWithin: (url, ms) => `${url} 在 ${ms} ms 内没有响应`,
    nothingListens: (host, why) => `${host} 指向的地址上没有服务在监听（${why}）：边缘节点的缓存启动了吗？`,
    noEdgeAt: (host, address) => `DNS 把 ${host} 指向 ${address}，但本实验没有边缘节点在那里监听`,
    fetchLines: (f) => [
      `${f.host} → ${f.chain.join(' → ')}（本地 DNS ${f.localDns.host}:${f.localDns.port}）`,
      `${f.method} ${f.url}：从 ${f.local.address}:${f.local.port} → 边缘节点 ${f.edge} ${f.remote.address}:${f.remote.port}`,
      `${f.status}，${f.bytes} 字节，${f.ms} ms`,
    ],
  },
);
