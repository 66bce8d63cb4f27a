import { APP_KINDS, type AppConfig, type AppKind } from '../../../protocol/app-config.ts';
import { api, ApiError, errorText, SignedOut } from '../api.ts';
import { h } from '../dom.ts';
import type { PageContext } from '../page.ts';
import { serverErrors } from '../launch/form-errors.ts';
import { defaultValues, valuesFromConfig } from '../launch/form-values.ts';
import { importConfig, importedWithProblems } from '../launch/import-config.ts';
import { LaunchForm } from '../launch/launch-form.ts';

/** How long "Snapshot now" waits for the agent's upload before giving up. */
const SNAPSHOT_WAIT_MS = 120_000;

/** A failure's words as the end of a sentence, without doubling its full stop. */
const said = (err: unknown) => errorText(err).replace(/\.$/, '');

/*
 * The launch form's page: `/launch?app=<kind>` starts from the kind's defaults,
 * `?clone=<id>` from an instance's config restoring its workspace, `?from=<id>` from its
 * config as it is, `?import=1` at the file input. Launch posts the config and goes to the new
 * instance's page.
 */

function importSection(onFile: (file: File) => void): { section: HTMLElement; input: HTMLInputElement; error: HTMLElement; status: HTMLElement } {
  const input = h('input', { type: 'file', id: 'import-file', accept: 'application/json,.json', 'aria-describedby': 'import-file-error import-file-hint' });
  const error = h('p', { class: 'field-error', id: 'import-file-error', 'aria-live': 'polite' });
  const status = h('p', { class: 'import-status', role: 'status' });
  input.addEventListener('change', () => {
    const file = input.files?.[0];
    if (file) onFile(file);
  });
  const section = h('section', { class: 'import', 'aria-label': 'Import' },
    h('label', { for: 'import-file' }, 'Import configuration (JSON)'),
    input, error,
    h('p', { class: 'hint', id: 'import-file-hint' }, 'A config exported from an instance or written by hand fills the form below; nothing runs until you press Launch.'),
    status);
  return { section, input, error, status };
}

