import {
  RUNTIME_CONFIG_KEY,
  consumers as consumerNames,
  runtimeConfigMapName,
  subjects,
  type RuntimeConfigDocument,
} from '@orderflow/contracts';
import { decideScale } from './scaling';
import { CONSUMER_NAMES, durationsMs, type OrderFlow } from './spec';
import { parseDuration } from './duration';
import type {
  Action,
  Condition,
  ConditionType,
  ConsumerConfigWanted,
  ConsumerObserved,
  ConsumerStatus,
  Observed,
  OrderFlowStatus,
  ReconcileResult,
  ScaleHistory,
  StreamConfigWanted,
  StreamObserved,
} from './types';
import { CONDITION_TYPES } from './types';

export const EVENT_SUBJECTS = subjects.allEvents;
export const DEAD_LETTER_SUBJECTS = subjects.allDeadLetters;
export const RUNTIME_KEY = RUNTIME_CONFIG_KEY;
/**
 * Redelivery stays unlimited on the server: the services dead-letter a message themselves after
 * `maxDeliver` attempts (runtime.json), so a crash during the last attempt cannot lose it.
 */
export const SERVER_MAX_DELIVER = -1;

export { runtimeConfigMapName };
export const queryWorkerDeploymentName = (orderflow: string) => `${orderflow}-order-query-worker`;
export const deadLetterStreamName = subjects.deadLetterStream;

/** The JSON the services read from `runtime.json` (docs/conventions.md, "Operator runtime ConfigMap"). */
export type RuntimeConfig = RuntimeConfigDocument;

export function wantedStreams(resource: OrderFlow): StreamConfigWanted[] {
  const bus = resource.spec.eventBus;
  const ms = durationsMs(resource.spec);
  const common = {
    storage: bus.storage,
    replicas: bus.replicas,
    duplicateWindowMs: ms.duplicateWindowMs,
  };
  return [
    { ...common, name: bus.streamName, subjects: [EVENT_SUBJECTS], maxAgeMs: ms.maxAgeMs },
    {
      ...common,
      name: deadLetterStreamName(bus.streamName),
      subjects: [DEAD_LETTER_SUBJECTS],
      maxAgeMs: ms.deadLetterMaxAgeMs,
    },
  ];
}

export function wantedConsumers(resource: OrderFlow): ConsumerConfigWanted[] {
  const bus = resource.spec.eventBus;
  return CONSUMER_NAMES.map((name) => {
    const c = bus.consumers[name];
    return {
      stream: bus.streamName,
      name,
      ackWaitMs: parseDuration(c.ackWait),
      maxDeliver: c.maxDeliver,
      maxAckPending: c.maxAckPending,
    };
  });
}

export function buildRuntimeConfig(resource: OrderFlow, catalog: unknown): RuntimeConfig {
  const ms = durationsMs(resource.spec);
  const consumers = Object.fromEntries(
    wantedConsumers(resource).map((c) => [
      c.name,
      { ackWaitMs: c.ackWaitMs, maxDeliver: c.maxDeliver, maxAckPending: c.maxAckPending },
    ]),
  ) as RuntimeConfig['consumers'];
  return {
    saga: { paymentTimeoutMs: ms.paymentTimeoutMs, restaurantTimeoutMs: ms.restaurantTimeoutMs },
    payment: { defaultCreditCents: resource.spec.payment.defaultCredit },
    ...(catalog === undefined ? {} : { restaurant: { catalog } }),
    consumers,
  };
}

interface Diff {
  changes: string[];
  drift: string[];
}

