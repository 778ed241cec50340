/**
 * JSON.parse with limits checked BEFORE any object is built. A hostile or broken server can answer
 * a few megabytes of `[[[[…` or `[0,0,0,…`: JSON.parse turns 7 MB of nested arrays into hundreds of
 * megabytes of heap (427 MB RSS measured), enough to abort a whole fleet check. One linear pass over
 * the raw text counts nesting depth and values and refuses the text before JSON.parse sees it; the
 * pass allocates nothing, so its cost is bounded by the size cap the transport already enforces.
 */

export interface JsonLimits {
  /** Largest text accepted, in UTF-16 code units (the transport caps bytes before this). */
  maxLength: number;
  /** Deepest nesting of arrays and objects. */
  maxDepth: number;
  /** Most values (array elements plus object members), counted over the whole document. */
  maxValues: number;
}

/** What the RS REST API answers: tens of fields, or a few hundred nodes/databases, at depth < 10. */
export const RS_JSON_LIMITS: JsonLimits = { maxLength: 8 * 1024 * 1024, maxDepth: 32, maxValues: 200_000 };

/** Small error bodies (RS `{"error_code","description"}`): never worth more than this. */
export const ERROR_BODY_JSON_LIMITS: JsonLimits = { maxLength: 64 * 1024, maxDepth: 8, maxValues: 1_000 };

export type BoundedJson =
  | { ok: true; value: unknown }
  | { ok: false; reason: 'too-large' | 'too-deep' | 'too-many-values' | 'malformed'; detail: string };

const OPEN_ARRAY = 0x5b; // [
const OPEN_OBJECT = 0x7b; // {
const CLOSE_ARRAY = 0x5d; // ]
const CLOSE_OBJECT = 0x7d; // }
const COMMA = 0x2c;
const QUOTE = 0x22;

/**
 * Parses `text` when it stays within `limits`; otherwise says which limit it broke. Never throws and
 * never quotes the text (a GET /v1/cluster/certificates body holds private keys).
 */
export function parseBoundedJson(text: string, limits: JsonLimits): BoundedJson {
  if (text.length > limits.maxLength) {
    return {
      ok: false,
      reason: 'too-large',
      detail: `${text.length} characters, more than ${limits.maxLength}`,
    };
  }
  let depth = 0;
  let values = 0;
  let backslash = text.indexOf('\\');
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // A string: jump to its closing quote, backslash by backslash (a certificates body is mostly PEM
      // text inside strings: a few hundred jumps instead of ~15,000 characters; bench/check-shard).
      let quote = text.indexOf('"', i + 1);
      for (;;) {
        if (quote < 0) {
          i = text.length; // unterminated: JSON.parse says malformed
          break;
        }
        // The next backslash is looked for again only once passed: every character is scanned a
        // bounded number of times, however many strings the text holds.
        if (backslash >= 0 && backslash <= i) backslash = text.indexOf('\\', i + 1);
        if (backslash < 0 || backslash > quote) {
          i = quote; // the closing quote
          break;
        }
        // A backslash inside the string escapes the character after it, whatever it is.
        const after = backslash + 2;
        if (quote < after) quote = text.indexOf('"', after);
        backslash = text.indexOf('\\', after);
      }
      continue;
    }
    if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > limits.maxDepth) {
        return { ok: false, reason: 'too-deep', detail: `nested deeper than ${limits.maxDepth} levels` };
      }
      // An opening bracket starts a container and (unless empty) its first value.
      if (++values > limits.maxValues) return tooMany(limits);
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth--;
    } else if (c === COMMA) {
      if (++values > limits.maxValues) return tooMany(limits);
    }
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, reason: 'malformed', detail: 'not valid JSON' };
  }
}

function tooMany(limits: JsonLimits): BoundedJson {
  return { ok: false, reason: 'too-many-values', detail: `more than ${limits.maxValues} values` };
}
