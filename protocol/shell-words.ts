/**
 * Splits a command line into argv the way a POSIX shell splits words (POSIX.1-2017, XCU
 * §2.2 "Quoting" and §2.3 "Token Recognition"), and nothing more:
 *
 * - blanks (space, tab) and newlines separate words; a run of them counts once;
 * - `'…'` keeps every character literally, backslashes included;
 * - `"…"` keeps every character literally except that a backslash escapes `\"`, `\\`, `\$`,
 *   `` \` `` and a newline (backslash-newline is removed); any other backslash stays;
 * - outside quotes a backslash keeps the next character literally; backslash-newline is
 *   removed (a line continuation);
 * - quoted and unquoted parts next to each other make one word (`a'b c'"d"` → `ab cd`), and
 *   `''` or `""` alone is an empty word.
 *
 * No expansion of any kind happens: `$VAR`, `${…}`, `$(…)`, backquotes, `~`, globs (`*`, `?`,
 * `[…]`) and `#` stay literal characters, and operators (`&&`, `||`, `|`, `;`, `>`, `<`, `&`)
 * are ordinary words or parts of words. The command runs without a shell; to get a shell's
 * features, run one: `sh -c 'mkdir -p /www && httpd -f -p 8080 -h /www'`.
 */

/** A command line that cannot be split: an unterminated quote, a trailing backslash, a NUL. */
export class ShellWordsError extends Error {
  readonly code = 'WHARF_SHELL_SYNTAX';
  /** Index (UTF-16 code unit) in the text where the problem starts. */
  readonly index: number;
  constructor(message: string, index: number) {
    super(message);
    this.index = index;
  }
}

/** Characters that a backslash escapes inside double quotes (XCU §2.2.3). */
const DOUBLE_QUOTE_ESCAPES = new Set(['$', '`', '"', '\\', '\n']);

export function splitShellWords(text: string): string[] {
  const nul = text.indexOf('\0');
  if (nul >= 0) throw new ShellWordsError(`contains a NUL character (at character ${nul + 1}), which no argument can hold`, nul);
  const words: string[] = [];
  let word = '';
  // A word has begun even if it is still empty, as with `''`.
  let inWord = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
    } else if (c === '\\') {
      if (i + 1 >= text.length) throw new ShellWordsError('ends with a backslash that escapes nothing', i);
      // A line continuation joins the lines and does not by itself begin a word.
      if (text[i + 1] !== '\n') {
        word += text[i + 1];
        inWord = true;
      }
      i += 2;
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new ShellWordsError(`has an unterminated single quote (opened at character ${i + 1})`, i);
      word += text.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      const open = i;
      i++;
      inWord = true;
      for (;;) {
        if (i >= text.length) throw new ShellWordsError(`has an unterminated double quote (opened at character ${open + 1})`, open);
        const d = text[i];
        if (d === '"') break;
        if (d === '\\' && i + 1 < text.length && DOUBLE_QUOTE_ESCAPES.has(text[i + 1])) {
          if (text[i + 1] !== '\n') word += text[i + 1];
          i += 2;
        } else {
          word += d;
          i++;
        }
      }
      i++;
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** Words that need no quoting: the characters that no POSIX shell treats specially. */
const PLAIN_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quotes one word so that `splitShellWords` (and `sh`) read it back unchanged. */
export function quoteShellWord(word: string): string {
  if (PLAIN_WORD.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The inverse of `splitShellWords`: `splitShellWords(joinShellWords(argv))` equals `argv`. */
export function joinShellWords(argv: readonly string[]): string {
  return argv.map(quoteShellWord).join(' ');
}
