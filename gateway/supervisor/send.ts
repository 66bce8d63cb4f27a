import type { Worker } from 'node:cluster';
import type { ToWorker } from './messages.ts';
/**
 * Sends to a worker that may be exiting: a failed send goes to the callback instead of an
 * 'error' event (which would stop the supervisor); the worker's 'exit' handles the rest.
 */
export function send(worker: Worker, m: ToWorker): void {
  if (worker.isConnected()) worker.send(m, undefined, () => {});
}
