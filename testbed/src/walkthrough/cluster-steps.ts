// The seed's walkthrough on the testbed's Kubernetes node, step by step, shared by the cluster
// test (which asserts) and `npm run demo -- --cluster` (which narrates). Each step returns what an
// operator would look at; none decides pass or fail.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestbedError } from '../errors.ts';
import type { KubeNode } from '../node/index.ts';
import { waitFor } from '../wait.ts';
import { counterByLabel } from '../metrics-text.ts';
import { readDocSteps, runDocStep, type StepRun } from './docs-steps.ts';
import { hostPathVolumes, pods, vaultStatus, type Kubectl, type VaultNodeStatus } from './observe.ts';

export const VAULT_SELECTOR = 'app.kubernetes.io/name=vault,component=server';
export const USERS_API_SELECTOR = 'app.kubernetes.io/name=users-api';

/** The node's kubectl in the shape the observers take. */
export function clusterKubectl(node: KubeNode): Kubectl {
  return { run: (args, options) => node.kubectl(args, options), result: (args, options) => node.kubectlResult(args, options) };
}

/**
 * The environment the documented commands run in: KUBECONFIG of the node's admin and a `kubectl`
 * on PATH (the testbed's multi-call binary), as an operator's shell would have; the CA that
 * `rotor tls issue` makes (step "tls") in the node's run directory, removed with it.
 */
export function operatorShellEnv(node: KubeNode, rotorKube: string): NodeJS.ProcessEnv {
  const bin = join(node.runDir, 'operator-bin');
  mkdirSync(bin, { recursive: true });
  const kubectl = join(bin, 'kubectl');
  writeFileSync(kubectl, `#!/bin/sh\nexec ${JSON.stringify(rotorKube)} kubectl "$@"\n`);
  chmodSync(kubectl, 0o755);
  return { ...process.env, KUBECONFIG: node.kubeconfigPath, PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, ROTOR_CA_DIR: join(node.runDir, 'rotor-ca') };
}

/**
 * docs/operations.md's install steps, in order, with `kubectl apply -k deploy/` pointed at
 * `overlay` (the only change made to the documented commands).
 */
export async function installFromDocs(input: {
  repo: string;
  env: NodeJS.ProcessEnv;
  overlay: string;
  onStep?: (name: string, run: StepRun) => void;
  only?: readonly string[];
  /** When a step fails, its error quotes these namespaces' pods, crash logs and warnings. */
  diagnose?: { node: Pick<KubeNode, 'podDiagnostics'>; namespaces: readonly string[] };
}): Promise<Map<string, StepRun>> {
  const steps = readDocSteps(join(input.repo, 'docs/operations.md'));
  const runs = new Map<string, StepRun>();
  for (const step of steps) {
    if (input.only !== undefined && !input.only.includes(step.name)) continue;
    const run = await runDocStep(step, {
      cwd: input.repo,
      env: input.env,
      timeoutMs: 15 * 60_000,
      rewrite: (script) => script.replace(/kubectl apply -k deploy\/(?=\s|$)/g, `kubectl apply -k ${input.overlay}`),
    }).catch(async (err: unknown) => {
      const diagnose = input.diagnose;
      if (diagnose === undefined) throw err;
      const diagnostics = await Promise.all(diagnose.namespaces.map((ns) => diagnose.node.podDiagnostics(ns)));
      const code = err instanceof TestbedError ? err.code : 'TESTBED_DOC_STEP';
      throw new TestbedError(code, `${err instanceof Error ? err.message : String(err)}\n${diagnostics.join('\n')}`, { cause: err });
    });
    runs.set(step.name, run);
    input.onStep?.(step.name, run);
  }
  return runs;
}

/** The documented step names, in order (a test checks the walkthrough runs all of them). */
export function documentedSteps(repo: string): string[] {
  return readDocSteps(join(repo, 'docs/operations.md')).map((s) => s.name);
}

/** Where the statically provisioned volumes live on the node (hostPath, removed with the node's runDir). */
export function volumeDir(node: Pick<KubeNode, 'runDir'>, name: string): string {
  return join(node.runDir, 'volumes', name);
}

