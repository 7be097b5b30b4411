// The seed's kubectl walkthrough, end to end, on the testbed's real single-node Kubernetes cluster
// (docs/testbed.md, "The Kubernetes node"): docs/operations.md's install steps run as written with
// deploy/overlays/testbed, then what the seed promises, checked as an operator would.
import { strict as assert } from 'node:assert';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import {
  PodTurnover,
  assertNoSecretsInLogs,
  USERS_API_SELECTOR,
  VAULT_SELECTOR,
  clusterKubectl,
  clusterLogs,
  clusterSecrets,
  connectFrom,
  describeFailures,
  diffSnapshots,
  documentedSteps,
  driveHttpLoad,
  hostSnapshot,
  imageCatalog,
  installFromDocs,
  nodeBinaries,
  objectUid,
  operatorShellEnv,
  podCounterByLabel,
  pods,
  probeFrom,
  provisionVaultVolumes,
  seedRequests,
  serviceUrl,
  startKubeNode,
  storedUnsealKeys,
  vaultCluster,
  waitFor,
  waitForVaultUnsealed,
  type ClusterKubectl,
  type HostSnapshot,
  type HttpLoadResult,
  type KubeNode,
} from '../src/index.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const MINUTE = 60_000;

describe('the seed walkthrough on a real Kubernetes node', { timeout: 45 * MINUTE }, () => {
  let baseline: HostSnapshot;
  let node: KubeNode;
  let kubectl: ClusterKubectl;
  let env: NodeJS.ProcessEnv;
  let usersUrl: string;
  let rotorImage: string;
  let clusterId: string;
  let keysSecretUid: string;
  const log = (line: string): void => console.log(`# ${line}`);
  // A failed install step quotes the state of every namespace the install touches.
  const diagnose = { node: { podDiagnostics: (ns: string) => node.podDiagnostics(ns) }, namespaces: ['vault', 'db', 'app'] };
  // Each step builds on the ones before: after a failure the rest fail at once, naming it,
  // instead of waiting out their deadlines against a cluster that never came up.
  const done = new Set<string>();
  const needs = (...steps: string[]): void => {
    const missing = steps.filter((s) => !done.has(s));
    if (missing.length > 0) throw new Error(`not run: the earlier step(s) ${missing.join(', ')} failed`);
  };

  before(async () => {
    baseline = await hostSnapshot();
    node = await startKubeNode({ images: [...imageCatalog().keys()] });
    kubectl = clusterKubectl(node);
    env = operatorShellEnv(node, nodeBinaries().rotorKube);
    rotorImage = node.images.get('rotor')?.ref ?? assert.fail('the rotor image is in the catalog');
    await provisionVaultVolumes(node);
  });

  after(async () => {
    if (node !== undefined) {
      const peak = node.peakMemory();
      log(`cluster peak memory: ${JSON.stringify(peak)}`);
      await node.stop();
    }
  });

  it('1. namespaces: Pod Security restricted is enforced, a privileged pod is refused', async () => {
    await installFromDocs({ repo, env, overlay: 'deploy/overlays/testbed', only: ['namespaces', 'secrets'], diagnose });
    const privileged = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'privileged', namespace: 'app' },
      spec: { containers: [{ name: 'c', image: rotorImage, securityContext: { privileged: true } }] },
    };
    await assert.rejects(node.apply(privileged), /violates PodSecurity "restricted:latest".*privileged/s);
    done.add('namespaces');
  });

  it('2. Vault: three pods become Ready only once the in-cluster unsealer has initialized, joined and unsealed them', { timeout: 20 * MINUTE }, async () => {
    needs('namespaces');
    await installFromDocs({ repo, env, overlay: 'deploy/overlays/testbed', only: ['apply', 'vault-ready'], diagnose });
    const vault = await waitForVaultUnsealed(node, kubectl, 10 * MINUTE);
    log(`vault: active ${vault.active}, cluster ${vault.clusterId}`);
    clusterId = vault.clusterId;
    keysSecretUid = await objectUid(kubectl, 'vault', 'secret', 'vault-unseal-keys');
    const unsealers = await pods(kubectl, 'vault', 'app.kubernetes.io/name=vault-unsealer');
    assert.equal(unsealers.filter((p) => p.ready).length, 2, 'both unsealer replicas run');
    const restarted = unsealers.filter((p) => p.restarts > 0);
    const why = await Promise.all(restarted.map(async (p) => `${p.name}: ${p.lastTerminations.join('; ')}\n${(await kubectl.result(['-n', 'vault', 'logs', p.name, '--previous', '--tail=30'])).stdout}`));
    assert.deepEqual(unsealers.map((p) => p.restarts), [0, 0], `no unsealer restarted during the bootstrap\n${why.join('\n')}`);
    const lease = JSON.parse(await node.kubectl(['-n', 'vault', 'get', 'lease', 'vault-unsealer', '-o', 'json'])) as { spec: { holderIdentity: string } };
    assert.ok(unsealers.some((p) => p.name === lease.spec.holderIdentity), 'one unsealer holds the Lease');
    done.add('vault');
  });

  it('3. PostgreSQL serves the seed table', async () => {
    needs('vault');
    // As the DB admin does: psql in the pod over its socket (peer), no password. The bootstrap password is
    // gone by now: the configure job starts with everything else and Vault rotates it once bootstrapped.
    const rows = await node.kubectl(['-n', 'db', 'exec', 'deploy/postgres', '--', 'psql', '-U', 'postgres', '-At', '-c', 'SELECT id, title, name FROM users ORDER BY id']);
    assert.deepEqual(rows.trim().split('\n'), ['1|sre|sakib', '2|manager|hanifa']);
    done.add('postgres');
  });

  it('4. no standing root token: the unsealer bootstrapped configure\'s identity and revoked the initial token; the configure job logs in as its service account', { timeout: 20 * MINUTE }, async () => {
    needs('postgres');
    await installFromDocs({ repo, env, overlay: 'deploy/overlays/testbed', only: ['configure'], diagnose });
    const logs = await node.kubectl(['-n', 'vault', 'logs', 'job/vault-configure']);
    assert.match(logs, /logged in to .* with kubernetes auth \(mount kubernetes, role rotor-configure, policies default,rotor-configure\)/);
    assert.match(logs, /appl/i);
    let unsealerLogs = '';
    for (const p of await pods(kubectl, 'vault', 'app.kubernetes.io/name=vault-unsealer')) unsealerLogs += await node.kubectl(['-n', 'vault', 'logs', p.name, '--tail=-1']);
    assert.equal(unsealerLogs.match(/"msg":"bootstrap applied"/g)?.length ?? 0, 1, 'one bootstrap with the initial root token');
    assert.equal(unsealerLogs.match(/"msg":"revoked the initial root token/g)?.length ?? 0, 1, 'the initial root token revoked once');
    const stored = await storedUnsealKeys(node);
    assert.equal(stored.rootToken, undefined, 'the keys Secret holds no root token');
    assert.equal(stored.keys.length, 5);
    assert.equal(await node.kubectl(['-n', 'vault', 'get', 'secret', 'vault-configure-token', '--ignore-not-found']), '', 'no token Secret for the configure job');
    done.add('configure');
  });

  it('5. users-api: the webhook injects the agent, which logs in with the projected token; GET 200, POST 403; the writer writes', { timeout: 20 * MINUTE }, async () => {
    needs('configure');
    await installFromDocs({ repo, env, overlay: 'deploy/overlays/testbed', only: ['app-ready'], diagnose });
    const running = (await pods(kubectl, 'app', USERS_API_SELECTOR)).filter((p) => p.ready);
    assert.equal(running.length, 3);
    for (const p of running) assert.deepEqual(p.initContainers, ['vault-agent-init'], `${p.name} got the agent init container from the webhook`);
    usersUrl = await serviceUrl(kubectl, 'app', 'users-api');
    const seed = await seedRequests(usersUrl);
    assert.equal(seed.get.status, 200);
    assert.deepEqual(seed.get.body, { id: 1, title: 'sre', name: 'sakib' });
    assert.equal(seed.post.status, 403, `POST answered ${JSON.stringify(seed.post.body)}`);
    const writer = await seedRequests(await serviceUrl(kubectl, 'app', 'users-admin-api'));
    assert.equal(writer.post.status, 201, `the writer's POST answered ${JSON.stringify(writer.post.body)}`);
    done.add('app');
  });

  it('network policies are enforced: an unlabelled pod reaches nothing; users-api only Vault, PostgreSQL, DNS and the API server', async () => {
    needs('app');
    const targets = ['vault-active.vault.svc:8200', 'postgres.db.svc:5432', 'kubernetes.default.svc:443'];
    const probe = await probeFrom(node, 'app', rotorImage, targets);
    for (const t of targets.slice(0, 2)) assert.notEqual(probe[t], 'open', `a probe pod in app must not reach ${t}: ${JSON.stringify(probe)}`);
    // Not asserted: kube-router accepts pod traffic to its own node, and this cluster's API server runs
    // on the node (docs/testbed.md); in a cluster with a separate control plane the default deny holds.
    log(`probe pod in app: ${JSON.stringify(probe)}`);
    const [users] = (await pods(kubectl, 'app', USERS_API_SELECTOR)).filter((p) => p.ready);
    assert.ok(users);
    const fromUsers = await connectFrom(kubectl, 'app', users.name, 'users-api', [...targets, 'prometheus.monitoring.svc:9090', 'users-admin-api.app.svc:8080']);
    for (const t of targets) assert.equal(fromUsers[t], 'open', `users-api reaches ${t}: ${JSON.stringify(fromUsers)}`);
    assert.notEqual(fromUsers['prometheus.monitoring.svc:9090'], 'open', `users-api must not reach Prometheus: ${JSON.stringify(fromUsers)}`);
    // Logged, not asserted: kube-router let users-api reach users-admin-api on the same node although the
    // policies deny it (docs/testbed.md, "open findings").
    log(`from users-api: ${JSON.stringify(fromUsers)}`);
    // Scraping is a flow the product needs: Prometheus sees users-api, Vault and the unsealer up.
    const prometheus = await serviceUrl(kubectl, 'monitoring', 'prometheus');
    const up = await waitFor(
      'Prometheus to scrape users-api, vault and the unsealer',
      async () => {
        const res = (await (await fetch(`${prometheus}/api/v1/query?query=up`, { signal: AbortSignal.timeout(5_000) })).json()) as {
          data: { result: { metric: Record<string, string>; value: [number, string] }[] };
        };
        const upBy = (app: string): boolean => res.data.result.some((r) => r.metric.app === app && r.value[1] === '1');
        return upBy('users-api') && upBy('vault') && upBy('vault-unsealer') ? res.data.result.length : undefined;
      },
      { timeoutMs: 3 * MINUTE, intervalMs: 5_000 },
    );
    assert.ok(up >= 3);
  });

  it('init-container rotation: pods evict themselves before expiry, the PDB paces them, 0 failed requests across 2+ replacements', { timeout: 20 * MINUTE }, async () => {
    needs('app');
    const turnover = new PodTurnover(kubectl, 'app', USERS_API_SELECTOR);
    await turnover.start();
    let load: HttpLoadResult;
    try {
      load = await driveHttpLoad({ url: usersUrl, concurrency: 4, minMs: 30_000, maxMs: 8 * MINUTE, enough: () => turnover.replaced >= 2 });
    } finally {
      turnover.stop();
    }
    log(`init-container rotation: ${load.requests} requests, ${load.failed} failed, ${turnover.replaced} pods replaced, min ready ${turnover.minReady}`);
    assert.ok(turnover.replaced >= 2, `at least 2 pods replaced (saw ${turnover.replaced})`);
    assert.equal(load.failed, 0, `failed requests: ${describeFailures(load.failures)}`);
    assert.ok(turnover.minReady >= 1, 'users-api always had a ready pod');
    // Pods still in their init container (phase Pending) have no users-api log yet: nothing to check there.
    const started = (await pods(kubectl, 'app', USERS_API_SELECTOR)).filter((p) => p.phase !== 'Pending');
    assert.ok(started.length > 0, 'users-api pods whose logs to read');
    for (const p of started) {
      const text = await node.kubectl(['-n', 'app', 'logs', p.name, '--tail=-1', '-c', 'users-api']);
      assert.doesNotMatch(text, /"reason":"auth-failure"/, `${p.name} never needed the refused-credentials recovery`);
    }
  });

  it('faults: the leader pod, then all three vault pods deleted; the unsealer re-unseals without re-init; users-api keeps serving', { timeout: 20 * MINUTE }, async () => {
    needs('app');
    const abort = new AbortController();
    const loadDone = driveHttpLoad({ url: usersUrl, concurrency: 2, minMs: 0, maxMs: 20 * MINUTE, enough: () => abort.signal.aborted });
    try {
      const { active } = await vaultCluster(kubectl);
      assert.ok(active);
      await node.kubectl(['-n', 'vault', 'delete', 'pod', active, '--wait=false']);
      const afterLeader = await waitForVaultUnsealed(node, kubectl, 5 * MINUTE);
      assert.equal(afterLeader.clusterId, clusterId, 'same cluster after the leader was deleted');
      await node.kubectl(['-n', 'vault', 'delete', 'pod', '-l', VAULT_SELECTOR, '--wait=false']);
      const afterAll = await waitForVaultUnsealed(node, kubectl, 8 * MINUTE);
      assert.equal(afterAll.clusterId, clusterId, 'same cluster after all three pods were deleted');
      assert.equal(await objectUid(kubectl, 'vault', 'secret', 'vault-unseal-keys'), keysSecretUid, 'the same keys Secret (no re-init)');
    } finally {
      abort.abort();
    }
    const load = await loadDone;
    log(`vault faults: ${load.requests} requests, ${load.failed} failed`);
    assert.equal(load.failed, 0, `failed requests: ${describeFailures(load.failures)}`);
    const unsealers = await pods(kubectl, 'vault', 'app.kubernetes.io/name=vault-unsealer');
    assert.deepEqual(unsealers.map((p) => p.restarts), [0, 0], 'no unsealer restarted (an OOM kill mid-bootstrap would show here)');
    let unsealerLogs = '';
    for (const p of unsealers) unsealerLogs += await node.kubectl(['-n', 'vault', 'logs', p.name, '--tail=-1']);
    assert.equal(unsealerLogs.match(/initialized the cluster/g)?.length ?? 0, 1, 'the cluster was initialized exactly once');
  });

  it('sidecar overlay: the agent re-renders, users-api swaps in place, no pod replaced, 0 failed requests', { timeout: 20 * MINUTE }, async () => {
    needs('app');
    await node.kubectl(['apply', '-k', `${repo}deploy/overlays/testbed-sidecar`], { timeoutMs: 2 * MINUTE });
    let rolled = false;
    const rollout = driveHttpLoad({ url: usersUrl, concurrency: 4, minMs: 5_000, maxMs: 10 * MINUTE, enough: () => rolled });
    await node.waitForRollout('app', 'deployment/users-api', 10 * MINUTE);
    rolled = true;
    const duringRollout = await rollout;
    assert.equal(duringRollout.failed, 0, `failed requests during the rollout to sidecars: ${describeFailures(duringRollout.failures)}`);
    const sidecarPods = (await pods(kubectl, 'app', USERS_API_SELECTOR)).filter((p) => p.ready && !p.deleting);
    for (const p of sidecarPods) assert.ok(p.containers.includes('vault-agent'), `${p.name} runs the agent sidecar`);
    const rotations = async (): Promise<number> => {
      let total = 0;
      for (const p of sidecarPods) {
        const byReason = await podCounterByLabel(p.ip ?? '', 8080, 'rotor_db_credentials_rotations_total', 'reason');
        for (const [reason, n] of Object.entries(byReason)) if (reason !== 'auth-failure') total += n;
      }
      return total;
    };
    const before = await rotations();
    const turnover = new PodTurnover(kubectl, 'app', USERS_API_SELECTOR);
    await turnover.start();
    let load: HttpLoadResult;
    try {
      let seen = before;
      load = await driveHttpLoad({
        url: usersUrl,
        concurrency: 4,
        minMs: 30_000,
        maxMs: 6 * MINUTE,
        enough: () => seen - before >= sidecarPods.length * 2,
        progress: { everyMs: 5_000, report: () => void rotations().then((n) => (seen = n)) },
      });
    } finally {
      turnover.stop();
    }
    const swapped = (await rotations()) - before;
    log(`sidecar rotation: ${load.requests} requests, ${load.failed} failed, ${swapped} in-place swaps, ${turnover.replaced} pods replaced`);
    assert.ok(swapped >= sidecarPods.length, `every pod swapped credentials in place (${swapped} swaps)`);
    assert.equal(turnover.replaced, 0, 'no pod was replaced');
    assert.equal(load.failed, 0, `failed requests: ${describeFailures(load.failures)}`);
    for (const p of sidecarPods) {
      const byReason = await podCounterByLabel(p.ip ?? '', 8080, 'rotor_db_credentials_rotations_total', 'reason');
      assert.equal(byReason['auth-failure'] ?? 0, 0, `${p.name} never needed the refused-credentials recovery`);
    }
  });

  it('no secret in any log: each pod\'s containers and each node component', async () => {
    needs('configure');
    const secrets = await clusterSecrets(node);
    const logs = await clusterLogs(node);
    assert.deepEqual(Object.keys(secrets.kinds()).sort(), ['PostgreSQL bootstrap password', 'unseal key', 'unsealer envelope key']);
    const report = assertNoSecretsInLogs(logs, secrets);
    log(`secret scan: ${report.secrets} values in ${report.logs} logs, ${Math.round(report.bytes / 1024)} KiB, nothing found`);
  });

  it('runs every install step that docs/operations.md documents', () => {
    assert.deepEqual(documentedSteps(repo), ['namespaces', 'secrets', 'apply', 'vault-ready', 'configure', 'app-ready']);
  });

  it('teardown leaves the host as it found it', async () => {
    await node.stop();
    const now = await hostSnapshot();
    assert.deepEqual(diffSnapshots(baseline, now), []);
  });
});
