import { pino, type Logger } from 'pino';

/**
 * Structured logs (one JSON line each) with the fixed field names of STYLE.md (`route`,
 * `instance`, `agent`). Anything that looks like a credential is censored as a last line of
 * defence; the code does not log such values in the first place.
 */
export function createLogger(part: string, level = 'info', destination: NodeJS.WritableStream = process.stdout): Logger {
  return pino(
    {
      name: part,
      level,
      base: { part },
      redact: {
        paths: ['headers', 'authorization', 'cookie', 'token', 'password', '*.headers', '*.authorization', '*.cookie', '*.token', '*.password'],
        censor: '(hidden)',
      },
    },
    destination as pino.DestinationStream,
  );
}
