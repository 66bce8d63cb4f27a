import { APP_KINDS, parseAppConfig, type AppConfig, type AppKind } from '../../../protocol/app-config.ts';
import { h } from '../dom.ts';
import { control, errorElement, errorText, idOf, type Control } from './controls.ts';
import { FOLDS, fieldsOf, hintOf, type FoldId } from './fields.ts';
import { validateForm, type FieldError } from './form-errors.ts';
import { configFromValues, moveUnknown, removeUnknown, switchKind, type FormValues } from './form-values.ts';
import { afterFileRemoved } from './unknown-fields.ts';

/*
 * The launch form: every field of the chosen kind's config, the basic ones in view and the
 * rest in folds. Errors come from parseAppConfig (form-errors.ts) and show at their inputs:
 * for an input the user has left or changed, and for all of them after a submit or an import.
 * What only control can tell (container arguments, rules between fields, a workspace to restore)
 * is asked of it (`check`) when a field is left and the browser finds nothing wrong; its answer
 * holds, and is shown, until the values change.
 * The form redraws only when its shape changes (kind, rows, a new config); typing updates the
 * values in place.
 * Fields of an imported file that the form does not know are shown at its top with their values,
 * their error and its "did you mean", each with a button to use it as that field and one to
 * remove it; they are errors like any other, so the form does not launch while one is left
 * (control would refuse it: nothing is dropped without the user saying so).
 */

export const KIND_HINTS: Record<AppKind, string> = {
  container: 'container: any image.',
  jupyter: 'jupyter: JupyterLab/Notebook with a workspace, git, packages.',
};

export interface LaunchFormOptions {
  values: FormValues;
  /** Called with the complete config once the form is valid; answers the errors to show, or null. */
  submit(config: AppConfig): Promise<FieldError | FieldError[] | null>;
  /** Asks control about a config the browser finds valid: errors to show, null when fine, undefined when control could not say. */
  check?(config: AppConfig): Promise<FieldError | FieldError[] | null | undefined>;
}

/** How long after a field is left control is asked (tabbing through fields asks once). */
const CHECK_DELAY_MS = 300;

export class LaunchForm {
  readonly element: HTMLFormElement;
  #values: FormValues;
  #errors: FieldError[] = [];
  #touched = new Set<string>();
  #showAll = false;
  #open = new Set<FoldId>();
  #controls = new Map<string, Pick<Control, 'key' | 'label' | 'error'> & { input: HTMLElement }>();
  /** A problem of the form as a whole (the server's); cleared by the next edit. */
  #message = '';
  /** A submit was refused for errors: the alert counts them until they are gone. */
  #refused = false;
  #body = h('div', { class: 'form-body' });
  #alert = h('div', { class: 'form-alert', role: 'alert' });
  #button = h('button', { type: 'submit', class: 'primary' }, 'Launch');
  #submit: LaunchFormOptions['submit'];
  /** A field was left for a button: its check waits for the click (see #onLeave). */
  #pending = false;
  #check: LaunchFormOptions['check'];
  #checkTimer: ReturnType<typeof setTimeout> | undefined;
  /** Counts checks: an answer about older values is dropped. */
  #checks = 0;
  /** The values (as JSON) control is being asked about. */
  #asking: string | undefined;
  /** Control's answer about these values: kept, so that leaving a field unchanged neither asks again nor blinks the errors. */
  #answered: { key: string; problems: FieldError[] } | undefined;

