import { parseArgs } from 'node:util';

/** A mistake in how a command was called; the CLI prints its message alone, on one line. */
export class UsageError extends Error {
  readonly code = 'WHARF_USAGE';
}

/**
 * One setting of a server: its `--flag`, the environment variable that also sets it, the
 * default, and how a string becomes a value. One table drives flags, env, defaults and help.
 */
export interface Setting<T> {
  flag: string;
  env?: string;
  default: T;
  help: string;
  /** Turns the raw string into a value (one element, for `multiple`); throws an Error saying what is expected. */
  parse: (raw: string) => T | (T extends readonly (infer E)[] ? E : never);
  /** A flag that takes no value (`--path-routing`); its env var accepts 1/0/true/false. */
  boolean?: boolean;
  /** The flag may repeat; the env var is comma-separated. */
  multiple?: boolean;
  /** How --help shows the default, when JSON of the value would not read well. */
  shownDefault?: string;
}

export type Settings = Record<string, Setting<any>>;
export type Values<S extends Settings> = { [K in keyof S]: S[K]['default'] };

export const parsers = {
  string: (raw: string) => raw,
  port(raw: string): number {
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n > 65535) throw new Error(`must be a port from 0 to 65535 (0: any free port), got "${raw}"`);
    return n;
  },
  positive(raw: string): number {
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < 1 || !Number.isSafeInteger(n)) throw new Error(`must be a whole number of at least 1, got "${raw}"`);
    return n;
  },
  whole(raw: string): number {
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n)) throw new Error(`must be a whole number (0 or more), got "${raw}"`);
    return n;
  },
  bool(raw: string): boolean {
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off|)$/i.test(raw)) return false;
    throw new Error(`must be true or false, got "${raw}"`);
  },
  /** A duration such as `90s`, `30m`, `24h`, `7d` (or `1d12h`), in milliseconds; at least 1 s. */
  duration(raw: string): number {
    const units: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
    const text = raw.trim().toLowerCase();
    let ms = 0;
    let rest = text;
    const part = /^(\d+)(ms|s|m|h|d|w)/;
    for (let m = part.exec(rest); m; m = part.exec(rest)) {
      ms += Number(m[1]) * units[m[2]];
      rest = rest.slice(m[0].length);
    }
    if (!text || rest !== '' || !Number.isSafeInteger(ms) || ms < 1_000) throw new Error(`must be a duration of at least 1s such as 90s, 30m, 24h or 7d, got "${raw}"`);
    return ms;
  },
  range(raw: string): [number, number] {
    const m = /^(\d+)-(\d+)$/.exec(raw);
    const lo = Number(m?.[1]);
    const hi = Number(m?.[2]);
    if (!m || lo < 1 || hi > 65535 || lo > hi) throw new Error(`must be a port range LOW-HIGH such as 20000-20999, got "${raw}"`);
    return [lo, hi];
  },
};

/**
 * Reads settings from argv, then the environment, then defaults. Unknown flags and bad
 * values throw a UsageError naming the flag (or env var) and what it expects.
 */
export function readSettings<S extends Settings>(
  settings: S,
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): { values: Values<S>; positionals: string[] } {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {};
  for (const s of Object.values(settings)) {
    options[s.flag] = { type: s.boolean ? 'boolean' : 'string', multiple: Boolean(s.multiple) };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true, allowNegative: true });
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional.*$/s, ''));
  }
  const values: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(settings)) {
    const fromFlag = parsed.values[s.flag];
    const fromEnv = s.env ? env[s.env] : undefined;
    const where = fromFlag !== undefined ? `--${s.flag}` : s.env ?? `--${s.flag}`;
    try {
      if (fromFlag !== undefined) {
        if (s.boolean) values[key] = fromFlag;
        else if (s.multiple) values[key] = (fromFlag as string[]).map(s.parse);
        else values[key] = s.parse(fromFlag as string);
      } else if (fromEnv !== undefined && fromEnv !== '') {
        if (s.boolean) values[key] = parsers.bool(fromEnv);
        else if (s.multiple) values[key] = fromEnv.split(',').map((v) => s.parse(v.trim()));
        else values[key] = s.parse(fromEnv);
      } else {
        values[key] = s.default;
      }
    } catch (err) {
      throw new UsageError(`${where}: ${(err as Error).message}`);
    }
  }
  return { values: values as Values<S>, positionals: parsed.positionals };
}

/** `--flag VALUE   help (env VAR, default X)` lines for `--help`. */
export function helpText(settings: Settings): string {
  return Object.values(settings)
    .map((s) => {
      // A switch that is on by default is shown as the flag that turns it off.
      const flag = s.boolean && s.default === true ? `no-${s.flag}` : s.flag;
      const name = `--${flag}${s.boolean ? '' : ' V'}`.padEnd(30);
      const shown = s.shownDefault ?? (s.default === undefined || s.default === null ? undefined : JSON.stringify(s.default));
      const dflt = shown === undefined ? '' : `, default ${shown}`;
      return `  ${name} ${s.help}${s.env ? ` (env ${s.env}${dflt})` : dflt ? ` (${dflt.slice(2)})` : ''}`;
    })
    .join('\n');
}
