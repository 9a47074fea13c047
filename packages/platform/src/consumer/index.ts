export * from './dead-letter';
export * from './event-consumer';
export * from './process-message';
export * from './settle';
export * from './start-consumer';
