// Kubernetes flags shared by the commands: clients made once and only when a
// flag asks for them (from $KUBECONFIG, ~/.kube/config or the pod's account).
import { InvalidArgumentError, Option, type Command } from 'commander';
import { KubernetesPodDiscovery, loadKubeClients, type KubeClients, type NodeTarget } from '@rotor/unsealer';
import { CliError, ExitCode } from './exit-codes.ts';

/** "ns/name" -> parts, or a usage error naming the flag. */
export function namespaced(flag: string, text: string): { namespace: string; name: string } {
  const match = /^([a-z0-9-]+)\/([a-z0-9.-]+)$/.exec(text);
  if (!match?.[1] || !match[2]) throw new CliError(ExitCode.USAGE, `${flag} must look like namespace/name, got ${JSON.stringify(text)}`);
  return { namespace: match[1], name: match[2] };
}

export function kubeClients(): () => KubeClients {
  let clients: KubeClients | undefined;
  return () => (clients ??= loadKubeClients());
}

export const integer = (name: string, min: number) => (text: string): number => {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
  return value;
};

export const commaList = (text: string): string[] => text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);

export interface NodeOptions {
  nodes?: string[];
  k8sNamespace?: string;
  k8sSelector?: string;
  k8sScheme: 'http' | 'https';
  k8sPort: number;
}

/** --nodes, or --k8s-namespace/--k8s-selector (with --k8s-scheme/--k8s-port): how to find each Vault node. */
export function withNodeOptions(command: Command): Command {
  return command
    .option('--nodes <urls>', 'static discovery: comma-separated node API addresses', commaList)
    .option('--k8s-namespace <namespace>', 'pod discovery: namespace of the Vault pods')
    .option('--k8s-selector <labels>', 'pod discovery: label selector of the Vault pods')
    .addOption(new Option('--k8s-scheme <scheme>', 'pod discovery: scheme of pod addresses').choices(['http', 'https']).default('http'))
    .option('--k8s-port <port>', 'pod discovery: API port of the pods', integer('--k8s-port', 1), 8200);
}

/** The nodes named by the flags; [] when none were given. */
export async function nodeTargets(options: NodeOptions, kube: () => KubeClients): Promise<NodeTarget[]> {
  const pods = options.k8sNamespace !== undefined || options.k8sSelector !== undefined;
  if (options.nodes && pods) throw new CliError(ExitCode.USAGE, 'give either --nodes, or --k8s-namespace with --k8s-selector');
  if (options.nodes) return options.nodes.map((address) => ({ id: address, address }));
  if (!pods) return [];
  if (!options.k8sNamespace || !options.k8sSelector) throw new CliError(ExitCode.USAGE, 'pod discovery needs both --k8s-namespace and --k8s-selector');
  return new KubernetesPodDiscovery(kube().core, { namespace: options.k8sNamespace, labelSelector: options.k8sSelector, scheme: options.k8sScheme, port: options.k8sPort }).list();
}
