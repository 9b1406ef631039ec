// Step 2's TLS in Chinese (see en/tls.ts for what each function says): each message of the
// handshake on one line, the session the phone got, the chain it verified, and the three randoms
// (classic) or the key exchange that leaves nothing to recover (modern). Message, field and
// extension names stay as the protocol spells them; the seed's words for the rest (加密套件,
// 随机数, 预主密钥, 对称密钥, 证书链…).
import type { MasterSecretFailureFacts, ModernKeyExchange } from '../../../master-secret.ts';
import { HYBRID_GROUPS } from '../../../tls-groups.ts';
import type { TlsEventFacts } from '../../../tls-decoder.ts';
import type { ChainCert, ChainCheck, ChainStep } from '../../../../client/chain-check.ts';
import { padEndWidth } from '../../../text-width.ts';
import type { MasterSecretFacts, TlsSessionFacts } from '../../facts.ts';

const short = (hex: string) => (hex.length > 16 ? `${hex.slice(0, 16)}…` : hex);

function listOf(names: string[], max = 4): string {
  return names.length <= max ? names.join('、') : `${names.slice(0, max).join('、')}（另有 ${names.length - max} 个）`;
}

/** 每条消息一行，例如 "client→server ClientHello：版本 TLS 1.2，随机数 5f1c…，…"。 */
export function tlsMessageLine(e: TlsEventFacts): string {
  return `${e.direction} ${tlsEventName(e.name)}：${details(e)}（${e.length} 字节，位于偏移 ${e.offset}）`;
}

