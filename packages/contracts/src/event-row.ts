/** An event as a writer hands it to the event store. */
export interface NewEvent {
  eventId: string;
  eventType: string;
  /** JSON text. */
  data: string;
  metadata: Record<string, string>;
}

/** A stored event: where it stands in its stream and when it was committed. */
export interface RecordedEvent extends NewEvent {
  streamId: string;
  version: number;
  /** RFC 3339 commit time. */
  createdAt: string;
}

/** The event store's `events` table row as `pg` returns it (the chaos checker reads it too). */
export interface EventRow {
  event_id: string;
  stream_id: string;
  version: number;
  event_type: string;
  data: string;
  metadata: Record<string, string>;
  created_at: Date;
}

export const EVENT_COLUMNS = 'event_id, stream_id, version, event_type, data, metadata, created_at';

export const recordedEventOfRow = (r: EventRow): RecordedEvent => ({
  eventId: r.event_id,
  streamId: r.stream_id,
  version: r.version,
  eventType: r.event_type,
  data: r.data,
  metadata: r.metadata,
  createdAt: r.created_at.toISOString(),
});
