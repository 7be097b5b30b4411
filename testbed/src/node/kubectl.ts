import { TestbedError } from '../errors.ts';
import { kubeOk, kubeRequest, type KubeTarget } from '../kube.ts';
import { waitFor } from '../wait.ts';
import { run, type RunResult } from './exec.ts';

export interface KubectlOptions {
  /** Standard input, e.g. manifests for `apply -f -`. */
  input?: string;
  timeoutMs?: number;
}

/**
 * kubectl's arguments for an error message, with literal values that may be
 * secrets (`--from-literal=key=value`, `--token=`, `--password=`) masked.
 */
export function describeKubectlArgs(args: string[]): string {
  return args
    .map((arg) => arg.replace(/^(--from-literal=[^=]*=).*/s, '$1***').replace(/^(--(?:token|password|client-key-data)=).*/s, '$1***'))
    .join(' ');
}

/** `rotor-kube kubectl` against one kubeconfig. */
export class Kubectl {
  readonly #binary: string;
  readonly #kubeconfig: string;

  constructor(binary: string, kubeconfig: string) {
    this.#binary = binary;
    this.#kubeconfig = kubeconfig;
  }

  /** Runs kubectl; resolves with its exit code and output whatever they are (for commands expected to fail). */
  result(args: string[], options: KubectlOptions = {}): Promise<RunResult> {
    return run(this.#binary, ['kubectl', `--kubeconfig=${this.#kubeconfig}`, ...args], {
      ...(options.input !== undefined ? { input: options.input } : {}),
      timeoutMs: options.timeoutMs ?? 120_000,
    });
  }

  /** Runs kubectl and resolves with its stdout; a non-zero exit throws with kubectl's own message. */
  async run(args: string[], options: KubectlOptions = {}): Promise<string> {
    const result = await this.result(args, options);
    if (result.code !== 0) {
      throw new TestbedError('TESTBED_KUBECTL', `kubectl ${describeKubectlArgs(args)} exited ${result.code}: ${(result.stderr || result.stdout).trim()}`);
    }
    return result.stdout;
  }
}

/** Manifests as kubectl reads them: YAML/JSON text as is, objects as a JSON List. */
export function manifestText(manifests: string | object | object[]): string {
  if (typeof manifests === 'string') return manifests;
  const items = Array.isArray(manifests) ? manifests : [manifests];
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
}

interface PodList {
  items: Pod[];
}

interface ContainerStatus {
  name: string;
  ready: boolean;
  restartCount: number;
  state?: Record<string, { reason?: string; message?: string; exitCode?: number } | undefined>;
  lastState?: Record<string, { reason?: string; message?: string; exitCode?: number } | undefined>;
}

interface Pod {
  metadata: { name: string; namespace: string; deletionTimestamp?: string };
  spec: { nodeName?: string };
  status: {
    phase?: string;
    reason?: string;
    message?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
  };
}

const query = (params: Record<string, string | undefined>): string => {
  const entries = Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined);
  return entries.length ? `?${new URLSearchParams(entries).toString()}` : '';
};

function isReady(pod: Pod): boolean {
  return pod.metadata.deletionTimestamp === undefined && pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}

function describeContainer(c: ContainerStatus): string {
  const [state, detail] = Object.entries(c.state ?? {})[0] ?? ['unknown', undefined];
  const why = [detail?.reason, detail?.exitCode !== undefined ? `exit ${detail.exitCode}` : undefined, detail?.message].filter(Boolean).join(', ');
  return `${c.name} ${state}${why ? ` (${why})` : ''}${c.restartCount ? `, ${c.restartCount} restarts` : ''}`;
}

