import {
  ApiException,
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  V1MicroTime,
  Watch,
  type KubeConfig,
  type V1Lease,
} from '@kubernetes/client-node';
import type { Action, OrderFlowStatus } from '../domain/types';

export const GROUP = 'orderflow.io';
export const VERSION = 'v1alpha1';
export const PLURAL = 'orderflows';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface LeaseRecord {
  holder: string | undefined;
  durationSeconds: number;
  acquireTime: Date | undefined;
  renewTime: Date | undefined;
  transitions: number;
  resourceVersion: string | undefined;
}

/** The Kubernetes calls the operator makes; the adapter below is the only implementation. */
export interface KubePort {
  listOrderFlows(namespace: string): Promise<{ items: unknown[]; resourceVersion: string }>;
  /** Streams watch events until the server closes the stream or an error occurs; returns a stop function. */
  watchOrderFlows(
    namespace: string,
    resourceVersion: string,
    onEvent: (type: WatchEventType, object: unknown) => void,
    onDone: (err: unknown) => void,
  ): Promise<() => void>;
  getOrderFlow(namespace: string, name: string): Promise<unknown>;
  patchOrderFlowStatus(namespace: string, name: string, status: OrderFlowStatus): Promise<void>;
  readConfigMap(namespace: string, name: string): Promise<{ data: Record<string, string> } | null>;
  writeConfigMap(action: Extract<Action, { type: 'WriteConfigMap' }>): Promise<void>;
  readScale(namespace: string, name: string): Promise<{ replicas: number } | null>;
  scaleDeployment(namespace: string, name: string, replicas: number): Promise<void>;
  readLease(namespace: string, name: string): Promise<LeaseRecord | null>;
  /** false when someone else wrote the Lease first (409 Conflict). */
  createLease(namespace: string, name: string, lease: LeaseRecord): Promise<boolean>;
  replaceLease(namespace: string, name: string, lease: LeaseRecord): Promise<boolean>;
}

export function isStatus(err: unknown, code: number): boolean {
  return err instanceof ApiException && err.code === code;
}

async function orNull<T>(call: Promise<T>): Promise<T | null> {
  try {
    return await call;
  } catch (err: unknown) {
    if (isStatus(err, 404)) return null;
    throw err;
  }
}

// MicroTime fields come back as strings (the generated client has no deserializer for them).
const asDate = (value: unknown): Date | undefined =>
  typeof value === 'string' || value instanceof Date ? new Date(value) : undefined;

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

function leaseBody(name: string, lease: LeaseRecord): V1Lease {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name,
      ...(lease.resourceVersion ? { resourceVersion: lease.resourceVersion } : {}),
    },
    spec: {
      ...(lease.holder === undefined ? {} : { holderIdentity: lease.holder }),
      leaseDurationSeconds: lease.durationSeconds,
      ...(lease.acquireTime ? { acquireTime: new V1MicroTime(lease.acquireTime.getTime()) } : {}),
      ...(lease.renewTime ? { renewTime: new V1MicroTime(lease.renewTime.getTime()) } : {}),
      leaseTransitions: lease.transitions,
    },
  };
}

type OrderFlowApi = Pick<
  KubePort,
  'listOrderFlows' | 'watchOrderFlows' | 'getOrderFlow' | 'patchOrderFlowStatus'
>;
type WorkloadApi = Pick<
  KubePort,
  'readConfigMap' | 'writeConfigMap' | 'readScale' | 'scaleDeployment'
>;
type LeaseApi = Pick<KubePort, 'readLease' | 'createLease' | 'replaceLease'>;