  constructor(options: LaunchFormOptions) {
    this.#values = options.values;
    this.#submit = options.submit;
    this.#check = options.check;
    this.element = h('form', { id: 'launch-form', novalidate: true, 'aria-label': 'Launch an app' },
      this.#body, h('div', { class: 'actions' }, this.#button, this.#alert));
    this.element.addEventListener('input', (e) => this.#onInput(e));
    this.element.addEventListener('change', (e) => this.#onLeave(e));
    this.element.addEventListener('focusout', (e) => this.#onLeave(e));
    // After the click the check was waiting for (the click itself checks what it needs).
    this.element.addEventListener('pointerup', () => this.#flush());
    this.element.addEventListener('click', () => this.#flush());
    this.element.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.#onSubmit();
    });
    this.#render();
  }

  get values(): FormValues {
    return this.#values;
  }

  /** Fills the form with new values (an import, a clone); `check` shows every error at once. */
  load(values: FormValues, check = false): void {
    this.#values = values;
    this.#touched.clear();
    this.#showAll = check;
    this.#message = '';
    this.#refused = false;
    if (values.text['workspace.restoreFrom']) this.#open.add('workspace');
    this.#render();
    this.#validate();
  }

  /** Moves focus to the input of `key` (a FormValues key: `name`). */
  focusField(key: string): void {
    this.#controls.get(key)?.input.focus();
  }

  /** Shows a problem with the form as a whole. */
  alert(text: string): void {
    this.#message = text;
    this.#show();
  }

  #render(): void {
    const v = this.#values;
    this.#controls.clear();
    const add = (c: Control): Control => {
      this.#controls.set(c.key, c);
      return c;
    };
    const field = (key: string) => {
      const def = fieldsOf(v.app).find((f) => f.key === key)!;
      return add(control({
        key, label: def.label, control: def.control, options: def.options, code: def.code,
        value: def.control === 'checkbox' ? v.storeInSnapshot : v.text[key] ?? '',
        hint: hintOf(v.app, key, def.help),
        wide: key === 'tags' ? false : undefined,
      })).wrap;
    };
    const kind = add(control({
      key: 'app', label: 'App', control: 'select', value: v.app,
      options: APP_KINDS.map((k) => ({ value: k, label: k })),
      hint: `${APP_KINDS.map((k) => KIND_HINTS[k]).join(' ')} Switching keeps what you changed.`,
    }));
    const basic = fieldsOf(v.app).filter((f) => !f.fold).map((f) => field(f.key));
    const folds = FOLDS.filter((f) => !f.kinds || f.kinds.includes(v.app)).map((fold) => {
      let content: HTMLElement[];
      if (fold.id === 'env') content = [this.#envRows()];
      else if (fold.id === 'files') content = [this.#fileRows()];
      else content = [h('div', { class: 'fields' }, ...fieldsOf(v.app).filter((f) => f.fold === fold.id).map((f) => field(f.key)))];
      const details = h('details', { class: 'fold', 'data-fold': fold.id, open: this.#open.has(fold.id) },
        h('summary', {}, fold.summary), ...content);
      details.addEventListener('toggle', () => {
        if (details.open) this.#open.add(fold.id);
        else this.#open.delete(fold.id);
      });
      return details;
    });
    const unknown = this.#unknownRows();
    this.#body.replaceChildren(...(unknown ? [unknown] : []), h('div', { class: 'fields' }, kind.wrap, ...basic), ...folds);
    this.#show();
  }

  /** The imported fields the form does not know, with their values, their "did you mean" and what to do with them. */
  #unknownRows(): HTMLElement | null {
    const { unknown } = this.#values;
    if (!unknown.length) return null;
    const suggestions = new Map(validateForm(this.#values).filter((e) => e.suggestion).map((e) => [e.field, e.suggestion!]));
    const rows = unknown.map((u, i) => {
      const key = `unknown[${i}]`;
      const id = idOf(key);
      const error = errorElement(`${id}-error`);
      const value = h('pre', { class: 'code unknown-value', id: `${id}-value` }, JSON.stringify(u.value, null, 2) ?? 'undefined');
      const describedBy = `${id}-value ${id}-error`;
      const buttons: HTMLElement[] = [];
      const meant = suggestions.get(u.field);
      if (meant) {
        const use = h('button', { type: 'button', 'aria-describedby': describedBy }, `Use as ${meant}`);
        use.addEventListener('click', () => this.#afterUnknown(moveUnknown(this.#values, i, meant.slice(meant.lastIndexOf('.') + 1)), meant));
        buttons.push(use);
      }
      const remove = h('button', { type: 'button', class: 'remove', 'aria-describedby': describedBy }, `Remove ${u.field}`);
      remove.addEventListener('click', () => this.#afterUnknown(removeUnknown(this.#values, i), null));
      buttons.push(remove);
      this.#controls.set(key, { key, label: u.field, input: buttons[0], error });
      return h('li', { class: 'row unknown-row' },
        h('div', { class: 'field wide' }, h('span', { class: 'unknown-name' }, h('code', {}, u.field)), value, error),
        h('div', { class: 'unknown-actions' }, ...buttons));
    });
    return h('section', { class: 'unknown-fields', 'aria-labelledby': 'unknown-fields-title' },
      h('h2', { id: 'unknown-fields-title' }, `Not in this form: ${unknown.length === 1 ? '1 field' : `${unknown.length} fields`} of the imported file`),
      h('p', { class: 'hint' }, 'Control refuses fields it does not know, so the form does not launch while one is here: use each as the field it was meant to be, or remove it.'),
      h('ol', { class: 'row-list' }, ...rows));
  }

  /** After an unknown field was moved (to config field `to`) or removed: redraw, check, and focus where it went or what is left. */
  #afterUnknown(values: FormValues, to: string | null): void {
    this.#values = values;
    this.#dropCheck();
    this.#render();
    const target = to === null ? undefined : [...this.#controls.keys()].find((k) => k === to || k === to.split('[')[0]);
    if (target) this.#touched.add(target);
    this.#validate();
    const focus = target ?? (this.#values.unknown.length ? 'unknown[0]' : 'name');
    const fold = this.#controls.get(focus)?.input.closest('details');
    if (fold && !fold.open) fold.open = true;
    this.#controls.get(focus)?.input.focus();
  }

  #envRows(): HTMLElement {
    const rows = this.#values.env.map((row, i) => {
      const name = this.#add(control({ key: `env[${i}].name`, label: `Variable ${i + 1}`, control: 'text', value: row.name, code: true }));
      const value = this.#add(control({ key: `env[${i}].value`, label: `Value ${i + 1}`, control: 'text', value: row.value, code: true }));
      const remove = h('button', { type: 'button', class: 'remove' }, `Remove variable ${i + 1}`);
      remove.addEventListener('click', () => this.#removeRow('env', i));
      return h('li', { class: 'row env-row' }, name.wrap, value.wrap, remove);
    });
    const addButton = h('button', { type: 'button' }, 'Add variable');
    addButton.addEventListener('click', () => {
      this.#values.env.push({ name: '', value: '' });
      this.#afterRowChange('env', `env[${this.#values.env.length - 1}].name`);
    });
    this.#controls.set('env', { key: 'env', label: 'Environment variables', input: addButton, error: errorElement(`${idOf('env')}-error`) });
    return h('div', { class: 'rows' },
      h('p', { class: 'hint' }, 'Names are letters, digits and _, not starting with a digit.'),
      rows.length ? h('ol', { class: 'row-list' }, ...rows) : h('p', { class: 'none' }, 'No variables.'),
      this.#controls.get('env')!.error, addButton);
  }

  #fileRows(): HTMLElement {
    const rows = this.#values.files.map((file, i) => {
      const path = this.#add(control({ key: `files[${i}].path`, label: `File ${i + 1} path`, control: 'text', value: file.path, code: true, hint: hintOf(this.#values.app, 'files.path') }));
      const mode = this.#add(control({ key: `files[${i}].mode`, label: `File ${i + 1} mode`, control: 'text', value: file.mode, code: true, hint: hintOf(this.#values.app, 'files.mode') }));
      const content = this.#add(control({ key: `files[${i}].content`, label: `File ${i + 1} content`, control: 'textarea', value: file.content, code: true }));
      const remove = h('button', { type: 'button', class: 'remove' }, `Remove file ${i + 1}`);
      remove.addEventListener('click', () => this.#removeRow('files', i));
      return h('li', { class: 'row file-row' }, path.wrap, mode.wrap, content.wrap, remove);
    });
    const addButton = h('button', { type: 'button' }, 'Add file');
    addButton.addEventListener('click', () => {
      this.#values.files.push({ path: '', mode: '0644', content: '' });
      this.#afterRowChange('files', `files[${this.#values.files.length - 1}].path`);
    });
    this.#controls.set('files', { key: 'files', label: 'Files', input: addButton, error: errorElement(`${idOf('files')}-error`) });
    return h('div', { class: 'rows' },
      h('p', { class: 'hint' }, 'Written into the container before the app starts; at most 1 MiB in all.'),
      rows.length ? h('ol', { class: 'row-list' }, ...rows) : h('p', { class: 'none' }, 'No files.'),
      this.#controls.get('files')!.error, addButton);
  }

  #add(c: Control): Control {
    this.#controls.set(c.key, c);
    return c;
  }

  #removeRow(group: 'env' | 'files', index: number): void {
    (this.#values[group] as unknown[]).splice(index, 1);
    if (group === 'files') this.#values.unknown = afterFileRemoved(this.#values.unknown, index);
    // Row keys shift: what was touched below the removed row is forgotten rather than misplaced.
    for (const key of [...this.#touched]) if (key.startsWith(`${group}[`)) this.#touched.delete(key);
    const left = this.#values[group].length;
    this.#afterRowChange(group, left === 0 ? group : `${group}[${Math.min(index, left - 1)}].${group === 'env' ? 'name' : 'path'}`);
  }

  #afterRowChange(group: FoldId, focusKey: string): void {
    this.#open.add(group);
    this.#render();
    this.#validate();
    this.#controls.get(focusKey)?.input.focus();
  }

  #onInput(e: Event): void {
    const target = e.target as HTMLInputElement;
    const key = target.dataset.key;
    if (!key || key === 'app') return;
    this.#set(key, target.type === 'checkbox' ? target.checked : target.value);
    this.#dropCheck();
    if (this.#message) {
      this.#message = '';
      this.#show();
    }
    // An error already shown follows the typing, so that it goes as soon as the value is right.
    if (this.#errors.some((err) => err.key === key)) this.#validate();
  }

  #onLeave(e: Event): void {
    const target = e.target as HTMLElement;
    const key = target.dataset?.key;
    if (!key) return;
    if (key === 'app' && e.type === 'change') {
      this.#values = switchKind(this.#values, (target as HTMLSelectElement).value as AppKind);
      this.#render();
      this.#validate();
      this.#controls.get('app')?.input.focus();
      return;
    }
    // A text field is checked when left (focusout); `change` checks selects and checkboxes.
    if (e.type === 'change' && !(target instanceof HTMLSelectElement) && (target as HTMLInputElement).type !== 'checkbox') return;
    this.#touched.add(key);
    // Leaving for a button or a fold: an error appearing now would move the button away from
    // under the pointer between press and release, and the click would be lost.
    const to = (e as FocusEvent).relatedTarget as HTMLElement | null;
    if (e.type === 'focusout' && to && (to.tagName === 'BUTTON' || to.tagName === 'SUMMARY')) {
      this.#pending = true;
      return;
    }
    this.#validate();
  }

  #flush(): void {
    if (!this.#pending) return;
    this.#pending = false;
    setTimeout(() => this.#validate(), 0);
  }

  #set(key: string, value: string | boolean): void {
    const row = /^(env|files)\[(\d+)\]\.(\w+)$/.exec(key);
    if (row) {
      (this.#values[row[1] as 'env' | 'files'][Number(row[2])] as unknown as Record<string, string>)[row[3]] = String(value);
    } else if (key === 'git.storeInSnapshot') {
      this.#values.storeInSnapshot = value === true;
    } else {
      this.#values.text[key] = String(value);
    }
  }

  /** The browser's checks, then (unless `local`) control's answer about these values, or a question to it. */
  #validate(local = false): void {
    this.#pending = false;
    this.#errors = validateForm(this.#values);
    if (!local && !this.#errors.length) this.#askControl();
    this.#show();
  }

  #askControl(): void {
    if (!this.#check) return;
    const config = parseAppConfig(configFromValues(this.#values));
    const key = JSON.stringify(config);
    if (this.#answered?.key === key) {
      if (this.#answered.problems.length) this.#errors = [...this.#answered.problems];
      return;
    }
    if (this.#asking === key) return;
    const asked = this.#dropCheck();
    this.#asking = key;
    this.#checkTimer = setTimeout(async () => {
      if (!this.element.isConnected) return;
      const answer = await this.#check!(config);
      if (asked !== this.#checks || !this.element.isConnected) return;
      this.#asking = undefined;
      if (answer === undefined) return;
      const problems = answer === null ? [] : [answer].flat();
      this.#answered = { key, problems };
      if (problems.length) {
        this.#errors = [...problems];
        this.#show();
      }
    }, CHECK_DELAY_MS);
  }

  /** Forgets the check on its way (the values changed since): returns the next check's number. */
  #dropCheck(): number {
    clearTimeout(this.#checkTimer);
    this.#asking = undefined;
    return ++this.#checks;
  }

  /** Writes each shown error at its input; opens a fold that holds one. */
  #show(): void {
    const shown = new Map<string, string>();
    const unplaced: string[] = [];
    for (const err of this.#errors) {
      // Control's answer is about the values as they are: shown wherever it points.
      const visible = this.#showAll || this.#answered?.problems.includes(err) || (err.key !== null && this.#touched.has(err.key));
      if (!visible) continue;
      if (err.key !== null && this.#controls.has(err.key)) shown.set(err.key, err.message);
      else unplaced.push(err.field ? `${err.field}: ${err.message}` : err.message);
    }
    for (const [key, c] of this.#controls) {
      const message = shown.get(key);
      const text = message ? errorText(c.label, message) : '';
      if (c.error.textContent !== text) c.error.textContent = text;
      if (message) {
        c.input.setAttribute('aria-invalid', 'true');
        const fold = c.input.closest('details');
        if (fold && !fold.open) fold.open = true;
      } else {
        c.input.removeAttribute('aria-invalid');
      }
    }
    const count = this.#errors.length;
    const refused = this.#refused && count ? `Not launched: ${count} ${count === 1 ? 'field needs' : 'fields need'} attention.` : '';
    const alert = [refused, this.#message, ...unplaced].filter(Boolean).join(' ');
    if (this.#alert.textContent !== alert) this.#alert.textContent = alert;
  }

  /** The first input with an error, in the order of the page. */
  #firstInvalid(): HTMLElement | undefined {
    return [...this.#controls.values()]
      .filter((c) => c.input.getAttribute('aria-invalid') === 'true' || (c.error.textContent && c.input.tagName === 'BUTTON'))
      .map((c) => c.input)
      .sort((a, b) => (a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1))[0];
  }

  async #onSubmit(): Promise<void> {
    if (this.#button.disabled) return;
    this.#showAll = true;
    this.#message = '';
    this.#refused = true;
    // The launch itself asks control: an earlier answer (a snapshot since taken) must not stop it.
    this.#validate(true);
    if (this.#errors.length) {
      this.#firstInvalid()?.focus();
      return;
    }
    this.#refused = false;
    // The launch answers for itself: a check still on its way says nothing new.
    this.#dropCheck();
    const config = parseAppConfig(configFromValues(this.#values));
    this.#button.disabled = true;
    this.#button.textContent = 'Launching…';
    this.element.setAttribute('aria-busy', 'true');
    try {
      const answer = await this.#submit(config);
      const problems = answer === null ? [] : [answer].flat();
      if (problems.length) {
        this.#errors = problems;
        this.#message = 'Not launched.';
        this.#show();
        const first = problems.find((p) => p.key !== null && this.#controls.has(p.key));
        if (first) this.#controls.get(first.key!)!.input.focus();
      }
    } finally {
      this.#button.disabled = false;
      this.#button.textContent = 'Launch';
      this.element.removeAttribute('aria-busy');
    }
  }
}
