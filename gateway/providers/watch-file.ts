import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';

/**
 * Calls `onContent` with a file's text now and whenever it changes. The folder is watched,
 * not the file, so editors and `mv` that replace the file by renaming are seen too; bursts of
 * events are folded into one read, and an unchanged text is not reported again.
 */
export async function watchFileText(
  file: string,
  onContent: (text: string) => void,
  onError: (err: Error) => void,
  debounceMs = 50,
): Promise<{ close(): void }> {
  let last: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  const read = async (first: boolean) => {
    try {
      const text = await readFile(file, 'utf8');
      if (text === last) return;
      last = text;
      onContent(text);
    } catch (err) {
      if (first) throw err;
      // A file caught half-written or between rename steps: the next event reads it again.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') onError(err as Error);
    }
  };
  await read(true);
  const name = basename(file);
  const watcher: FSWatcher = watch(dirname(file), (_event, changed) => {
    if (changed !== null && changed !== name) return;
    clearTimeout(timer);
    timer = setTimeout(() => void read(false), debounceMs);
  });
  watcher.on('error', onError);
  return {
    close() {
      clearTimeout(timer);
      watcher.close();
    },
  };
}
