export { Cluster, StaticCheckError, envNamesOf, type ClusterOptions } from './cluster';
export { staticChecks, endpointsIn, serviceHost, serviceOf } from './checks';
export { expand, resolveEnv, quantity, ContainerConfigError } from './env';
export { inventory, parseManifests, selects, type KubeObject, type PodPlan } from './manifests';
export { PodRunner, type StopReport } from './pod';
export { Podman, CONTAINERS_CONF, ROOT } from './podman';
export { render, helmBinary, CHART, KUBE_VALUES, FIXTURES, type RenderOptions } from './render';
