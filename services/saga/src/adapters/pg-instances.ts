import { retrySerializable, type Pool } from '@orderflow/platform';
import type { DueInstance, SagaInstancesPort } from '../application/ports';
import { instanceStatuses, type InstanceStatus } from '../domain/workflow';

const isInstanceStatus = (s: string): s is InstanceStatus =>
  (instanceStatuses as readonly string[]).includes(s);

/**
 * The saga's own table `saga_instances`: each order's status and the deadline of its current wait.
 * Statements run on PostgreSQL and CockroachDB.
 */
export class SagaInstances implements SagaInstancesPort {
  constructor(
    private readonly pool: Pool,
    private readonly onRetry?: () => void,
  ) {}

  /**
   * Records the status after `lastVersion`. A write older than the row's version is dropped (two
   * handlers of one order raced). When the status stays the same, the deadline set on entering it
   * stays too, so a redelivery or a changed runtime timeout never moves a running deadline.
   * Returns the status the row had before (undefined for a new row) and whether this write applied.
   */
  async record(
    orderId: string,
    state: InstanceStatus,
    deadline: Date | null,
    lastVersion: number,
  ): Promise<{ previous: InstanceStatus | undefined; applied: boolean }> {
    // One statement in the normal course, no explicit transaction (BEGIN, insert, lock, update
    // and COMMIT were five round trips): an order's first event (version 0) inserts the row,
    // every later one updates it; the other statement runs only when that guess was wrong.
    if (lastVersion === 0 && (await this.insert(orderId, state, deadline, lastVersion)))
      return { previous: undefined, applied: true };
    for (let attempt = 1; ; attempt++) {
      const row = await this.update(orderId, state, deadline, lastVersion);
      if (row) return row;
      if (await this.insert(orderId, state, deadline, lastVersion))
        return { previous: undefined, applied: true };
      // Another handler inserted the row between the two statements: update it now.
      if (attempt >= 3) throw new Error(`saga instance ${orderId}: insert and update kept racing`);
    }
  }

  /** Inserts the row unless it exists; true when this inserted it. */
  private async insert(
    orderId: string,
    state: InstanceStatus,
    deadline: Date | null,
    lastVersion: number,
  ): Promise<boolean> {
    const r = await retrySerializable(
      () =>
        this.pool.query({
          name: 'saga-record-insert',
          text: `INSERT INTO saga_instances (order_id, state, deadline, last_version) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (order_id) DO NOTHING RETURNING order_id`,
          values: [orderId, state, deadline, lastVersion],
        }),
      { onRetry: this.onRetry },
    );
    return r.rowCount === 1;
  }

  /**
   * Locks the row (reading its newest committed version, a racing handler's too) and updates it
   * unless it already reflects a later version of the stream; undefined when there is no row.
   */
  private async update(
    orderId: string,
    state: InstanceStatus,
    deadline: Date | null,
    lastVersion: number,
  ): Promise<{ previous: InstanceStatus | undefined; applied: boolean } | undefined> {
    const r = await retrySerializable(
      () =>
        this.pool.query<{ state: string; applied: boolean }>({
          name: 'saga-record-update',
          text: `WITH old AS (
               SELECT state, last_version FROM saga_instances WHERE order_id = $1 FOR UPDATE
             ), upd AS (
               UPDATE saga_instances s
                  SET deadline = CASE WHEN s.state = $2 AND $3::TIMESTAMPTZ IS NOT NULL
                                      THEN COALESCE(s.deadline, $3::TIMESTAMPTZ) ELSE $3::TIMESTAMPTZ END,
                      state = $2, last_version = $4, updated_at = now()
                 FROM old
                WHERE s.order_id = $1 AND old.last_version <= $4
               RETURNING 1
             )
             SELECT old.state, EXISTS (SELECT 1 FROM upd) AS applied FROM old`,
          values: [orderId, state, deadline, lastVersion],
        }),
      { onRetry: this.onRetry },
    );
    const row = r.rows[0];
    return row
      ? { previous: isInstanceStatus(row.state) ? row.state : undefined, applied: row.applied }
      : undefined;
  }

  async due(limit: number): Promise<DueInstance[]> {
    const r = await this.pool.query<{ order_id: string; state: string; deadline: string }>(
      `SELECT order_id, state, deadline::TEXT AS deadline FROM saga_instances
        WHERE deadline <= now() ORDER BY deadline LIMIT $1`,
      [limit],
    );
    return r.rows.flatMap((row) =>
      isInstanceStatus(row.state)
        ? [{ orderId: row.order_id, state: row.state, deadline: row.deadline }]
        : [],
    );
  }

  /**
   * Claims a due row for `leaseMs` with a compare-and-set on its deadline: of several replicas that
   * saw the same due row, exactly one moves its deadline and gets it. If the claimer dies, the row
   * comes due again when the lease ends. No lock is held while the event store is called.
   */
  async claim(row: DueInstance, leaseMs: number): Promise<boolean> {
    const r = await this.pool.query(
      `UPDATE saga_instances SET deadline = now() + $3::INT8 * INTERVAL '1 millisecond', updated_at = now()
        WHERE order_id = $1 AND deadline = $2::TIMESTAMPTZ RETURNING order_id`,
      [row.orderId, row.deadline, leaseMs],
    );
    return r.rowCount === 1;
  }

  async countByState(): Promise<Map<string, number>> {
    const r = await this.pool.query<{ state: string; n: number }>(
      'SELECT state, count(*)::INT8 AS n FROM saga_instances GROUP BY state',
    );
    return new Map(r.rows.map((row) => [row.state, Number(row.n)]));
  }

  /** Age in seconds of the oldest instance not yet Approved or Cancelled (0 when none). */
  async oldestInFlightAgeSeconds(): Promise<number> {
    const r = await this.pool.query<{ age: string | number | null }>(
      `SELECT EXTRACT(EPOCH FROM (now() - min(created_at))) AS age FROM saga_instances
        WHERE state NOT IN ('Approved', 'Cancelled')`,
    );
    const age = r.rows[0]?.age;
    return age === null || age === undefined ? 0 : Math.max(0, Number(age));
  }
}
