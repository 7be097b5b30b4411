import { CoordinationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { UnsealerError, type UnsealerErrorCode } from './errors.ts';

/** The HTTP status of a @kubernetes/client-node ApiException, if it is one. */
export function kubeStatus(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * Wraps a Kubernetes API failure. Only the status goes into the message: an
 * ApiException's own message embeds response bodies and headers.
 */
export function kubeError(code: UnsealerErrorCode, what: string, err: unknown): UnsealerError {
  const status = kubeStatus(err);
  const detail = status === undefined ? (err instanceof Error ? err.name : 'error') : `status ${status}`;
  return new UnsealerError(code, `${what} failed (${detail})`, { cause: status === undefined ? err : undefined });
}

export interface KubeClients {
  config: KubeConfig;
  core: CoreV1Api;
  coordination: CoordinationV1Api;
}

/** In-cluster service account, else $KUBECONFIG / ~/.kube/config; or the kubeconfig file given. */
export function loadKubeClients(kubeconfigPath?: string): KubeClients {
  const config = new KubeConfig();
  if (kubeconfigPath === undefined) config.loadFromDefault();
  else config.loadFromFile(kubeconfigPath);
  return { config, core: config.makeApiClient(CoreV1Api), coordination: config.makeApiClient(CoordinationV1Api) };
}
