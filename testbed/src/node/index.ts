export { startKubeNode, type KubeNode, type StartKubeNodeOptions } from './node.ts';
export { cleanupStaleNode } from './teardown.ts';
export { hostSnapshot, diffSnapshots, type HostSnapshot } from './snapshot.ts';
export { nodeBinaries, type NodeBinaries } from './binaries.ts';
export { imageCatalog, type NodeImage } from './images.ts';
export type { MemorySample } from './memory.ts';
export type { KubectlOptions, WaitPodsOptions } from './kubectl.ts';
export {
  API_PORT,
  CLUSTER_DNS_IP,
  CLUSTER_DOMAIN,
  CLUSTER_RANGE,
  KUBERNETES_SERVICE_IP,
  NODE_IP,
  NODE_NAME,
  POD_CIDR,
  SERVICE_CIDR,
} from './network.ts';
