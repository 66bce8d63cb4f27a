import { h } from '../dom.ts';
import type { FieldDef } from './fields.ts';

/*
 * One labelled control of the launch form: a visible <label>, the input, an error element and
 * a hint, the last two tied to the input by aria-describedby. Ids derive from the value's key
 * (`routing.port` → `f-routing-port`), so that errors find their input.
 */

export interface Control {
  key: string;
  /** The label's text, which starts the error message ("Port must be …"). */
  label: string;
  wrap: HTMLElement;
  input: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement;
  error: HTMLElement;
}

export function idOf(key: string): string {
  return `f-${key.replace(/[^A-Za-z0-9]+/g, '-').replace(/-$/, '')}`;
}

export function errorElement(id: string): HTMLElement {
  return h('p', { class: 'field-error', id, 'aria-live': 'polite' });
}

interface ControlSpec {
  key: string;
  label: string;
  control: FieldDef['control'];
  value: string | boolean;
  hint?: string;
  options?: { value: string; label: string }[];
  code?: boolean;
  wide?: boolean;
}

export function control(spec: ControlSpec): Control {
  const id = idOf(spec.key);
  const error = errorElement(`${id}-error`);
  const hint = spec.hint ? h('p', { class: 'hint', id: `${id}-hint` }, spec.hint) : null;
  const describedBy = [`${id}-error`, hint ? `${id}-hint` : ''].filter(Boolean).join(' ');
  const common = { id, name: spec.key, 'data-key': spec.key, 'aria-describedby': describedBy, class: spec.code ? 'code' : undefined };
  const label = h('label', { for: id }, spec.label);
  let input: Control['input'];
  switch (spec.control) {
    case 'select':
      input = h('select', common, ...(spec.options ?? []).map((o) => h('option', { value: o.value, selected: o.value === spec.value }, o.label)));
      input.value = String(spec.value);
      break;
    case 'checkbox':
      input = h('input', { ...common, type: 'checkbox', checked: spec.value === true });
      return { key: spec.key, label: spec.label, input, error, wrap: h('div', { class: 'field check wide' }, h('div', { class: 'check-line' }, input, label), error, hint) };
    case 'textarea':
    case 'lines': {
      const text = String(spec.value);
      input = h('textarea', { ...common, rows: Math.min(12, Math.max(2, text.split('\n').length + 1)), spellcheck: 'false', autocapitalize: 'off' });
      input.value = text;
      break;
    }
    case 'number':
      // Text, not type=number: the value stays exactly as typed (fractions, no locale rounding) for the schema to judge.
      input = h('input', { ...common, type: 'text', inputmode: 'decimal', autocomplete: 'off', spellcheck: 'false' });
      input.value = String(spec.value);
      break;
    default:
      input = h('input', { ...common, type: 'text', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off' });
      input.value = String(spec.value);
  }
  const wide = spec.wide ?? (spec.control === 'textarea' || spec.control === 'lines');
  return { key: spec.key, label: spec.label, input, error, wrap: h('div', { class: wide ? 'field wide' : 'field' }, label, input, error, hint) };
}

/** "Port must be a port from 1 to 65535", "Command: unterminated quote". */
export function errorText(label: string, message: string): string {
  return /^(is|must|needs|are)\b/.test(message) ? `${label} ${message}` : `${label}: ${message}`;
}
