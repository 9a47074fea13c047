import { globalSetup } from '../packages/testkit/src/global-setup';
export default globalSetup;
