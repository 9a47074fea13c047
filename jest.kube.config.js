// `make kube-test`: the chart's rendered pods run as podman containers (tests/kube). Its own
// config: one test file at a time (they share the machine's two cores and the image), no shared
// PostgreSQL (the database runs in a container), long timeouts (an image build is in there).
const base = require('./jest.config.js');
const unit = base.projects[0];

/** @type {import('jest').Config} */
module.exports = {
  ...unit,
  displayName: 'kube',
  testMatch: ['<rootDir>/tests/kube/**/*.kube.test.ts'],
  maxWorkers: 1,
  testTimeout: 900_000,
};
