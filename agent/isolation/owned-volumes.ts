import type Docker from 'dockerode';
import { LABEL_OWNER, type LaunchSpec } from '../../protocol/launch-spec.ts';
import { engineMessage, isNotFound } from '../docker-engine.ts';

/*
 * A user's own volumes (apps/container-args.ts maps a non-admin's volume name into their
 * namespace and labels the mount with its owner). Docker creates a missing volume with the
 * mount's labels, and mounts an existing one whatever its labels say: so before create, every
 * such volume that exists already must carry the same owner. A volume of that name that
 * someone else made (an admin, a script on the host) is refused rather than handed over.
 */

/** The owned volume mounts of a spec: volume name → owner. */
export function ownedVolumes(spec: LaunchSpec): Map<string, string> {
  const owned = new Map<string, string>();
  for (const m of spec.docker.HostConfig.Mounts ?? []) {
    const owner = m.VolumeOptions?.Labels?.[LABEL_OWNER];
    if (m.Type === 'volume' && m.Source !== undefined && owner !== undefined) owned.set(m.Source, owner);
  }
  return owned;
}

/** Throws an Error naming the volume when one exists that is not its owner's. */
export async function checkOwnedVolumes(docker: Docker, spec: LaunchSpec): Promise<void> {
  for (const [name, owner] of ownedVolumes(spec)) {
    let labels: Record<string, string> | null | undefined;
    try {
      labels = (await docker.getVolume(name).inspect()).Labels;
    } catch (err) {
      if (isNotFound(err)) continue; // made, with its owner, when the container is created
      throw new Error(`cannot inspect volume ${name}: ${engineMessage(err)}`);
    }
    if (labels?.[LABEL_OWNER] !== owner) {
      throw new Error(`volume ${name} exists but was not made for its owner ${owner} (its ${LABEL_OWNER} label is ${labels?.[LABEL_OWNER] ?? 'missing'}): an admin must remove or relabel it`);
    }
  }
}
