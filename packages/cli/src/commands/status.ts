// `rotor status`: one screen on the cluster — every node's seal state, the
// leader and raft voters, the unsealer, and drift from the configuration file.
// Exit 0 when nothing needs attention, 7 when something does (docs/cli.md).
import { Command } from 'commander';
import { errorMessage, type VaultClient } from '@rotor/vault-client';
import { paint, useColor } from '../color.ts';
import { CliError, ExitCode } from '../exit-codes.ts';
import { kubeClients, namespaced, nodeTargets, withNodeOptions, type NodeOptions } from '../k8s-options.ts';
import { assembleNodes, nodeProblems, normalizeAddress } from '../status/assemble.ts';
import { driftProblems, readDrift } from '../status/drift.ts';
import type { HaNode, NodeObservation, RaftPeer, StatusReport, UnsealerReport } from '../status/model.ts';
import { renderStatus } from '../status/render.ts';
import { readUnsealerEndpoint, readUnsealerLease, unsealerProblems } from '../status/unsealer.ts';
import { observeNode, readHaStatus, readRaftPeers } from '../status/vault-reads.ts';
import { caCertOf, vaultAddressOf, vaultClient, withVaultOptions, type VaultOptions } from '../vault-options.ts';

interface StatusOptions extends VaultOptions, NodeOptions {
  unsealerUrl?: string;
  k8sLease?: string;
  config?: string;
  json?: boolean;
}

/** A token is optional for status (nodes answer seal-status without one); raft, HA and drift need it. */
function optionalClient(options: StatusOptions): VaultClient | undefined {
  try {
    return vaultClient(options);
  } catch (err) {
    if (err instanceof CliError && /no Vault token/.test(err.message)) return undefined;
    throw err;
  }
}

async function gather(options: StatusOptions): Promise<StatusReport> {
  const kube = kubeClients();
  const caCert = caCertOf(options);
  const address = options.address !== undefined || process.env.VAULT_ADDR || process.env.BAO_ADDR ? vaultAddressOf(options) : undefined;
  const targets = await nodeTargets(options, kube);
  if (address === undefined && targets.length === 0) throw new CliError(ExitCode.USAGE, 'no Vault to look at: set VAULT_ADDR, pass --address, --nodes or --k8s-namespace/--k8s-selector');
  const client = address !== undefined ? optionalClient(options) : undefined;

  let ha: HaNode[] | undefined;
  let raft: RaftPeer[] | undefined;
  let note: string | undefined;
  if (client) {
    // The cluster's own view: the unsealed nodes with their addresses, and every raft peer.
    [ha, raft] = await Promise.all([
      readHaStatus(client).catch((err: unknown) => {
        note = `sys/ha-status not read: ${errorMessage(err)}`;
        return undefined;
      }),
      readRaftPeers(client).catch((err: unknown) => {
        note = `raft configuration not read: ${errorMessage(err)}`;
        return undefined;
      }),
    ]);
  } else if (address !== undefined) {
    note = 'no Vault token: raft peers, HA status and drift not read (set VAULT_TOKEN or --token-file)';
  }

  const addresses = new Map<string, string>();
  for (const t of targets) addresses.set(normalizeAddress(t.address), t.address);
  for (const h of ha ?? []) addresses.set(normalizeAddress(h.apiAddress), h.apiAddress);
  // Without any node list the cluster address is the one node we can ask.
  if (addresses.size === 0 && address !== undefined) addresses.set(normalizeAddress(address), address);
  const observations = new Map<string, NodeObservation>();
  await Promise.all([...addresses].map(async ([key, a]) => observations.set(key, await observeNode(a, caCert))));

  const nodeTargetsForReport = addresses.size > 0 && targets.length === 0 && (ha ?? []).length === 0 && address !== undefined ? [{ id: address, address }] : targets;
  const nodes = assembleNodes({ targets: nodeTargetsForReport, observations, ...(ha ? { ha } : {}), ...(raft ? { raft } : {}) });
  const seen = [...observations.values()].find((o) => o.reachable && o.clusterName !== undefined) ?? [...observations.values()].find((o) => o.reachable);
  const leader = nodes.find((n) => n.state === 'active')?.id ?? raft?.find((p) => p.leader)?.nodeId;
  const report: StatusReport = {
    cluster: {
      ...(address !== undefined ? { address } : {}),
      ...(seen?.clusterName ? { clusterName: seen.clusterName } : {}),
      ...(seen?.clusterId ? { clusterId: seen.clusterId } : {}),
      ...(seen?.version ? { version: seen.version } : {}),
      ...(leader !== undefined ? { leader } : {}),
      raftRead: raft !== undefined,
      ...(note !== undefined ? { note } : {}),
    },
    nodes,
    problems: nodeProblems(nodes, raft !== undefined),
  };

  if (options.unsealerUrl !== undefined || options.k8sLease !== undefined) {
    let unsealer: UnsealerReport = options.unsealerUrl !== undefined ? await readUnsealerEndpoint(options.unsealerUrl) : {};
    if (options.k8sLease !== undefined) {
      const { namespace, name } = namespaced('--k8s-lease', options.k8sLease);
      try {
        const lease = await readUnsealerLease(kube(), namespace, name);
        if (lease) unsealer = { ...unsealer, lease };
      } catch (err) {
        unsealer = { ...unsealer, error: `Lease ${namespace}/${name}: ${errorMessage(err).split('\n')[0]}` };
      }
    }
    report.unsealer = unsealer;
    report.problems.push(...unsealerProblems(unsealer));
  }

  if (options.config !== undefined) {
    if (!client) throw new CliError(ExitCode.USAGE, '--config needs the cluster address and a token (VAULT_ADDR, VAULT_TOKEN)');
    report.drift = await readDrift(client, options.config);
    report.problems.push(...driftProblems(report.drift));
  }
  return report;
}

export function statusCommand(): Command {
  const command = new Command('status').description('the cluster on one screen: seal state, leader and raft voters of every node, the unsealer, drift from the configuration');
  withNodeOptions(withVaultOptions(command))
    .option('--unsealer-url <url>', "the unsealer's health port, e.g. http://vault-unsealer.vault:9102: its state, leadership and pause")
    .option('--k8s-lease <namespace/name>', "the unsealer's election Lease: who leads and since when")
    .option('-c, --config <file>', 'compare the live Vault configuration with this file (rotor configure plan, summarised)')
    .option('--json', 'print the report as JSON')
    .action(async (options: StatusOptions) => {
      const report = await gather(options);
      process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : renderStatus(report, paint(useColor())));
      if (report.problems.length > 0) throw new CliError(ExitCode.ATTENTION, `${report.problems.length} problem(s) need attention`);
    });
  return command;
}
