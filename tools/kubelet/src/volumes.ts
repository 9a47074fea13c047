import { chmodSync, chownSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { V1Container, V1KeyToPath, V1Volume } from '@kubernetes/client-node';
import { ContainerConfigError, secretData } from './env';
import type { Inventory, PodPlan } from './manifests';

/** A volume made on the host: a folder that containers mount (read-only where Kubernetes does). */
interface HostVolume {
  path: string;
  /** Secret, ConfigMap, projected and downward API volumes are read-only on a cluster. */
  readOnly: boolean;
}

/**
 * The kubelet's volume plugins for the kinds the chart uses, as host folders under the run's
 * directory:
 *   emptyDir                 a fresh folder per pod (mode 0777, as the kubelet makes it);
 *   configMap, secret        the keys (or `items`) as files with `defaultMode`/`mode`;
 *   projected                secrets, configMaps, a service-account token and downward API items;
 *   persistentVolumeClaim    a folder per claim that outlives the pod (StatefulSet claims too).
 * With a pod `fsGroup`, files and folders get that group and the kubelet's permission mask (group
 * read for read-only volumes, group read-write for writable ones), as SetVolumeOwnership does.
 * Not emulated: sizeLimit, medium: Memory (a folder, not tmpfs), live updates of mounted
 * ConfigMaps and Secrets (the pod sees them as they were when it started).
 */
export class Volumes {
  private readonly made = new Map<string, HostVolume>();

  constructor(
    private readonly plan: PodPlan,
    private readonly inv: Inventory,
    private readonly podDir: string,
    private readonly claimsDir: string,
  ) {}

  private get fsGroup(): number | undefined {
    return this.plan.spec.securityContext?.fsGroup;
  }

  /** Makes every volume of the pod; throws ContainerConfigError as a kubelet would refuse to start it. */
  prepare(): void {
    for (const v of this.plan.spec.volumes ?? []) this.made.set(v.name, this.make(v));
    for (const [name, claim] of Object.entries(this.plan.claims)) {
      if (this.made.has(name)) continue;
      this.made.set(name, this.claim(claim));
    }
  }

  /** `-v host:container[:ro]` arguments for a container's volumeMounts. */
  mountArgs(c: V1Container): string[] {
    const args: string[] = [];
    for (const m of c.volumeMounts ?? []) {
      const v = this.made.get(m.name);
      if (!v)
        throw new ContainerConfigError(
          `${c.name}: volumeMount "${m.name}" names no volume of the pod`,
        );
      let host = v.path;
      if (m.subPath) {
        host = join(v.path, m.subPath);
        mkdirSync(host, { recursive: true });
      }
      const ro = m.readOnly === true || v.readOnly;
      args.push('-v', `${host}:${m.mountPath}${ro ? ':ro' : ''}`);
    }
    return args;
  }

  private make(v: V1Volume): HostVolume {
    const dir = join(this.podDir, 'volumes', v.name);
    mkdirSync(dir, { recursive: true });
    if (v.emptyDir) {
      chmodSync(dir, 0o777);
      return { path: dir, readOnly: false };
    }
    if (v.persistentVolumeClaim) return this.claim(v.persistentVolumeClaim.claimName);
    if (v.configMap) {
      const cm = this.inv.configMaps.get(v.configMap.name ?? '');
      if (!cm && !v.configMap.optional)
        throw new ContainerConfigError(
          `volume ${v.name}: configmap "${v.configMap.name}" not found`,
        );
      this.writeKeys(dir, cm?.data ?? {}, v.configMap.items, v.configMap.defaultMode ?? 0o644);
      return this.readOnlyVolume(dir);
    }
    if (v.secret) {
      const data = secretData(this.inv, v.secret.secretName ?? '');
      if (!data && !v.secret.optional)
        throw new ContainerConfigError(
          `volume ${v.name}: secret "${v.secret.secretName}" not found`,
        );
      this.writeKeys(dir, data ?? {}, v.secret.items, v.secret.defaultMode ?? 0o644);
      return this.readOnlyVolume(dir);
    }
    if (v.projected) {
      const mode = v.projected.defaultMode ?? 0o644;
      for (const src of v.projected.sources ?? []) {
        if (src.secret) {
          const data = secretData(this.inv, src.secret.name ?? '');
          if (!data && !src.secret.optional)
            throw new ContainerConfigError(
              `volume ${v.name}: secret "${src.secret.name}" not found`,
            );
          this.writeKeys(dir, data ?? {}, src.secret.items, mode);
        } else if (src.configMap) {
          const cm = this.inv.configMaps.get(src.configMap.name ?? '');
          if (!cm && !src.configMap.optional)
            throw new ContainerConfigError(
              `volume ${v.name}: configmap "${src.configMap.name}" not found`,
            );
          this.writeKeys(dir, cm?.data ?? {}, src.configMap.items, mode);
        } else if (src.serviceAccountToken) {
          // No API server issues tokens here; a placeholder that nothing can use.
          this.writeFile(dir, src.serviceAccountToken.path, 'emulated-kubelet-no-api-server', mode);
        } else if (src.downwardAPI) {
          for (const item of src.downwardAPI.items ?? []) {
            const field = item.fieldRef?.fieldPath ?? '';
            const value =
              field === 'metadata.name'
                ? this.plan.name
                : field === 'metadata.namespace'
                  ? this.plan.namespace
                  : field === 'metadata.labels'
                    ? Object.entries(this.plan.labels)
                        .map(([k, val]) => `${k}="${val}"`)
                        .join('\n')
                    : '';
            this.writeFile(dir, item.path, value, item.mode ?? mode);
          }
        }
      }
      return this.readOnlyVolume(dir);
    }
    if (v.downwardAPI) return this.readOnlyVolume(dir);
    throw new ContainerConfigError(
      `volume ${v.name}: kind ${Object.keys(v)
        .filter((k) => k !== 'name')
        .join(', ')} is not emulated`,
    );
  }

  private claim(name: string): HostVolume {
    const dir = join(this.claimsDir, name);
    mkdirSync(dir, { recursive: true });
    this.own(dir, 0o770, 0o777);
    return { path: dir, readOnly: false };
  }

  private readOnlyVolume(dir: string): HostVolume {
    this.own(dir, 0o550, 0o755);
    for (const f of readdirSync(dir, { recursive: true }) as string[]) {
      const p = join(dir, f);
      if (statSync(p).isDirectory()) this.own(p, 0o550, 0o755);
    }
    return { path: dir, readOnly: true };
  }

  private writeKeys(
    dir: string,
    data: Record<string, string>,
    items: V1KeyToPath[] | undefined,
    mode: number,
  ): void {
    if (items && items.length > 0) {
      for (const it of items) {
        const value = data[it.key];
        if (value === undefined) throw new ContainerConfigError(`key "${it.key}" not found`);
        this.writeFile(dir, it.path, value, it.mode ?? mode);
      }
      return;
    }
    for (const [k, value] of Object.entries(data)) this.writeFile(dir, k, value, mode);
  }

  private writeFile(dir: string, rel: string, value: string, mode: number): void {
    const p = join(dir, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, value);
    // The kubelet adds group read for the pod's fsGroup on read-only volumes.
    const fsGroup = this.fsGroup;
    chmodSync(p, fsGroup === undefined ? mode : mode | 0o440);
    if (fsGroup !== undefined) chownSync(p, 0, fsGroup);
  }

  /** Folder ownership: root with the pod's fsGroup (setgid, groupMode), or openMode without one. */
  private own(dir: string, groupMode: number, openMode: number): void {
    const fsGroup = this.fsGroup;
    if (fsGroup === undefined) {
      chmodSync(dir, openMode);
      return;
    }
    chownSync(dir, 0, fsGroup);
    chmodSync(dir, groupMode | 0o2000 | 0o700);
  }
}
