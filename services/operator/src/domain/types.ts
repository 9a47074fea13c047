import type { ConsumerName } from './spec';

/** What the operator wants a JetStream stream to look like (retention limits, discard old). */
export interface StreamConfigWanted {
  name: string;
  subjects: string[];
  storage: 'file' | 'memory';
  replicas: number;
  maxAgeMs: number;
  duplicateWindowMs: number;
}

/** A stream as JetStream reports it. */
export interface StreamObserved extends StreamConfigWanted {
  retention: 'limits' | 'interest' | 'workqueue';
}

export interface ConsumerConfigWanted {
  stream: string;
  name: ConsumerName;
  ackWaitMs: number;
  maxDeliver: number;
  maxAckPending: number;
}

export interface ConsumerObserved {
  name: string;
  ackPolicy: 'explicit' | 'all' | 'none';
  deliverPolicy: string;
  /** A push consumer (deliver_subject set) cannot become a pull consumer in place. */
  push: boolean;
  ackWaitMs: number;
  maxDeliver: number;
  maxAckPending: number;
  numPending: number;
  numAckPending: number;
}

export type JetStreamObserved =
  | {
      reachable: true;
      /** Streams by name; null when the stream does not exist. */
      streams: Record<string, StreamObserved | null>;
      /** Consumers of the main stream by durable name; null when missing. */
      consumers: Record<string, ConsumerObserved | null>;
      /** Whether the server runs in a cluster (replicas above 1 need one). */
      clustered: boolean;
    }
  | { reachable: false; message: string };

export type ConditionType =
  'Ready' | 'StreamReady' | 'ConsumersReady' | 'ConfigApplied' | 'Scaling';
export const CONDITION_TYPES: readonly ConditionType[] = [
  'Ready',
  'StreamReady',
  'ConsumersReady',
  'ConfigApplied',
  'Scaling',
];

export interface Condition {
  type: ConditionType;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface ConsumerStatus {
  name: string;
  present: boolean;
  numPending: number;
  numAckPending: number;
  lag: number;
}

export interface OrderFlowStatus {
  observedGeneration?: number;
  conditions: Condition[];
  consumers: ConsumerStatus[];
  queryWorkers: {
    deployment: string;
    replicas?: number;
    desiredReplicas?: number;
    lag?: number;
    lastScaleTime?: string;
  };
}

/** One scaling recommendation, kept in memory like the HPA's. */
export interface Recommendation {
  at: number;
  replicas: number;
}
export interface ScaleHistory {
  /** When the operator started recording for this object: a window younger than this is not covered. */
  since: number;
  recommendations: Recommendation[];
}

export interface ConfigMapObserved {
  data: Record<string, string>;
}

export type CatalogObserved =
  | { state: 'notConfigured' }
  | { state: 'found'; text: string }
  | { state: 'missing'; message: string };

export interface Observed {
  jetstream: JetStreamObserved;
  runtimeConfigMap: ConfigMapObserved | null;
  catalog: CatalogObserved;
  /** The query-worker Deployment's scale; null when the Deployment does not exist. */
  scale: { replicas: number } | null;
  status: Partial<OrderFlowStatus> | undefined;
  history: ScaleHistory | undefined;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller: boolean;
}

export type Action =
  | { type: 'CreateStream'; config: StreamConfigWanted }
  | { type: 'UpdateStream'; config: StreamConfigWanted; changes: string[] }
  | { type: 'CreateConsumer'; config: ConsumerConfigWanted }
  | { type: 'UpdateConsumer'; config: ConsumerConfigWanted; changes: string[] }
  | {
      type: 'WriteConfigMap';
      name: string;
      namespace: string;
      create: boolean;
      data: Record<string, string>;
      ownerReference?: OwnerReference;
    }
  | {
      type: 'ScaleDeployment';
      name: string;
      namespace: string;
      from: number;
      to: number;
      reason: string;
    }
  | { type: 'PatchStatus'; status: OrderFlowStatus };

export interface ReconcileResult {
  actions: Action[];
  /** The status written when every action succeeds (also inside the PatchStatus action when it changed). */
  status: OrderFlowStatus;
  history: ScaleHistory | undefined;
}
