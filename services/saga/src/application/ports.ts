import type { Counter, EventSourcing, Logger } from '@orderflow/platform';
import type { InstanceStatus, Timeouts } from '../domain/workflow';
import type { KnownHistories } from './known-histories';

/** A due deadline that a replica may claim (adapters/pg-instances.ts). */
export interface DueInstance {
  orderId: string;
  state: InstanceStatus;
  /** The deadline as the database printed it: compared back exactly when the row is claimed. */
  deadline: string;
}

/** The saga's own table: each order's status and the deadline of its current wait. */
export interface SagaInstancesPort {
  record(
    orderId: string,
    state: InstanceStatus,
    deadline: Date | null,
    lastVersion: number,
  ): Promise<{ previous: InstanceStatus | undefined; applied: boolean }>;
  due(limit: number): Promise<DueInstance[]>;
  claim(row: DueInstance, leaseMs: number): Promise<boolean>;
}

export interface SagaMetrics {
  decisions: Pick<Counter<'decision'>, 'inc'>;
  approved: Pick<Counter, 'inc'>;
  cancelled: Pick<Counter<'reason'>, 'inc'>;
  timeoutsFired: Pick<Counter<'kind'>, 'inc'>;
  conflicts: Pick<Counter, 'inc'>;
  histories: Pick<Counter<'source'>, 'inc'>;
}

export interface SagaPorts {
  eventSourcing: EventSourcing;
  instances: SagaInstancesPort;
  known: KnownHistories;
  /** The current timeouts (environment, overridden by the runtime config). */
  timeouts: () => Timeouts;
  clock: () => Date;
  metrics: SagaMetrics;
  logger: Logger;
}
