export * from './chaos';
export * from './checker';
export * from './workload';
