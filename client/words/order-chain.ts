// The chain walk's words (client/chain-check.ts), in English and Chinese: what each step checked,
// or what is wrong and what to do about it. The order's refusal quotes them, and the story shows
// them step by step. Names of certificates ("CN=…"), hashes and dates are values: never translated.
import { catalogue } from '../../lab/lang.ts';

const en = {
  /** A certificate's place in the chain, before its name: `leaf "CN=www.geektime.test"`. */
  leaf: 'leaf',
  intermediate: 'intermediate',
  root: 'root',
  certificate: (index: number) => `certificate #${index}`,
  trustedRoot: (keyId: string) => `this is the root CA the client trusts (SHA-256 ${keyId}…); the walk ends here`,
  otherRoot: (trusted: string, trustedKeyId: string, keyId: string) =>
    `is a self-signed root, but not the one this client trusts (${trusted}, SHA-256 ${trustedKeyId}…; this one is ${keyId}…)`,
  otherRootFix: 'the server belongs to another PKI, or the client was given the wrong root CA file',
  noIntermediate: (issuer: string, trusted: string) =>
    `was issued by ${issuer}, but the server sent no certificate for that issuer and the client trusts only ${trusted}: the intermediate is missing`,
  noIntermediateFix: 'the server must send its intermediate certificate together with its leaf (chain.crt, not leaf.crt)',
  unknownIssuer: (issuer: string, trusted: string) =>
    `was issued by ${issuer}, which is neither the next certificate the server sent nor a root this client trusts (it trusts only ${trusted})`,
  unknownIssuerFix: 'the chain leads to a CA the client does not trust: use the right root CA, or have the server send a chain that ends at it',
  badSignature: (parent: string) =>
    `names ${parent} as its issuer, but its signature does not verify with that certificate's public key: a different CA with the same name signed it`,
  badSignatureRootFix: 'the client trusts another root of the same name: give it the lab root that issued this chain',
  badSignatureFix: 'the server sends a mismatched chain: reissue or resend the right intermediate',
  linkOk: (parent: string) => `issuer name matches, and the signature verifies with ${parent}'s public key`,
  expired: (on: string, days: number) => `expired on ${on} (${days} day${days === 1 ? '' : 's'} ago)`,
  expiredFix: 'renew it (for the lab: npm run lab -- certs --renew)',
  notYetValid: (from: string) => `is not valid before ${from}`,
  notYetValidFix: "check this machine's clock, or reissue it",
  valid: (from: string, to: string) => `valid from ${from} to ${to}`,
  nameOk: (hostname: string) => `carries the name the client asked for: ${hostname}`,
  nameWrong: (hostname: string, names: string) => `does not carry the name the client asked for (${hostname}); it is for ${names}`,
  nameWrongFix: (hostname: string) => `connect with one of the certificate's names, or issue a certificate that includes ${hostname}`,
};

const zh: typeof en = {
  leaf: '叶子证书',
  intermediate: '中间证书',
  root: '根证书',
  certificate: (index) => `第 ${index} 张证书`,
  trustedRoot: (keyId) => `这就是客户端信任的根 CA（SHA-256 ${keyId}…），验证到此为止`,
  otherRoot: (trusted, trustedKeyId, keyId) => `是自签名的根证书，但不是这个客户端信任的那张（客户端信任的是 ${trusted}，SHA-256 ${trustedKeyId}…；这张是 ${keyId}…）`,
  otherRootFix: '服务端属于另一套 PKI，或者给客户端的根 CA 文件不对',
  noIntermediate: (issuer, trusted) => `由 ${issuer} 签发，但服务端没有发来这个签发者的证书，而客户端只信任 ${trusted}：缺了中间证书`,
  noIntermediateFix: '服务端必须把中间证书和叶子证书一起发来（用 chain.crt，而不是 leaf.crt）',
  unknownIssuer: (issuer, trusted) => `由 ${issuer} 签发，但它既不是服务端发来的下一张证书，也不是这个客户端信任的根证书（客户端只信任 ${trusted}）`,
  unknownIssuerFix: '这条证书链通向一个客户端不信任的 CA：换用正确的根 CA，或者让服务端发一条以它结尾的证书链',
  badSignature: (parent) => `写明签发者是 ${parent}，但用那张证书的公钥验证不了它的签名：签它的是另一个同名的 CA`,
  badSignatureRootFix: '客户端信任的是另一张同名的根证书：把签发这条证书链的实验根证书给它',
  badSignatureFix: '服务端发来的证书链对不上：重新签发或重新发送正确的中间证书',
  linkOk: (parent) => `签发者名称一致，签名用 ${parent} 的公钥验证通过`,
  expired: (on, days) => `已于 ${on} 过期（${days} 天前）`,
  expiredFix: '重新签发它（在实验环境里：npm run lab -- certs --renew）',
  notYetValid: (from) => `在 ${from} 之前无效`,
  notYetValidFix: '检查这台机器的时钟，或者重新签发它',
  valid: (from, to) => `有效期从 ${from} 到 ${to}`,
  nameOk: (hostname) => `带有客户端请求的名字：${hostname}`,
  nameWrong: (hostname, names) => `不带客户端请求的名字（${hostname}）；它是给 ${names} 的`,
  nameWrongFix: (hostname) => `用证书上的某个名字连接，或者签发一张包含 ${hostname} 的证书`,
};

export const chainWords = catalogue('order-chain', en, zh);