function diffStream(
  want: StreamConfigWanted,
  have: StreamObserved,
  clustered: boolean,
): Diff & { update: StreamConfigWanted } {
  const changes: string[] = [];
  const drift: string[] = [];
  const update = { ...want };
  if (have.storage !== want.storage) {
    drift.push(
      `stream ${want.name} has ${have.storage} storage, the resource says ${want.storage}; JetStream cannot change storage in place (back up, delete and recreate the stream)`,
    );
    update.storage = have.storage;
  }
  if (have.retention !== 'limits') {
    drift.push(
      `stream ${want.name} has ${have.retention} retention, orderflow needs limits; JetStream cannot change retention in place`,
    );
  }
  if (have.replicas !== want.replicas) {
    if (!clustered && want.replicas > 1) {
      drift.push(
        `stream ${want.name} cannot have ${want.replicas} replicas: the NATS server is not clustered`,
      );
      update.replicas = have.replicas;
    } else {
      changes.push(`replicas ${have.replicas} -> ${want.replicas}`);
    }
  }
  const sameSubjects =
    have.subjects.length === want.subjects.length &&
    want.subjects.every((s) => have.subjects.includes(s));
  if (!sameSubjects)
    changes.push(`subjects [${have.subjects.join(',')}] -> [${want.subjects.join(',')}]`);
  if (have.maxAgeMs !== want.maxAgeMs)
    changes.push(`maxAge ${have.maxAgeMs}ms -> ${want.maxAgeMs}ms`);
  if (have.duplicateWindowMs !== want.duplicateWindowMs)
    changes.push(`duplicateWindow ${have.duplicateWindowMs}ms -> ${want.duplicateWindowMs}ms`);
  return { changes, drift, update };
}

function diffConsumer(want: ConsumerConfigWanted, have: ConsumerObserved): Diff {
  const changes: string[] = [];
  const drift: string[] = [];
  if (have.push)
    drift.push(
      `consumer ${want.name} is a push consumer; orderflow needs a pull consumer (delete it and the operator recreates it)`,
    );
  if (have.ackPolicy !== 'explicit')
    drift.push(
      `consumer ${want.name} has ack policy ${have.ackPolicy}; orderflow needs explicit (delete it and the operator recreates it)`,
    );
  if (have.ackWaitMs !== want.ackWaitMs)
    changes.push(`ackWait ${have.ackWaitMs}ms -> ${want.ackWaitMs}ms`);
  if (have.maxDeliver !== SERVER_MAX_DELIVER)
    changes.push(
      `server maxDeliver ${have.maxDeliver} -> ${SERVER_MAX_DELIVER} (services dead-letter after ${want.maxDeliver})`,
    );
  if (have.maxAckPending !== want.maxAckPending)
    changes.push(`maxAckPending ${have.maxAckPending} -> ${want.maxAckPending}`);
  return { changes, drift };
}

type ConditionDraft = Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>;

function finishConditions(
  drafts: ConditionDraft[],
  previous: Condition[] | undefined,
  generation: number | undefined,
  now: number,
): Condition[] {
  const nowIso = new Date(now).toISOString();
  return CONDITION_TYPES.flatMap((type) => {
    const draft = drafts.find((d) => d.type === type);
    if (!draft) return [];
    const before = previous?.find((p) => p.type === type);
    const lastTransitionTime =
      before && before.status === draft.status ? before.lastTransitionTime : nowIso;
    return [
      {
        ...draft,
        lastTransitionTime,
        ...(generation === undefined ? {} : { observedGeneration: generation }),
      },
    ];
  });
}

/** Ready is True when the stream, the consumers and the runtime config are; scaling is reported on its own. */
export function readyCondition(conditions: ConditionDraft[]): ConditionDraft {
  const blocking: ConditionType[] = ['StreamReady', 'ConsumersReady', 'ConfigApplied'];
  const notReady = blocking
    .map((t) => conditions.find((c) => c.type === t))
    .filter((c) => c && c.status !== 'True');
  const first = notReady[0];
  if (!first)
    return {
      type: 'Ready',
      status: 'True',
      reason: 'Reconciled',
      message: 'stream, consumers and runtime config match the resource',
    };
  const reasons: Partial<Record<ConditionType, string>> = {
    StreamReady: 'StreamNotReady',
    ConsumersReady: 'ConsumersNotReady',
    ConfigApplied: 'ConfigNotApplied',
  };
  return {
    type: 'Ready',
    status: first.status === 'Unknown' ? 'Unknown' : 'False',
    reason: reasons[first.type] ?? 'NotReady',
    message: first.message,
  };
}

