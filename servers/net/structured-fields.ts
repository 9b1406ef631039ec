// Structured Field Values for HTTP (RFC 8941): parsing a List, and writing the bare items the lab's
// own headers use. Cache-Status (RFC 9211) is such a List; servers/net/cache-status.ts reads and
// writes it with these. The parser follows the algorithms of RFC 8941 §4.2 step by step: any syntax
// error fails the whole field, and the caller then ignores the header (§4.2: "fail parsing").

/** A Token is kept apart from a String: `fwd=stale` is a token, `detail="stale"` a string. */
export class Token {
  constructor(readonly name: string) {}
}

export type BareItem = number | string | boolean | Token | Uint8Array;
export type Parameters = Map<string, BareItem>;
export interface Item {
  value: BareItem;
  params: Parameters;
}
export interface InnerList {
  items: Item[];
  params: Parameters;
}
export type ListMember = Item | InnerList;

export class StructuredFieldError extends Error {}

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/** A cursor over the field's text; every parse step consumes what it read. */
class Input {
  i = 0;
  constructor(readonly s: string) {}
  get done(): boolean {
    return this.i >= this.s.length;
  }
  peek(): string {
    return this.s[this.i] ?? '';
  }
  next(): string {
    return this.s[this.i++] ?? '';
  }
  skipSp(): void {
    while (this.peek() === ' ') this.i++;
  }
  skipOws(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.i++;
  }
  fail(what: string): never {
    throw new StructuredFieldError(`${what} at offset ${this.i} of ${JSON.stringify(this.s)}`);
  }
}

/**
 * RFC 8941 §4.2.1: a List, members separated by commas with optional whitespace around them.
 * Several header lines of one field are joined with ", " first (§4.2 step 2), as Node does.
 */
export function parseList(field: string | string[]): ListMember[] {
  const input = new Input(Array.isArray(field) ? field.join(', ') : field);
  input.skipSp(); // §4.2 step 3: leading spaces are discarded
  const members: ListMember[] = [];
  while (!input.done) {
    members.push(input.peek() === '(' ? parseInnerList(input) : parseItem(input));
    input.skipOws();
    if (input.done) break;
    if (input.next() !== ',') input.fail('expected "," between list members');
    input.skipOws();
    if (input.done) input.fail('a list may not end with ","');
  }
  // §4.2 step 6: trailing spaces are discarded, then nothing else may follow (the loop ensured it).
  return members;
}

/** §4.2.1.2: `(a b);p`. */
function parseInnerList(input: Input): InnerList {
  input.next(); // '('
  const items: Item[] = [];
  for (;;) {
    input.skipSp();
    if (input.peek() === ')') {
      input.next();
      return { items, params: parseParameters(input) };
    }
    items.push(parseItem(input));
    if (input.peek() !== ' ' && input.peek() !== ')') input.fail('expected " " or ")" in an inner list');
  }
}

/** §4.2.3: a bare item and its parameters. */
function parseItem(input: Input): Item {
  return { value: parseBareItem(input), params: parseParameters(input) };
}

/** §4.2.3.2: `;key=value;flag`, a key given twice keeps its last value. */
function parseParameters(input: Input): Parameters {
  const params: Parameters = new Map();
  while (input.peek() === ';') {
    input.next();
    input.skipSp();
    const key = parseKey(input);
    let value: BareItem = true; // a parameter without "=" is the Boolean true
    if (input.peek() === '=') {
      input.next();
      value = parseBareItem(input);
    }
    params.set(key, value);
  }
  return params;
}

/** §4.2.3.3: a key is lowercase: lcalpha or "*" first, then lcalpha, digits, "_", "-", ".", "*". */
function parseKey(input: Input): string {
  if (!/[a-z*]/.test(input.peek())) input.fail('a key must start with a lowercase letter or "*"');
  let key = '';
  while (/[a-z0-9_\-.*]/.test(input.peek()) && !input.done) key += input.next();
  return key;
}

/** §4.2.3.1: which kind of bare item is told by its first character. */
function parseBareItem(input: Input): BareItem {
  const c = input.peek();
  if (c === '-' || /[0-9]/.test(c)) return parseNumber(input);
  if (c === '"') return parseString(input);
  if (c === '*' || /[A-Za-z]/.test(c)) return parseToken(input);
  if (c === ':') return parseByteSequence(input);
  if (c === '?') return parseBoolean(input);
  return input.fail('expected an item');
}

/** §4.2.4: an Integer (at most 15 digits) or a Decimal (at most 12 digits, a dot, 1–3 digits). */
function parseNumber(input: Input): number {
  const m = /^-?(\d*)(\.(\d*))?/.exec(input.s.slice(input.i))!;
  const [all, whole = '', dot, fraction = ''] = m;
  if (whole === '') input.fail('expected a digit');
  if (!dot && whole.length > 15) input.fail('an integer has at most 15 digits');
  if (dot && whole.length > 12) input.fail('a decimal has at most 12 integer digits');
  if (dot && (fraction.length < 1 || fraction.length > 3)) input.fail('a decimal has 1 to 3 fractional digits');
  input.i += all.length;
  return Number(all);
}

/** §4.2.5: printable ASCII between double quotes; only \" and \\ are escapes. */
function parseString(input: Input): string {
  input.next(); // '"'
  let out = '';
  while (!input.done) {
    const c = input.next();
    if (c === '\\') {
      const escaped = input.next();
      if (escaped !== '"' && escaped !== '\\') input.fail('only \\" and \\\\ are escapes in a string');
      out += escaped;
    } else if (c === '"') {
      return out;
    } else if (c < ' ' || c > '~') {
      input.fail('a string holds printable ASCII only');
    } else {
      out += c;
    }
  }
  return input.fail('a string is missing its closing quote');
}

/** §4.2.6: ALPHA or "*", then tchar, ":" or "/". */
function parseToken(input: Input): Token {
  let name = input.next();
  while (!input.done && (TCHAR.test(input.peek()) || input.peek() === ':' || input.peek() === '/')) name += input.next();
  return new Token(name);
}

/** §4.2.7: base64 between colons. */
function parseByteSequence(input: Input): Uint8Array {
  input.next(); // ':'
  const end = input.s.indexOf(':', input.i);
  if (end < 0) input.fail('a byte sequence is missing its closing ":"');
  const b64 = input.s.slice(input.i, end);
  if (!/^[A-Za-z0-9+/=]*$/.test(b64)) input.fail('a byte sequence is base64');
  input.i = end + 1;
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

/** §4.2.8: ?1 or ?0. */
function parseBoolean(input: Input): boolean {
  input.next(); // '?'
  const c = input.next();
  if (c !== '0' && c !== '1') input.fail('a boolean is ?0 or ?1');
  return c === '1';
}

// ───────────────────────────── Writing (RFC 8941 §4.1) ─────────────────────────────

/** §4.1.6: as a Token when the text is one, else as a String. */
export function tokenOrString(text: string): string {
  return /^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*$/.test(text) ? text : serializeString(text);
}

/**
 * §4.1.6: a String is printable ASCII with " and \ escaped. Anything else cannot be carried (a
 * String has no escape for it), so it is written as "?" rather than make the whole header invalid.
 */
export function serializeString(text: string): string {
  return `"${text.replace(/[^\x20-\x7e]/g, '?').replace(/["\\]/g, (c) => `\\${c}`)}"`;
}
