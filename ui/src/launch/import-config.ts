import { APP_KINDS, parseAppConfig, type AppConfig, type AppKind } from '../../../protocol/app-config.ts';
import { parseJson, ValidationError } from '../../../protocol/validate.ts';
import { valuesFromConfig, type FormValues } from './form-values.ts';

/*
 * An imported configuration file: checked with the same parseAppConfig as the API. A file that
 * fails the check still fills the form with what it holds, so that the user can fix the field
 * the problem names instead of the file.
 */

export type Imported =
  | { ok: true; config: AppConfig; values: FormValues }
  | { ok: false; message: string; values?: FormValues };

export function importConfig(text: string): Imported {
  let raw: unknown;
  try {
    raw = parseJson(text);
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
  try {
    const config = parseAppConfig(raw);
    return { ok: true, config, values: valuesFromConfig(config) };
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    const app = (raw as { app?: unknown } | null)?.app;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || !APP_KINDS.includes(app as AppKind)) {
      return { ok: false, message: err.message };
    }
    let values: FormValues | undefined;
    try {
      values = valuesFromConfig(raw as AppConfig);
    } catch {
      values = undefined;
    }
    return { ok: false, message: err.message, values };
  }
}
