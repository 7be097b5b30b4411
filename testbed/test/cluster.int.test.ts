// The seed's kubectl walkthrough, end to end, on the testbed's real single-node Kubernetes cluster
// (docs/testbed.md, "The Kubernetes node"): docs/operations.md's install steps run as written with
// deploy/overlays/testbed, then what the seed promises, checked as an operator would.
import { strict as assert } from 'node:assert';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import {
  PodTurnover,
  SecretSet,
  assertNoSecretsInLogs,
  USERS_API_SELECTOR,
  VAULT_SELECTOR,
  clusterKubectl,
  clusterLogs,
  clusterSecrets,
  connectFrom,
  createTestCa,
  describeFailures,
  diffSnapshots,
  documentedSteps,
  driveHttpLoad,
  auditEntries,
  hostSnapshot,
  imageCatalog,
  installFromDocs,
  issueCredentials,
  nodeBinaries,
  objectUid,
  operatorShellEnv,
  passwordLogin,
  podCounterByLabel,
  pods,
  probeFrom,
  provisionVaultVolumes,
  runDocStep,
  psqlAsDbAdmin,
  reschedulePostgres,
  seedRequests,
  serviceUrl,
  snapshotFiles,
  startKubeNode,
  storedUnsealKeys,
  vaultBackends,
  vaultCluster,
  vaultConnectionAttempt,
  vaultStatus,
  volumeDir,
  waitFor,
  waitForVaultUnsealed,
  type ClusterKubectl,
  type HostSnapshot,
  type HttpLoadResult,
  type KubeNode,
} from '../src/index.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const MINUTE = 60_000;

/** A TLS handshake with `ca` as the only trust: whether the server's certificate chains to it and names `servername`. */
function tlsHandshake(input: { host: string; port: number; ca: string; servername: string }): Promise<{ authorized: boolean; error: string | undefined; subjectaltname: string; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ ...input, rejectUnauthorized: false, timeout: 10_000 }, () => {
      const peer = socket.getPeerCertificate();
      const result = { authorized: socket.authorized, error: socket.authorizationError?.toString(), subjectaltname: peer.subjectaltname ?? '', fingerprint: peer.fingerprint256 };
      socket.end();
      resolve(result);
    });
    socket.once('timeout', () => socket.destroy(new Error(`TLS handshake with ${input.host}:${input.port} timed out`)));
    socket.once('error', reject);
  });
}

