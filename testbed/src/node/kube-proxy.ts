import { KUBE_PROXY_HEALTHZ_PORT, KUBE_PROXY_METRICS_PORT, NODE_IP, NODE_NAME, POD_CIDR } from './network.ts';

/**
 * kube-proxy in iptables mode: Services by DNAT, with its listeners on the node
 * IP, NodePorts only there (so it never sets route_localnet), and conntrack
 * settings left as the host has them.
 */
export function kubeProxyConfig(kubeconfig: string): object {
  return {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    clientConnection: { kubeconfig },
    hostnameOverride: NODE_NAME,
    bindAddress: NODE_IP,
    healthzBindAddress: `${NODE_IP}:${KUBE_PROXY_HEALTHZ_PORT}`,
    metricsBindAddress: `${NODE_IP}:${KUBE_PROXY_METRICS_PORT}`,
    mode: 'iptables',
    clusterCIDR: POD_CIDR,
    detectLocalMode: 'ClusterCIDR',
    nodePortAddresses: [`${NODE_IP}/32`],
    iptables: { localhostNodePorts: false, masqueradeAll: false, syncPeriod: '30s', minSyncPeriod: '0s' },
    // 0 = leave the host's conntrack table size and timeouts alone.
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s', udpTimeout: '0s', udpStreamTimeout: '0s' },
  };
}

export function kubeProxyArgs(configFile: string): string[] {
  return ['kube-proxy', `--config=${configFile}`, '--v=1'];
}
