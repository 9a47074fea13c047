// emmett-postgresql is an ES module with a CommonJS build; it is installed in bench/ only (its
// peer dependency on uuid 10 conflicts with the root's uuid 11).
export { getPostgreSQLEventStore } from '@event-driven-io/emmett-postgresql';
export { STREAM_DOES_NOT_EXIST } from '@event-driven-io/emmett';
