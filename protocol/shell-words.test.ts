import { describe, expect, it } from 'vitest';
import { joinShellWords, quoteShellWord, ShellWordsError, splitShellWords } from './shell-words.ts';

function errorOf(text: string): ShellWordsError {
  try {
    splitShellWords(text);
  } catch (err) {
    expect(err).toBeInstanceOf(ShellWordsError);
    return err as ShellWordsError;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be refused`);
}

describe('splitShellWords', () => {
  it('splits the example command of DESIGN.md', () => {
    expect(splitShellWords("sh -c 'mkdir -p /www && httpd -f -p 8080 -h /www'")).toEqual([
      'sh', '-c', 'mkdir -p /www && httpd -f -p 8080 -h /www',
    ]);
  });

  it('separates words on runs of spaces, tabs and newlines and ignores them at the ends', () => {
    expect(splitShellWords('  a \t b\n\nc  ')).toEqual(['a', 'b', 'c']);
    expect(splitShellWords('')).toEqual([]);
    expect(splitShellWords(' \t\n ')).toEqual([]);
  });

  it('keeps everything inside single quotes literally, backslashes included', () => {
    expect(splitShellWords(`'a  b' 'c\\d' '$HOME' '"'`)).toEqual(['a  b', 'c\\d', '$HOME', '"']);
    expect(splitShellWords("'line\nbreak'")).toEqual(['line\nbreak']);
  });

  it('honours only the POSIX escapes inside double quotes', () => {
    expect(splitShellWords('"a \\"b\\" \\\\ \\$x \\`y\\`"')).toEqual(['a "b" \\ $x `y`']);
    // Any other backslash stays, as in sh.
    expect(splitShellWords('"\\n \\a \\\'"')).toEqual(["\\n \\a \\'"]);
    // Backslash-newline inside double quotes is removed.
    expect(splitShellWords('"ab\\\ncd"')).toEqual(['abcd']);
    expect(splitShellWords(`"it's"`)).toEqual(["it's"]);
  });

  it('makes a backslash outside quotes keep the next character', () => {
    expect(splitShellWords('a\\ b c\\\\d \\"e \\\'f')).toEqual(['a b', 'c\\d', '"e', "'f"]);
  });

  it('treats backslash-newline outside quotes as a line continuation', () => {
    expect(splitShellWords('ab\\\ncd')).toEqual(['abcd']);
    expect(splitShellWords('a \\\n b')).toEqual(['a', 'b']);
    expect(splitShellWords('\\\n')).toEqual([]);
  });

  it('joins quoted and unquoted parts that touch into one word', () => {
    expect(splitShellWords(`a'b c'"d e"f`)).toEqual(['ab cd ef']);
    expect(splitShellWords(`--opt="x y"`)).toEqual(['--opt=x y']);
  });

  it('keeps empty quoted words', () => {
    expect(splitShellWords(`'' "" a ''`)).toEqual(['', '', 'a', '']);
    expect(splitShellWords(`a '' b`)).toEqual(['a', '', 'b']);
  });

  it('expands nothing: variables, globs, tildes, comments and operators stay literal', () => {
    expect(splitShellWords('echo $HOME ${X:-y} $(id) `id` ~ *.txt [ab] #c')).toEqual([
      'echo', '$HOME', '${X:-y}', '$(id)', '`id`', '~', '*.txt', '[ab]', '#c',
    ]);
    expect(splitShellWords('a && b || c | d ; e > f < g & h')).toEqual([
      'a', '&&', 'b', '||', 'c', '|', 'd', ';', 'e', '>', 'f', '<', 'g', '&', 'h',
    ]);
    expect(splitShellWords('a;b')).toEqual(['a;b']);
  });

  it('keeps non-ASCII text and carriage returns as ordinary characters', () => {
    expect(splitShellWords('echo "héllo wörld" 日本 a\rb')).toEqual(['echo', 'héllo wörld', '日本', 'a\rb']);
  });

  it('refuses unterminated quotes, naming where they opened', () => {
    const single = errorOf("sh -c 'echo hi");
    expect(single.code).toBe('WHARF_SHELL_SYNTAX');
    expect(single.message).toMatch(/unterminated single quote.*character 7/);
    expect(single.index).toBe(6);
    const double = errorOf('echo "hi');
    expect(double.message).toMatch(/unterminated double quote.*character 6/);
    expect(double.index).toBe(5);
    // An escaped quote does not close the string.
    expect(errorOf('"a\\"').message).toMatch(/unterminated double quote/);
    // A single quote cannot be escaped inside single quotes.
    expect(errorOf("'a\\''").message).toMatch(/unterminated single quote/);
  });

  it('refuses a trailing backslash and NUL characters', () => {
    expect(errorOf('echo a\\').message).toMatch(/backslash/);
    expect(errorOf('a\0b').message).toMatch(/NUL/);
    expect(errorOf("'a\0b'").message).toMatch(/NUL/);
  });
});

describe('joinShellWords', () => {
  it('leaves plain words alone and quotes the rest', () => {
    expect(quoteShellWord('--port=8080')).toBe('--port=8080');
    expect(quoteShellWord('')).toBe("''");
    expect(quoteShellWord('a b')).toBe("'a b'");
    expect(quoteShellWord("it's")).toBe(`'it'\\''s'`);
  });

  it('is the inverse of splitShellWords', () => {
    const samples = [
      ['sh', '-c', 'mkdir -p /www && httpd -f -p 8080 -h /www'],
      ['', "'", '"', '\\', '$HOME', 'a\nb', ' lead', 'trail ', "it's \"x\"", '*', '#', '日本'],
      [],
    ];
    for (const argv of samples) expect(splitShellWords(joinShellWords(argv))).toEqual(argv);
  });
});
