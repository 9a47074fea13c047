import { consumers } from '@orderflow/contracts';
import { parseAllDocuments } from 'yaml';
import type { JetStreamPort } from './adapters/jetstream';
import { observe } from './controller';
import { queryWorkerDeploymentName, reconcile } from './domain/reconcile';
import { recommendReplicas } from './domain/scaling';
import { parseOrderFlow, type OrderFlow } from './domain/spec';
import type { Action, Observed } from './domain/types';
import { describeAction } from './executor';

/** Picks the OrderFlow out of a YAML file (it may hold other documents too). */
export function readOrderFlowYaml(text: string): OrderFlow {
  const docs = parseAllDocuments(text).map((d) => d.toJS() as unknown);
  const doc = docs.find((d) => (d as { kind?: string } | null)?.kind === 'OrderFlow');
  if (!doc) throw new Error('no OrderFlow resource in the file');
  return parseOrderFlow(doc);
}

/**
 * Plan mode: what the operator would change for this resource. JetStream is read for real (no
 * writes); Kubernetes is not contacted, so its changes are listed as they would be made against an
 * empty namespace, and scaling is shown as the replica count the current lag asks for.
 */
export async function plan(
  resource: OrderFlow,
  jetstream: JetStreamPort,
  natsUrl: string,
): Promise<string> {
  const namespace = resource.metadata.namespace ?? 'default';
  resource.metadata.namespace = namespace;
  const key = `${namespace}/${resource.metadata.name}`;
  const observed = await observe(resource, namespace, { jetstream }, undefined);
  const result = reconcile(resource, observed, Date.now());
  const lines = [
    `OrderFlow ${key} (plan: nothing is changed)`,
    '',
    ...jetStreamLines(result, observed, natsUrl),
    '',
    'Kubernetes changes:',
    ...configMapLines(result, resource, namespace),
    scaleLine(resource, observed, namespace),
    `  - patch status of OrderFlow ${key} (observedGeneration, conditions, consumer lag, replicas)`,
  ];
  return `${lines.join('\n')}\n`;
}

type Result = ReturnType<typeof reconcile>;

function jetStreamLines(result: Result, observed: Observed, natsUrl: string): string[] {
  const lines = [`JetStream changes (${natsUrl}):`];
  const js = result.actions.filter((a) =>
    ['CreateStream', 'UpdateStream', 'CreateConsumer', 'UpdateConsumer'].includes(a.type),
  );
  if (!observed.jetstream.reachable)
    lines.push(`  ! cannot read JetStream: ${observed.jetstream.message}`);
  else if (js.length === 0) lines.push('  (none)');
  for (const action of js) lines.push(`  - ${describeAction(action)}`);
  const problems = result.status.conditions.filter(
    (c) => c.type !== 'Ready' && c.type !== 'Scaling' && c.status !== 'True',
  );
  if (problems.length > 0) {
    lines.push('', 'Conditions that would be reported:');
    for (const c of problems) lines.push(`  - ${c.type}=${c.status} ${c.reason}: ${c.message}`);
  }
  return lines;
}

function configMapLines(result: Result, resource: OrderFlow, namespace: string): string[] {
  const write = result.actions.find(
    (a): a is Extract<Action, { type: 'WriteConfigMap' }> => a.type === 'WriteConfigMap',
  );
  if (!write) return [];
  const lines = [`  - create or replace ConfigMap ${namespace}/${write.name}, key runtime.json:`];
  const runtime = write.data['runtime.json'] ?? '';
  for (const line of runtime.trimEnd().split('\n')) lines.push(`      ${line}`);
  const catalog = resource.spec.restaurant.catalog;
  if (catalog)
    lines.push(
      `    (restaurant.catalog is copied from ConfigMap ${namespace}/${catalog.name} key ${catalog.key} when applied)`,
    );
  return lines;
}

function scaleLine(resource: OrderFlow, observed: Observed, namespace: string): string {
  const deployment = queryWorkerDeploymentName(resource.metadata.name);
  const queryLag = observed.jetstream.reachable
    ? observed.jetstream.consumers[consumers.orderQuery]
    : null;
  if (!queryLag)
    return `  - Deployment ${namespace}/${deployment}: not scaled (consumer order-query missing, lag unknown)`;
  const lag = queryLag.numPending + queryLag.numAckPending;
  const q = resource.spec.queryWorkers;
  const replicas = recommendReplicas(lag, q);
  return (
    `  - scale Deployment ${namespace}/${deployment} to ${replicas} replicas (lag ${lag} at ${q.targetLagPerReplica} per replica, ` +
    `within ${q.minReplicas}..${q.maxReplicas}; a scale-down waits ${q.scaleDownStabilizationSeconds}s)`
  );
}
