import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  jetstreamManager,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type ConsumerInfo,
  type JetStreamManager,
  type StreamInfo,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { EVENT_SUBJECTS, SERVER_MAX_DELIVER } from '../domain/reconcile';
import type {
  ConsumerConfigWanted,
  ConsumerObserved,
  JetStreamObserved,
  StreamConfigWanted,
  StreamObserved,
} from '../domain/types';

const NS_PER_MS = 1_000_000;
const toNanos = (ms: number) => ms * NS_PER_MS;
const toMs = (ns: number) => Math.round(ns / NS_PER_MS);

/** The JetStream management the operator needs; `observe` never throws (an outage is an observation). */
export interface JetStreamPort {
  observe(
    streams: string[],
    stream: string,
    consumers: readonly string[],
  ): Promise<JetStreamObserved>;
  createStream(config: StreamConfigWanted): Promise<void>;
  updateStream(config: StreamConfigWanted): Promise<void>;
  createConsumer(config: ConsumerConfigWanted): Promise<void>;
  updateConsumer(config: ConsumerConfigWanted): Promise<void>;
}

function isNotFound(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamNotFound ||
      err.code === JetStreamApiCodes.ConsumerNotFound)
  );
}

function streamObserved(info: StreamInfo): StreamObserved {
  const c = info.config;
  return {
    name: c.name,
    subjects: c.subjects ?? [],
    storage: c.storage === StorageType.Memory ? 'memory' : 'file',
    replicas: c.num_replicas,
    maxAgeMs: toMs(c.max_age),
    duplicateWindowMs: toMs(c.duplicate_window),
    retention:
      c.retention === RetentionPolicy.Interest
        ? 'interest'
        : c.retention === RetentionPolicy.Workqueue
          ? 'workqueue'
          : 'limits',
  };
}

function consumerObserved(info: ConsumerInfo): ConsumerObserved {
  const c = info.config;
  return {
    name: info.name,
    ackPolicy:
      c.ack_policy === AckPolicy.All
        ? 'all'
        : c.ack_policy === AckPolicy.None
          ? 'none'
          : 'explicit',
    deliverPolicy: c.deliver_policy,
    push: Boolean(c.deliver_subject),
    ackWaitMs: toMs(c.ack_wait ?? 0),
    maxDeliver: c.max_deliver ?? -1,
    maxAckPending: c.max_ack_pending ?? -1,
    // Consumer info is answered by the stream's leader, so these counts are current.
    numPending: info.num_pending,
    numAckPending: info.num_ack_pending,
  };
}

/** What the operator may change of a stream in place. */
const streamSettings = (config: StreamConfigWanted) => ({
  subjects: config.subjects,
  num_replicas: config.replicas,
  max_age: toNanos(config.maxAgeMs),
  duplicate_window: toNanos(config.duplicateWindowMs),
});

/** What the operator may change of a consumer in place. */
const consumerSettings = (config: ConsumerConfigWanted) => ({
  ack_wait: toNanos(config.ackWaitMs),
  max_deliver: SERVER_MAX_DELIVER,
  max_ack_pending: config.maxAckPending,
});

/** A JetStream look-up that answers null for "not found". */
async function orNull<T>(lookUp: () => Promise<T>): Promise<T | null> {
  try {
    return await lookUp();
  } catch (err: unknown) {
    if (!isNotFound(err)) throw err;
    return null;
  }
}

async function observeJetStream(
  m: JetStreamManager,
  nc: NatsConnection,
  streams: string[],
  stream: string,
  consumers: readonly string[],
): Promise<JetStreamObserved> {
  const streamInfos: Record<string, StreamObserved | null> = {};
  for (const name of streams)
    streamInfos[name] = await orNull(async () => streamObserved(await m.streams.info(name)));
  const consumerInfos: Record<string, ConsumerObserved | null> = {};
  for (const name of consumers)
    consumerInfos[name] = streamInfos[stream]
      ? await orNull(async () => consumerObserved(await m.consumers.info(stream, name)))
      : null;
  return {
    reachable: true,
    streams: streamInfos,
    consumers: consumerInfos,
    clustered: Boolean(nc.info?.cluster),
  };
}

export function createJetStreamAdapter(nc: NatsConnection): JetStreamPort {
  let manager: Promise<JetStreamManager> | undefined;
  const jsm = async () => {
    manager ??= jetstreamManager(nc).catch((err: unknown) => {
      manager = undefined;
      throw err;
    });
    return manager;
  };

  return {
    async observe(streams, stream, consumers) {
      try {
        return await observeJetStream(await jsm(), nc, streams, stream, consumers);
      } catch (err: unknown) {
        return {
          reachable: false,
          message: `JetStream: ${err instanceof Error ? err.message : String(err)}`,
        };
      }
    },

    async createStream(config) {
      await (
        await jsm()
      ).streams.add({
        name: config.name,
        storage: config.storage === 'memory' ? StorageType.Memory : StorageType.File,
        retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.Old,
        ...streamSettings(config),
      });
    },
    async updateStream(config) {
      await (await jsm()).streams.update(config.name, streamSettings(config));
    },
    async createConsumer(config) {
      await (
        await jsm()
      ).consumers.add(config.stream, {
        durable_name: config.name,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        // The same consumer the services' ensureConsumer() would create (@orderflow/platform).
        filter_subject: EVENT_SUBJECTS,
        ...consumerSettings(config),
      });
    },
    async updateConsumer(config) {
      await (await jsm()).consumers.update(config.stream, config.name, consumerSettings(config));
    },
  };
}
