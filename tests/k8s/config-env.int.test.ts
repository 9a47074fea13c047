import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import {
  RELEASE,
  ROOT,
  SERVICES,
  VALUE_SETS,
  hasOperator,
  find,
  render,
  type Container,
  type K8sObject,
  type Workload,
} from './helpers';

/**
 * The chart against each service's own config schema (`configSchema` exported by
 * services/<svc>/src/config.ts): every variable the schema requires is set on the container and on
 * its migrate init container, and the environment the chart builds parses. Values that Kubernetes
 * fills at run time (secrets, field refs) are replaced by plausible stand-ins.
 */

type Shape = Record<string, z.ZodType>;
interface ConfigModule {
  configSchema: z.ZodObject<Shape>;
}

const withConfig = SERVICES.filter((s) =>
  existsSync(join(ROOT, 'services', s, 'src', 'config.ts')),
);
const withoutConfig = SERVICES.filter((s) => !withConfig.includes(s));

function standIn(name: string): string {
  if (name === 'DATABASE_URL')
    return 'postgresql://user:secret@db.example:26257/orderflow_x?sslmode=verify-full';
  return 'stand-in';
}

/** The environment the kubelet would hand the process, with $(VAR) references expanded. */
function environment(c: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    const raw = e.value ?? standIn(e.name);
    env[e.name] = raw.replace(/\$\(([A-Z0-9_]+)\)/g, (m, v: string) => env[v] ?? m);
  }
  return env;
}

const rendered = new Map<string, K8sObject[]>();
beforeAll(() => {
  for (const v of VALUE_SETS) rendered.set(v ?? 'defaults', render(v));
}, 120_000);

test('when some services have no config.ts yet, then they are listed (and skipped) here', () => {
  // Informational: the report names the services whose env the chart cannot be checked against yet.
  if (withoutConfig.length > 0)
    console.info(
      `config-env: no services/<svc>/src/config.ts yet for: ${withoutConfig.join(', ')}`,
    );
  expect(withConfig.length + withoutConfig.length).toBe(SERVICES.length);
});

describe.each(withConfig.map((s) => [s]))('%s', (svc) => {
  let schema: z.ZodObject<Shape>;
  beforeAll(async () => {
    schema = ((await import(join(ROOT, 'services', svc, 'src', 'config.ts'))) as ConfigModule)
      .configSchema;
  });

  test('when its config schema requires a variable, then the chart sets it on every container of the service', () => {
    const required = Object.keys(schema.shape).filter(
      (k) => !schema.shape[k]?.safeParse(undefined).success,
    );
    for (const [set, objects] of rendered) {
      if (svc === 'operator' && !hasOperator(objects)) continue;
      const pod = find<Workload>(objects, 'Deployment', `${RELEASE}-${svc}`).spec.template.spec;
      for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
        const names = new Set((c.env ?? []).map((e) => e.name));
        expect([set, c.name, required.filter((k) => !names.has(k))]).toEqual([set, c.name, []]);
      }
    }
  });

  test('when the chart builds its environment, then the service config schema accepts it', () => {
    for (const [set, objects] of rendered) {
      if (svc === 'operator' && !hasOperator(objects)) continue;
      const c = find<Workload>(objects, 'Deployment', `${RELEASE}-${svc}`).spec.template.spec
        .containers[0];
      if (!c) throw new Error('no container');
      const parsed = schema.safeParse(environment(c));
      expect([
        set,
        parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
      ]).toEqual([set, []]);
    }
  });

  test('when the chart sets a variable, then the service schema knows it (no typo reaches a pod)', () => {
    const known = new Set(Object.keys(schema.shape));
    const c = find<Workload>(rendered.get('defaults') ?? [], 'Deployment', `${RELEASE}-${svc}`).spec
      .template.spec.containers[0];
    // OTEL_* belong to the OpenTelemetry SDK, NODE_* to Node; a variable another one names as
    // $(VAR) (DATABASE_PASSWORD, NATS_PASSWORD) only feeds that one.
    const referenced = new Set(
      (c?.env ?? []).flatMap((e) =>
        [...(e.value ?? '').matchAll(/\$\(([A-Z0-9_]+)\)/g)].map((m) => m[1]),
      ),
    );
    const unknown = (c?.env ?? [])
      .map((e) => e.name)
      .filter(
        (n) =>
          !known.has(n) && !n.startsWith('OTEL_') && !n.startsWith('NODE_') && !referenced.has(n),
      );
    expect(unknown).toEqual([]);
  });
});