/**
 * Statically provisioned volumes for the claims of deploy/: three for the vault StatefulSet
 * (data-vault-0..2), one for PostgreSQL's (data-postgres-0) and one for the snapshots.
 */
export async function provisionVaultVolumes(node: KubeNode): Promise<void> {
  const dir = join(node.runDir, 'volumes');
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const writable = (name: string): void => {
    // hostPath volumes get no fsGroup ownership change: the pod's user must be able to write.
    mkdirSync(volumeDir(node, name), { recursive: true });
    chmodSync(volumeDir(node, name), 0o777);
  };
  const names = ['vault-data-0', 'vault-data-1', 'vault-data-2'];
  names.forEach(writable);
  await node.apply(hostPathVolumes(dir, names));
  // Each other claim gets a PV of its own size, so that the binder (smallest PV that fits) gives it
  // that one and never one of vault's 10Gi volumes: PostgreSQL's (deploy/postgres, 5Gi; initdb
  // makes its PGDATA below it as uid 999) and the raft snapshot CronJob's (deploy/vault/snapshot.yaml, 2Gi).
  writable('postgres-data');
  await node.apply(hostPathVolumes(dir, ['postgres-data'], '5Gi'));
  writable('vault-snapshots');
  await node.apply(hostPathVolumes(dir, ['vault-snapshots'], '2Gi'));
}

/** The vault pods' names, Vault's own status in each, and which one is active. */
export async function vaultCluster(kubectl: Kubectl): Promise<{ nodes: VaultNodeStatus[]; active: string | undefined; clusterIds: string[] }> {
  const names = (await pods(kubectl, 'vault', VAULT_SELECTOR)).filter((p) => p.phase === 'Running').map((p) => p.name).sort();
  const nodes = await vaultStatus(kubectl, names);
  return { nodes, active: nodes.find((n) => n.active)?.pod, clusterIds: [...new Set(nodes.map((n) => n.clusterId ?? ''))] };
}

/** Waits until three vault pods are Running, initialized, unsealed, one active, and Ready. */
export async function waitForVaultUnsealed(node: KubeNode, kubectl: Kubectl, timeoutMs: number): Promise<{ nodes: VaultNodeStatus[]; active: string; clusterId: string }> {
  return waitFor(
    'three vault pods initialized, unsealed and ready, one of them active',
    async () => {
      const ready = (await pods(kubectl, 'vault', VAULT_SELECTOR)).filter((p) => p.ready && !p.deleting);
      if (ready.length < 3) return undefined;
      const { nodes, active, clusterIds } = await vaultCluster(kubectl);
      if (nodes.length !== 3 || nodes.some((n) => !n.initialized || n.sealed) || active === undefined || clusterIds.length !== 1) return undefined;
      return { nodes, active, clusterId: clusterIds[0] ?? '' };
    },
    { timeoutMs, intervalMs: 2_000 },
  ).catch(async (err: unknown) => {
    throw new Error(`${(err as Error).message}\n${await node.podDiagnostics('vault')}`, { cause: err });
  });
}

