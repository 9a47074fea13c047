import { globalTeardown } from '../packages/testkit/src/global-setup';
export default globalTeardown;
