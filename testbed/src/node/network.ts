// The node's addresses and names. Everything the node routes lives inside
// 198.18.0.0/15 (RFC 2544 benchmarking space: never routed on the internet, and
// unused on this machine), so nothing it does can reach another machine.

/** All pod, service and node addresses; the FORWARD guard drops anything leaving it. */
export const CLUSTER_RANGE = '198.18.0.0/15';
/** The node's bridge; created before the kubelet so the apiserver can bind its address. */
export const BRIDGE = 'rotor0';
/** The bridge's address: the node IP, the pods' gateway and the apiserver's address. */
export const NODE_IP = '198.18.0.1';
export const NODE_IP_PREFIX = 24;
/** The only node's pod CIDR (host-local IPAM); also the controller-manager's cluster CIDR. */
export const POD_CIDR = '198.18.0.0/24';
export const SERVICE_CIDR = '198.19.0.0/16';
/** The `kubernetes` Service: the first address of the service CIDR. */
export const KUBERNETES_SERVICE_IP = '198.19.0.1';
/** The kube-dns Service that CoreDNS answers behind. */
export const CLUSTER_DNS_IP = '198.19.0.10';
export const CLUSTER_DOMAIN = 'cluster.local';
/**
 * Fixed, because pods reach the API through the `kubernetes` Service and
 * NetworkPolicies must name its port. It cannot collide: the address is ours
 * alone, and a lock keeps a second node from starting.
 */
export const API_PORT = 6443;
/** The kubelet's API (logs, exec), on the node IP only. */
export const KUBELET_PORT = 10250;
export const KUBELET_HEALTHZ_PORT = 10248;
export const KUBE_PROXY_HEALTHZ_PORT = 10256;
export const KUBE_PROXY_METRICS_PORT = 10249;
/**
 * Where image pulls for anything not imported would go: an address in our range
 * that the unreachable route rejects at once, so a pull fails here and never
 * resolves or contacts a real registry.
 */
export const NO_REGISTRY = '198.18.255.254';
export const NODE_NAME = 'rotor-node';
/** Pod cgroups live below this in every hierarchy, so teardown finds them all. */
export const CGROUP_ROOT = '/rotor-testbed';
/** The CNI network's name: also the prefix of libcni's cache files under /var/lib/cni. */
export const CNI_NETWORK = 'rotor-testbed';
/** Comment on every iptables rule this module adds itself. */
export const RULE_COMMENT = 'rotor-testbed';
/** Chains that Kubernetes components, kube-router and CNI plugins create. */
export const CHAIN_PREFIXES = ['KUBE-', 'CNI-'];
