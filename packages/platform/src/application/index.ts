export * from './command-handler';
export * from './event-streams';
export * from './metadata';
