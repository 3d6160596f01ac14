// A strict JSON scanner over request bytes. It validates exactly what JSON.parse accepts, but
// builds no objects: it reports where each value lies, so that an event's payload and metadata
// reach the engine as byte ranges of the body, never parsed and re-serialized. Only the few
// short strings the server needs (event_type, entity_id, id) are decoded.
import { HttpError } from '../errors.js';

export const Kind = {
  String: 1,
  Number: 2,
  Object: 3,
  Array: 4,
  True: 5,
  False: 6,
  Null: 7,
} as const;
export type ValueKind = (typeof Kind)[keyof typeof Kind];

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;

/** Bytes after a backslash that JSON allows (u handled apart). */
const ESCAPES = new Uint8Array(256);
for (const c of '"\\/bfnrt') ESCAPES[c.charCodeAt(0)] = 1;
/** Bytes a string may hold as they are: not '"', not '\\', not a control character. */
const STRING_PLAIN = new Uint8Array(256).fill(1);
for (let c = 0; c < 0x20; c++) STRING_PLAIN[c] = 0;
STRING_PLAIN[QUOTE] = 0;
STRING_PLAIN[BACKSLASH] = 0;
const HEX = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;

export class JsonScanner {
  pos = 0;
  /** Set by string(): whether the last string held an escape. */
  escaped = false;

  constructor(
    readonly buf: Buffer,
    readonly depthMax: number,
  ) {}

  fail(what: string): never {
    throw new HttpError(
      'INVALID_JSON',
      `request body is not valid JSON: ${what} at byte ${this.pos}`,
    );
  }

  ws(): void {
    const buf = this.buf;
    let c = buf[this.pos];
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = buf[++this.pos];
  }

  /** Consumes `byte` after whitespace, or fails. */
  expect(byte: number, what: string): void {
    this.ws();
    if (this.buf[this.pos] !== byte) this.fail(`expected ${what}`);
    this.pos++;
  }

  /** True (and consumed) when the next non-space byte is `byte`. */
  take(byte: number): boolean {
    this.ws();
    if (this.buf[this.pos] !== byte) return false;
    this.pos++;
    return true;
  }

  /** A string starting at pos (the opening quote); returns the offset just after the closing quote. */
  string(): number {
    const buf = this.buf;
    let i = this.pos + 1;
    this.escaped = false;
    for (;;) {
      // Plain bytes, the bulk of any payload string, cost one table lookup each.
      while (STRING_PLAIN[buf[i]!] === 1) i++;
      const c = buf[i];
      if (c === undefined) this.fail('unterminated string');
      if (c === QUOTE) break;
      if (c < 0x20) {
        this.pos = i;
        this.fail('control character in string');
      }
      if (c === BACKSLASH) {
        this.escaped = true;
        const e = buf[i + 1] ?? 0;
        if (e === 0x75) {
          if (
            !(
              HEX[buf[i + 2] ?? 0] &&
              HEX[buf[i + 3] ?? 0] &&
              HEX[buf[i + 4] ?? 0] &&
              HEX[buf[i + 5] ?? 0]
            )
          ) {
            this.pos = i;
            this.fail('bad \\u escape');
          }
          i += 6;
          continue;
        }
        if (ESCAPES[e] !== 1) {
          this.pos = i;
          this.fail('bad escape');
        }
        i += 2;
        continue;
      }
      i++;
    }
    this.pos = i + 1;
    return this.pos;
  }

  /** Decodes the string whose quotes span [start, end). */
  decode(start: number, end: number, escaped: boolean): string {
    return escaped
      ? (JSON.parse(this.buf.toString('utf8', start, end)) as string)
      : this.buf.toString('utf8', start + 1, end - 1);
  }

  private number(): void {
    const buf = this.buf;
    let i = this.pos;
    if (buf[i] === 0x2d) i++;
    if (buf[i] === 0x30) i++;
    else if (buf[i]! >= 0x31 && buf[i]! <= 0x39) while (buf[i]! >= 0x30 && buf[i]! <= 0x39) i++;
    else this.fail('bad number');
    if (buf[i] === 0x2e) {
      i++;
      if (!(buf[i]! >= 0x30 && buf[i]! <= 0x39)) this.fail('bad fraction');
      while (buf[i]! >= 0x30 && buf[i]! <= 0x39) i++;
    }
    if (buf[i] === 0x65 || buf[i] === 0x45) {
      i++;
      if (buf[i] === 0x2b || buf[i] === 0x2d) i++;
      if (!(buf[i]! >= 0x30 && buf[i]! <= 0x39)) this.fail('bad exponent');
      while (buf[i]! >= 0x30 && buf[i]! <= 0x39) i++;
    }
    this.pos = i;
  }

  private literal(text: string, kind: ValueKind): ValueKind {
    for (let k = 0; k < text.length; k++) {
      if (this.buf[this.pos + k] !== text.charCodeAt(k)) this.fail('unexpected token');
    }
    this.pos += text.length;
    return kind;
  }

  /** Validates one value at pos (after whitespace); `depth` is the nesting it would open at. */
  value(depth: number): ValueKind {
    this.ws();
    const c = this.buf[this.pos];
    if (c === QUOTE) {
      this.string();
      return Kind.String;
    }
    if (c === 0x7b || c === 0x5b) {
      if (depth > this.depthMax) {
        throw new HttpError('VALIDATION_ERROR', `JSON nests deeper than ${this.depthMax} levels`, {
          limit: this.depthMax,
        });
      }
      const object = c === 0x7b;
      this.pos++;
      const close = object ? 0x7d : 0x5d;
      if (this.take(close)) return object ? Kind.Object : Kind.Array;
      do {
        if (object) {
          this.ws();
          if (this.buf[this.pos] !== QUOTE) this.fail('expected a property name');
          this.string();
          this.expect(COLON, '":"');
        }
        this.value(depth + 1);
      } while (this.take(COMMA));
      this.expect(close, object ? '"}"' : '"]"');
      return object ? Kind.Object : Kind.Array;
    }
    if (c === 0x74) return this.literal('true', Kind.True);
    if (c === 0x66) return this.literal('false', Kind.False);
    if (c === 0x6e) return this.literal('null', Kind.Null);
    if (c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39)) {
      this.number();
      return Kind.Number;
    }
    return this.fail(c === undefined ? 'unexpected end' : 'unexpected token');
  }

  /** After the top-level value only whitespace may follow. */
  end(): void {
    this.ws();
    if (this.pos !== this.buf.length) this.fail('unexpected data after the value');
  }
}
