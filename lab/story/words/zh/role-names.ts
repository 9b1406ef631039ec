// The names a caller gives the two ends of a connection ("the phone", "the SLB": see
// lab/walkthrough.ts and lab/story/render/terminal.ts) are also recorded in the trace, so they
// reach the words as English. They are the lab's roles: each has its Chinese name (GLOSSARY.md).
// A name the table does not know (a workshop's own host name) is shown as given.
const ROLE_NAMES: Record<string, string> = {
  phone: '手机',
  'the phone': '手机',
  SLB: 'SLB',
  'the SLB': 'SLB',
  client: '客户端',
  'the client': '客户端',
  server: '服务端',
  'the server': '服务端',
};

export function roleName(name: string): string {
  return ROLE_NAMES[name] ?? name;
}

// The looks at the kernel's table are labelled by the walkthrough (lab/walkthrough.ts), in English.
const LOOK_NAMES: Record<string, string> = {
  'before connect': '连接之前',
  'after connect': 'connect() 之后',
  'after the answer': '收到响应之后',
  'after close': '关闭之后',
  'server end accepted': '服务端接受连接之后',
};

export function lookName(label: string): string {
  return LOOK_NAMES[label] ?? label;
}

/**
 * A name set between Chinese words with spaces, as a Latin one needs them (SLB 先关闭), leaves a
 * space between two Chinese characters when the name is Chinese (手机 先关闭): take those out.
 * Quoted text (a certificate's name) is a value and stays as it is.
 */
export function tidy(line: string): string {
  return line
    .split(/("[^"]*")/)
    .map((part, i) => (i % 2 ? part : part.replace(/([\u4e00-\u9fff]) (?=[\u4e00-\u9fff])/g, '$1')))
    .join('');
}
