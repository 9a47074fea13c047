import { InvalidEventError } from '@orderflow/events';
import { PoisonMessageError, type Logger } from '@orderflow/platform';
import type { RecordedEvent } from '@orderflow/contracts';
import type { VersionedEvent } from '../domain/projection';
import { toVersionedEvent } from './parse-message';

export interface RebuildReport {
  read: number;
  applied: number;
  duplicates: number;
  /** Events that are not order events of this catalogue (logged, not projected). */
  skipped: number;
  /** Events still waiting for an earlier version when the log ended (a damaged stream). */
  unresolved: number;
}

export interface RebuildPorts {
  orders: { apply(orderId: string, e: VersionedEvent): Promise<'applied' | 'duplicate' | 'gap'> };
  /** Every stored event, a page at a time (ReadAll). */
  pages: () => AsyncIterable<readonly RecordedEvent[]>;
  logger: Logger;
}

/** The stored event as the projection's input, or undefined (logged, counted) when it is not one. */
function parsed(r: RecordedEvent, report: RebuildReport, logger: Logger) {
  try {
    let data: unknown;
    try {
      data = JSON.parse(r.data);
    } catch {
      throw new PoisonMessageError('data is not JSON');
    }
    return toVersionedEvent({ ...r, data });
  } catch (err: unknown) {
    if (!(err instanceof PoisonMessageError || err instanceof InvalidEventError)) throw err;
    report.skipped++;
    logger.warn(
      { eventId: r.eventId, streamId: r.streamId, reason: err.message },
      'event skipped by the rebuild',
    );
    return undefined;
  }
}

/**
 * Projects every stored event into the (empty) read model. ReadAll is ordered by commit time, and
 * events committed in one append share it, so an event that arrives before its predecessor waits
 * in memory until the predecessor has been applied.
 */
export class ReadModelRebuild {
  readonly report: RebuildReport = {
    read: 0,
    applied: 0,
    duplicates: 0,
    skipped: 0,
    unresolved: 0,
  };
  private readonly waiting = new Map<string, Map<number, VersionedEvent>>();

  constructor(private readonly ports: RebuildPorts) {}

  async run(): Promise<RebuildReport> {
    for await (const page of this.ports.pages()) for (const r of page) await this.project(r);
    for (const w of this.waiting.values()) this.report.unresolved += w.size;
    return this.report;
  }

  private async project(r: RecordedEvent): Promise<void> {
    this.report.read++;
    const p = parsed(r, this.report, this.ports.logger);
    if (p) await this.applyWithFollowers(p.orderId, p.event);
  }

  /** Applies the event and then whatever waited for it; a gap waits for its predecessor. */
  private async applyWithFollowers(orderId: string, e: VersionedEvent): Promise<void> {
    let next: VersionedEvent | undefined = e;
    while (next) {
      const result = await this.ports.orders.apply(orderId, next);
      if (result === 'gap') {
        const w = this.waiting.get(orderId) ?? new Map<number, VersionedEvent>();
        w.set(next.version, next);
        this.waiting.set(orderId, w);
        return;
      }
      if (result === 'applied') this.report.applied++;
      else this.report.duplicates++;
      next = this.follower(orderId, next.version);
    }
  }

  private follower(orderId: string, version: number): VersionedEvent | undefined {
    const w = this.waiting.get(orderId);
    const follower = w?.get(version + 1);
    if (w && follower) {
      w.delete(follower.version);
      if (w.size === 0) this.waiting.delete(orderId);
    }
    return follower;
  }
}
