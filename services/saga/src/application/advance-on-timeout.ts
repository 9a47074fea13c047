import type { MessageOutcome } from '@orderflow/platform';
import { advanceSaga } from './advance-saga';
import type { DueInstance, SagaPorts } from './ports';

/** A due deadline this replica claimed: the saga decides on the stream as it is now. */
export const advanceOnTimeout = (ports: SagaPorts, row: DueInstance): Promise<MessageOutcome> =>
  advanceSaga(ports, row.orderId, { type: 'timeout', status: row.state }, (history) => ({
    correlationId: history.lastCorrelationId ?? row.orderId,
    causationId: history.lastEventId,
  }));
