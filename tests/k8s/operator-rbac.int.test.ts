import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { RELEASE, ROOT, find, render, type K8sObject } from './helpers';

/**
 * The operator's Role grants exactly what services/operator/src/adapters/kube.ts calls. The calls
 * are read from the source with the TypeScript compiler: every `<client>.<method>(...)` on a client
 * made by `kc.makeApiClient(<Api>)`, and every `watch.watch(<path>)`, become (API group,
 * resource, verb). A call the table below does not know fails the test (teach it the call and
 * grant it), a call without a grant fails, and a grant without a call fails.
 */

const KUBE_TS = join(ROOT, 'services', 'operator', 'src', 'adapters', 'kube.ts');

type Grant = string; // `<group>/<resource>:<verb>`

// 'crd': the custom resource's own group and plural (GROUP, PLURAL in kube.ts).
const API_GROUPS: Record<string, string> = {
  CoreV1Api: '',
  AppsV1Api: 'apps',
  CoordinationV1Api: 'coordination.k8s.io',
  CustomObjectsApi: 'crd',
};
const VERBS: Record<string, string> = {
  list: 'list',
  read: 'get',
  get: 'get',
  create: 'create',
  replace: 'update',
  patch: 'patch',
  delete: 'delete',
};
const KINDS: Record<string, string> = {
  ConfigMap: 'configmaps',
  Lease: 'leases',
  Deployment: 'deployments',
  Secret: 'secrets',
  Event: 'events',
  CustomObject: 'crd',
};

/** The (group, resource, verb) triples a kube adapter's source calls. */
export function kubeCalls(source: string): Set<Grant> {
  const file = ts.createSourceFile('kube.ts', source, ts.ScriptTarget.ES2022, true);
  const strings = new Map<string, string>();
  const clients = new Map<string, string>();
  const watchers = new Set<string>();
  const calls = new Set<Grant>();
  const problems: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer) {
      const init = node.initializer;
      if (ts.isStringLiteral(init)) strings.set(node.name.text, init.text);
      if (
        ts.isCallExpression(init) &&
        ts.isPropertyAccessExpression(init.expression) &&
        init.expression.name.text === 'makeApiClient' &&
        init.arguments[0] &&
        ts.isIdentifier(init.arguments[0])
      )
        clients.set(node.name.text, init.arguments[0].text);
      if (
        ts.isNewExpression(init) &&
        ts.isIdentifier(init.expression) &&
        init.expression.text === 'Watch'
      )
        watchers.add(node.name.text);
    }
    if (
      ts.isCallExpression(node) &&
      ts.isPropertyAccessExpression(node.expression) &&
      ts.isIdentifier(node.expression.expression)
    ) {
      const target = node.expression.expression.text;
      const method = node.expression.name.text;
      const api = clients.get(target);
      if (api !== undefined) {
        const m =
          /^(list|read|get|create|replace|patch|delete)Namespaced(\w+?)(Status|Scale)?$/.exec(
            method,
          );
        const group = API_GROUPS[api];
        const kind = m ? KINDS[m[2] ?? ''] : undefined;
        if (!m || group === undefined || kind === undefined) {
          problems.push(`${api}.${method}: not in this test's table`);
        } else {
          const g = group === 'crd' ? (strings.get('GROUP') ?? '?') : group;
          const plural = kind === 'crd' ? (strings.get('PLURAL') ?? '?') : kind;
          const sub = m[3] ? `/${m[3].toLowerCase()}` : '';
          calls.add(`${g}/${plural}${sub}:${VERBS[m[1] ?? ''] ?? '?'}`);
        }
      }
      if (watchers.has(target) && method === 'watch') {
        const path = node.arguments[0];
        const text = path && ts.isTemplateExpression(path) ? path.getText() : '';
        const g = /^`\/apis\/\$\{(\w+)\}/.exec(text)?.[1];
        const r = /\/\$\{(\w+)\}`$/.exec(text)?.[1];
        if (!g || !r) problems.push(`watch(${text}): path not understood`);
        else calls.add(`${strings.get(g) ?? g}/${strings.get(r) ?? r}:watch`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return calls;
}

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

function grants(rules: Rule[]): Set<Grant> {
  const out = new Set<Grant>();
  for (const r of rules)
    for (const g of r.apiGroups)
      for (const res of r.resources) for (const v of r.verbs) out.add(`${g}/${res}:${v}`);
  return out;
}

function difference(
  calls: Set<Grant>,
  granted: Set<Grant>,
): { ungranted: Grant[]; unused: Grant[] } {
  return {
    ungranted: [...calls].filter((c) => !granted.has(c)).sort(),
    unused: [...granted].filter((g) => !calls.has(g)).sort(),
  };
}

const source = readFileSync(KUBE_TS, 'utf8');
let role: K8sObject & { rules: Rule[] };
beforeAll(() => {
  role = find(render(), 'Role', `${RELEASE}-operator`);
});

test('when kube.ts is read, then its calls are the ones docs/operator.md lists', () => {
  expect([...kubeCalls(source)].sort()).toEqual([
    '/configmaps:create',
    '/configmaps:get',
    '/configmaps:update',
    'apps/deployments/scale:get',
    'apps/deployments/scale:patch',
    'coordination.k8s.io/leases:create',
    'coordination.k8s.io/leases:get',
    'coordination.k8s.io/leases:update',
    'orderflow.io/orderflows/status:patch',
    'orderflow.io/orderflows:get',
    'orderflow.io/orderflows:list',
    'orderflow.io/orderflows:watch',
  ]);
});

test("when the chart's operator Role is rendered, then it grants exactly what kube.ts calls", () => {
  expect(difference(kubeCalls(source), grants(role.rules))).toEqual({ ungranted: [], unused: [] });
});

test('when kube.ts gains a call without a grant, then the check names it', () => {
  const changed = source.replace(
    'async readConfigMap(namespace, name) {',
    'async readConfigMap(namespace, name) {\n      await core.deleteNamespacedConfigMap({ namespace, name });',
  );
  expect(difference(kubeCalls(changed), grants(role.rules))).toEqual({
    ungranted: ['/configmaps:delete'],
    unused: [],
  });
  // A kind of call the table does not know fails loudly instead of passing unchecked.
  expect(() =>
    kubeCalls(
      source.replace('core.readNamespacedConfigMap(', 'core.connectGetNamespacedPodProxy('),
    ),
  ).toThrow(/CoreV1Api\.connectGetNamespacedPodProxy: not in this test's table/);
});

test('when the Role grants what kube.ts does not call, then the check names it', () => {
  const wider: Rule[] = [
    ...role.rules,
    { apiGroups: ['apps'], resources: ['deployments'], verbs: ['patch'] },
    { apiGroups: [''], resources: ['events'], verbs: ['create'] },
  ];
  expect(difference(kubeCalls(source), grants(wider))).toEqual({
    ungranted: [],
    unused: ['/events:create', 'apps/deployments:patch'],
  });
});
