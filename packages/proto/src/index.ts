export * from './gen/orderflow/eventstore/v1/eventstore';