export function launchPage(ctx: PageContext): () => void {
  let left = false;
  const clone = ctx.query.get('clone');
  const from = ctx.query.get('from');
  const asked = ctx.query.get('app');
  const kind: AppKind = APP_KINDS.includes(asked as AppKind) ? (asked as AppKind) : 'container';
  ctx.title(clone ? `Clone ${clone}` : from ? `Launch again: ${from}` : 'Launch an app');

  const form = new LaunchForm({
    values: defaultValues(kind),
    submit: async (config: AppConfig) => {
      try {
        const instance = await api<{ id: string }>('/api/v1/instances', { method: 'POST', body: config });
        if (!left) ctx.go(`/instances/${instance.id}`);
        return null;
      } catch (err) {
        if (err instanceof SignedOut) return null;
        if (err instanceof ApiError) return serverErrors(err, form.values);
        return { key: null, field: '', message: errorText(err) };
      }
    },
    check: async (config: AppConfig) => {
      try {
        await api('/api/v1/configs/validate', { method: 'POST', body: config, background: true });
        return null;
      } catch (err) {
        if (!(err instanceof ApiError)) return undefined; // control away: the launch will tell
        if (err.status === 400 || err.code === 'CTL_NO_SNAPSHOT') return serverErrors(err, form.values);
        // Sent to sign-in now, the user would lose what they typed; signing in elsewhere keeps it.
        if (err.status === 401) form.alert('Your session has ended: sign in again in another tab, then launch; this form keeps what you typed.');
        return undefined;
      }
    },
  });

  const imp = importSection(async (file) => {
    imp.status.textContent = '';
    imp.error.textContent = '';
    imp.input.removeAttribute('aria-invalid');
    let text: string;
    try {
      text = await file.text();
    } catch (err) {
      imp.error.textContent = `Cannot read ${file.name}: ${said(err)}.`;
      imp.input.setAttribute('aria-invalid', 'true');
      return;
    }
    if (left) return;
    const out = importConfig(text);
    if (out.values) form.load(out.values, true);
    if (out.ok) {
      imp.status.textContent = `Imported ${file.name} (a ${out.config.app} app). Check the form, then Launch.`;
    } else if (out.values) {
      imp.error.textContent = importedWithProblems(file.name, { ...out, values: out.values });
    } else {
      imp.error.textContent = `Cannot import ${file.name}: ${said(new Error(out.message))}.`;
      imp.input.setAttribute('aria-invalid', 'true');
    }
  });

  const intro = clone
    ? h('p', { class: 'lead' }, 'A new instance with the same config, starting from the newest snapshot of ', h('code', {}, clone), '\'s workspace (Restore from instance, under Workspace).')
    : from ? h('p', { class: 'lead' }, 'A new instance with the config of ', h('code', {}, from), '.') : null;
  // "Snapshot now", when a running instance has nothing to clone from yet. In the page, not in
  // the notice: the notice's content is replaced, which would take the button, and keyboard
  // focus with it, away. The message is a live region of its own (in the page from the start,
  // so that it is announced); the button is beside it, not in it.
  const offerText = h('p', { id: 'snapshot-offer-text', role: 'status' });
  const offer = h('div', { class: 'snapshot-offer', id: 'snapshot-offer' }, offerText);
  ctx.view.replaceChildren(...[intro, imp.section, offer, form.element].filter((n): n is HTMLElement => n !== null));

  if (ctx.query.has('import')) imp.input.focus();
  const source = clone ?? from;
  const load = () => {
    if (!source) return;
    form.element.setAttribute('aria-busy', 'true');
    ctx.notice.replaceChildren(`Loading the config of ${source}…`);
    const request = clone
      ? api<AppConfig>(`/api/v1/instances/${encodeURIComponent(clone)}/clone`, { method: 'POST' })
      : api<AppConfig>(`/api/v1/instances/${encodeURIComponent(source)}/config`);
    request.then((config) => {
      if (left) return;
      ctx.notice.replaceChildren();
      // After "Snapshot now": its button goes, and focus to the form it filled (unless the user went elsewhere meanwhile).
      const offered = offer.querySelector('button');
      const focusForm = offered !== null && (offered === document.activeElement || document.activeElement === document.body);
      offered?.remove();
      offerText.textContent = '';
      form.load(valuesFromConfig(config));
      if (focusForm) form.focusField('name');
    }, (err: unknown) => {
      if (left || err instanceof SignedOut) return;
      // A running instance has no snapshot until it stops: offer to take one now, then clone from it.
      if (clone && err instanceof ApiError && err.code === 'CTL_NO_SNAPSHOT') {
        const button = h('button', { type: 'button' }, `Snapshot ${clone} now`);
        button.addEventListener('click', () => {
          button.disabled = true;
          void snapshotNow(clone).then(load, (e: unknown) => {
            if (left || e instanceof SignedOut) return;
            ctx.notice.replaceChildren(`Cannot snapshot ${clone}: ${said(e)}.`);
            button.disabled = false;
          });
        });
        ctx.notice.replaceChildren();
        offerText.textContent = `${clone} has no snapshot yet to clone from.`;
        offer.replaceChildren(offerText, button);
        return;
      }
      offerText.textContent = '';
      offer.replaceChildren(offerText);
      ctx.notice.replaceChildren(`Cannot load the config of ${source}: ${said(err)}. The form starts from the defaults.`);
    }).finally(() => form.element.removeAttribute('aria-busy'));
  };
  /** Asks for a snapshot of a running instance and waits (up to SNAPSHOT_WAIT_MS) until it is stored. */
  const snapshotNow = async (id: string) => {
    ctx.notice.replaceChildren(`Taking a snapshot of ${id}…`);
    await api(`/api/v1/instances/${encodeURIComponent(id)}/snapshot`, { method: 'POST' });
    const deadline = Date.now() + SNAPSHOT_WAIT_MS;
    while (!left && Date.now() < deadline) {
      const { snapshots } = await api<{ snapshots: unknown[] }>(`/api/v1/snapshots?instance=${encodeURIComponent(id)}`);
      if (snapshots.length) return;
      await new Promise((r) => setTimeout(r, 1_000));
    }
    throw new Error(`no snapshot arrived within ${SNAPSHOT_WAIT_MS / 1000} s; its console says why`);
  };
  load();
  return () => { left = true; };
}
