export {
  DEFAULT_API,
  HELP,
  defaultIo,
  describeProblem,
  devTokenUrl,
  formatCents,
  parseItem,
  resolveApi,
  run,
  type Io,
  type RequestedItem,
} from './cli';
