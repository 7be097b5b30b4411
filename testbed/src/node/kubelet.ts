import { CGROUP_ROOT, CLUSTER_DNS_IP, CLUSTER_DOMAIN, KUBELET_HEALTHZ_PORT, KUBELET_PORT, NODE_IP, NODE_NAME } from './network.ts';

export interface KubeletPaths {
  containerdSocket: string;
  clientCaFile: string;
  tlsCertFile: string;
  tlsKeyFile: string;
  podLogsDir: string;
}

/**
 * The kubelet's configuration for this machine: cgroup v1 with cgroupfs (no
 * systemd here) below our own cgroup root, listeners on the node IP only, no
 * host DNS servers for pods, and no image garbage collection (imported images
 * could not be pulled back).
 */
export function kubeletConfig(paths: KubeletPaths): object {
  return {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    address: NODE_IP,
    port: KUBELET_PORT,
    readOnlyPort: 0,
    healthzBindAddress: NODE_IP,
    healthzPort: KUBELET_HEALTHZ_PORT,
    tlsCertFile: paths.tlsCertFile,
    tlsPrivateKeyFile: paths.tlsKeyFile,
    rotateCertificates: false,
    serverTLSBootstrap: false,
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true },
      x509: { clientCAFile: paths.clientCaFile },
    },
    authorization: { mode: 'Webhook' },
    containerRuntimeEndpoint: `unix://${paths.containerdSocket}`,
    imageServiceEndpoint: `unix://${paths.containerdSocket}`,
    // This machine mounts cgroup v1; kubelet refuses it unless told otherwise.
    failCgroupV1: false,
    cgroupDriver: 'cgroupfs',
    cgroupRoot: CGROUP_ROOT,
    cgroupsPerQOS: true,
    failSwapOn: false,
    clusterDomain: CLUSTER_DOMAIN,
    clusterDNS: [CLUSTER_DNS_IP],
    // "" = no host resolv.conf: a pod with dnsPolicy Default gets no off-machine server.
    resolvConf: '',
    podLogsDir: paths.podLogsDir,
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    // The shared CI disk's free space must not evict test pods.
    evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'imagefs.available': '1%', 'nodefs.inodesFree': '1%' },
    protectKernelDefaults: false,
    registerNode: true,
    maxPods: 110,
    containerLogMaxSize: '10Mi',
    containerLogMaxFiles: 2,
  };
}

export interface KubeletArgs {
  configFile: string;
  kubeconfig: string;
  rootDir: string;
}

export function kubeletArgs(paths: KubeletArgs): string[] {
  return [
    'kubelet',
    `--config=${paths.configFile}`,
    `--kubeconfig=${paths.kubeconfig}`,
    `--root-dir=${paths.rootDir}`,
    `--cert-dir=${paths.rootDir}/pki`,
    `--hostname-override=${NODE_NAME}`,
    `--node-ip=${NODE_IP}`,
    '--v=1',
  ];
}

/**
 * The kernel settings the kubelet changes at start unless protectKernelDefaults
 * (which would refuse to start here instead): saved before and restored after.
 */
export const KUBELET_SYSCTLS = [
  'vm/overcommit_memory',
  'vm/panic_on_oom',
  'kernel/panic',
  'kernel/panic_on_oops',
  'kernel/keys/root_maxkeys',
  'kernel/keys/root_maxbytes',
];
