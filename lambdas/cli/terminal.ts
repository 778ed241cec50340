/**
 * Everything the CLI prints for a person goes through `forTerminal`. Certificate names, CN and SAN
 * values, a cluster's error bodies and error messages come from outside: raw, an ESC sequence clears
 * the screen or recolours it, a CR or newline forges a table row, a bidi override reverses text.
 * Each such character is shown escaped instead (`\x1b`, `\r`, `\u202e`). JSON output is not
 * touched: JSON.stringify escapes control characters itself.
 */

// C0 controls, DEL, C1 controls; bidi embeddings, overrides, isolates and marks; zero-width and
// invisible formatting characters; line and paragraph separators; the byte-order mark.
const UNSAFE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]/gu;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\0': '\\0' };

function escapeChar(ch: string): string {
  const named = NAMED[ch];
  if (named) return named;
  const code = ch.charCodeAt(0);
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** One value, safe for a terminal: every control or invisible formatting character is escaped visibly. */
export function forTerminal(text: string): string {
  return text.replace(UNSAFE, escapeChar);
}

/** Text of several lines we composed ourselves: each line made safe, the line breaks kept. */
export function linesForTerminal(text: string): string {
  return text.split('\n').map(forTerminal).join('\n');
}

/**
 * The width tables and messages should fit: COLUMNS when set (scripts, tests), the terminal's width
 * on a TTY, otherwise none (a pipe or a file gets the full width, as before).
 */
export function outputWidth(env: NodeJS.ProcessEnv, ttyColumns: number | undefined): number | undefined {
  const fromEnv = Number.parseInt(env.COLUMNS ?? '', 10);
  if (Number.isFinite(fromEnv) && fromEnv > 0) return fromEnv;
  return ttyColumns && ttyColumns > 0 ? ttyColumns : undefined;
}

/** Cuts a value to `width` characters, marking the cut with "…" in the middle (both ends stay readable). */
export function shorten(text: string, width: number): string {
  const chars = [...text];
  if (chars.length <= width) return text;
  if (width <= 1) return '…'.slice(0, width);
  const head = Math.ceil((width - 1) / 2);
  const tail = width - 1 - head;
  return `${chars.slice(0, head).join('')}…${tail > 0 ? chars.slice(-tail).join('') : ''}`;
}

/**
 * Wraps a line at spaces to `width`; continuation lines are indented two more than the first, and
 * a word longer than a line is cut.
 */
export function wrap(line: string, width: number | undefined): string[] {
  const len = (t: string) => [...t].length;
  if (width === undefined || len(line) <= width) return [line];
  const rawLead = /^\s*/.exec(line)?.[0] ?? '';
  // Indentation is kept only while it leaves most of the line for text.
  const lead = len(rawLead) * 2 < width ? rawLead : '';
  const indent = `${rawLead}  `;
  const next = len(indent) * 2 < width ? indent : '';
  const out: string[] = [];
  let prefix = lead;
  let current = '';
  const flush = () => {
    if (current !== '') out.push(`${prefix}${current}`);
    prefix = next;
    current = '';
  };
  for (const word of line.slice(rawLead.length).split(' ')) {
    if (word === '') continue;
    const candidate = current === '' ? word : `${current} ${word}`;
    if (len(prefix) + len(candidate) <= width) {
      current = candidate;
      continue;
    }
    flush();
    let rest = [...word];
    while (len(prefix) + rest.length > width) {
      const room = width - len(prefix);
      out.push(`${prefix}${rest.slice(0, room).join('')}`);
      prefix = next;
      rest = rest.slice(room);
    }
    current = rest.join('');
  }
  flush();
  return out;
}