describe('the seed walkthrough on a real Kubernetes node', { timeout: 45 * MINUTE }, () => {
  let baseline: HostSnapshot;
  /** The host right after stop() restored it, before another run may take the machine. */
  let restored: HostSnapshot | undefined;
  let node: KubeNode;
  let kubectl: ClusterKubectl;
  let env: NodeJS.ProcessEnv;
  let usersUrl: string;
  let rotorImage: string;
  let clusterId: string;
  let keysSecretUid: string;
  // Secrets the checks below come to know (issued credentials, their tokens): the log scan looks for them too.
  const seen = new SecretSet();
  const log = (line: string): void => console.log(`# ${line}`);
  const secretText = async (namespace: string, name: string): Promise<string> =>
    Buffer.from((await node.kubectl(['-n', namespace, 'get', 'secret', name, '-o', 'jsonpath={.data.password}'])).trim(), 'base64').toString('utf8');
  // `rotor configure plan` as the configure job runs apply: its pod template, its identity, its file.
  const configurePlan = async (): Promise<string> => {
    const job = JSON.parse(await node.kubectl(['-n', 'vault', 'get', 'job', 'vault-configure', '-o', 'json'])) as { spec: { template: { spec: { containers: { args: string[] }[] } } } };
    const spec = job.spec.template.spec;
    for (const c of spec.containers) c.args = c.args.map((a) => (a === 'apply' ? 'plan' : a));
    const name = 'vault-configure-plan';
    await node.apply({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name, namespace: 'vault' },
      spec: { backoffLimit: 0, template: { metadata: { labels: { 'app.kubernetes.io/name': 'vault-configure' } }, spec: { ...spec, restartPolicy: 'Never' } } },
    });
    await waitFor(
      `job ${name} to finish`,
      async () => {
        const status = JSON.parse(await node.kubectl(['-n', 'vault', 'get', 'job', name, '-o', 'jsonpath={.status}'])) as { succeeded?: number; failed?: number };
        return (status.succeeded ?? 0) + (status.failed ?? 0) > 0 ? true : undefined;
      },
      { timeoutMs: 5 * MINUTE, intervalMs: 2_000 },
    );
    return node.kubectl(['-n', 'vault', 'logs', `job/${name}`]);
  };
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
    node = await startKubeNode({
      images: [...imageCatalog().keys()],
      onMachine: { acquired: async () => void (baseline = await hostSnapshot()), releasing: async () => void (restored = await hostSnapshot()) },
    });
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
    await installFromDocs({ repo, env, overlay: 'deploy/overlays/testbed', only: ['namespaces', 'secrets', 'tls'], diagnose });
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

  it('TLS: Vault refuses plain HTTP, presents a certificate of the installed CA; a client given another CA is refused, saying why', async () => {
    needs('vault');
    const caOf = async (namespace: string, secret: string): Promise<string> =>
      Buffer.from((await node.kubectl(['-n', namespace, 'get', 'secret', secret, '-o', 'jsonpath={.data.ca\\.crt}'])).trim(), 'base64').toString('utf8');
    const ca = await caOf('vault', 'vault-tls');
    assert.match(ca, /^-----BEGIN CERTIFICATE-----/);
    for (const ns of ['app', 'monitoring']) assert.equal(await caOf(ns, 'vault-ca'), ca, `${ns}/vault-ca carries the same CA`);
    // From the node, through the active node's Service (kube-proxy).
    const host = new URL(await serviceUrl(kubectl, 'vault', 'vault-active')).hostname;
    const plain = await fetch(`http://${host}:8200/v1/sys/health`, { signal: AbortSignal.timeout(10_000) });
    const answer = await plain.text();
    assert.equal(plain.status, 400, answer);
    assert.match(answer, /HTTP request to an HTTPS server/);
    const trusted = await tlsHandshake({ host, port: 8200, ca, servername: 'vault-active.vault.svc' });
    assert.deepEqual([trusted.authorized, trusted.error], [true, undefined], 'the certificate chains to the installed CA and names the Service');
    assert.match(trusted.subjectaltname, /DNS:vault-active\.vault\.svc/);
    const dir = mkdtempSync(join(tmpdir(), 'rotor-cluster-other-ca-'));
    try {
      const other = await createTestCa(dir, 'other');
      const untrusted = await tlsHandshake({ host, port: 8200, ca: other.certPem, servername: 'vault-active.vault.svc' });
      assert.deepEqual([untrusted.authorized, untrusted.error], [false, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'], 'another CA does not verify it');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // In the cluster, by the Service's name: `rotor status` in an unsealer pod (the rotor image) and
    // `bao status` in a vault pod (the snapshot job's client). With the CA of vault-tls they see the
    // active node; given another CA (the cluster's own, which both pods have) they refuse the server.
    const address = 'https://vault-active.vault.svc:8200';
    const otherCa = '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt';
    const [unsealer] = (await pods(kubectl, 'vault', 'app.kubernetes.io/name=vault-unsealer')).filter((p) => p.ready);
    assert.ok(unsealer);
    const rotorStatus = async (caCert: string): Promise<{ code: number | null; nodes: { address?: string; state: string; error?: string }[] }> => {
      const run = await kubectl.result(['-n', 'vault', 'exec', unsealer.name, '-c', 'unsealer', '--', 'node', '/app/packages/cli/dist/src/main.js', 'status', '--address', address, '--nodes', address, '--ca-cert', caCert, '--json'], { timeoutMs: 2 * MINUTE });
      const report = JSON.parse(run.stdout) as { nodes: { address?: string; state: string; error?: string }[] };
      return { code: run.code, nodes: report.nodes.filter((n) => n.address === address) };
    };
    const good = await rotorStatus('/etc/rotor/vault-tls/ca.crt');
    assert.deepEqual([good.code, good.nodes.map((n) => n.state)], [0, ['active']], JSON.stringify(good));
    const wrong = await rotorStatus(otherCa);
    assert.deepEqual([wrong.code, wrong.nodes.map((n) => n.state)], [7, ['unreachable']], JSON.stringify(wrong));
    const baoStatus = (caCert: string): Promise<{ code: number | null; stdout: string; stderr: string }> =>
      kubectl.result(['-n', 'vault', 'exec', 'vault-0', '-c', 'server', '--', 'env', `BAO_CACERT=${caCert}`, 'bao', 'status', `-address=${address}`], { timeoutMs: MINUTE });
    assert.equal((await baoStatus('/openbao/tls/ca.crt')).code, 0);
    const refused = await baoStatus(otherCa);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /tls: failed to verify certificate: x509: certificate signed by unknown authority/);
    log(`another CA: rotor status "${wrong.nodes[0]?.error ?? ''}"; bao status "${refused.stderr.trim().split('\n')[0] ?? ''}"`);
  });

  it('TLS: a renewed certificate is served after SIGHUP, as docs/operations.md rolls it; until then the loaded one', { timeout: 10 * MINUTE }, async () => {
    needs('vault');
    const ca = Buffer.from((await node.kubectl(['-n', 'vault', 'get', 'secret', 'vault-tls', '-o', 'jsonpath={.data.ca\\.crt}'])).trim(), 'base64').toString('utf8');
    const host = (await pods(kubectl, 'vault', VAULT_SELECTOR)).find((p) => p.name === 'vault-0')?.ip;
    assert.ok(host, 'vault-0 has a pod IP');
    // The pod itself, not a Service: the roll is per pod.
    const served = async (): Promise<string> => {
      const handshake = await tlsHandshake({ host, port: 8200, ca, servername: 'vault-0.vault-internal.vault.svc' });
      assert.equal(handshake.authorized, true, handshake.error);
      return handshake.fingerprint;
    };
    const before = await served();
    // Renewal without cert-manager: the same `issue` as step "tls" (the CA it made), the Secret replaced.
    const dir = mkdtempSync(join(tmpdir(), 'rotor-cluster-renew-'));
    let renewed: string;
    try {
      const script = [
        `npx rotor tls issue --ca-dir "$ROTOR_CA_DIR" --name vault --out ${dir} --dns vault-active.vault.svc,vault-standby.vault.svc,vault.vault.svc,vault-internal.vault.svc,'*.vault-internal.vault.svc' --dns vault-0.vault-internal.vault.svc,vault-1.vault-internal.vault.svc,vault-2.vault-internal.vault.svc,localhost --ip 127.0.0.1`,
        `kubectl -n vault create secret generic vault-tls --type=kubernetes.io/tls --from-file=tls.crt=${dir}/vault.crt --from-file=tls.key=${dir}/vault.key --from-file=ca.crt="$ROTOR_CA_DIR/ca.crt" --dry-run=client -o yaml | kubectl apply -f -`,
      ].join('\n');
      await runDocStep({ name: 'renew vault-tls', script, line: 0 }, { cwd: repo, env, timeoutMs: 2 * MINUTE });
      renewed = new X509Certificate(readFileSync(join(dir, 'vault.crt'))).fingerprint256;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.notEqual(renewed, before);
    const elapsed = performance.now();
    await waitFor(
      'the kubelet to update vault-0\'s mounted certificate',
      async () => (new X509Certificate(await node.kubectl(['-n', 'vault', 'exec', 'vault-0', '-c', 'server', '--', 'cat', '/openbao/tls/tls.crt'])).fingerprint256 === renewed ? true : undefined),
      { timeoutMs: 4 * MINUTE, intervalMs: 2_000 },
    );
    const mountedAfter = Math.round((performance.now() - elapsed) / 1000);
    assert.equal(await served(), before, 'the new file alone changes nothing: Vault serves the certificate it loaded');
    // As docs/operations.md sends it (kill is the shell's: the image has no kill binary).
    await node.kubectl(['-n', 'vault', 'exec', 'vault-0', '-c', 'server', '--', 'sh', '-c', 'kill -HUP 1']);
    await waitFor('vault-0 to serve the renewed certificate', async () => ((await served()) === renewed ? true : undefined), { timeoutMs: MINUTE, intervalMs: 500 });
    const [after] = await vaultStatus(kubectl, ['vault-0']);
    assert.deepEqual([after?.initialized, after?.sealed], [true, false], 'no restart, no seal');
    log(`certificate roll: the kubelet updated the mounted file in ${mountedAfter} s; served after SIGHUP`);
  });

  it('3. PostgreSQL: a StatefulSet on its claim; the db-admin Job made the seed table and vault_admin (CREATEROLE, no superuser)', async () => {
    needs('vault');
    const claim = JSON.parse(await node.kubectl(['-n', 'db', 'get', 'pvc', 'data-postgres-0', '-o', 'json'])) as { spec: { volumeName?: string }; status: { phase: string } };
    assert.deepEqual([claim.status.phase, claim.spec.volumeName], ['Bound', 'postgres-data']);
    // As the DB admin does: psql in the pod over its socket (peer), no password.
    assert.deepEqual(await psqlAsDbAdmin(kubectl, 'SELECT id, title, name FROM users ORDER BY id'), ['1|sre|sakib', '2|manager|hanifa']);
    const role = await psqlAsDbAdmin(kubectl, "SELECT rolcanlogin, rolcreaterole, rolsuper, rolcreatedb, pg_has_role('vault_admin', 'pg_signal_backend', 'MEMBER') FROM pg_roles WHERE rolname = 'vault_admin'");
    assert.deepEqual(role, ['t|t|f|f|t'], 'vault_admin: LOGIN CREATEROLE, not a superuser, may end sessions');
    const grants = await psqlAsDbAdmin(kubectl, "SELECT has_table_privilege('vault_admin', 'users', 'SELECT WITH GRANT OPTION'), has_table_privilege('vault_admin', 'users', 'INSERT WITH GRANT OPTION'), has_sequence_privilege('vault_admin', 'users_id_seq', 'USAGE WITH GRANT OPTION')");
    assert.deepEqual(grants, ['t|t|t'], 'vault_admin may grant what the dynamic roles get');
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
    // Vault's connection logs in as vault_admin, and rotate-root replaced the install Secret's password.
    const installed = await passwordLogin(kubectl, 'vault_admin', await secretText('db', 'postgres-bootstrap'), 'SELECT 1');
    assert.equal(installed.ok, false, 'the postgres-bootstrap password no longer logs in as vault_admin');
    assert.match(installed.error, /password authentication failed for user "vault_admin"/);
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

  it('PostgreSQL over verified TLS only: Vault\'s and the services\' backends are TLS; Vault refuses another CA; PostgreSQL refuses Vault without TLS', { timeout: 10 * MINUTE }, async () => {
    needs('app');
    assert.deepEqual(await psqlAsDbAdmin(kubectl, 'SHOW ssl'), ['on']);
    const { active } = await vaultCluster(kubectl);
    assert.ok(active);
    // A fresh read runs the role's creation statements on Vault's connection (vault_admin) now.
    const creds = await issueCredentials(kubectl, { vaultPod: active, namespace: 'app', serviceAccount: 'app-auth', authRole: 'app-creds-reader-role', dbRole: 'db-reader-role' });
    seen.add('database password', creds.password);
    seen.add('Vault token', creds.vaultToken);
    seen.add('service account JWT', creds.jwt);
    const ips = async (namespace: string, ...selectors: string[]): Promise<Set<string>> =>
      new Set((await Promise.all(selectors.map((s) => pods(kubectl, namespace, s)))).flat().flatMap((p) => (p.ip ? [p.ip] : [])));
    const vaultIps = await ips('vault', VAULT_SELECTOR);
    const appIps = await ips('app', USERS_API_SELECTOR, 'app.kubernetes.io/name=users-admin-api');
    // Vault's pool and users-api's (its readiness probe pings every 2 s) hold their connections open.
    const backends = await waitFor(
      'backends of vault_admin from a Vault pod and of a v-* user from a users-api pod',
      async () => {
        const seenNow = await vaultBackends(kubectl);
        const fromVault = seenNow.some((b) => b.user === 'vault_admin' && vaultIps.has(b.address));
        const fromApp = seenNow.some((b) => b.user.startsWith('v-') && appIps.has(b.address));
        return fromVault && fromApp ? seenNow : undefined;
      },
      { timeoutMs: 2 * MINUTE, intervalMs: 2_000 },
    );
    assert.deepEqual(backends.filter((b) => !b.ssl), [], `every backend of vault_admin and the v-* users is TLS: ${JSON.stringify(backends)}`);
    const count = (pick: (b: (typeof backends)[number]) => boolean): number => backends.filter(pick).length;
    log(
      `PostgreSQL backends: ${count((b) => b.user === 'vault_admin')} of vault_admin (from Vault pods: ${count((b) => b.user === 'vault_admin' && vaultIps.has(b.address))}), ` +
        `${count((b) => b.user.startsWith('v-'))} of v-* users (from app pods: ${count((b) => b.user.startsWith('v-') && appIps.has(b.address))}), all TLS (${[...new Set(backends.map((b) => b.version))].join(', ')})`,
    );
    // Vault's own connection, dialled from the active Vault pod with other settings (the configure
    // job's identity writes a connection with verify_connection, then deletes it).
    const attempt = async (query: string): Promise<string> => {
      const r = await vaultConnectionAttempt(kubectl, { vaultPod: active, name: 'tls-check', connectionUrl: `postgresql://{{username}}:{{password}}@postgres.db.svc:5432/postgres?${query}` });
      seen.add('Vault token', r.vaultToken);
      seen.add('service account JWT', r.jwt);
      assert.equal(r.ok, false, `no password given: Vault cannot have connected with ${query}`);
      return r.error;
    };
    // Without TLS: PostgreSQL's pg_hba.conf has no line for it, from the Vault pod's address.
    const plain = await attempt('sslmode=disable');
    const refusedFrom = /no pg_hba\.conf entry for host "([^"]+)", user "vault_admin", database "postgres", no encryption/.exec(plain);
    assert.ok(refusedFrom, plain);
    assert.ok(vaultIps.has(refusedFrom[1] ?? ''), `refused from a Vault pod (${refusedFrom[1]}; Vault pods ${[...vaultIps].join(', ')})`);
    // Verified against another CA (the cluster's, which the Vault pods have): Vault refuses PostgreSQL's certificate.
    const otherCa = await attempt('sslmode=verify-full&sslrootcert=/var/run/secrets/kubernetes.io/serviceaccount/ca.crt');
    assert.match(otherCa, /x509: certificate signed by unknown authority/);
    // The shipped settings get through TLS to the login, which fails only for the missing password.
    const shipped = await attempt('sslmode=verify-full&sslrootcert=/openbao/tls/ca.crt');
    assert.doesNotMatch(shipped, /x509|no pg_hba\.conf entry/, shipped);
    assert.match(shipped, /password/i, shipped);
    const lastLine = (text: string): string => text.split('\n').filter((l) => l.trim() !== '').at(-1)?.trim() ?? '';
    log(`Vault to PostgreSQL: sslmode=disable "${lastLine(plain)}"; another CA "${lastLine(otherCa)}"; the shipped CA, no password "${lastLine(shipped)}"`);
  });

  it('network policies are enforced: an unlabelled pod reaches nothing; users-api only Vault, PostgreSQL, DNS and the API server', async () => {
    needs('app');
    const targets = ['vault-active.vault.svc:8200', 'postgres.db.svc:5432', 'kubernetes.default.svc:443'];
    const denied = targets.slice(0, 2);
    const probe = await probeFrom(node, 'app', rotorImage, targets, denied);
    for (const t of denied) assert.notEqual(probe.last[t], 'open', `a probe pod in app must not reach ${t}: ${JSON.stringify(probe)}`);
    // Not asserted: kube-router accepts pod traffic to its own node, and this cluster's API server runs
    // on the node (docs/testbed.md); in a cluster with a separate control plane the default deny holds.
    // Logged, not asserted: a new pod's packets pass until kube-router has programmed its rules.
    log(`probe pod in app: ${JSON.stringify(probe.last)}; denied from round ${probe.rounds} (${probe.lastAtMs} ms after its first, which saw ${JSON.stringify(probe.first)})`);
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

  it('raft snapshot: the CronJob run once as a Job logs in with its own role and leaves a non-empty snapshot on its volume', { timeout: 10 * MINUTE }, async () => {
    needs('configure');
    const run = (await installFromDocs({ repo, env, overlay: 'deploy/overlays/testbed', only: ['snapshot'], diagnose })).get('snapshot');
    const saved = /saved (raft-\d{8}T\d{6}Z\.snap) \((\d+) bytes\)/.exec(run?.output ?? '');
    assert.ok(saved, `the job says what it saved:\n${run?.output ?? ''}`);
    // The CronJob's own hourly run (at :17) may have left another file beside it: look for this one.
    const onVolume = snapshotFiles(volumeDir(node, 'vault-snapshots'));
    assert.deepEqual(onVolume.find((f) => f.name === saved[1]), { name: saved[1], bytes: Number(saved[2]) }, `the snapshot on the PVC, as large as the job said: ${JSON.stringify(onVolume)}`);
    assert.ok(onVolume.every((f) => f.bytes > 0), 'no empty snapshot');
    // A fresh pod may meet Vault unreachable for a moment (kube-router programs its NetworkPolicy
    // rules after the pod starts): the script's login retries are logged lines, counted here.
    const loginRetries = (run?.output ?? '').match(/login failed \(try \d+ of 10\)/g)?.length ?? 0;
    log(`raft snapshot: ${saved[1]}, ${saved[2]} bytes, ${loginRetries} login retries`);
    // Its own identity, no token given: the pod has no BAO_TOKEN, and Vault's audit shows the snapshot
    // read under the kubernetes role vault-snapshot with the policy raft-snapshot, never root.
    const jobPod = JSON.parse(await node.kubectl(['-n', 'vault', 'get', 'pods', '-l', 'job-name=vault-raft-snapshot-manual', '-o', 'json'])) as { items: { spec: { containers: { env?: { name: string }[] }[] } }[] };
    assert.ok(jobPod.items.length > 0);
    for (const p of jobPod.items) assert.ok(!(p.spec.containers[0]?.env ?? []).some((e) => e.name === 'BAO_TOKEN'), 'no token handed to the job');
    const reads = [];
    for (const name of (await vaultCluster(kubectl)).nodes.map((n) => n.pod)) reads.push(...(await auditEntries(kubectl, name, 'sys/storage/raft/snapshot')).filter((e) => e.type === 'request'));
    assert.ok(reads.length > 0, 'an audit line for the snapshot read');
    for (const r of reads) {
      assert.deepEqual([r.auth?.metadata?.role, r.auth?.policies], ['vault-snapshot', ['default', 'raft-snapshot']], `the snapshot read's identity: ${JSON.stringify(r.auth)}`);
    }
  });

  it('pause switch: a paused unsealer leaves a restarted vault pod sealed; resumed, it unseals it', { timeout: 15 * MINUTE }, async () => {
    needs('vault');
    const lease = JSON.parse(await node.kubectl(['-n', 'vault', 'get', 'lease', 'vault-unsealer', '-o', 'json'])) as { spec: { holderIdentity: string } };
    const leaderLog = (): Promise<string> => node.kubectl(['-n', 'vault', 'logs', lease.spec.holderIdentity, '--tail=-1']);
    const count = (text: string, msg: string): number => text.split('\n').filter((l) => l.includes(`"msg":"${msg}`)).length;
    const { nodes, active } = await vaultCluster(kubectl);
    const standby = nodes.find((n) => n.pod !== active)?.pod;
    assert.ok(standby);
    // As docs/operations.md's quorum-loss runbook pauses it (the ConfigMap key, which `rotor unseal pause` writes).
    await node.kubectl(['-n', 'vault', 'create', 'configmap', 'vault-unsealer', '--from-literal=paused=true']);
    try {
      await waitFor('the unsealer to read the pause switch', async () => (count(await leaderLog(), 'paused by the operator') > 0 ? true : undefined), { timeoutMs: 2 * MINUTE, intervalMs: 1_000 });
      const heldBefore = count(await leaderLog(), 'paused: not acting');
      const oldUid = await objectUid(kubectl, 'vault', 'pod', standby);
      await node.kubectl(['-n', 'vault', 'delete', 'pod', standby, '--wait=false']);
      // The unsealer saw the new pod and held back what it would have done (logged once per change).
      await waitFor(
        `the paused unsealer to hold back the unseal of the new ${standby}`,
        async () => {
          const replaced = (await pods(kubectl, 'vault', VAULT_SELECTOR)).some((p) => p.name === standby && p.uid !== oldUid && p.phase === 'Running');
          return replaced && count(await leaderLog(), 'paused: not acting') > heldBefore ? true : undefined;
        },
        { timeoutMs: 5 * MINUTE, intervalMs: 2_000 },
      );
      const [held] = await vaultStatus(kubectl, [standby]);
      assert.deepEqual([held?.initialized, held?.sealed], [true, true], `paused: the new ${standby} stays sealed`);
    } finally {
      await node.kubectl(['-n', 'vault', 'delete', 'configmap', 'vault-unsealer', '--ignore-not-found']);
    }
    await waitFor('the unsealer to resume', async () => (count(await leaderLog(), 'resumed by the operator') > 0 ? true : undefined), { timeoutMs: 2 * MINUTE, intervalMs: 1_000 });
    const resumed = await waitForVaultUnsealed(node, kubectl, 5 * MINUTE);
    assert.equal(resumed.clusterId, clusterId, 'the same cluster, unsealed again');
  });

  it('PostgreSQL rescheduled: the new pod keeps the data and vault_admin\'s rotated password; Vault issues working credentials; db-admin runs again harmlessly; configure plans no change', { timeout: 15 * MINUTE }, async () => {
    needs('configure');
    const rows = await psqlAsDbAdmin(kubectl, 'SELECT id, title, name FROM users ORDER BY id');
    const moved = await reschedulePostgres(kubectl, 5 * MINUTE);
    log(`postgres pod replaced and Ready in ${(moved.elapsedMs / 1000).toFixed(1)} s`);
    assert.match(await node.kubectl(['-n', 'db', 'logs', 'postgres-0', '-c', 'postgres']), /Skipping initialization/, 'the new pod found its data directory');
    assert.deepEqual(await psqlAsDbAdmin(kubectl, 'SELECT id, title, name FROM users ORDER BY id'), rows, 'the same rows');
    // Vault's connection pool held sessions to the old pod: it may take an attempt or two to reconnect.
    const { active } = await vaultCluster(kubectl);
    assert.ok(active);
    let attempts = 0;
    const creds = await waitFor(
      'Vault to issue db-reader-role credentials after the reschedule',
      async () => {
        attempts++;
        return issueCredentials(kubectl, { vaultPod: active, namespace: 'app', serviceAccount: 'app-auth', authRole: 'app-creds-reader-role', dbRole: 'db-reader-role' }).catch(() => undefined);
      },
      { timeoutMs: 2 * MINUTE, intervalMs: 2_000 },
    );
    seen.add('database password', creds.password);
    seen.add('Vault token', creds.vaultToken);
    seen.add('service account JWT', creds.jwt);
    const login = await passwordLogin(kubectl, creds.username, creds.password, 'SELECT count(*) FROM users');
    assert.deepEqual(login.rows, [String(rows.length)], `the new user ${creds.username} logs in and reads the table (${login.error})`);
    log(`vault issued ${creds.username} after ${attempts} attempt(s)`);
    // The db-admin Job again, as documented (delete, apply; the overlay installed last, the sidecar
    // test's, so that nothing else changes): no row changes, vault_admin keeps Vault's password.
    await node.kubectl(['-n', 'db', 'delete', 'job', 'db-admin', '--wait=true']);
    await node.kubectl(['apply', '-k', `${repo}deploy/overlays/testbed-sidecar`], { timeoutMs: 2 * MINUTE });
    await node.kubectl(['-n', 'db', 'wait', '--for=condition=complete', 'job/db-admin', '--timeout=300s'], { timeoutMs: 6 * MINUTE });
    assert.deepEqual(await psqlAsDbAdmin(kubectl, 'SELECT id, title, name FROM users ORDER BY id'), rows, 'the re-run changed no row');
    assert.equal((await passwordLogin(kubectl, 'vault_admin', await secretText('db', 'postgres-bootstrap'), 'SELECT 1')).ok, false, 'the re-run did not reset the password');
    const again = await issueCredentials(kubectl, { vaultPod: active, namespace: 'app', serviceAccount: 'app-auth', authRole: 'app-creds-reader-role', dbRole: 'db-reader-role' });
    seen.add('database password', again.password);
    seen.add('Vault token', again.vaultToken);
    seen.add('service account JWT', again.jwt);
    assert.equal((await passwordLogin(kubectl, again.username, again.password, 'SELECT 1')).ok, true, 'Vault still issues working users');
    // configure plan, as the configure job runs (its identity, its file): no change after all this.
    const plan = await configurePlan();
    assert.match(plan, /No changes: Vault matches the configuration/, plan);
    done.add('postgres-volume');
  });

  it('no secret in any log: each pod\'s containers and each node component', async () => {
    needs('configure');
    const checked = Object.keys(seen.kinds());
    const secrets = await clusterSecrets(node, seen);
    const logs = await clusterLogs(node);
    assert.deepEqual(Object.keys(secrets.kinds()).sort(), ['PostgreSQL bootstrap password', 'PostgreSQL superuser password', 'unseal key', 'unsealer envelope key', ...checked].sort());
    const report = assertNoSecretsInLogs(logs, secrets);
    log(`secret scan: ${report.secrets} values in ${report.logs} logs, ${Math.round(report.bytes / 1024)} KiB, nothing found`);
  });

  it('runs every install step that docs/operations.md documents', () => {
    assert.deepEqual(documentedSteps(repo), ['namespaces', 'secrets', 'tls', 'apply', 'vault-ready', 'configure', 'app-ready', 'snapshot']);
  });

  it('teardown leaves the host as it found it', async () => {
    await node.stop();
    assert.deepEqual(diffSnapshots(baseline, restored ?? assert.fail('stop() took no snapshot before releasing the machine')), []);
  });
});
