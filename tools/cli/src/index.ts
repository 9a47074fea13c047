export {
  DEFAULT_API,
  HELP,
  defaultIo,
  describeProblem,
  formatCents,
  parseItem,
  resolveApi,
  run,
  type Io,
} from './cli';
