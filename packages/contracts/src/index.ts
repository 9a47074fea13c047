// Cross-service contracts (docs/architecture.md): what more than one service, tool or test must
// agree on. Types, names and pure mappings only: no I/O, and no service is imported.
export * from './messaging';
export * from './order-read-model';
export * from './order-projection';
export * from './order-changes';
export * from './runtime-config';
export * from './event-row';
