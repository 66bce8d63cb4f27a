/*
 * Copying a value for the user. The Clipboard API needs a secure context and permission; where
 * it is refused (plain HTTP, an old browser) the value is selected instead, so that Ctrl+C copies it.
 */

/** Selects an input's value, or an element's text. */
function select(target: HTMLElement): void {
  if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement) {
    target.focus();
    target.select();
    return;
  }
  const range = document.createRange();
  range.selectNodeContents(target);
  const selection = getSelection();
  selection?.removeAllRanges();
  selection?.addRange(range);
}

/** Copies `text`, or selects it in `target` (which shows it); says which in `status`. */
export async function copyText(text: string, target: HTMLElement, status: HTMLElement): Promise<void> {
  try {
    if (!navigator.clipboard) throw new Error('no clipboard');
    await navigator.clipboard.writeText(text);
    status.textContent = 'Copied to the clipboard.';
  } catch {
    select(target);
    // The old way still works on plain HTTP in some browsers; else the selection waits for Ctrl+C.
    status.textContent = document.execCommand?.('copy') ? 'Copied to the clipboard.' : 'Selected: press Ctrl+C (⌘C) to copy.';
  }
}
