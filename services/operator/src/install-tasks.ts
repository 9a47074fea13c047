import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  ApiextensionsV1Api,
  CoreV1Api,
  loadYaml,
  type KubeConfig,
  type V1CustomResourceDefinition,
  type V1Secret,
} from '@kubernetes/client-node';
import { isStatus } from './adapters/kube';

/**
 * The chart's install and upgrade tasks, run by its pre-install/pre-upgrade hook Jobs with the
 * operator's image (it is the one that ships @kubernetes/client-node):
 *
 *   ensure-secrets  creates the Secrets the chart must not render (passwords, certificates), once:
 *                   a random key missing from an existing Secret is added, an existing key is
 *                   never changed, and a Secret made from files (certificates) is created only
 *                   when absent. So `helm template`, Argo CD or Tilt renders never regenerate a
 *                   password, and running pods keep working across upgrades.
 *   apply-crd       creates or replaces the OrderFlow CRD (Helm installs crds/ once and never
 *                   upgrades it).
 *
 * Nothing secret is printed: only Secret names and key names.
 */

export interface SecretSpec {
  name: string;
  /** Keys filled with 32 random letters and digits (URL- and shell-safe) when missing. */
  random?: string[];
  /** Key -> file path: the Secret is created from these files when it does not exist. */
  files?: Record<string, string>;
}

export interface EnsureSecretsSpec {
  namespace: string;
  labels?: Record<string, string>;
  secrets: SecretSpec[];
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** 32 characters from 62: about 190 bits, URL-safe (NATS_URL and DATABASE_URL carry them). */
export function randomPassword(length = 32): string {
  let s = '';
  for (let i = 0; i < length; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return s;
}

const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');

/** Reads an object, or null when the API server says 404. */
async function readOrNull<T>(read: () => Promise<T>): Promise<T | null> {
  try {
    return await read();
  } catch (err: unknown) {
    if (!isStatus(err, 404)) throw err;
    return null;
  }
}

/**
 * Runs a read-then-write step again when another writer (a second hook, a person) changed the
 * object between our read and our write (409, or 422 on a create that lost the race).
 */
async function withConflictRetry(step: () => Promise<void>, statuses = [409, 422]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (err: unknown) {
      if (!statuses.some((code) => isStatus(err, code)) || attempt >= 5) throw err;
    }
  }
}

function newSecret(spec: EnsureSecretsSpec, s: SecretSpec): V1Secret {
  const data: Record<string, string> = {};
  for (const k of s.random ?? []) data[k] = b64(randomPassword());
  for (const [k, path] of Object.entries(s.files ?? {})) data[k] = b64(readFileSync(path));
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: s.name,
      namespace: spec.namespace,
      labels: spec.labels ?? {},
      annotations: { 'orderflow.io/created-by': 'ensure-secrets' },
    },
    data,
  };
}

async function ensureSecret(
  core: CoreV1Api,
  spec: EnsureSecretsSpec,
  s: SecretSpec,
  log: (line: string) => void,
): Promise<void> {
  const namespace = spec.namespace;
  const existing = await readOrNull(() => core.readNamespacedSecret({ namespace, name: s.name }));
  if (!existing) {
    const body = newSecret(spec, s);
    await core.createNamespacedSecret({ namespace, body });
    log(
      `secret ${s.name}: created with keys ${Object.keys(body.data ?? {})
        .sort()
        .join(', ')}`,
    );
    return;
  }
  const have = existing.data ?? {};
  const missing = (s.random ?? []).filter((k) => have[k] === undefined);
  if (s.files || missing.length === 0) {
    log(`secret ${s.name}: exists, kept as it is`);
    return;
  }
  const data = { ...have };
  for (const k of missing) data[k] = b64(randomPassword());
  await core.replaceNamespacedSecret({ namespace, name: s.name, body: { ...existing, data } });
  log(`secret ${s.name}: exists, added keys ${missing.join(', ')}; the others kept`);
}

export async function ensureSecrets(
  kc: KubeConfig,
  spec: EnsureSecretsSpec,
  log: (line: string) => void,
): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  for (const s of spec.secrets) await withConflictRetry(() => ensureSecret(core, spec, s, log));
}

/** Creates the CRD, or replaces it with this version's (keeping what the API server owns). */
export async function applyCrd(
  kc: KubeConfig,
  file: string,
  log: (line: string) => void,
): Promise<void> {
  const crd = loadYaml<V1CustomResourceDefinition>(readFileSync(file, 'utf8'));
  const name = crd.metadata?.name;
  if (crd.kind !== 'CustomResourceDefinition' || !name)
    throw new Error(`${file} holds no CustomResourceDefinition`);
  const api = kc.makeApiClient(ApiextensionsV1Api);
  await withConflictRetry(async () => {
    const existing = await readOrNull(() => api.readCustomResourceDefinition({ name }));
    if (!existing) {
      await api.createCustomResourceDefinition({ body: crd });
      log(`crd ${name}: created`);
      return;
    }
    const resourceVersion = existing.metadata?.resourceVersion;
    const body = { ...crd, metadata: { ...crd.metadata, name, resourceVersion } };
    await api.replaceCustomResourceDefinition({ name, body });
    const versions = (crd.spec.versions ?? []).map((v) => v.name).join(', ');
    log(`crd ${name}: replaced (versions ${versions})`);
  }, [409]);
}
