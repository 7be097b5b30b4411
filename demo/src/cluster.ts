// `npm run demo -- --cluster`: the seed's kubectl walkthrough on the testbed's real single-node
// Kubernetes cluster, persona by persona: docs/operations.md's install steps run as written (with
// deploy/overlays/testbed), the seed's `kubectl get all` views, GET 200 / POST 403 through the
// Service, and an init-container rotation watched under HTTP load. The cluster test
// (testbed/test/cluster.int.test.ts) asserts the same steps.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  PodTurnover,
  USERS_API_SELECTOR,
  clusterKubectl,
  clusterLogs,
  clusterSecrets,
  describeFailures,
  driveHttpLoad,
  imageCatalog,
  installFromDocs,
  nodeBinaries,
  operatorShellEnv,
  provisionVaultVolumes,
  seedRequests,
  serviceUrl,
  startKubeNode,
  waitForVaultUnsealed,
  type KubeNode,
} from '@rotor/testbed';
import { REPO_ROOT, type DemoContext } from './context.ts';
import { seconds } from './narrator.ts';

const OVERLAY = 'deploy/overlays/testbed';
const MINUTE = 60_000;

export interface ClusterFigures {
  nodeStartMs: number;
  vaultReadyMs: number;
  rotation: { requests: number; failed: number; replaced: number; seconds: number };
  peakMemoryMiB: number;
}

export async function runClusterDemo(ctx: DemoContext): Promise<ClusterFigures> {
  const { narrator, teardown } = ctx;
  narrator.step(0, 'Platform', 'a single-node Kubernetes cluster on this machine');
  let started = performance.now();
  const node: KubeNode = await startKubeNode({ images: [...imageCatalog().keys()] });
  teardown.add('the Kubernetes node (every pod, process, mount, netns and iptables rule)', () => node.stop());
  const nodeStartMs = performance.now() - started;
  narrator.check(true, `node ${node.nodeName} Ready`, `in ${seconds(nodeStartMs)}: etcd, kube-apiserver, controller-manager, scheduler, kubelet + containerd + runc, kube-proxy, kube-router (NetworkPolicy), CoreDNS`);
  const kubectl = clusterKubectl(node);
  const env = operatorShellEnv(node, nodeBinaries().rotorKube);
  await provisionVaultVolumes(node);
  const docs = (only: string[]): ReturnType<typeof installFromDocs> =>
    installFromDocs({ repo: REPO_ROOT, env, overlay: OVERLAY, only, diagnose: { node, namespaces: ['vault', 'db', 'app'] }, onStep: (name, run) => narrator.info(`docs/operations.md step "${name}" done in ${seconds(run.elapsedMs)}`) });

  narrator.step(1, 'Vault Admin', 'deploy Vault (raft HA) and the auto-unsealer');
  await docs(['namespaces', 'secrets', 'tls', 'apply']);
  started = performance.now();
  const vault = await waitForVaultUnsealed(node, kubectl, 10 * MINUTE);
  const vaultReadyMs = performance.now() - started;
  narrator.check(true, `the unsealer initialized, joined and unsealed vault-0..2`, `in ${seconds(vaultReadyMs)}; active: ${vault.active}`);
  narrator.quote(`$ kubectl get all -n vault\n${await node.kubectl(['get', 'all', '-n', 'vault'])}`);

  narrator.step(2, 'DB Admin', 'PostgreSQL with the users table');
  await docs(['vault-ready']);
  narrator.quote(`$ kubectl get all -n db\n${await node.kubectl(['get', 'all', '-n', 'db'])}`);

  narrator.step(3, 'Vault Admin', 'configuration as code: kubernetes auth, policies, database engine, rotate-root');
  await docs(['configure']);
  narrator.check(true, 'the configure job completed');
  // What the scan at the end must never find in the output or in any log of the cluster.
  await clusterSecrets(node, ctx.secrets);

  narrator.step(4, 'Service Owner', 'users-api with the Vault Agent init container');
  await docs(['app-ready']);
  const url = await serviceUrl(kubectl, 'app', 'users-api');
  const seed = await seedRequests(url);
  narrator.check(seed.get.status === 200, `GET /users/1 through the Service → ${seed.get.status}`, JSON.stringify(seed.get.body));
  narrator.check(seed.post.status === 403, `POST /users → ${seed.post.status} (SELECT-only role)`, JSON.stringify(seed.post.body));
  narrator.quote(`$ kubectl get pods -n app\n${await node.kubectl(['get', 'pods', '-n', 'app'])}`);

  narrator.step(5, 'Rotation', 'pods leave before their credentials expire; replacements log in again; load sees no failure');
  const turnover = new PodTurnover(kubectl, 'app', USERS_API_SELECTOR);
  await turnover.start();
  const load = await driveHttpLoad({
    url,
    concurrency: 4,
    minMs: 30_000,
    maxMs: 8 * MINUTE,
    enough: () => turnover.replaced >= 2,
    signal: ctx.signal,
    progress: { everyMs: 15_000, report: (ms, requests, failed) => narrator.info(`${seconds(ms)}: ${requests} requests, ${failed} failed, ${turnover.replaced} pods replaced`) },
  }).finally(() => turnover.stop());
  narrator.check(turnover.replaced >= 2, `${turnover.replaced} pods replaced themselves through the Eviction API`);
  narrator.check(load.failed === 0, `${load.requests} requests through the Service, ${load.failed} failed`, load.failed > 0 ? describeFailures(load.failures) : '');
  await keepClusterLogs(node, ctx.dir);
  const peakMemoryMiB = Math.round(node.peakMemory().totalBytes / 1024 / 1024);
  return { nodeStartMs, vaultReadyMs, rotation: { requests: load.requests, failed: load.failed, replaced: turnover.replaced, seconds: load.elapsedMs / 1000 }, peakMemoryMiB };
}

/** Every pod's log and every node component's log, copied into the demo's dir for the secret scan. */
async function keepClusterLogs(node: KubeNode, dir: string): Promise<void> {
  for (const [i, log] of (await clusterLogs(node)).entries()) {
    writeFileSync(join(dir, `cluster-${String(i).padStart(2, '0')}-${log.name.replace(/[^\w.-]+/g, '-')}.log`), log.text, { mode: 0o600 });
  }
}
