export * from './catalogue';
export * from './codec';