// The decoder names what it cannot read by a short description (English), and those names travel
// in the trace and in the TCP story's "carries" lists, several joined by ", " when they share a
// record. They are a closed set (lab/tls-decoder.ts), so each is reworded here, wherever it sits
// in the string; message names (ClientHello, Finished…) stay as they are.
const EVENT_NAMES: Array<[RegExp, string]> = [
  [/ChangeCipherSpec \(TLS 1\.3 middlebox compatibility, changes nothing\)/g, 'ChangeCipherSpec（TLS 1.3 为兼容中间设备而发，不改变任何东西）'],
  [/encrypted alert \(an application_data record of exactly an alert's size; at the end of a connection, usually close_notify\)/g, '加密的 alert（一条大小恰好是一个 alert 的 application_data 记录；出现在连接末尾，通常是 close_notify）'],
  [/encrypted alert \(at the end of a connection, usually close_notify\)/g, '加密的 alert（出现在连接末尾，通常是 close_notify）'],
  [/encrypted handshake message \(Finished\)/g, '加密的握手消息（Finished）'],
  [/encrypted handshake message \(a handshake message\)/g, '加密的握手消息'],
  [
    /encrypted handshake record (\d+) of the server's flight \(EncryptedExtensions, Certificate, CertificateVerify and Finished travel in these; which is which can't be read without keys\)/g,
    '服务端这一轮的第 $1 条加密握手记录（EncryptedExtensions、Certificate、CertificateVerify 和 Finished 都在这些记录里；没有密钥就分不出哪条是哪条）',
  ],
  [/encrypted \(client Finished — not readable on the wire\)/g, '加密的客户端 Finished（在线路上读不出来）'],
  [/application_data before any ServerHello \(0-RTT early data, encrypted\)/g, '出现在 ServerHello 之前的 application_data（0-RTT 早期数据，已加密）'],
  [/application_data \(encrypted\)/g, 'application_data（已加密）'],
  [/undecodable bytes \(not TLS, or out of step with it\)/g, '无法解码的字节（不是 TLS，或者没对上 TLS 的记录边界）'],
  [/undecodable handshake type (\d+)/g, '无法解码的握手消息（类型 $1）'],
  [/undecodable (\w+)/g, '无法解码的 $1'],
  [/handshake type (\d+)/g, '握手消息（类型 $1）'],
];

/** 解码器给一条消息或记录起的名字，换成读者看的中文说法（消息名本身不译）。 */
export function tlsEventName(name: string): string {
  return EVENT_NAMES.reduce((text, [pattern, zh]) => text.replace(pattern, zh), name);
}

// Why the decoder gave up on some bytes: also a closed set of English sentences (lab/tls-decoder.ts).
const REASONS: Array<[RegExp, string]> = [
  [/^not TLS: the bytes start with "(.*)", which looks like plain HTTP$/s, '不是 TLS：开头的字节是 "$1"，看起来是明文 HTTP'],
  [/^not TLS: content type (0x[0-9a-f]+) is none of TLS's \(20-24\)$/, '不是 TLS：内容类型 $1 不是 TLS 的任何一种（20-24）'],
  [/^not TLS: record version (\S+) is none of SSL 3\.0 … TLS 1\.3$/, '不是 TLS：记录版本 $1 不在 SSL 3.0 … TLS 1.3 之列'],
  [/^not TLS: a record of (\d+) bytes is longer than TLS allows \((\d+)\)$/, '不是 TLS：一条 $1 字节的记录超出了 TLS 允许的长度（$2）'],
  [/^a handshake message claims (\d+) bytes, more than any real one$/, '一条握手消息声称有 $1 字节，比任何真实的握手消息都大'],
  [/^malformed ([^:]+): needs (\d+) bytes at offset (\d+), has (\d+)$/, '$1 格式错误：在偏移 $3 处需要 $2 字节，只剩 $4 字节'],
  [/^malformed ([^:]+): odd length in a list of 16-bit values$/, '$1 格式错误：16 位数值列表的长度是奇数'],
  [/^malformed ([^:]+): /, '$1 格式错误：'],
];

function reasonText(reason: string): string {
  const hit = REASONS.find(([pattern]) => pattern.test(reason));
  return (hit ? reason.replace(hit[0], hit[1]) : reason).replace(/^handshake type (\d+) 格式错误/, '握手消息（类型 $1）格式错误');
}

/** "2048-bit finite field" (the decoder's name for a DHE group) → "2048 位有限域"; curve names stay. */
function groupText(group: string): string {
  return group.replace(/^(\d+)-bit finite field$/, '$1 位有限域');
}

function details(e: TlsEventFacts): string {
  switch (e.type) {
    case 'ClientHello': {
      const h = e.fields;
      const parts = [
        `版本 ${h.legacyVersionName}${h.supportedVersions ? `（supported_versions：${h.supportedVersions.join('、')}）` : ''}`,
        `随机数 ${h.random}`,
        `${h.cipherSuites.length} 个加密套件：${listOf(h.cipherSuites.map((s) => s.name))}`,
      ];
      if (h.serverName) parts.push(`SNI ${h.serverName}`);
      if (h.keyShares) parts.push(`key_share ${h.keyShares.map((k) => k.group).join('、')}`);
      if (h.alpn) parts.push(`ALPN ${h.alpn.join('、')}`);
      parts.push(h.extendedMasterSecret ? '提供 extended_master_secret' : '不带 extended_master_secret');
      return parts.join('，');
    }
    case 'ServerHello': {
      const h = e.fields;
      if (h.helloRetryRequest) return `服务端要客户端换一个 key_share：${h.keyShare?.group ?? '?'}（这里的随机数是 RFC 8446 为 HelloRetryRequest 规定的固定值）`;
      const parts = [`${h.versionName}`, `选定 ${h.cipherSuite.name}`, `随机数 ${h.random}`];
      if (h.downgradeSentinel) {
        const agreed = h.downgradeSentinel === 'TLS 1.2' ? 'TLS 1.2' : 'TLS 1.1 或更早的版本';
        parts.push(`随机数以 "DOWNGRD" 结尾：这台服务端本可以用 TLS 1.3，却同意了 ${agreed}`);
      }
      if (h.keyShare) parts.push(`key_share ${h.keyShare.group}`);
      if (h.version !== 0x0304) parts.push(h.extendedMasterSecret ? '启用 extended_master_secret' : '不带 extended_master_secret');
      return parts.join('，');
    }
    case 'Certificate':
      return `${e.fields.certificates.length} 张证书：${e.fields.certificates
        .map((c) => (c.error ? `无法解析（${c.error}）` : `"${c.commonName ?? c.subject}"（由 "${/CN=([^,]+)/.exec(c.issuer)?.[1] ?? c.issuer}" 签发）`))
        .join('，然后是 ')}`;
    case 'ServerKeyExchange':
      return `${e.fields.keyExchange}${e.fields.group ? `，${groupText(e.fields.group)}` : ''}${e.fields.publicKeyLength ? `，${e.fields.publicKeyLength} 字节的公钥` : ''}${e.fields.signatureAlgorithm ? `，签名算法 ${e.fields.signatureAlgorithm}` : ''}`;
    case 'ServerHelloDone':
      return '服务端要说的都说完了，轮到客户端';
    case 'ClientKeyExchange':
      return e.fields.encryptedPreMaster
        ? `用服务端 RSA 公钥加密的预主密钥（pre-master）：${e.fields.encryptedPreMaster.length / 2} 字节（${short(e.fields.encryptedPreMaster)}）`
        : `${e.fields.keyExchange} 公钥${e.fields.publicKeyLength ? `，${e.fields.publicKeyLength} 字节` : ''}`;
    case 'NewSessionTicket':
      return `一张 ${e.fields.ticketLength} 字节的会话票据（ticket），有效期 ${e.fields.lifetimeHintSeconds} s`;
    case 'Handshake':
      return `${e.fields.bodyLength} 字节`;
    case 'ChangeCipherSpec':
      return e.fields.middleboxCompatibility ? '发它只是为了让中间设备（middlebox）以为这是 TLS 1.2' : '从下一条记录起，这一端开始加密';
    case 'Alert':
      return `${e.fields.levelName.replace(/^level (\d+)$/, '级别 $1')} ${e.fields.descriptionName}`;
    case 'ApplicationData':
      return `${e.fields.bytes} 字节密文${e.fields.probablyTicket ? '（多半是 NewSessionTicket：在 TLS 1.3 里它看起来和应用数据一样）' : ''}`;
    case 'EncryptedHandshake':
    case 'EncryptedAlert':
    case 'Heartbeat':
      return `${e.fields.bytes} 字节密文`;
    case 'Undecodable':
      return `${reasonText(e.fields.reason)}（开头的字节 ${e.fields.preview}）`;
  }
}

export function tlsSessionLines(t: TlsSessionFacts): string[] {
  const kx =
    t.keyExchange.kind === 'rsa'
      ? '密钥交换 RSA（客户端用服务端的公钥加密预主密钥）'
      : t.keyExchange.kind === 'unknown'
        ? '密钥交换方式不清楚（Node 没有给出密钥，实验也不认识这个加密套件）'
        : t.keyExchange.group
          ? `密钥交换 ${t.keyExchange.group}（临时密钥，具备前向保密）`
          : '密钥交换用的是临时密钥（具备前向保密；这个版本的 Node 没有说是哪个组）';
  return [
    `TLS   ${t.protocol}，加密套件 ${t.cipher.standardName}（OpenSSL 叫它 ${t.cipher.name}），${kx}`,
    '客户端验证的证书链（它只信任实验环境的根证书）：',
    ...t.chain.map((step) => `  ${step.ok ? '✓' : '✗'} ${chainLink(step.link)}：${chainDetail(step.check)}`),
  ];
}

const ROLE: Record<ChainCert['role'], string> = { leaf: '叶子证书', intermediate: '中间证书', root: '根证书', certificate: '证书' };

function certLabel(c: ChainCert): string {
  return `${ROLE[c.role]}${c.role === 'certificate' ? ` #${c.index}` : ''} ${c.name}`;
}

/** `叶子证书 "CN=…" → 中间证书 "CN=…"`，或者单独一张证书。 */
export function chainLink(link: ChainStep['link']): string {
  if (!link.parent) return certLabel(link.cert);
  return `${certLabel(link.cert)} → ${link.parent === 'unknown' ? '?' : certLabel(link.parent)}`;
}

/** 证书链这一步查了什么，或者发现了什么问题（说的是这张证书）。 */
export function chainDetail(c: ChainCheck): string {
  switch (c.kind) {
    case 'trusted-root':
      return `这就是客户端信任的根 CA（SHA-256 ${c.sha256}…），验证到此为止`;
    case 'foreign-root':
      return `是一张自签名的根证书，但不是这个客户端信任的那张（客户端信任的是 ${c.trusted}，SHA-256 ${c.trustedSha256}…；这张是 ${c.sha256}…）`;
    case 'issuer-missing':
      return `签发者是 ${c.issuer}，但服务端没有发来这个签发者的证书，客户端又只信任 ${c.trusted}：缺了中间证书`;
    case 'issuer-untrusted':
      return `签发者是 ${c.issuer}，它既不是服务端发来的下一张证书，也不是这个客户端信任的根证书（客户端只信任 ${c.trusted}）`;
    case 'signature-mismatch':
      return `写明签发者是 ${c.parent}，但用那张证书的公钥验证不了它的签名：签发它的是另一个同名的 CA`;
    case 'signed-by':
      return `签发者名称对得上，用 ${c.parent} 的公钥验证签名也通过了`;
    case 'expired':
      return `已于 ${c.validTo} 过期（${c.days} 天前）`;
    case 'not-yet-valid':
      return `在 ${c.validFrom} 之前无效`;
    case 'valid':
      return `有效期从 ${c.validFrom} 到 ${c.validTo}`;
    case 'name-matches':
      return `带有客户端要访问的名字：${c.hostname}`;
    case 'name-mismatch':
      return `没有客户端要访问的名字（${c.hostname}）；它是签给 ${c.names} 的`;
  }
}

/** 坏掉的那一步：该怎么办。 */
export function chainFix(c: ChainCheck): string | undefined {
  switch (c.kind) {
    case 'foreign-root':
      return '服务端属于另一套 PKI，或者给客户端的根 CA 文件不对';
    case 'issuer-missing':
      return '服务端必须把中间证书和叶子证书一起发出来（用 chain.crt，而不是 leaf.crt）';
    case 'issuer-untrusted':
      return '这条证书链通向一个客户端不信任的 CA：换成正确的根 CA，或者让服务端发一条以它为终点的证书链';
    case 'signature-mismatch':
      return c.parentIsTrustedRoot
        ? '客户端信任的是另一张同名的根证书：把签发这条证书链的实验环境的根证书给它'
        : '服务端发的证书链对不上：重新签发，或者重新发送正确的中间证书';
    case 'expired':
      return '重新签发它（在实验环境里：npm run lab -- certs --renew）';
    case 'not-yet-valid':
      return '检查这台机器的时钟，或者重新签发证书';
    case 'name-mismatch':
      return `用证书上的某个名字去连接，或者签发一张包含 ${c.hostname} 的证书`;
    default:
      return undefined;
  }
}

/** 客户端拒绝连接时的说明：OpenSSL 给的错误码，哪一环断了，怎么办（CertificateError 的 message）。 */
export function certificateRefusal(code: string, broken: ChainStep | undefined): string {
  if (!broken) return `TLS 证书校验失败（${code}）`;
  const fix = chainFix(broken.check);
  return `TLS 证书校验失败（${code}），问题出在${chainLink(broken.link)}：${chainDetail(broken.check)}。${fix ? `解决办法：${fix}。` : ''}`;
}

export function masterSecretLines(m: MasterSecretFacts): string[] {
  // Labels and values in two columns, by display width (the labels are Chinese).
  const row = (label: string, value: string) => `    ${padEndWidth(label, 14)} ${value}`;
  return [
    '三个随机数（原文第 5 节）：客户端随机数、服务端随机数，以及手机用 SLB 的公钥加密后发出的预主密钥（pre-master）。两端用这三个随机数算出同一个主密钥，对称密钥再由它导出。',
    row('客户端随机数', m.clientRandom),
    row('服务端随机数', m.serverRandom),
    row('预主密钥', `${m.preMaster}（用 SLB 的私钥解密得到，这把私钥归实验环境所有）`),
    row('主密钥', `${m.master}  = PRF(pre-master, "master secret", client random ‖ server random)`),
    `    = 密钥日志（key log）第 ${m.keyLogLine} 行 CLIENT_RANDOM 记下的值：两端各自独立算出了同一个密钥。`,
  ];
}

/** 现代模式：用的哪个群，以及为什么抓包文件和 SLB 的私钥都还原不出密钥（前向保密）。 */
export function modernKeyExchangeLines(k: ModernKeyExchange): string[] {
  const hybrid = HYBRID_GROUPS[k.group];
  const how = hybrid
    ? `这次的密钥交换是两种方法的混合，只攻破一种并不够：${hybrid.ecdh} 椭圆曲线 Diffie-Hellman，加上 ` +
      `${hybrid.kem}，一种后量子密钥封装机制（FIPS 203），即使将来出现能攻破椭圆曲线的量子计算机，它也应当扛得住。` +
      `客户端在 ClientHello 里发了 ${k.clientPublicKeyBytes ?? '?'} 字节的密钥份额（key_share：它的 ${hybrid.kem} 公钥和 ` +
      `${hybrid.ecdh} 公钥），服务端在 ServerHello 里回了 ${k.serverPublicKeyBytes ?? '?'} 字节（一段只有客户端私钥才能打开的 ` +
      `${hybrid.kem} 密文，以及服务端自己的 ${hybrid.ecdh} 公钥）。两端得到同样的两份共享密钥，一起送进 TLS 1.3 的密钥编排（key schedule），` +
      '所有密钥都由它导出；'
    : `这次的密钥交换是 ${k.group} 上的临时椭圆曲线 Diffie-Hellman（ECDHE）：客户端在 ClientHello 里发了 ` +
      `${k.clientPublicKeyBytes ?? '?'} 字节的公钥（key_share），服务端在 ServerHello 里回了自己 ` +
      `${k.serverPublicKeyBytes ?? '?'} 字节的公钥。每一端把自己的私钥和对方的公钥一结合，就得到同一个共享密钥，` +
      'TLS 1.3 的密钥编排（key schedule）再从它导出所有密钥；';
  return [
    `密钥交换：${k.group}（${hybrid ? `混合：${hybrid.ecdh} ECDHE + ${hybrid.kem}` : 'ECDHE'}），加密套件 ${k.cipherSuite}。`,
    `    ${how}` +
      '任何密钥，无论加密与否，都不会出现在线路上。双方的私钥只为这一个连接生成，从没离开过两端，握手结束就丢弃。' +
      'SLB 的 RSA 私钥只用来给握手签名（CertificateVerify），什么也不解密。所以抓包文件即使加上 SLB 的私钥，' +
      '也找不到任何能还原出密钥的东西，现在不能，以后也不能：这就是前向保密。' +
      (k.keyLogLabels.length
        ? `密钥日志（key log）里有 ${k.keyLogLabels.length} 行属于这个客户端随机数（${k.keyLogLabels.join('、')}），那只是因为 SLB ` +
          '特意把自己的密钥写了进去（SSLKEYLOGFILE）；线路上没有任何东西能让人推导出，甚至验证这些密钥。'
        : '密钥日志（key log）里就算有 *_TRAFFIC_SECRET 行，也只是因为某一端特意把自己的密钥写了进去；' +
          '线路上没有任何东西能让人推导出，甚至验证这些密钥。'),
  ];
}

/** 为什么没法用三个随机数去核对密钥日志（MasterSecretError 的 message）。 */
export function masterSecretFailure(f: MasterSecretFailureFacts): string {
  switch (f.kind) {
    case 'no-hello':
      return `这个连接的字节里没有 ${f.missing === 'ClientHello and ServerHello' ? 'ClientHello 和 ServerHello' : f.missing}，也就没有随机数可以拿来计算`;
    case 'tls13':
      return `这个连接用的是 TLS 1.3（${f.suite}）：线路上根本没有预主密钥可以还原；请看 modernKeyExchange`;
    case 'no-client-key-exchange':
      return '这个连接的字节里没有 ClientKeyExchange（握手完成了吗？会话是不是复用的？）';
    case 'ephemeral':
      return `服务端选定了 ${f.suite}：它的 ClientKeyExchange 里是一个临时的 ${f.keyExchange} 公钥，而不是加密后的预主密钥，所以服务端的私钥什么也还原不出来`;
    case 'undecryptable':
      return `用这把私钥解不开那段 ${f.bytes} 字节的 ClientKeyExchange（${f.error}）：它是 SLB 发来的那张证书对应的私钥吗？`;
    case 'bad-pre-master':
      return `解密出来的预主密钥有 ${f.bytes} 字节，开头是 ${f.startsWith}；真正的预主密钥是 48 字节，开头是客户端的版本号 ${f.wantVersion}`;
    case 'extended-master-secret':
      return (
        '协商用上了扩展主密钥（extended_master_secret，RFC 7627）：两个 hello 都带有这个扩展，所以两端算的是 ' +
        'master = PRF(pre-master, "extended master secret", 所有握手消息的哈希)，教科书上的公式（client random ‖ server random）不再适用。' +
        '实验环境的经典模式会在两端都关掉 EMS（SSL_OP_NO_EXTENDED_MASTER_SECRET）。'
      );
    case 'no-key-log':
      return `密钥日志 ${f.keyLogFile} 不存在，所以找不到客户端随机数 ${f.clientRandom} 的 CLIENT_RANDOM 行`;
    case 'no-key-log-line':
      return (
        `在 ${f.keyLogFile} 里找不到客户端随机数 ${f.clientRandom} 的 CLIENT_RANDOM 行（文件里共有 ${f.lines} 行 CLIENT_RANDOM）：` +
        '这个密钥日志是为这个连接服务的那台 SLB 写的吗？那一行是不是被删掉了？'
      );
    case 'key-log-mismatch':
      return (
        `密钥日志对不上：对客户端随机数 ${f.clientRandom}，${f.keyLogFile} 第 ${f.lineNumber} 行记下的主密钥是 ${f.logged}，` +
        `但由三个随机数算出来的是 ${f.computed}。要么这行密钥日志被篡改过，要么它不是完成这次握手的那台服务端的日志。`
      );
    case 'not-tls13':
      return `这个连接用的是 ${f.versionName} 和 ${f.suite}，不是带 key_share 的 TLS 1.3：请用 checkMasterSecret`;
  }
}
