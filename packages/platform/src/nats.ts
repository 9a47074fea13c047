import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  jetstreamManager,
  type ConsumerConfig,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { subjects } from '@orderflow/contracts';
import { natsConnectOptions } from './nats-auth';

export type { NatsConnection } from '@nats-io/transport-node';

export { subjects } from '@orderflow/contracts';

/**
 * Connects with unlimited reconnects: a NATS restart makes the service unready (its readiness
 * checks fail) instead of killing it. `noAsyncTraces` skips the stack trace nats.js captures for
 * every request (every JetStream publish) so that a failed request can name its caller: that
 * capture costs more CPU than the rest of a publish (docs/performance.md); the event store, which
 * publishes every event, turns it off. `url` may carry credentials (`nats://user:pass@host:port`,
 * the chart's NATS_URL): they are passed as `user`/`pass`, since nats.js ignores userinfo in
 * server URLs, and never logged.
 */
export async function connectNats(
  url: string,
  logger: Logger,
  name: string,
  options: { noAsyncTraces?: boolean; waitOnFirstConnect?: boolean } = {},
): Promise<NatsConnection> {
  const { servers, user, pass } = natsConnectOptions(url);
  const nc = await connect({
    servers,
    ...(user === undefined ? {} : { user, pass }),
    name,
    noAsyncTraces: options.noAsyncTraces ?? false,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    // false: fail at once when no server answers (a caller that retries on its own, and can stop).
    waitOnFirstConnect: options.waitOnFirstConnect ?? true,
    pingInterval: 5_000,
    maxPingOut: 2,
  });
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error')
        logger.warn({ nats: s.type }, 'nats connection status');
    }
  })().catch(() => undefined);
  logger.info({ server: nc.getServer(), user }, 'connected to nats');
  return nc;
}

/** Readiness check: the connection is up and JetStream answers. */
export async function checkJetStream(jsm: JetStreamManager): Promise<void> {
  await jsm.getAccountInfo();
}

/** Readiness check for a service's NATS connection and JetStream. */
export const natsCheck =
  (nc: NatsConnection, jsm: JetStreamManager): (() => Promise<void>) =>
  async () => {
    if (nc.isClosed()) throw new Error('nats connection closed');
    await checkJetStream(jsm);
  };

export interface StreamSettings {
  name: string;
  replicas?: number;
  maxAgeSeconds?: number;
  duplicateWindowSeconds?: number;
}

const nanos = (seconds: number): number => Math.round(seconds * 1e9);

export function orderStreamConfig(s: StreamSettings): Partial<StreamConfig> & { name: string } {
  return {
    name: s.name,
    subjects: [subjects.allEvents],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    num_replicas: s.replicas ?? 1,
    max_age: nanos(s.maxAgeSeconds ?? 7 * 24 * 3600),
    duplicate_window: nanos(s.duplicateWindowSeconds ?? 120),
  };
}

export function deadLetterStreamConfig(
  s: StreamSettings,
): Partial<StreamConfig> & { name: string } {
  return {
    name: subjects.deadLetterStream(s.name),
    subjects: [subjects.allDeadLetters],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    num_replicas: s.replicas ?? 1,
    max_age: nanos(30 * 24 * 3600),
    duplicate_window: nanos(s.duplicateWindowSeconds ?? 120),
  };
}

/**
 * Creates the order stream and its dead-letter stream when they are missing. An existing stream
 * is left as it is: the operator owns its settings.
 */
export async function ensureStreams(jsm: JetStreamManager, s: StreamSettings): Promise<void> {
  for (const cfg of [orderStreamConfig(s), deadLetterStreamConfig(s)]) {
    try {
      await jsm.streams.info(cfg.name);
    } catch (err: unknown) {
      if (!isNotFound(err)) throw err;
      try {
        await jsm.streams.add(cfg);
      } catch (addErr: unknown) {
        // Another replica created it between our look-up and our add.
        if (!/already in use|exists/i.test(String(addErr))) throw addErr;
      }
    }
  }
}

export interface ConsumerSettings {
  durable: string;
  filterSubject?: string;
  ackWaitMs?: number;
  maxAckPending?: number;
}

export function durableConsumerConfig(c: ConsumerSettings): Partial<ConsumerConfig> {
  return {
    durable_name: c.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: c.filterSubject ?? subjects.allEvents,
    ack_wait: nanos((c.ackWaitMs ?? 30_000) / 1000),
    // Redelivery is unlimited on the server; the consumer itself dead-letters after its own
    // MaxDeliver, so that a crash during the last attempt cannot lose a message.
    max_deliver: -1,
    max_ack_pending: c.maxAckPending ?? 1000,
  };
}

/** Creates the durable consumer when missing; an existing one keeps the operator's settings. */
export async function ensureConsumer(
  jsm: JetStreamManager,
  stream: string,
  c: ConsumerSettings,
): Promise<void> {
  try {
    await jsm.consumers.info(stream, c.durable);
  } catch (err: unknown) {
    if (!isNotFound(err)) throw err;
    try {
      await jsm.consumers.add(stream, durableConsumerConfig(c));
    } catch (addErr: unknown) {
      if (!/already exists|in use/i.test(String(addErr))) throw addErr;
    }
  }
}

export function isNotFound(err: unknown): boolean {
  return /not found/i.test(err instanceof Error ? err.message : String(err));
}

export async function jsManager(nc: NatsConnection): Promise<JetStreamManager> {
  return jetstreamManager(nc, { timeout: 5_000 });
}

/**
 * Drains a connection (subscriptions finish, pending publishes flush) but waits at most
 * `timeoutMs`: with the server gone, a drain would wait for a reconnection that never comes,
 * past the pod's grace period. The connection is closed either way.
 */
export async function drainNats(nc: NatsConnection, timeoutMs = 5_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    nc.drain().catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
  if (!nc.isClosed()) await nc.close().catch(() => undefined);
}
