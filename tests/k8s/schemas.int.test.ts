import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv, { type AnySchema } from 'ajv';
import addFormats from 'ajv-formats';
import * as certManagerV1 from '@kubernetes-models/cert-manager/cert-manager.io/v1';
import * as monitoringV1 from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import * as apiextensionsV1 from 'kubernetes-models/apiextensions.k8s.io/v1';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as batchV1 from 'kubernetes-models/batch/v1';
import * as networkingV1 from 'kubernetes-models/networking.k8s.io/v1';
import * as policyV1 from 'kubernetes-models/policy/v1';
import * as rbacV1 from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import * as coreV1 from 'kubernetes-models/v1';
import { parse as parseYaml } from 'yaml';
import {
  AUTH_CHOICE,
  CHART,
  RELEASE,
  ROOT,
  VALUE_SETS,
  hasOperator,
  helm,
  render,
  type K8sObject,
} from './helpers';

/**
 * Every rendered object validates against the Kubernetes OpenAPI schemas (kubernetes-models 4.5.1
 * @kubernetes-models/prometheus-operator and @kubernetes-models/cert-manager); OrderFlow resources
 * validate against the CRD's own openAPIV3Schema. The Gateway API HTTPRoute has no model here
 * (@kubernetes-models/gateway-api needs Node 22): it is checked by hand in chart.int.test.ts. The chart's CRD is the same file as k8s/crds (scripts/sync-crd.sh).
 */

type Validatable = { validate(): void };
type ModelClass = new (data: never) => Validatable;
const groups: Record<string, Record<string, unknown>> = {
  v1: coreV1,
  'apps/v1': appsV1,
  'batch/v1': batchV1,
  'policy/v1': policyV1,
  'networking.k8s.io/v1': networkingV1,
  'rbac.authorization.k8s.io/v1': rbacV1,
  'apiextensions.k8s.io/v1': apiextensionsV1,
  'monitoring.coreos.com/v1': monitoringV1,
  'cert-manager.io/v1': certManagerV1,
};

const CRD_SOURCE = join(ROOT, 'k8s', 'crds', 'orderflow.io_orderflows.yaml');
const CRD_CHART = join(CHART, 'crds', 'orderflow.io_orderflows.yaml');
const EXAMPLE = join(ROOT, 'k8s', 'examples', 'orderflow.yaml');

interface Crd {
  spec: {
    group: string;
    names: { kind: string };
    versions: { name: string; schema: { openAPIV3Schema: Record<string, unknown> } }[];
  };
}

/**
 * The API server prunes unknown fields (and rejects them with strict field validation); make the
 * schema closed the same way so a misspelt spec key fails here too. Kubernetes extensions are
 * dropped because ajv does not know them.
 */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema as Record<string, unknown>)) {
    if (k.startsWith('x-kubernetes-')) continue;
    out[k] =
      k === 'properties'
        ? Object.fromEntries(
            Object.entries(v as Record<string, unknown>).map(([pk, pv]) => [pk, closed(pv)]),
          )
        : closed(v);
  }
  const preserve =
    (schema as Record<string, unknown>)['x-kubernetes-preserve-unknown-fields'] === true;
  if (out['properties'] && out['additionalProperties'] === undefined && !preserve)
    out['additionalProperties'] = false;
  return out;
}

let cached: ((o: unknown) => string[]) | undefined;
function crdValidator(): (o: unknown) => string[] {
  if (cached) return cached;
  const crd = parseYaml(readFileSync(CRD_SOURCE, 'utf8')) as Crd;
  const version = crd.spec.versions[0];
  if (!version) throw new Error('the CRD has no version');
  const root = closed(version.schema.openAPIV3Schema) as Record<string, unknown>;
  // metadata is the API server's business, not the CRD's.
  (root['properties'] as Record<string, unknown>)['metadata'] = { type: 'object' };
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addFormat('int32', true).addFormat('int64', true);
  const validate = ajv.compile(root as AnySchema);
  cached = (o) =>
    validate(o) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);
  return cached;
}

describe('the OrderFlow CRD', () => {
  test('when the chart ships the CRD, then it is byte-identical to k8s/crds (run scripts/sync-crd.sh)', () => {
    expect(existsSync(CRD_SOURCE)).toBe(true);
    expect(readFileSync(CRD_CHART, 'utf8')).toBe(readFileSync(CRD_SOURCE, 'utf8'));
  });

  test('when the CRD itself is checked, then it is a valid apiextensions.k8s.io/v1 object', () => {
    const crd = parseYaml(readFileSync(CRD_SOURCE, 'utf8')) as never;
    expect(() => new apiextensionsV1.CustomResourceDefinition(crd).validate()).not.toThrow();
  });

  test('when the example resource is checked against the CRD schema, then it validates', () => {
    const validate = crdValidator();
    expect(validate(parseYaml(readFileSync(EXAMPLE, 'utf8')))).toEqual([]);
  });

  test('when a spec key is misspelt or mistyped, then the CRD schema rejects it', () => {
    const validate = crdValidator();
    const example = parseYaml(readFileSync(EXAMPLE, 'utf8')) as { spec: Record<string, unknown> };
    expect(validate({ ...example, spec: { ...example.spec, queryWorker: {} } })).not.toEqual([]);
    expect(
      validate({ ...example, spec: { ...example.spec, queryWorkers: { minReplicas: 'one' } } }),
    ).not.toEqual([]);
  });

  test('when --include-crds is given, then helm renders the chart copy of the CRD', () => {
    const r = helm(['template', RELEASE, CHART, '--include-crds', ...AUTH_CHOICE]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('# Source: orderflow/crds/orderflow.io_orderflows.yaml');
    expect(r.stdout).toContain('name: orderflows.orderflow.io');
  });
});

describe.each(VALUE_SETS.map((v) => [v ?? 'defaults', v]))(
  'rendered objects of %s',
  (_l, valuesFile) => {
    let objects: K8sObject[] = [];
    beforeAll(() => {
      objects = render(valuesFile);
    }, 60_000);

    test('when validated against the Kubernetes schemas, then every object is valid', () => {
      const problems: string[] = [];
      let checked = 0;
      for (const o of objects) {
        if (o.apiVersion === 'orderflow.io/v1alpha1') continue;
        if (o.apiVersion === 'gateway.networking.k8s.io/v1' && o.kind === 'HTTPRoute') continue;
        const Model = groups[o.apiVersion]?.[o.kind] as ModelClass | undefined;
        if (!Model) {
          problems.push(`${o.apiVersion} ${o.kind}: no schema to check it against`);
          continue;
        }
        try {
          new Model(o as never).validate();
          checked++;
        } catch (e: unknown) {
          problems.push(`${o.kind}/${o.metadata.name}: ${String(e)}`);
        }
      }
      expect(problems).toEqual([]);
      expect(checked).toBeGreaterThan(20);
    });

    test('when the OrderFlow resource renders, then it validates against the CRD schema', () => {
      const flows = objects.filter((o) => o.kind === 'OrderFlow');
      expect(flows.map((f) => f.metadata.name)).toEqual(hasOperator(objects) ? [RELEASE] : []);
      const validate = crdValidator();
      for (const f of flows) expect(validate(f)).toEqual([]);
    });
  },
);
