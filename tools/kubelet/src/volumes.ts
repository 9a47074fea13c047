import { chmodSync, chownSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type {
  V1Container,
  V1KeyToPath,
  V1Volume,
  V1VolumeProjection,
} from '@kubernetes/client-node';
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
    return this.readOnly(v, dir);
  }

  /** The read-only kinds: ConfigMap, Secret, projected and downward API volumes. */
  private readOnly(v: V1Volume, dir: string): HostVolume {
    if (v.configMap) {
      const { name = '', items, defaultMode, optional } = v.configMap;
      this.writeKeys(dir, this.configMapData(v.name, name, optional), items, defaultMode ?? 0o644);
      return this.readOnlyVolume(dir);
    }
    if (v.secret) {
      const { secretName = '', items, defaultMode, optional } = v.secret;
      this.writeKeys(
        dir,
        this.secretData(v.name, secretName, optional),
        items,
        defaultMode ?? 0o644,
      );
      return this.readOnlyVolume(dir);
    }
    if (v.projected) {
      for (const src of v.projected.sources ?? [])
        this.projectSource(v.name, dir, src, v.projected.defaultMode ?? 0o644);
      return this.readOnlyVolume(dir);
    }
    if (v.downwardAPI) return this.readOnlyVolume(dir);
    const kinds = Object.keys(v).filter((k) => k !== 'name');
    throw new ContainerConfigError(`volume ${v.name}: kind ${kinds.join(', ')} is not emulated`);
  }

  private secretData(volume: string, name: string, optional?: boolean): Record<string, string> {
    const data = secretData(this.inv, name);
    if (!data && !optional)
      throw new ContainerConfigError(`volume ${volume}: secret "${name}" not found`);
    return data ?? {};
  }

  private configMapData(volume: string, name: string, optional?: boolean): Record<string, string> {
    const cm = this.inv.configMaps.get(name);
    if (!cm && !optional)
      throw new ContainerConfigError(`volume ${volume}: configmap "${name}" not found`);
    return cm?.data ?? {};
  }

  /** One source of a projected volume: a Secret, a ConfigMap, a token or downward API items. */
  private projectSource(volume: string, dir: string, src: V1VolumeProjection, mode: number): void {
    if (src.secret) {
      const { name = '', items, optional } = src.secret;
      this.writeKeys(dir, this.secretData(volume, name, optional), items, mode);
    } else if (src.configMap) {
      const { name = '', items, optional } = src.configMap;
      this.writeKeys(dir, this.configMapData(volume, name, optional), items, mode);
    } else if (src.serviceAccountToken) {
      // No API server issues tokens here; a placeholder that nothing can use.
      this.writeFile(dir, src.serviceAccountToken.path, 'emulated-kubelet-no-api-server', mode);
    } else if (src.downwardAPI) {
      for (const item of src.downwardAPI.items ?? [])
        this.writeFile(
          dir,
          item.path,
          this.downward(item.fieldRef?.fieldPath ?? ''),
          item.mode ?? mode,
        );
    }
  }

  private downward(field: string): string {
    if (field === 'metadata.name') return this.plan.name;
    if (field === 'metadata.namespace') return this.plan.namespace;
    if (field === 'metadata.labels')
      return Object.entries(this.plan.labels)
        .map(([k, val]) => `${k}="${val}"`)
        .join('\n');
    return '';
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
