export * from './catalog';
export * from './pricing';
