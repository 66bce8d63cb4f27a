/*
 * The fencing epoch of a launch job's lease (DESIGN.md "One launch"): the lease answers it as
 * `attempts`, and the agent sends it back on every report about the instance while it starts,
 * in this header. Control refuses a report of an earlier lease than the job's current one, so
 * that a set-up outlived by its lease (which was handed on, or taken again) cannot move the
 * instance: an app never becomes active twice.
 */
export const LEASE_EPOCH_HEADER = 'x-wharf-lease-epoch';

/** The epoch a header value names; undefined when absent, an Error saying what is wrong when malformed. */
export function parseLeaseEpoch(value: string | string[] | undefined): number | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value[0] : value;
  if (!/^[1-9][0-9]{0,9}$/.test(text)) throw new Error(`${LEASE_EPOCH_HEADER} must be the lease's attempts, a whole number from 1, got "${text.slice(0, 20)}"`);
  return Number(text);
}
