import { writeFileSync } from 'node:fs';

export interface KubeconfigCredentials {
  /** A client certificate and key (files), as the node's components authenticate. */
  clientCertFile?: string;
  clientKeyFile?: string;
  /** Or a bearer token. */
  token?: string;
}

/** A kubeconfig (JSON is YAML) for one user of the node's apiserver. */
export function kubeconfig(server: string, caFile: string, user: string, credentials: KubeconfigCredentials): object {
  const auth =
    credentials.token !== undefined
      ? { token: credentials.token }
      : { 'client-certificate': credentials.clientCertFile, 'client-key': credentials.clientKeyFile };
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'rotor-node', cluster: { server, 'certificate-authority': caFile } }],
    users: [{ name: user, user: auth }],
    contexts: [{ name: 'rotor-node', context: { cluster: 'rotor-node', user } }],
    'current-context': 'rotor-node',
  };
}

export function writeKubeconfig(file: string, server: string, caFile: string, user: string, credentials: KubeconfigCredentials): string {
  writeFileSync(file, JSON.stringify(kubeconfig(server, caFile, user, credentials), null, 2), { mode: 0o600 });
  return file;
}
