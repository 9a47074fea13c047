export * from './nats';
export * from './ports';
export * from './postgres';
export * from './shared';
export * from './issuer';
export * from './fuzz';
