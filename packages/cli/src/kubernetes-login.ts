// `rotor configure --k8s-role`: log in with Kubernetes auth as the pod's own service
// account instead of holding a token. The configure Job starts with everything else, before
// Vault is initialized, unsealed and bootstrapped: a failed login is retried until the
// deadline, each new reason logged once (the reason is Vault's message, never the JWT).
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { VaultClient, errorMessage } from '@rotor/vault-client';
import { CliError, ExitCode } from './exit-codes.ts';
import { integer } from './k8s-options.ts';
import { caCertOf, vaultAddressOf, type VaultOptions } from './vault-options.ts';

export const DEFAULT_SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export interface KubernetesLoginOptions extends VaultOptions {
  k8sRole?: string;
  k8sMount: string;
  k8sTokenFile: string;
  loginTimeout: number;
}

export function withKubernetesLoginOptions(command: Command): Command {
  return command
    .option('--k8s-role <role>', 'log in with Kubernetes auth under this role as the pod\'s service account (instead of a token)')
    .option('--k8s-mount <path>', 'with --k8s-role: the kubernetes auth mount', 'kubernetes')
    .option('--k8s-token-file <path>', 'with --k8s-role: the service-account JWT', DEFAULT_SERVICE_ACCOUNT_TOKEN)
    .option('--login-timeout <ms>', 'with --k8s-role: keep retrying a refused or failed login this long (Vault not up or not bootstrapped yet)', integer('--login-timeout', 0), 0);
}

/** A client logged in with Kubernetes auth; retries until `loginTimeout` has passed. */
export async function kubernetesLogin(options: KubernetesLoginOptions & { k8sRole: string }, report: (line: string) => void): Promise<VaultClient> {
  const address = vaultAddressOf(options);
  const anonymous = new VaultClient({ address, caCert: caCertOf(options), retry: { attempts: 1 } });
  const deadline = Date.now() + options.loginTimeout;
  let last = '';
  for (;;) {
    let jwt: string;
    try {
      // Read at every attempt: the kubelet refreshes a projected token in place.
      jwt = readFileSync(options.k8sTokenFile, 'utf8').trim();
    } catch (cause) {
      throw new CliError(ExitCode.USAGE, `cannot read --k8s-token-file ${options.k8sTokenFile}: ${(cause as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    try {
      const auth = await anonymous.auth.loginKubernetes({ role: options.k8sRole, jwt, mount: options.k8sMount });
      report(`logged in to ${address} with kubernetes auth (mount ${options.k8sMount}, role ${options.k8sRole}, policies ${auth.tokenPolicies.join(',')})`);
      return anonymous.withToken(auth.clientToken);
    } catch (err) {
      const reason = errorMessage(err);
      if (Date.now() >= deadline) throw new CliError(ExitCode.VAULT, `kubernetes login (mount ${options.k8sMount}, role ${options.k8sRole}) failed: ${reason}`, { cause: err });
      if (reason !== last) report(`kubernetes login refused, retrying until the --login-timeout: ${reason}`);
      last = reason;
      await sleep(Math.min(5_000, Math.max(0, deadline - Date.now())));
    }
  }
}
