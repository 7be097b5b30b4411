// What an operator looks at on the cluster, read with kubectl as they would: pods, Vault's own
// status from inside its pods, Services, events. Used by the cluster walkthrough test and
// `npm run demo -- --cluster`.
import { TestbedError } from '../errors.ts';

/** kubectl with the cluster's kubeconfig (the node's `Kubectl`). */
export interface Kubectl {
  /** Resolves stdout; a non-zero exit rejects with kubectl's message. */
  run(args: string[], options?: { input?: string; timeoutMs?: number }): Promise<string>;
  /** Resolves whatever the exit code. */
  result(args: string[], options?: { input?: string; timeoutMs?: number }): Promise<{ code: number | null; stdout: string; stderr: string }>;
}

export interface PodView {
  name: string;
  uid: string;
  ready: boolean;
  phase: string;
  deleting: boolean;
  ip: string | undefined;
  labels: Record<string, string>;
  restarts: number;
  /** Why each restarted container last stopped, e.g. "unsealer: Error exit 4" or "liveness probe" (kubelet's words). */
  lastTerminations: string[];
  initContainers: string[];
  containers: string[];
}

interface PodJson {
  metadata: { name: string; uid: string; deletionTimestamp?: string; labels?: Record<string, string> };
  spec: { containers: { name: string }[]; initContainers?: { name: string }[] };
  status: { phase?: string; podIP?: string; conditions?: { type: string; status: string }[]; containerStatuses?: ContainerStatusJson[] };
}

interface ContainerStatusJson {
  name: string;
  restartCount: number;
  lastState?: { terminated?: { reason?: string; exitCode?: number; message?: string } };
}

function lastTermination(c: ContainerStatusJson): string | undefined {
  const t = c.lastState?.terminated;
  return t ? `${c.name}: ${t.reason ?? 'terminated'} exit ${String(t.exitCode ?? '?')}${t.message ? ` (${t.message.trim()})` : ''}` : undefined;
}

export async function pods(kubectl: Kubectl, namespace: string, selector: string): Promise<PodView[]> {
  const list = JSON.parse(await kubectl.run(['-n', namespace, 'get', 'pods', '-l', selector, '-o', 'json'])) as { items: PodJson[] };
  return list.items.map((p) => ({
    name: p.metadata.name,
    uid: p.metadata.uid,
    ready: p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    phase: p.status.phase ?? 'Unknown',
    deleting: p.metadata.deletionTimestamp !== undefined,
    ip: p.status.podIP,
    labels: p.metadata.labels ?? {},
    restarts: (p.status.containerStatuses ?? []).reduce((n, c) => n + c.restartCount, 0),
    lastTerminations: (p.status.containerStatuses ?? []).flatMap((c) => lastTermination(c) ?? []),
    initContainers: (p.spec.initContainers ?? []).map((c) => c.name),
    containers: p.spec.containers.map((c) => c.name),
  }));
}

export interface VaultNodeStatus {
  pod: string;
  initialized: boolean;
  sealed: boolean;
  clusterId: string | undefined;
  /** This node is the active one. */
  active: boolean;
}

/** `bao status -format=json` inside each vault pod (exit 2 means sealed, and still prints the status). */
export async function vaultStatus(kubectl: Kubectl, podNames: readonly string[]): Promise<VaultNodeStatus[]> {
  return Promise.all(
    podNames.map(async (pod) => {
      const r = await kubectl.result(['-n', 'vault', 'exec', pod, '-c', 'server', '--', 'bao', 'status', '-format=json']);
      if ((r.code !== 0 && r.code !== 2) || !r.stdout.trim().startsWith('{')) {
        throw new TestbedError('TESTBED_CLUSTER', `bao status in ${pod} exited ${String(r.code)}: ${(r.stderr || r.stdout).trim()}`);
      }
      const s = JSON.parse(r.stdout) as { initialized: boolean; sealed: boolean; cluster_id?: string; is_self?: boolean };
      return { pod, initialized: s.initialized, sealed: s.sealed, clusterId: s.cluster_id, active: s.is_self === true };
    }),
  );
}

/** http://CLUSTER-IP:PORT of a Service, reachable from the node (kube-proxy). */
export async function serviceUrl(kubectl: Kubectl, namespace: string, name: string): Promise<string> {
  const svc = JSON.parse(await kubectl.run(['-n', namespace, 'get', 'service', name, '-o', 'json'])) as { spec: { clusterIP: string; ports: { port: number }[] } };
  const port = svc.spec.ports[0]?.port;
  if (port === undefined) throw new TestbedError('TESTBED_CLUSTER', `Service ${namespace}/${name} has no port`);
  return `http://${svc.spec.clusterIP}:${port}`;
}

export async function objectUid(kubectl: Kubectl, namespace: string, kind: string, name: string): Promise<string> {
  return (await kubectl.run(['-n', namespace, 'get', kind, name, '-o', 'jsonpath={.metadata.uid}'])).trim();
}

/**
 * Statically provisioned volumes for the cluster's PersistentVolumeClaims (the testbed has no
 * cloud disks): hostPath PersistentVolumes under `dir`, world-writable because hostPath volumes
 * get no fsGroup ownership change.
 */
export function hostPathVolumes(dir: string, names: readonly string[], size = '10Gi'): object[] {
  return names.map((name) => ({
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, labels: { 'rotor.testbed/volume': 'static' } },
    spec: {
      capacity: { storage: size },
      accessModes: ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: 'Retain',
      hostPath: { path: `${dir}/${name}`, type: 'DirectoryOrCreate' },
    },
  }));
}

/**
 * Watches a Deployment's pods while something runs: which pods left and came, and the fewest
 * ready at any sample, to show replacements and that the PodDisruptionBudget held.
 */
export class PodTurnover {
  readonly #kubectl: Kubectl;
  readonly #namespace: string;
  readonly #selector: string;
  readonly #seen = new Map<string, string>();
  readonly #gone = new Set<string>();
  #initial = new Set<string>();
  #minReady = Infinity;
  #samples = 0;
  #timer: NodeJS.Timeout | undefined;
  #busy = false;

  constructor(kubectl: Kubectl, namespace: string, selector: string) {
    this.#kubectl = kubectl;
    this.#namespace = namespace;
    this.#selector = selector;
  }

  async start(everyMs = 1000): Promise<void> {
    const first = await pods(this.#kubectl, this.#namespace, this.#selector);
    // Pods already on their way out (a finished rollout's stragglers) are not counted as replaced.
    this.#initial = new Set(first.filter((p) => !p.deleting).map((p) => p.uid));
    this.#record(first);
    this.#timer = setInterval(() => void this.#sample(), everyMs);
  }

  async #sample(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      this.#record(await pods(this.#kubectl, this.#namespace, this.#selector));
    } catch {
      // A missed sample only makes the figures coarser.
    } finally {
      this.#busy = false;
    }
  }

  #record(now: PodView[]): void {
    this.#samples++;
    const present = new Set(now.map((p) => p.uid));
    for (const p of now) this.#seen.set(p.uid, p.name);
    for (const uid of this.#seen.keys()) if (!present.has(uid)) this.#gone.add(uid);
    this.#minReady = Math.min(this.#minReady, now.filter((p) => p.ready && !p.deleting).length);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Pods present at the start that have since gone (replaced). */
  get replaced(): number {
    return [...this.#initial].filter((uid) => this.#gone.has(uid)).length;
  }

  get arrivals(): number {
    return [...this.#seen.keys()].filter((uid) => !this.#initial.has(uid)).length;
  }

  get minReady(): number {
    return this.#minReady;
  }

  get samples(): number {
    return this.#samples;
  }
}
