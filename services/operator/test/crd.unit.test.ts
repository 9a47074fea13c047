import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import { orderFlowSpecSchema, parseOrderFlow } from '../src/domain/spec';

const root = join(__dirname, '../../..');
interface Schema {
  type?: string;
  default?: unknown;
  properties?: Record<string, Schema>;
  [key: string]: unknown;
}
const crd = parse(readFileSync(join(root, 'k8s/crds/orderflow.io_orderflows.yaml'), 'utf8'));
const version = crd.spec.versions[0];
const schema = version.schema.openAPIV3Schema as Schema;
const example = parse(readFileSync(join(root, 'k8s/examples/orderflow.yaml'), 'utf8'));

/** Structural defaulting as the API server does it: a default applies where the field is absent. */
function applyDefaults(value: unknown, node: Schema): unknown {
  if (node.type !== 'object' || !node.properties || typeof value !== 'object' || value === null)
    return value;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [key, child] of Object.entries(node.properties)) {
    if (out[key] === undefined && child.default !== undefined)
      out[key] = structuredClone(child.default);
    if (out[key] !== undefined) out[key] = applyDefaults(out[key], child);
  }
  return out;
}

function validator() {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  return ajv.compile(schema);
}

describe('the OrderFlow CRD', () => {
  it('when an empty spec is defaulted by the CRD, then it equals the operator defaults', () => {
    const defaulted = applyDefaults({ spec: {} }, schema) as { spec: unknown };
    expect(defaulted.spec).toEqual(orderFlowSpecSchema.parse({}));
  });

  it('when the example resource is validated against the schema, then it passes and the operator parses it', () => {
    const validate = validator();
    expect(validate(applyDefaults(example, schema))).toBe(true);
    expect(parseOrderFlow(example).spec.queryWorkers.maxReplicas).toBe(6);
  });

  it('when a field is out of range or of the wrong type, then the schema rejects it', () => {
    const validate = validator();
    const bad = (spec: unknown) => validate(applyDefaults({ ...example, spec }, schema));
    expect(bad({ eventBus: { replicas: 0 } })).toBe(false);
    expect(bad({ eventBus: { maxAge: 'a week' } })).toBe(false);
    expect(bad({ eventBus: { storage: 'disk' } })).toBe(false);
    expect(bad({ payment: { defaultCredit: 10.5 } })).toBe(false);
    expect(bad({ restaurant: { catalog: { key: 'x' } } })).toBe(false);
  });

  it('when the CRD is read, then it is namespaced, has the status subresource and the printer columns', () => {
    expect(crd.spec.scope).toBe('Namespaced');
    expect(version.subresources).toEqual({ status: {} });
    expect((version.additionalPrinterColumns as { name: string }[]).map((c) => c.name)).toEqual([
      'Stream',
      'Ready',
      'Workers',
      'Lag',
      'Reason',
      'Age',
    ]);
  });

  it('when the CRD validation rule on replicas is mirrored by the operator, then min above max is refused', () => {
    expect(
      version.schema.openAPIV3Schema.properties.spec.properties.queryWorkers[
        'x-kubernetes-validations'
      ],
    ).toHaveLength(1);
    expect(() =>
      parseOrderFlow({ ...example, spec: { queryWorkers: { minReplicas: 5, maxReplicas: 2 } } }),
    ).toThrow(/minReplicas/);
  });
});
