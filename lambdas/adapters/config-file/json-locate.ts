/**
 * Where things are in a JSON text, without ever quoting it: the line and column of the first syntax
 * error, and of every key path (so a schema error can point at the line to fix).
 *
 * `JSON.parse` says where a syntax error is only in its message, and V8's message quotes the text
 * around it, which for a configuration file can be part of a password. This small scanner follows
 * RFC 8259 and reports positions and a description of its own instead.
 */

export interface JsonPosition {
  /** 1-based. */
  line: number;
  /** 1-based, in characters. */
  column: number;
}

export interface JsonSyntaxProblem extends JsonPosition {
  /** What was expected, in words; never the text found. */
  problem: string;
}

export interface JsonLocations {
  syntax: JsonSyntaxProblem | null;
  /** Position of each key path (the key itself for object members, the value for array items). */
  at(path: readonly PropertyKey[]): JsonPosition | null;
}

class Stop extends Error {
  constructor(
    readonly offset: number,
    readonly problem: string,
  ) {
    super(problem);
  }
}

export function locateJson(text: string): JsonLocations {
  const offsets = new Map<string, number>();
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
  };
  const describe = (what: string) => (i >= text.length ? `${what}, but the file ends here` : what);

  const string = () => {
    // text[i] is '"'
    i++;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) throw new Stop(i, 'a line break or control character inside a string (escape it)');
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6)))
            throw new Stop(i, 'a \\u escape needs four hex digits');
          i += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) throw new Stop(i, 'an invalid escape in a string');
        i += 2;
        continue;
      }
      i++;
    }
    throw new Stop(i, 'a string that is never closed (missing ")');
  };

  const value = (path: PropertyKey[]): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      object(path);
      return;
    }
    if (c === '[') {
      array(path);
      return;
    }
    if (c === '"') {
      string();
      return;
    }
    const literal = /^(true|false|null)/.exec(text.slice(i, i + 5));
    if (literal) {
      i += literal[0].length;
      return;
    }
    const number = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (number && number[0] !== '-' && number[0].length > 0) {
      i += number[0].length;
      return;
    }
    if (c === "'") throw new Stop(i, 'a single-quoted string (JSON needs double quotes)');
    throw new Stop(i, describe('expected a value (a string, number, object, array, true, false or null)'));
  };

  const object = (path: PropertyKey[]) => {
    i++;
    ws();
    if (text[i] === '}') {
      i++;
      return;
    }
    for (;;) {
      ws();
      if (text[i] === '}') throw new Stop(i, 'a trailing comma before "}"');
      if (text[i] !== '"') {
        throw new Stop(
          i,
          text[i] === "'"
            ? 'a single-quoted key (JSON needs double quotes)'
            : describe('expected a key in double quotes'),
        );
      }
      const start = i;
      string();
      const key = JSON.parse(text.slice(start, i)) as string;
      const keyPath = [...path, key];
      offsets.set(JSON.stringify(keyPath), start);
      ws();
      if (text[i] !== ':') throw new Stop(i, describe('expected ":" after the key'));
      i++;
      value(keyPath);
      ws();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '}') {
        i++;
        return;
      }
      throw new Stop(i, describe('expected "," or "}" after a value (a missing comma?)'));
    }
  };

  const array = (path: PropertyKey[]) => {
    i++;
    ws();
    if (text[i] === ']') {
      i++;
      return;
    }
    for (let index = 0; ; index++) {
      ws();
      if (text[i] === ']') throw new Stop(i, 'a trailing comma before "]"');
      offsets.set(JSON.stringify([...path, index]), i);
      value([...path, index]);
      ws();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === ']') {
        i++;
        return;
      }
      throw new Stop(i, describe('expected "," or "]" after a value (a missing comma?)'));
    }
  };

  let syntax: JsonSyntaxProblem | null = null;
  try {
    // A byte-order mark is tolerated by editors, not by JSON.parse: say so instead of failing oddly.
    if (text.charCodeAt(0) === 0xfeff)
      throw new Stop(0, 'a byte-order mark (save the file as UTF-8 without BOM)');
    ws();
    offsets.set('[]', i);
    value([]);
    ws();
    if (i < text.length) throw new Stop(i, 'more text after the end of the JSON document');
  } catch (error) {
    if (!(error instanceof Stop)) throw error;
    syntax = { ...positionOf(text, error.offset), problem: error.problem };
  }
  return {
    syntax,
    at: (path) => {
      for (let n = path.length; n >= 0; n--) {
        const offset = offsets.get(JSON.stringify(path.slice(0, n)));
        if (offset !== undefined) return positionOf(text, offset);
      }
      return null;
    },
  };
}

function positionOf(text: string, offset: number): JsonPosition {
  let line = 1;
  let lineStart = 0;
  for (let k = 0; k < offset && k < text.length; k++) {
    if (text[k] === '\n') {
      line++;
      lineStart = k + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}