/** GET and POST through a Service URL, as the seed checks them with Postman. */
export async function seedRequests(url: string): Promise<{ get: { status: number; body: unknown }; post: { status: number; body: unknown } }> {
  // kube-proxy programs a Service's endpoints a moment after its pods turn ready (until then the
  // node rejects the connection): wait for the Service to answer at all, then send each request once.
  await waitFor(`the Service at ${url} to answer`, async () => ((await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5_000) })).ok ? true : undefined), {
    timeoutMs: 60_000,
    intervalMs: 250,
  });
  const get = await fetch(`${url}/users/1`, { signal: AbortSignal.timeout(10_000) });
  const post = await fetch(`${url}/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ title: 'intern', name: 'walkthrough' }),
    signal: AbortSignal.timeout(10_000),
  });
  return { get: { status: get.status, body: await get.json() }, post: { status: post.status, body: await post.json() } };
}

/**
 * Tries TCP connections from inside a pod (node -e in an existing container, or a fresh probe
 * pod): which targets answered within the timeout. `kubectl exec` runs the same code an
 * attacker in that pod would.
 */
export function connectScript(targets: readonly string[], timeoutMs = 3_000): string {
  return `${roundScript(targets, timeoutMs)}
round().then((r) => console.log(JSON.stringify(r)));
`;
}

/** Node source defining `round()`: one TCP connect to each target, resolving to target -> 'open' or why not. */
function roundScript(targets: readonly string[], timeoutMs = 3_000): string {
  return `
const net = require('node:net');
const targets = ${JSON.stringify(targets)};
const round = () => Promise.all(targets.map((t) => new Promise((resolve) => {
  const [host, port] = t.split(':');
  const s = net.connect({ host, port: Number(port) });
  const done = (ok, why) => { s.destroy(); resolve([t, ok ? 'open' : why]); };
  s.setTimeout(${timeoutMs}, () => done(false, 'timeout'));
  s.on('connect', () => done(true));
  s.on('error', (e) => done(false, e.code || 'error'));
}))).then((r) => Object.fromEntries(r));
`;
}

export async function connectFrom(kubectl: Kubectl, namespace: string, target: string, container: string, targets: readonly string[]): Promise<Record<string, string>> {
  const out = await kubectl.run(['-n', namespace, 'exec', target, '-c', container, '--', 'node', '-e', connectScript(targets)], { timeoutMs: 60_000 });
  return JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Record<string, string>;
}

/** A pod in `namespace` without any Rotor labels, Pod Security restricted, running `node -e`. */
export function probePod(name: string, namespace: string, image: string, script: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { 'rotor.testbed/probe': 'true' } },
    spec: {
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'probe',
          image,
          command: ['node', '-e', script],
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
          resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '64Mi' } },
        },
      ],
    },
  };
}

/** What a probe pod saw: its first round, its last, and when its last began (ms after its first). */
export interface ProbeRounds {
  first: Record<string, string>;
  last: Record<string, string>;
  rounds: number;
  lastAtMs: number;
}

/**
 * Runs a probe pod to completion. It connects to every target, round after round (250 ms apart, for
 * 60 s at most), until none of `untilClosed` answers: a network policy controller programs a new pod's
 * rules a moment after the pod starts (kube-router: on its pod event), and until then the pod's
 * packets pass. The caller asserts the last round and can report the window.
 */
export async function probeFrom(node: KubeNode, namespace: string, image: string, targets: readonly string[], untilClosed: readonly string[] = []): Promise<ProbeRounds> {
  const name = `np-probe-${Date.now().toString(36)}`;
  const script = `${roundScript(targets)}
const untilClosed = ${JSON.stringify(untilClosed)};
(async () => {
  const started = Date.now();
  for (let n = 1; ; n++) {
    const at = Date.now() - started;
    const result = await round();
    console.log(JSON.stringify({ n, at, result }));
    if (untilClosed.every((t) => result[t] !== 'open') || Date.now() - started > 60000) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
})();
`;
  await node.apply(probePod(name, namespace, image, script));
  try {
    await waitFor(
      `probe pod ${namespace}/${name} to finish`,
      async () => {
        const phase = (await node.kubectl(['-n', namespace, 'get', 'pod', name, '-o', 'jsonpath={.status.phase}'])).trim();
        return phase === 'Succeeded' || phase === 'Failed' ? phase : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 1_000 },
    );
    const rounds = (await node.kubectl(['-n', namespace, 'logs', name])).trim().split('\n').map((l) => JSON.parse(l) as { n: number; at: number; result: Record<string, string> });
    const first = rounds[0];
    const last = rounds.at(-1);
    if (!first || !last) throw new Error(`probe pod ${namespace}/${name} printed nothing`);
    return { first: first.result, last: last.result, rounds: last.n, lastAtMs: last.at };
  } finally {
    await node.kubectl(['-n', namespace, 'delete', 'pod', name, '--wait=false']).catch(() => undefined);
  }
}

/** A pod's counter by the value of one label, e.g. credential rotations by reason. */
export async function podCounterByLabel(podIp: string, port: number, name: string, label: string): Promise<Record<string, number>> {
  const text = await (await fetch(`http://${podIp}:${port}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
  return counterByLabel(text, name, label);
}
