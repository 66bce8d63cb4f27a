import { APP_KINDS, parseAppConfig, type AppConfig, type AppKind } from '../../../protocol/app-config.ts';
import { parseJson, ValidationError, type Problem } from '../../../protocol/validate.ts';
import { valuesFromConfig, type FormValues } from './form-values.ts';

/*
 * An imported configuration file: checked with the same parseAppConfig as the API. A file that
 * fails the check still fills the form with what it holds, so that the user can fix the fields
 * the problems name instead of the file; fields the form does not know are kept in its values
 * (`values.unknown`), to be moved where they were meant to be or removed, never dropped.
 */

export type Imported =
  | { ok: true; config: AppConfig; values: FormValues }
  | { ok: false; message: string; problems: Problem[]; values?: FormValues };

export function importConfig(text: string): Imported {
  let raw: unknown;
  try {
    raw = parseJson(text);
  } catch (err) {
    return { ok: false, message: (err as Error).message, problems: (err as ValidationError).problems };
  }
  try {
    const config = parseAppConfig(raw);
    return { ok: true, config, values: valuesFromConfig(config) };
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    const app = (raw as { app?: unknown } | null)?.app;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || !APP_KINDS.includes(app as AppKind)) {
      return { ok: false, message: err.message, problems: err.problems };
    }
    let values: FormValues | undefined;
    try {
      values = valuesFromConfig(raw as AppConfig);
    } catch {
      values = undefined;
    }
    return { ok: false, message: err.message, problems: err.problems, values };
  }
}

/**
 * What the page says about a file that filled the form but failed the check: how many problems
 * (the form marks each at its field), and what happens to fields the form does not know.
 */
export function importedWithProblems(fileName: string, imported: { message: string; problems: Problem[]; values: FormValues }): string {
  const n = imported.problems.length;
  const head = n === 1
    ? `${fileName} was imported with a problem: ${imported.message.replace(/\.$/, '')}. Fix it in the form below.`
    : `${fileName} was imported with ${n} problems, each shown at its field below: fix them there.`;
  const k = imported.values.unknown.length;
  if (!k) return head;
  const which = k === 1 ? 'The field the form does not know is' : `The ${k} fields the form does not know are`;
  return `${head} ${which} kept, with ${k === 1 ? 'its value' : 'their values'}, at the top of the form: Launch is refused until each is used as the field it was meant to be or removed.`;
}
