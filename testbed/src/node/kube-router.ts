import { NODE_NAME, SERVICE_CIDR } from './network.ts';

/**
 * kube-router as the NetworkPolicy enforcer only (iptables filter rules and
 * ipsets): no routing, no service proxy, no CNI, no listeners. It stands in for
 * kube-network-policies, which needs nft_queue, absent from this kernel.
 */
export function kubeRouterArgs(kubeconfig: string): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    `--hostname-override=${NODE_NAME}`,
    '--run-firewall=true',
    '--run-router=false',
    '--run-service-proxy=false',
    '--run-loadbalancer=false',
    '--enable-cni=false',
    '--enable-ipv4=true',
    '--enable-ipv6=false',
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    '--health-port=0',
    '--metrics-port=0',
    '--iptables-sync-period=1m',
    '--v=1',
  ];
}
