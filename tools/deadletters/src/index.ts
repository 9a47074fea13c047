export * from './deadletters';
export { run, parseArgs, HELP } from './cli';
