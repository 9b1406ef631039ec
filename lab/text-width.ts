// Terminal columns by display width, not by string length: a CJK character takes two columns,
// a combining mark none (Unicode UAX #11, East Asian Width). padEnd() counts UTF-16 units, which
// puts every column after a Chinese word out of line.
import { eastAsianWidth } from 'get-east-asian-width';

const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;
const ZERO_WIDTH = /[\p{Mark}\p{Default_Ignorable_Code_Point}\p{Control}]/u;

/** How many terminal columns `text` takes (ANSI colour codes take none; ambiguous characters one). */
export function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text.replace(ANSI, '')) {
    if (ZERO_WIDTH.test(ch)) continue;
    width += eastAsianWidth(ch.codePointAt(0)!);
  }
  return width;
}

/** `text` followed by spaces up to `width` columns (as String.padEnd, by display width). */
export function padEndWidth(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - displayWidth(text)));
}

/** Spaces, then `text`, up to `width` columns (as String.padStart, by display width). */
export function padStartWidth(text: string, width: number): string {
  return ' '.repeat(Math.max(0, width - displayWidth(text))) + text;
}

/** Rows of cells as aligned columns: each column as wide as its widest cell, `gap` spaces between. */
export function columns(rows: readonly (readonly string[])[], gap = 2): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, displayWidth(cell))));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : padEndWidth(cell, widths[i]! + gap)))
      .join('')
      .trimEnd(),
  );
}
