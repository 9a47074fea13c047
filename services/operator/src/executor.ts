import type { JetStreamPort } from './adapters/jetstream';
import type { KubePort } from './adapters/kube';
import type { ActionFailure } from './domain/reconcile';
import type { Action } from './domain/types';

export interface Ports {
  jetstream: JetStreamPort;
  kube?: KubePort;
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Runs the actions in order; a failure is recorded and the rest still runs (an unreachable
 * Deployment must not stop the stream from being configured). PatchStatus is left to the caller,
 * which first folds the failures into the status.
 */
export async function applyPlan(actions: Action[], ports: Ports): Promise<ActionFailure[]> {
  const failures: ActionFailure[] = [];
  for (const action of actions) {
    try {
      await applyAction(action, ports);
    } catch (err: unknown) {
      failures.push({ action, message: `${describeAction(action)}: ${errorText(err)}` });
    }
  }
  return failures;
}

async function applyAction(action: Action, ports: Ports): Promise<void> {
  switch (action.type) {
    case 'CreateStream':
      return ports.jetstream.createStream(action.config);
    case 'UpdateStream':
      return ports.jetstream.updateStream(action.config);
    case 'CreateConsumer':
      return ports.jetstream.createConsumer(action.config);
    case 'UpdateConsumer':
      return ports.jetstream.updateConsumer(action.config);
    case 'WriteConfigMap':
      return requireKube(ports).writeConfigMap(action);
    case 'ScaleDeployment':
      return requireKube(ports).scaleDeployment(action.namespace, action.name, action.to);
    case 'PatchStatus':
      return;
    default: {
      const never: never = action;
      throw new Error(`unknown action ${JSON.stringify(never)}`);
    }
  }
}

function requireKube(ports: Ports): KubePort {
  if (!ports.kube) throw new Error('no Kubernetes client');
  return ports.kube;
}

export function describeAction(action: Action): string {
  switch (action.type) {
    case 'CreateStream':
      return `create stream ${action.config.name} (subjects ${action.config.subjects.join(',')}, ${action.config.storage}, replicas ${action.config.replicas})`;
    case 'UpdateStream':
      return `update stream ${action.config.name}: ${action.changes.join(', ')}`;
    case 'CreateConsumer':
      return `create consumer ${action.config.stream}/${action.config.name} (ackWait ${action.config.ackWaitMs}ms, maxAckPending ${action.config.maxAckPending}; services dead-letter after ${action.config.maxDeliver} deliveries)`;
    case 'UpdateConsumer':
      return `update consumer ${action.config.stream}/${action.config.name}: ${action.changes.join(', ')}`;
    case 'WriteConfigMap':
      return `${action.create ? 'create' : 'replace'} ConfigMap ${action.namespace}/${action.name}`;
    case 'ScaleDeployment':
      return `scale Deployment ${action.namespace}/${action.name} ${action.from} -> ${action.to} (${action.reason})`;
    case 'PatchStatus':
      return 'patch status';
    default: {
      const never: never = action;
      return JSON.stringify(never);
    }
  }
}