function sameStatus(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** What one concern of the reconcile decides: its actions and its condition(s). */
interface Part {
  actions: Action[];
  conditions: ConditionDraft[];
}

const unknownNats = (type: ConditionType, message: string): ConditionDraft => ({
  type,
  status: 'Unknown',
  reason: 'NatsUnavailable',
  message,
});

/** The JetStream streams: create the missing, update the changed, report what cannot change. */
export function reconcileStreams(resource: OrderFlow, js: Observed['jetstream']): Part {
  if (!js.reachable) return { actions: [], conditions: [unknownNats('StreamReady', js.message)] };
  const actions: Action[] = [];
  const drift: string[] = [];
  for (const want of wantedStreams(resource)) {
    const have = js.streams[want.name] ?? null;
    if (!have) {
      actions.push({ type: 'CreateStream', config: want });
      continue;
    }
    const diff = diffStream(want, have, js.clustered);
    drift.push(...diff.drift);
    if (diff.changes.length > 0)
      actions.push({ type: 'UpdateStream', config: diff.update, changes: diff.changes });
  }
  const names = wantedStreams(resource)
    .map((w) => w.name)
    .join(' and ');
  const condition: ConditionDraft =
    drift.length > 0
      ? { type: 'StreamReady', status: 'False', reason: 'StreamDrift', message: drift.join('; ') }
      : {
          type: 'StreamReady',
          status: 'True',
          reason: 'StreamInSync',
          message: `streams ${names} match the resource`,
        };
  return { actions, conditions: [condition] };
}

function consumersCondition(missing: string[], drift: string[]): ConditionDraft {
  if (missing.length > 0)
    return {
      type: 'ConsumersReady',
      status: 'False',
      reason: 'ConsumerMissing',
      message: `consumer ${missing.join(', ')} missing; creating`,
    };
  if (drift.length > 0)
    return {
      type: 'ConsumersReady',
      status: 'False',
      reason: 'ConsumerDrift',
      message: drift.join('; '),
    };
  return {
    type: 'ConsumersReady',
    status: 'True',
    reason: 'ConsumersInSync',
    message: 'all consumers match the resource',
  };
}

/** The durable consumers: create the missing, update the changed; their lag for the status. */
export function reconcileConsumers(
  resource: OrderFlow,
  js: Observed['jetstream'],
  previous: ConsumerStatus[],
): Part & { statuses: ConsumerStatus[]; queryLag: number | undefined } {
  if (!js.reachable)
    return {
      actions: [],
      conditions: [unknownNats('ConsumersReady', js.message)],
      statuses: previous,
      queryLag: undefined,
    };
  const actions: Action[] = [];
  const missing: string[] = [];
  const drift: string[] = [];
  const statuses: ConsumerStatus[] = [];
  let queryLag: number | undefined;
  for (const want of wantedConsumers(resource)) {
    const have = js.consumers[want.name] ?? null;
    if (!have) {
      missing.push(want.name);
      actions.push({ type: 'CreateConsumer', config: want });
      statuses.push({ name: want.name, present: false, numPending: 0, numAckPending: 0, lag: 0 });
      continue;
    }
    const lag = have.numPending + have.numAckPending;
    statuses.push({
      name: want.name,
      present: true,
      numPending: have.numPending,
      numAckPending: have.numAckPending,
      lag,
    });
    if (want.name === consumerNames.orderQuery) queryLag = lag;
    const diff = diffConsumer(want, have);
    drift.push(...diff.drift);
    if (diff.changes.length > 0)
      actions.push({ type: 'UpdateConsumer', config: want, changes: diff.changes });
  }
  return { actions, conditions: [consumersCondition(missing, drift)], statuses, queryLag };
}

/** The catalog to write: the resource's, else (missing or invalid) the one written before. */
function catalogToWrite(observed: Observed, currentText: string | undefined) {
  const previousCatalog = (): unknown => {
    try {
      return currentText === undefined
        ? undefined
        : (JSON.parse(currentText) as Partial<RuntimeConfig>).restaurant?.catalog;
    } catch {
      return undefined;
    }
  };
  if (observed.catalog.state === 'missing')
    return {
      catalog: previousCatalog(),
      problem: { reason: 'CatalogNotFound', message: observed.catalog.message },
    };
  if (observed.catalog.state !== 'found') return { catalog: undefined, problem: undefined };
  try {
    const catalog = JSON.parse(observed.catalog.text) as unknown;
    if (typeof catalog !== 'object' || catalog === null || Array.isArray(catalog))
      throw new Error('the catalog must be a JSON object');
    return { catalog, problem: undefined };
  } catch (err: unknown) {
    const message = `restaurant catalog is not valid: ${err instanceof Error ? err.message : String(err)}`;
    return { catalog: previousCatalog(), problem: { reason: 'CatalogInvalid', message } };
  }
}

/** The runtime ConfigMap the services read: written when it differs from the resource. */
export function reconcileRuntimeConfig(resource: OrderFlow, observed: Observed): Part {
  const name = resource.metadata.name;
  const namespace = resource.metadata.namespace ?? 'default';
  const configName = runtimeConfigMapName(name);
  const currentText = observed.runtimeConfigMap?.data[RUNTIME_KEY];
  const { catalog, problem } = catalogToWrite(observed, currentText);
  const runtimeText = `${JSON.stringify(buildRuntimeConfig(resource, catalog), null, 2)}\n`;
  const actions: Action[] = [];
  if (currentText !== runtimeText) {
    const uid = resource.metadata.uid;
    actions.push({
      type: 'WriteConfigMap',
      name: configName,
      namespace,
      create: observed.runtimeConfigMap === null,
      data: { ...(observed.runtimeConfigMap?.data ?? {}), [RUNTIME_KEY]: runtimeText },
      ...(uid
        ? {
            ownerReference: {
              apiVersion: 'orderflow.io/v1alpha1',
              kind: 'OrderFlow',
              name,
              uid,
              controller: true,
            },
          }
        : {}),
    });
  }
  const condition: ConditionDraft = problem
    ? {
        type: 'ConfigApplied',
        status: 'False',
        reason: problem.reason,
        message: `${problem.message}; the rest of ${configName} is written, the previous catalog kept`,
      }
    : {
        type: 'ConfigApplied',
        status: 'True',
        reason: 'ConfigInSync',
        message: `ConfigMap ${configName} key ${RUNTIME_KEY} matches the resource`,
      };
  return { actions, conditions: [condition] };
}

const scaleAction = (
  name: string,
  namespace: string,
  from: number,
  d: { target: number; reason: string },
): Action => ({ type: 'ScaleDeployment', name, namespace, from, to: d.target, reason: d.reason });

/** Query-worker scaling on the consumer's lag (HPA-like: recommendations kept in `history`). */
export function reconcileScaling(
  resource: OrderFlow,
  observed: Observed,
  queryLag: number | undefined,
  now: number,
): Part & { queryWorkers: OrderFlowStatus['queryWorkers']; history: ScaleHistory | undefined } {
  const namespace = resource.metadata.namespace ?? 'default';
  const deployment = queryWorkerDeploymentName(resource.metadata.name);
  const queryWorkers: OrderFlowStatus['queryWorkers'] = { deployment };
  const lastScaleTime = observed.status?.queryWorkers?.lastScaleTime;
  if (lastScaleTime) queryWorkers.lastScaleTime = lastScaleTime;
  const part = (
    condition: Omit<ConditionDraft, 'type'>,
    actions: Action[] = [],
    history = observed.history,
  ) => ({
    actions,
    conditions: [{ type: 'Scaling' as const, ...condition }],
    queryWorkers,
    history,
  });
  if (observed.scale === null)
    return part({
      status: 'False',
      reason: 'DeploymentNotFound',
      message: `Deployment ${deployment} not found`,
    });
  const running = observed.scale.replicas;
  queryWorkers.replicas = running;
  if (queryLag === undefined) {
    const why = observed.jetstream.reachable
      ? 'consumer order-query is missing'
      : 'NATS is unreachable';
    return part({
      status: 'False',
      reason: 'LagUnknown',
      message: `${why}; keeping ${running} replicas`,
    });
  }
  const spec = resource.spec.queryWorkers;
  const decision = decideScale(running, queryLag, spec, observed.history, now);
  queryWorkers.desiredReplicas = decision.target;
  queryWorkers.lag = queryLag;
  const actions: Action[] = [];
  if (decision.target !== running) {
    actions.push(scaleAction(deployment, namespace, running, decision));
    queryWorkers.replicas = decision.target;
    queryWorkers.lastScaleTime = new Date(now).toISOString();
  }
  const message = `lag ${queryLag}, recommended ${decision.recommended}, running ${running}, target ${decision.target}`;
  return part({ status: 'True', reason: decision.reason, message }, actions, decision.history);
}

/**
 * The operator's decision, free of I/O: from the resource and what the cluster and JetStream look
 * like now, the actions that make them match, and the status to report once they succeeded. Each
 * concern (streams, consumers, runtime config, scaling) decides its own actions and condition.
 *
 * Deletion: the runtime ConfigMap carries an ownerReference to the OrderFlow, so the Kubernetes
 * garbage collector removes it; the JetStream stream and consumers are kept (they hold the events),
 * so no finalizer is needed and a deleted resource yields no actions.
 */
export function reconcile(
  resource: OrderFlow | null,
  observed: Observed,
  now: number,
): ReconcileResult {
  if (!resource || resource.metadata.deletionTimestamp) {
    return { actions: [], status: normaliseStatus(observed.status, resource), history: undefined };
  }
  const generation = resource.metadata.generation;
  const js = observed.jetstream;
  const streams = reconcileStreams(resource, js);
  const consumers = reconcileConsumers(resource, js, observed.status?.consumers ?? []);
  const config = reconcileRuntimeConfig(resource, observed);
  const scaling = reconcileScaling(resource, observed, consumers.queryLag, now);
  const parts = [streams, consumers, config, scaling];
  const drafts = parts.flatMap((p) => p.conditions);
  drafts.push(readyCondition(drafts));
  const status: OrderFlowStatus = {
    ...(generation === undefined ? {} : { observedGeneration: generation }),
    conditions: finishConditions(drafts, observed.status?.conditions, generation, now),
    consumers: consumers.statuses,
    queryWorkers: scaling.queryWorkers,
  };
  const actions = parts.flatMap((p) => p.actions);
  if (!sameStatus(status, observed.status)) actions.push({ type: 'PatchStatus', status });
  return { actions, status, history: scaling.history };
}

function normaliseStatus(
  status: Partial<OrderFlowStatus> | undefined,
  resource: OrderFlow | null,
): OrderFlowStatus {
  return {
    ...(status?.observedGeneration === undefined
      ? {}
      : { observedGeneration: status.observedGeneration }),
    conditions: status?.conditions ?? [],
    consumers: status?.consumers ?? [],
    queryWorkers: status?.queryWorkers ?? {
      deployment: queryWorkerDeploymentName(resource?.metadata.name ?? ''),
    },
  };
}

export interface ActionFailure {
  action: Action;
  message: string;
}

const FAILURE_CONDITION: Record<Action['type'], { type: ConditionType; reason: string } | null> = {
  CreateStream: { type: 'StreamReady', reason: 'StreamCreateFailed' },
  UpdateStream: { type: 'StreamReady', reason: 'StreamUpdateFailed' },
  CreateConsumer: { type: 'ConsumersReady', reason: 'ConsumerCreateFailed' },
  UpdateConsumer: { type: 'ConsumersReady', reason: 'ConsumerUpdateFailed' },
  WriteConfigMap: { type: 'ConfigApplied', reason: 'ConfigWriteFailed' },
  ScaleDeployment: { type: 'Scaling', reason: 'ScaleFailed' },
  PatchStatus: null,
};

/** The status to report when some actions failed: their conditions turn False with the error. */
export function applyFailures(
  status: OrderFlowStatus,
  failures: ActionFailure[],
  previous: Condition[] | undefined,
  now: number,
): OrderFlowStatus {
  if (failures.length === 0) return status;
  const drafts: ConditionDraft[] = status.conditions.map(
    ({ type, status: s, reason, message }) => ({ type, status: s, reason, message }),
  );
  for (const failure of failures) {
    const target = FAILURE_CONDITION[failure.action.type];
    if (!target) continue;
    const message = failure.message;
    const index = drafts.findIndex((d) => d.type === target.type);
    const draft: ConditionDraft = {
      type: target.type,
      status: 'False',
      reason: target.reason,
      message,
    };
    if (index >= 0) {
      const existing = drafts[index];
      drafts[index] =
        existing && existing.status === 'False' && existing.reason === target.reason
          ? { ...draft, message: `${existing.message}; ${message}` }
          : draft;
    } else drafts.push(draft);
  }
  const withoutReady = drafts.filter((d) => d.type !== 'Ready');
  withoutReady.push(readyCondition(withoutReady));
  const queryWorkers = { ...status.queryWorkers };
  if (failures.some((f) => f.action.type === 'ScaleDeployment')) {
    const scale = failures.find((f) => f.action.type === 'ScaleDeployment')?.action;
    if (scale?.type === 'ScaleDeployment') queryWorkers.replicas = scale.from;
  }
  return {
    ...status,
    conditions: finishConditions(withoutReady, previous, status.observedGeneration, now),
    queryWorkers,
  };
}
