/** An append waiting in the group-commit queue: its stream and its event ids are what matter here. */
export interface Schedulable {
  cmd: { streamId: string; events: readonly { eventId: string }[] };
}

/**
 * Picks the next group from the queue, pure: appends in arrival order, at most one per stream,
 * none to a stream that a running group is writing, none that share an event id, at most
 * `maxBatch`. The rest wait for a later group, and an append to a stream never overtakes an
 * earlier one to the same stream.
 */
export function takeBatch<P extends Schedulable>(
  queue: readonly P[],
  writing: ReadonlySet<string>,
  maxBatch: number,
): { batch: P[]; rest: P[] } {
  const batch: P[] = [];
  const rest: P[] = [];
  const streams = new Set<string>(writing);
  const ids = new Set<string>();
  for (const p of queue) {
    const clash =
      batch.length >= maxBatch ||
      streams.has(p.cmd.streamId) ||
      p.cmd.events.some((e) => ids.has(e.eventId));
    // Either way, later appends to this stream must not overtake it.
    streams.add(p.cmd.streamId);
    if (clash) {
      rest.push(p);
      continue;
    }
    batch.push(p);
    for (const e of p.cmd.events) ids.add(e.eventId);
  }
  return { batch, rest };
}
