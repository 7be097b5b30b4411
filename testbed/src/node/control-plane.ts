import { POD_CIDR, SERVICE_CIDR } from './network.ts';

export interface ControllerManagerPaths {
  kubeconfig: string;
  caCertFile: string;
  caKeyFile: string;
  serviceAccountKeyFile: string;
}

/**
 * kube-controller-manager with its default controllers (service-account tokens,
 * node lifecycle, deployment, replicaset, statefulset, job, disruption,
 * endpointslice, garbage collector, namespace, ...), one service account per
 * controller, and the node IPAM controller handing the one node the whole pod CIDR.
 */
export function controllerManagerArgs(paths: ControllerManagerPaths): string[] {
  return [
    'kube-controller-manager',
    `--kubeconfig=${paths.kubeconfig}`,
    `--authentication-kubeconfig=${paths.kubeconfig}`,
    `--authorization-kubeconfig=${paths.kubeconfig}`,
    '--bind-address=127.0.0.1',
    // No serving port: nothing here scrapes it, and no fixed port is needed.
    '--secure-port=0',
    '--leader-elect=false',
    '--use-service-account-credentials=true',
    `--service-account-private-key-file=${paths.serviceAccountKeyFile}`,
    `--root-ca-file=${paths.caCertFile}`,
    `--cluster-signing-cert-file=${paths.caCertFile}`,
    `--cluster-signing-key-file=${paths.caKeyFile}`,
    '--allocate-node-cidrs=true',
    `--cluster-cidr=${POD_CIDR}`,
    `--node-cidr-mask-size=${POD_CIDR.split('/')[1] ?? '24'}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    '--configure-cloud-routes=false',
    '--controllers=*',
    '--v=1',
  ];
}

export function schedulerArgs(kubeconfig: string): string[] {
  return [
    'kube-scheduler',
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    '--bind-address=127.0.0.1',
    '--secure-port=0',
    '--leader-elect=false',
    '--v=1',
  ];
}
