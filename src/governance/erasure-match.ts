/**
 * How an erased user is recognized in bytes: the id as a whole word, raw or JSON-escaped (a JSON
 * writer may write any character as `\uXXXX`, upper- or lower-case hex, all of them or some), and
 * the pseudonymized key. One pattern source serves DuckDB (RE2) and JavaScript (no lookaround, so
 * both engines read it the same way).
 */

/** A character that does not continue an id: anything but letters, digits, `_` and `-`. */
const WORD_CLASS = 'A-Za-z0-9_-';
/** `\uXXXX` of a character that does not continue an id (every code unit outside the word set). */
const ESCAPED_NON_WORD =
  '\\\\u(?:00(?:[01][0-9a-fA-F]|2[0-9a-cA-CeEfF]|3[a-fA-F]|40|5[b-eB-E]|60|7[b-fB-F]|[89a-fA-F][0-9a-fA-F])|0[1-9a-fA-F][0-9a-fA-F]{2}|[1-9a-fA-F][0-9a-fA-F]{3})';
/** Before the id: start, a non-word character, an escaped one, or a short JSON escape (`\n`, `\"`). */
const BEFORE = `(^|[^${WORD_CLASS}]|${ESCAPED_NON_WORD}|\\\\[bfnrt"/\\\\])`;
/** After the id: end, a non-word character other than `\`, an escaped one, or a short escape. */
const AFTER = `($|[^A-Za-z0-9_\\\\-]|${ESCAPED_NON_WORD}|\\\\[bfnrt"/\\\\])`;

function regexLiteral(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `\uXXXX` for one UTF-16 code unit, each hex letter in either case. */
function escapedUnit(unit: number): string {
  const hex = unit.toString(16).padStart(4, '0');
  return `\\\\u${[...hex].map((h) => (/[a-f]/.test(h) ? `[${h}${h.toUpperCase()}]` : h)).join('')}`;
}

/** One character of the id: itself, its `\uXXXX` form(s), and its short JSON escape if any. */
function characterPattern(char: string): string {
  const forms = [regexLiteral(char)];
  const units = [...Array(char.length).keys()].map((i) => char.charCodeAt(i));
  forms.push(units.map(escapedUnit).join(''));
  if (char === '"' || char === '\\' || char === '/') forms.push(`\\\\${regexLiteral(char)}`);
  return `(?:${forms.join('|')})`;
}

/** The id with every character raw or escaped, independently (so all-escaped and mixed forms match). */
export function idPattern(id: string): string {
  return [...id].map(characterPattern).join('');
}

/**
 * A pattern finding any of the ids as a whole word in text, raw or JSON-escaped: `u_12` does not
 * match `u_123`. Group 1 and 2 are the characters around the id (for a replacement keeping them).
 */
export function wholeWordPattern(ids: readonly string[]): string {
  return `${BEFORE}(?:${ids.map(idPattern).join('|')})${AFTER}`;
}

/** What a scan looks for: the ids (as {@link wholeWordPattern}) and the users' keys (literal). */
export class UserMatcher {
  readonly pattern: string;
  private readonly regex: RegExp;

  constructor(
    readonly userIds: readonly string[],
    readonly userKeys: readonly string[],
  ) {
    this.pattern = wholeWordPattern(userIds);
    this.regex = new RegExp(this.pattern);
  }

  /** Which of the id or the key the text holds ('id' first), or undefined. */
  find(text: string, options: { readonly keysAllowed?: boolean } = {}): 'id' | 'key' | undefined {
    if (this.regex.test(text)) return 'id';
    if (!options.keysAllowed && this.userKeys.some((key) => text.includes(key))) return 'key';
    return undefined;
  }

  /** The text with every occurrence of the ids replaced by `[erased]`. */
  redact(text: string): string {
    const global = new RegExp(this.pattern, 'g');
    // twice: two ids sharing one separator (`X X`) need a second pass for the second one
    return text.replace(global, '$1[erased]$2').replace(global, '$1[erased]$2');
  }
}