/** The OrderFlow custom resources: list, watch, get, status. */
function orderFlowApi(kc: KubeConfig): OrderFlowApi {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const watch = new Watch(kc);
  const crd = (namespace: string) => ({
    group: GROUP,
    version: VERSION,
    plural: PLURAL,
    namespace,
  });
  return {
    async listOrderFlows(namespace) {
      const list = (await custom.listNamespacedCustomObject(crd(namespace))) as {
        items?: unknown[];
        metadata?: { resourceVersion?: string };
      };
      return { items: list.items ?? [], resourceVersion: list.metadata?.resourceVersion ?? '' };
    },

    async watchOrderFlows(namespace, resourceVersion, onEvent, onDone) {
      const controller = await watch.watch(
        `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}`,
        { resourceVersion, allowWatchBookmarks: true },
        (type: string, object: unknown) => onEvent(type as WatchEventType, object),
        onDone,
      );
      return () => controller.abort();
    },

    async getOrderFlow(namespace, name) {
      return orNull(
        custom.getNamespacedCustomObject({ ...crd(namespace), name }) as Promise<unknown>,
      );
    },

    async patchOrderFlowStatus(namespace, name, status) {
      await custom.patchNamespacedCustomObjectStatus(
        { ...crd(namespace), name, body: { status } },
        mergePatch,
      );
    },
  };
}

/** The runtime ConfigMap and the query workers' scale. */
function workloadApi(kc: KubeConfig): WorkloadApi {
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  return {
    async readConfigMap(namespace, name) {
      const cm = await orNull(core.readNamespacedConfigMap({ namespace, name }));
      return cm ? { data: cm.data ?? {} } : null;
    },

    async writeConfigMap(action) {
      const body = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: action.name,
          namespace: action.namespace,
          labels: {
            'app.kubernetes.io/managed-by': 'orderflow-operator',
            'app.kubernetes.io/part-of': 'orderflow',
          },
          ...(action.ownerReference ? { ownerReferences: [action.ownerReference] } : {}),
        },
        data: action.data,
      };
      if (action.create) {
        try {
          await core.createNamespacedConfigMap({ namespace: action.namespace, body });
          return;
        } catch (err: unknown) {
          if (!isStatus(err, 409)) throw err;
        }
      }
      await core.replaceNamespacedConfigMap({
        namespace: action.namespace,
        name: action.name,
        body,
      });
    },

    async readScale(namespace, name) {
      const scale = await orNull(apps.readNamespacedDeploymentScale({ namespace, name }));
      return scale ? { replicas: scale.spec?.replicas ?? 0 } : null;
    },

    async scaleDeployment(namespace, name, replicas) {
      await apps.patchNamespacedDeploymentScale(
        { namespace, name, body: { spec: { replicas } } },
        mergePatch,
      );
    },
  };
}

/** The leader election's Lease. */
function leaseApi(kc: KubeConfig): LeaseApi {
  const coordination = kc.makeApiClient(CoordinationV1Api);
  return {
    async readLease(namespace, name) {
      const lease = await orNull(coordination.readNamespacedLease({ namespace, name }));
      if (!lease) return null;
      return {
        holder: lease.spec?.holderIdentity,
        durationSeconds: lease.spec?.leaseDurationSeconds ?? 15,
        acquireTime: asDate(lease.spec?.acquireTime),
        renewTime: asDate(lease.spec?.renewTime),
        transitions: lease.spec?.leaseTransitions ?? 0,
        resourceVersion: lease.metadata?.resourceVersion,
      };
    },

    async createLease(namespace, name, lease) {
      try {
        await coordination.createNamespacedLease({ namespace, body: leaseBody(name, lease) });
        return true;
      } catch (err: unknown) {
        if (isStatus(err, 409)) return false;
        throw err;
      }
    },

    async replaceLease(namespace, name, lease) {
      try {
        await coordination.replaceNamespacedLease({
          namespace,
          name,
          body: leaseBody(name, lease),
        });
        return true;
      } catch (err: unknown) {
        if (isStatus(err, 409)) return false;
        throw err;
      }
    },
  };
}

export function createKubeAdapter(kc: KubeConfig): KubePort {
  return { ...orderFlowApi(kc), ...workloadApi(kc), ...leaseApi(kc) };
}