/** One line per pod: phase, unmet conditions, each container's state; then the namespace's recent warnings. */
export async function podDiagnostics(api: KubeTarget, namespace: string, selector?: string): Promise<string> {
  try {
    const pods = await kubeOk<PodList>(api, 'GET', `/api/v1/namespaces/${namespace}/pods${query({ labelSelector: selector })}`);
    const lines = pods.items.map((pod) => {
      const unmet = (pod.status.conditions ?? []).filter((c) => c.status !== 'True').map((c) => `${c.type}=${c.status}${c.reason ? `:${c.reason}` : ''}`);
      const containers = [...(pod.status.initContainerStatuses ?? []).map((c) => `init ${describeContainer(c)}`), ...(pod.status.containerStatuses ?? []).map(describeContainer)];
      return `pod ${namespace}/${pod.metadata.name}: ${pod.status.phase ?? 'no phase'}${pod.status.reason ? ` ${pod.status.reason}` : ''}${unmet.length ? `; ${unmet.join(' ')}` : ''}${containers.length ? `; ${containers.join('; ')}` : ''}`;
    });
    // The last words of containers that crashed: usually the reason.
    for (const pod of pods.items) {
      for (const c of [...(pod.status.initContainerStatuses ?? []), ...(pod.status.containerStatuses ?? [])]) {
        const terminated = c.state?.terminated ?? c.lastState?.terminated;
        if (!terminated && c.restartCount === 0) continue;
        const previous = c.state?.terminated ? 'false' : 'true';
        const res = await kubeRequest<unknown>(api, 'GET', `/api/v1/namespaces/${namespace}/pods/${pod.metadata.name}/log${query({ container: c.name, previous, tailLines: '8' })}`);
        const text = (typeof res.body === 'string' ? res.body : JSON.stringify(res.body)).trim(); // a one-line JSON log arrives parsed
        if (res.status === 200 && text) lines.push(`log ${pod.metadata.name}/${c.name}${previous === 'true' ? ' (previous)' : ''}:\n  ${text.split('\n').join('\n  ')}`);
      }
    }
    const events = await kubeOk<{ items: { type: string; reason: string; message: string; involvedObject: { kind: string; name: string } }[] }>(
      api,
      'GET',
      `/api/v1/namespaces/${namespace}/events${query({ fieldSelector: 'type=Warning' })}`,
    );
    const warnings = events.items.slice(-10).map((e) => `event ${e.involvedObject.kind}/${e.involvedObject.name}: ${e.reason}: ${e.message}`);
    return [...(lines.length ? lines : [`no pods in ${namespace}${selector ? ` matching ${selector}` : ''}`]), ...warnings].join('\n');
  } catch (err) {
    return `(diagnostics unavailable: ${err instanceof Error ? err.message : String(err)})`;
  }
}

export interface WaitPodsOptions {
  timeoutMs?: number;
  /** At least this many Ready pods (default 1). */
  count?: number;
}

/** Waits until at least `count` pods matching `selector` are Ready; a timeout quotes their state and the warnings. */
export async function waitForPodsReady(api: KubeTarget, namespace: string, selector: string, options: WaitPodsOptions = {}): Promise<string[]> {
  const count = options.count ?? 1;
  const timeoutMs = options.timeoutMs ?? 120_000;
  try {
    return await waitFor(
      `${count} Ready pod(s) ${selector} in ${namespace}`,
      async () => {
        const pods = await kubeOk<PodList>(api, 'GET', `/api/v1/namespaces/${namespace}/pods${query({ labelSelector: selector })}`);
        const ready = pods.items.filter(isReady).map((p) => p.metadata.name);
        return ready.length >= count ? ready : undefined;
      },
      { timeoutMs, intervalMs: 500 },
    );
  } catch (err) {
    throw new TestbedError('TESTBED_KUBE_WAIT', `${err instanceof Error ? err.message : String(err)}\n${await podDiagnostics(api, namespace, selector)}`, { cause: err });
  }
}

/** Waits for `kubectl rollout status` of e.g. deployment/coredns; a timeout quotes the pods' state. */
export async function waitForRollout(kubectl: Kubectl, api: KubeTarget, namespace: string, resource: string, timeoutMs = 180_000): Promise<void> {
  const result = await kubectl.result(['rollout', 'status', resource, '-n', namespace, `--timeout=${Math.ceil(timeoutMs / 1000)}s`], {
    timeoutMs: timeoutMs + 15_000,
  });
  if (result.code !== 0) {
    throw new TestbedError(
      'TESTBED_KUBE_WAIT',
      `rollout of ${namespace}/${resource} did not finish in ${timeoutMs} ms: ${(result.stderr || result.stdout).trim()}\n${await podDiagnostics(api, namespace)}`,
    );
  }
}

interface NodeObject {
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

/** Waits for the node's Ready condition; a timeout quotes its conditions. */
export async function waitForNodeReady(api: KubeTarget, nodeName: string, timeoutMs = 120_000, signal?: AbortSignal): Promise<void> {
  let last = 'not registered yet';
  try {
    await waitFor(
      `node ${nodeName} to be Ready`,
      async () => {
        const node = await kubeOk<NodeObject>(api, 'GET', `/api/v1/nodes/${nodeName}`).catch(() => undefined);
        const conditions = node?.status?.conditions ?? [];
        if (node) last = conditions.map((c) => `${c.type}=${c.status}${c.message ? ` (${c.message})` : ''}`).join('; ') || 'no conditions';
        return conditions.some((c) => c.type === 'Ready' && c.status === 'True') ? true : undefined;
      },
      { timeoutMs, intervalMs: 500, ...(signal ? { signal } : {}) },
    );
  } catch (err) {
    throw new TestbedError('TESTBED_KUBE_WAIT', `${err instanceof Error ? err.message : String(err)}; node conditions: ${last}`, { cause: err });
  }
}
