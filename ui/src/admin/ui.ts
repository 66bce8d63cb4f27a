import { errorText, SignedOut } from '../api.ts';
import { h } from '../dom.ts';
import { MIN_PASSWORD, passwordProblem } from './format.ts';

/*
 * Pieces the account, users and agents pages share: labelled fields, the error and status
 * lines next to a form, tables that scroll sideways, and a modal <dialog> for confirmations
 * and small forms. Text nodes only; no inline styles (the dashboard's CSP refuses them).
 */

/** A visible <label> tied to its control; `hint` is read after the label (aria-describedby). */
export function field(label: string, control: HTMLInputElement | HTMLSelectElement, hint?: string): HTMLDivElement {
  const hintId = hint ? `${control.id}-hint` : undefined;
  if (hintId) control.setAttribute('aria-describedby', hintId);
  const isCheck = control.type === 'checkbox';
  const labelEl = h('label', { for: control.id }, label);
  return h('div', { class: isCheck ? 'field field-check' : 'field' },
    ...(isCheck ? [control, labelEl] : [labelEl, control]),
    hint ? h('span', { class: 'hint', id: hintId }, hint) : null);
}

/**
 * A new password and its repeat, checked before anything is sent: false after saying why in
 * `error` and focusing the field to fix.
 */
export function passwordsAgree(password: HTMLInputElement, repeat: HTMLInputElement, error: HTMLElement): boolean {
  const problem = passwordProblem(password.value, repeat.value);
  if (!problem) return true;
  error.textContent = problem;
  (password.value.length < MIN_PASSWORD ? password : repeat).focus();
  return false;
}

/** Problems with a form, announced at once: empty until something fails. */
export function errorLine(id: string): HTMLParagraphElement {
  return h('p', { class: 'form-error', role: 'alert', id });
}

/** What a form did, announced politely ("Password changed."). */
export function statusLine(id: string): HTMLParagraphElement {
  return h('p', { class: 'form-status', role: 'status', id });
}

/**
 * Runs `action` for a form's submit with its submit button disabled, showing a failure in
 * `error`; a SignedOut ends quietly (the browser is on its way to sign-in).
 */
export function onSubmit(form: HTMLFormElement, error: HTMLElement, action: () => Promise<void>): void {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const buttons = [...form.querySelectorAll('button')];
    for (const b of buttons) b.disabled = true;
    error.textContent = '';
    try {
      await action();
    } catch (err) {
      if (err instanceof SignedOut) return;
      error.textContent = errorText(err);
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  });
}

let dialogs = 0;

/**
 * A modal <dialog> (focus stays inside; Escape cancels) with a heading and `content`; `close`
 * removes it and gives focus back to what had it. `host` is the page's view.
 */
export function openDialog(host: HTMLElement, title: string, content: (close: () => void) => Node[]): { dialog: HTMLDialogElement; close: () => void } {
  const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  const headingId = `dialog-title-${++dialogs}`;
  const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': headingId });
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    if (dialog.open) dialog.close();
    dialog.remove();
    // A list that refreshed meanwhile has a new button in the opener's place: the same `data-focus` key.
    const key = opener?.dataset.focus;
    const target = opener?.isConnected ? opener : key ? host.querySelector<HTMLElement>(`[data-focus="${CSS.escape(key)}"]`) : null;
    target?.focus();
  };
  dialog.append(h('h2', { id: headingId }, title), ...content(close));
  dialog.addEventListener('close', close);
  host.append(dialog);
  dialog.showModal();
  return { dialog, close };
}

/** Asks before something that cannot be undone; resolves true when confirmed. */
export function confirmAction(host: HTMLElement, options: { title: string; message: string; confirm: string }): Promise<boolean> {
  return new Promise((resolve) => {
    let answered = false;
    const answer = (yes: boolean) => {
      if (answered) return;
      answered = true;
      resolve(yes);
    };
    const cancel = h('button', { type: 'button' }, 'Cancel');
    const ok = h('button', { type: 'button', class: 'danger' }, options.confirm);
    const { dialog, close } = openDialog(host, options.title, () => [h('p', {}, options.message), h('div', { class: 'actions' }, ok, cancel)]);
    cancel.addEventListener('click', () => { answer(false); close(); });
    ok.addEventListener('click', () => { answer(true); close(); });
    dialog.addEventListener('close', () => answer(false));
    // Cancel is the safe default for Enter.
    cancel.focus();
  });
}

/** Keeps keyboard focus across a re-render: the element with the same `data-focus` key gets it back. */
export function keepFocus(container: HTMLElement, rerender: () => void): void {
  const active = document.activeElement;
  const key = active instanceof HTMLElement && container.contains(active) ? active.dataset.focus : undefined;
  rerender();
  if (key) container.querySelector<HTMLElement>(`[data-focus="${CSS.escape(key)}"]`)?.focus();
}
