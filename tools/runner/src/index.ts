export * from './supervisor';
export * from './system';
