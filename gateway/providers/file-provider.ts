import type { Logger } from 'pino';
import { parseRoutesFile, type Route } from '../../protocol/route.ts';
import { parseJson } from '../../protocol/validate.ts';
import { watchFileText } from './watch-file.ts';

export type RouteErrors = { field: string; message: string }[];

/** A source of desired routes. The file provider is one; control's route stream is another. */
export interface RouteProvider {
  /** Delivers the routes now and on every change; resolves after the first delivery. */
  start(apply: (routes: Route[], errors: RouteErrors) => void): Promise<void>;
  close(): void;
}

/**
 * Routes from a JSON file `{"routes": [...]}`, reloaded when it changes. At start a broken
 * file is an error; later, a broken file is logged and the current routes keep serving, and a
 * single bad route is reported and skipped while the others load.
 */
export class FileProvider implements RouteProvider {
  readonly #file: string;
  readonly #log: Logger;
  #watcher: { close(): void } | undefined;

  constructor(file: string, log: Logger) {
    this.#file = file;
    this.#log = log;
  }

  async start(apply: (routes: Route[], errors: RouteErrors) => void): Promise<void> {
    let started = false;
    let startError: Error | undefined;
    const load = (text: string) => {
      try {
        const { routes, errors } = parseRoutesFile(parseJson(text));
        for (const e of errors) this.#log.error({ file: this.#file, field: e.field }, `route refused: ${e.message}`);
        apply(routes, errors);
        this.#log.info({ file: this.#file, routes: routes.length, refused: errors.length }, 'routes loaded');
      } catch (err) {
        if (!started) startError = new Error(`${this.#file}: ${(err as Error).message}`);
        else this.#log.error({ file: this.#file, err: (err as Error).message }, 'routes file not reloaded; the current routes keep serving');
      }
    };
    this.#watcher = await watchFileText(this.#file, load, (err) => this.#log.error({ file: this.#file, err: err.message }, 'routes file watch failed'));
    started = true;
    if (startError) {
      this.close();
      throw startError;
    }
  }

  close(): void {
    this.#watcher?.close();
  }
}

