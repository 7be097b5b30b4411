// A real single-node Kubernetes cluster on this machine, from the testbed's own
// binaries and images: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, containerd, the kubelet, kube-proxy, kube-router (network
// policies) and CoreDNS. stop() leaves the host exactly as it found it.
import { Resolver } from 'node:dns/promises';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { TestbedError } from '../errors.ts';
import { startKubeApiserver, type KubeApiserver, type KubeTarget } from '../kube.ts';
import { createTestCa, issueClientCert, issueServingCert } from '../pki.ts';
import { ServerProcess } from '../process.ts';
import { waitFor } from '../wait.ts';
import { nodeBinaries, type NodeBinaries } from './binaries.ts';
import { writeCniConfig } from './cni.ts';
import { nodeComponentPids } from './components.ts';
import { containerdSocket, startContainerd, writeContainerdConfig } from './containerd.ts';
import { controllerManagerArgs, schedulerArgs } from './control-plane.ts';
import { corednsManifests } from './coredns.ts';
import { run, runOk, type RunResult } from './exec.ts';
import { emptyBaseline, nodeBusy, saveNodeState, tryNodeLock, type NodeState } from './host-state.ts';
import { imageCatalog, requireImages, type NodeImage } from './images.ts';
import { forwardGuards } from './iptables.ts';
import { kubeProxyArgs, kubeProxyConfig } from './kube-proxy.ts';
import { kubeRouterArgs } from './kube-router.ts';
import { Kubectl, manifestText, podDiagnostics, waitForNodeReady, waitForPodsReady, waitForRollout, type KubectlOptions, type WaitPodsOptions } from './kubectl.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { kubeletArgs, kubeletConfig } from './kubelet.ts';
import { MemoryMeter, type MemorySample } from './memory.ts';
import {
  API_PORT,
  BRIDGE,
  CGROUP_ROOT,
  CLUSTER_DNS_IP,
  CLUSTER_DOMAIN,
  CLUSTER_RANGE,
  KUBERNETES_SERVICE_IP,
  NODE_IP,
  NODE_IP_PREFIX,
  NODE_NAME,
  SERVICE_CIDR,
} from './network.ts';
import { captureBaseline, killNodeProcesses, RUN_DIR_PREFIX, staleRunDirs, teardownHost, type HostTools } from './teardown.ts';
import { cgroupHierarchies, hostMounts } from './mounts.ts';
import { createCgroupRoot } from './cgroups.ts';

export interface StartKubeNodeOptions {
  /** Deadline for the whole start, node Ready and CoreDNS rolled out included. Default 6 min. */
  timeoutMs?: number;
  /** Images (names in testbed/images/images.json) to import before the start resolves; pause and coredns always are. */
  images?: string[];
  /** Where the components' logs go; default: the run dir's logs/, deleted by stop(). A dir given here is kept. */
  logDir?: string;
  /**
   * How long to wait while another process's node holds the machine (test files
   * running in parallel take turns). Default 15 min; a node of this process fails at once.
   */
  lockTimeoutMs?: number;
  /**
   * Run while this process holds the machine: `acquired` once the lock is taken and any
   * stale node removed, before the start changes anything; `releasing` after stop() restored
   * the host, before the lock goes. A test takes its host snapshots here: outside the lock,
   * another run's node (waiting for or just done with the machine) would be part of them.
   */
  onMachine?: { acquired?: () => Promise<void>; releasing?: () => Promise<void> };
}

export interface KubeNode {
  nodeName: string;
  /** https://198.18.0.1:6443 */
  apiServerUrl: string;
  /** The admin's kubeconfig (system:masters), mode 0600. */
  kubeconfigPath: string;
  /** For kubeRequest/kubeOk: the API as the admin. */
  api: KubeTarget;
  caCert: string;
  serviceAccountIssuer: string;
  /** The node's temp dir (deleted by stop()). */
  runDir: string;
  logDir: string;
  /** Images that can be imported, by name; `ref` is what pods name. */
  images: ReadonlyMap<string, NodeImage>;
  /** kubectl with the admin's kubeconfig; resolves with stdout, throws with kubectl's message. */
  kubectl(args: string[], options?: KubectlOptions): Promise<string>;
  /** kubectl, resolving with exit code, stdout and stderr whatever they are. */
  kubectlResult(args: string[], options?: KubectlOptions): Promise<RunResult>;
  /** `kubectl apply -f -` of YAML/JSON text or objects. */
  apply(manifests: string | object | object[], namespace?: string): Promise<string>;
  /** Imports the named images (default: every loadable one) into containerd; resolves with their refs. */
  importImages(names?: string[]): Promise<string[]>;
  waitForNodeReady(timeoutMs?: number): Promise<void>;
  /** `kubectl rollout status`, e.g. ('vault', 'statefulset/vault'); a timeout quotes the pods' state. */
  waitForRollout(namespace: string, resource: string, timeoutMs?: number): Promise<void>;
  /** Resolves with the names of the Ready pods once enough are. */
  waitForPodsReady(namespace: string, selector: string, options?: WaitPodsOptions): Promise<string[]>;
  /** Pods' phase, conditions and containers, plus recent warnings, for error messages. */
  podDiagnostics(namespace: string, selector?: string): Promise<string>;
  /** The node's memory now (PSS by component). */
  memory(): MemorySample;
  /** The largest total seen so far (sampled every second). */
  peakMemory(): MemorySample;
  /** The last lines of a component's log: etcd, kube-apiserver, kubelet, containerd, ... */
  logTail(component: string, lines?: number): string;
  /** Stops everything and restores the host; idempotent. */
  stop(): Promise<void>;
  /** Milliseconds each step of the last stop() took, in order. */
  stopTimings(): Record<string, number>;
}

function hostTools(binaries: NodeBinaries): HostTools {
  return { ip: binaries.ip, iptables: binaries.iptables, ip6tables: binaries.ip6tables, ipset: binaries.ipset, nft: binaries.nft, nfacct: binaries.nfacct };
}

/** Host processes that must find iptables, ipset, mount, and containerd its shim. */
function componentEnv(binaries: NodeBinaries): NodeJS.ProcessEnv {
  const dirs = [join(binaries.shim, '..'), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  return { ...process.env, PATH: [...new Set(dirs)].join(':') };
}

function leftoversPresent(): boolean {
  return (
    existsSync(`/sys/class/net/${BRIDGE}`) ||
    cgroupHierarchies(hostMounts()).some((h) => existsSync(join(h, CGROUP_ROOT))) ||
    staleRunDirs().length > 0
  );
}

const KUBE_ROUTER_USER = 'system:kube-router';
/** The tmpfs limit for containerd's root (content and snapshots); memory is used only as filled. */
const IMAGE_STORE_SIZE = '16g';

/** kube-router's read access, as its own manifests grant it (a netpol controller only reads). */
function kubeRouterRbac(): object[] {
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'rotor-testbed:kube-router' },
      rules: [
        { apiGroups: [''], resources: ['namespaces', 'pods', 'services', 'nodes', 'endpoints'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'rotor-testbed:kube-router' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'rotor-testbed:kube-router' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: KUBE_ROUTER_USER }],
    },
  ];
}

/**
 * Starts the node and resolves once it is Ready and CoreDNS serves. Fails, never
 * skips, when a binary or image is missing (the message names the setup command).
 * Only one node runs per machine; leftovers of a crashed earlier one are removed first.
 */
export async function startKubeNode(options: StartKubeNodeOptions = {}): Promise<KubeNode> {
  // The start's deadline counts from when this process has the machine, not while it waits for it.
  let deadline = Infinity;
  const remaining = (): number => Math.max(1_000, deadline - Date.now());
  const binaries = nodeBinaries();
  const catalog = imageCatalog();
  const [pause, coredns] = requireImages(catalog, ['pause', 'coredns']);
  if (!pause || !coredns) throw new TestbedError('TESTBED_NO_IMAGE', 'pause and coredns images are required');
  requireImages(catalog, options.images ?? []);
  const tools = hostTools(binaries);
  const env = componentEnv(binaries);

  const stale = await takeNodeLock(options.lockTimeoutMs ?? 15 * 60_000);
  deadline = Date.now() + (options.timeoutMs ?? 360_000);
  if (stale || leftoversPresent()) {
    await teardownHost({ tools, baseline: stale?.baseline, runDirs: [...new Set([...(stale?.runDir ? [stale.runDir] : []), ...staleRunDirs()])], releaseLock: false });
  }
  await options.onMachine?.acquired?.();
  const state: NodeState = { pid: process.pid, startedAt: new Date().toISOString(), baseline: await captureBaseline(tools) };
  saveNodeState(state);
  const runDir = mkdtempSync(join(tmpdir(), RUN_DIR_PREFIX));
  state.runDir = runDir;
  saveNodeState(state);
  const logDir = options.logDir ?? join(runDir, 'logs');
  mkdirSync(logDir, { recursive: true });

  const servers = new Map<string, ServerProcess>();
  let apiserver: KubeApiserver | undefined;
  let meter: MemoryMeter | undefined;
  let stopping: Promise<void> | undefined;
  const stopTimings: Record<string, number> = {};
  const serve = (name: string, command: string, args: string[]): ServerProcess => {
    const server = new ServerProcess({ name, command, args, logFile: join(logDir, `${name}.log`), env, cwd: runDir });
    servers.set(name, server);
    return server;
  };

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      meter?.stop();
      const errors: string[] = [];
      const attempt = async (what: string, action: () => Promise<unknown>): Promise<void> => {
        const t0 = Date.now();
        try {
          await action();
        } catch (err) {
          errors.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
        }
        stopTimings[what] = Date.now() - t0;
      };
      // The kubelet first, so it restarts nothing; then the pods and their shims, then containerd.
      await attempt('kubelet', async () => servers.get('kubelet')?.stop());
      await attempt('pods', () => killPods(runDir));
      await attempt('containerd', async () => servers.get('containerd')?.stop());
      await attempt('kube-proxy', async () => servers.get('kube-proxy')?.stop());
      await attempt('kube-proxy --cleanup', () => runOk(binaries.rotorKube, ['kube-proxy', '--cleanup', '--v=0'], { env, timeoutMs: 60_000 }));
      // Not `kube-router --cleanup-config`: it works on empty controllers (so it removes no
      // network-policy rule) and flushes every IPVS service on the host. teardownHost removes
      // kube-router's chains and ipsets instead.
      await attempt('kube-router', async () => servers.get('kube-router')?.stop());
      await attempt('kube-controller-manager', async () => servers.get('kube-controller-manager')?.stop());
      await attempt('kube-scheduler', async () => servers.get('kube-scheduler')?.stop());
      await attempt('kube-apiserver and etcd', async () => apiserver?.stop());
      const hostTimings: Record<string, number> = {};
      await attempt('host', () => teardownHost({ tools, baseline: state.baseline, runDirs: [runDir], releaseLock: true, timings: hostTimings, beforeRelease: options.onMachine?.releasing }));
      for (const [step, ms] of Object.entries(hostTimings)) stopTimings[`host: ${step}`] = ms;
      if (errors.length) throw new TestbedError('TESTBED_TEARDOWN', `stopping the node:\n- ${errors.join('\n- ')}`);
    })();
    return stopping;
  };

  try {
    meter = new MemoryMeter(() => nodeComponentPids(runDir));
    await setUpHostNetwork(tools, state.baseline.sysctls['net/ipv4/ip_forward'] !== '1');

    // One CA for the run: it signs the apiserver's and kubelet's serving certificates and every client's.
    const pki = join(runDir, 'pki');
    mkdirSync(pki);
    const ca = await createTestCa(pki, 'node');
    const client = (name: string, commonName: string, organizations: string[] = []) => issueClientCert(ca, pki, name, { commonName, organizations });
    const [kubeletClient, apiserverKubeletClient, controllerManagerClient, schedulerClient, kubeProxyClient, kubeRouterClient, kubeletServing] =
      await Promise.all([
        client('kubelet', `system:node:${NODE_NAME}`, ['system:nodes']),
        client('apiserver-kubelet-client', 'kube-apiserver-kubelet-client', ['system:masters']),
        client('kube-controller-manager', 'system:kube-controller-manager'),
        client('kube-scheduler', 'system:kube-scheduler'),
        client('kube-proxy', 'system:kube-proxy'),
        client('kube-router', KUBE_ROUTER_USER),
        issueServingCert(ca, pki, 'kubelet-serving', { ips: [NODE_IP], dnsNames: [NODE_NAME] }),
      ]);

    apiserver = await startKubeApiserver({
      dir: join(runDir, 'control-plane'),
      logDir,
      ca,
      bindAddress: NODE_IP,
      port: API_PORT,
      serviceClusterIpRange: SERVICE_CIDR,
      servingIps: [KUBERNETES_SERVICE_IP],
      servingDnsNames: ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', `kubernetes.default.svc.${CLUSTER_DOMAIN}`],
      endpointReconciler: 'lease',
      authorizationModes: ['Node', 'RBAC'],
      admissionPlugins: ['NodeRestriction'],
      extraArgs: [
        `--kubelet-client-certificate=${apiserverKubeletClient.certFile}`,
        `--kubelet-client-key=${apiserverKubeletClient.keyFile}`,
        `--kubelet-certificate-authority=${ca.certFile}`,
        '--kubelet-preferred-address-types=InternalIP',
      ],
      timeoutMs: remaining(),
    });
    const api: KubeTarget = { url: apiserver.url, caCert: apiserver.caCert, adminToken: apiserver.adminToken };
    const kubectl = new Kubectl(binaries.rotorKube, apiserver.kubeconfigPath);

    const kubeconfigs = join(runDir, 'kubeconfigs');
    mkdirSync(kubeconfigs);
    const kubeconfigFor = (name: string, cert: { certFile: string; keyFile: string }): string =>
      writeKubeconfig(join(kubeconfigs, `${name}.kubeconfig`), apiserver?.url ?? '', ca.certFile, name, { clientCertFile: cert.certFile, clientKeyFile: cert.keyFile });

    serve(
      'kube-controller-manager',
      binaries.rotorKube,
      controllerManagerArgs({
        kubeconfig: kubeconfigFor('kube-controller-manager', controllerManagerClient),
        caCertFile: ca.certFile,
        caKeyFile: ca.keyFile,
        serviceAccountKeyFile: apiserver.serviceAccountSigningKeyFile,
      }),
    );
    serve('kube-scheduler', binaries.rotorKube, schedulerArgs(kubeconfigFor('kube-scheduler', schedulerClient)));

    // containerd, with the images the node itself needs.
    const containerdDir = join(runDir, 'containerd');
    const cniConfDir = join(runDir, 'cni', 'net.d');
    writeCniConfig(cniConfDir, join(runDir, 'cni', 'ipam'));
    // Images and their unpacked layers live in memory: unpacking is faster, and stop() unmounts
    // them at once where deleting tens of thousands of files from this disk took 20 s and more.
    mkdirSync(join(containerdDir, 'root'), { recursive: true });
    await runOk('mount', ['-t', 'tmpfs', '-o', `size=${IMAGE_STORE_SIZE},mode=0700`, 'rotor-node-images', join(containerdDir, 'root')]);
    const containerdConfigFile = writeContainerdConfig({
      dir: containerdDir,
      runcBinary: binaries.runc,
      cniBinDir: binaries.cniBinDir,
      cniConfDir,
      sandboxImage: pause.ref,
    });
    servers.set(
      'containerd',
      await startContainerd({
        containerd: binaries.containerd,
        ctr: binaries.ctr,
        shim: binaries.shim,
        configFile: containerdConfigFile,
        dir: containerdDir,
        logFile: join(logDir, 'containerd.log'),
        timeoutMs: remaining(),
      }),
    );
    const imported = new Set<string>();
    const importImages = async (names?: string[]): Promise<string[]> => {
      const wanted = requireImages(catalog, names ?? [...catalog.keys()]);
      for (const image of wanted) {
        if (imported.has(image.name)) continue;
        await importImage(binaries, containerdDir, image);
        imported.add(image.name);
      }
      return wanted.map((i) => i.ref);
    };
    await importImages(['pause', 'coredns', ...(options.images ?? [])]);

    // The kubelet, its pods below our own cgroup root.
    createCgroupRoot();
    const kubeletDir = join(runDir, 'kubelet');
    mkdirSync(kubeletDir, { recursive: true });
    const kubeletConfigFile = join(runDir, 'kubelet-config.json');
    writeFileSync(
      kubeletConfigFile,
      JSON.stringify(
        kubeletConfig({
          containerdSocket: containerdSocket(containerdDir),
          clientCaFile: ca.certFile,
          tlsCertFile: kubeletServing.certFile,
          tlsKeyFile: kubeletServing.keyFile,
          podLogsDir: join(kubeletDir, 'pod-logs'),
        }),
        null,
        2,
      ),
    );
    const kubelet = serve('kubelet', binaries.rotorKube, kubeletArgs({ configFile: kubeletConfigFile, kubeconfig: kubeconfigFor(`system:node:${NODE_NAME}`, kubeletClient), rootDir: kubeletDir }));

    // Services and network policies.
    const kubeProxyConfigFile = join(runDir, 'kube-proxy-config.json');
    writeFileSync(kubeProxyConfigFile, JSON.stringify(kubeProxyConfig(kubeconfigFor('system:kube-proxy', kubeProxyClient)), null, 2));
    serve('kube-proxy', binaries.rotorKube, kubeProxyArgs(kubeProxyConfigFile));
    await kubectl.run(['apply', '-f', '-'], { input: manifestText(kubeRouterRbac()) });

    await waitForNodeReady(api, NODE_NAME, remaining(), kubelet.exitSignal).catch((err: unknown) => {
      throw kubelet.running ? err : kubelet.failure('exited before the node was Ready', err);
    });
    // kube-router exits unless its Node object exists; pods started before it are covered by its first sync.
    serve('kube-router', binaries.kubeRouter, kubeRouterArgs(kubeconfigFor(KUBE_ROUTER_USER, kubeRouterClient)));
    await kubectl.run(['apply', '-f', '-'], { input: manifestText(corednsManifests(coredns.ref)) });
    await waitForRollout(kubectl, api, 'kube-system', 'deployment/coredns', remaining());
    // Ready means usable: kube-router has its chains, and the cluster DNS answers through its Service.
    const kubeRouter = servers.get('kube-router');
    await waitFor('kube-router to install its network-policy chains', async () => ((await run(binaries.iptables, ['-w', '-S', 'KUBE-ROUTER-FORWARD'])).code === 0 ? true : undefined), {
      timeoutMs: remaining(),
      intervalMs: 250,
      ...(kubeRouter ? { signal: kubeRouter.exitSignal } : {}),
    }).catch((err: unknown) => {
      throw kubeRouter?.failure('did not set up network policies', err) ?? err;
    });
    await waitFor('the cluster DNS Service to answer', () => clusterDnsAnswers(), { timeoutMs: remaining(), intervalMs: 250 });
    for (const [name, server] of servers) {
      if (!server.running) throw server.failure(`${name} exited during the start`);
    }

    const node: KubeNode = {
      nodeName: NODE_NAME,
      apiServerUrl: apiserver.url,
      kubeconfigPath: apiserver.kubeconfigPath,
      api,
      caCert: apiserver.caCert,
      serviceAccountIssuer: apiserver.serviceAccountIssuer,
      runDir,
      logDir,
      images: catalog,
      kubectl: (args, o) => kubectl.run(args, o),
      kubectlResult: (args, o) => kubectl.result(args, o),
      apply: (manifests, namespace) => kubectl.run(['apply', ...(namespace ? ['-n', namespace] : []), '-f', '-'], { input: manifestText(manifests) }),
      importImages,
      waitForNodeReady: (timeoutMs) => waitForNodeReady(api, NODE_NAME, timeoutMs),
      waitForRollout: (namespace, resource, timeoutMs) => waitForRollout(kubectl, api, namespace, resource, timeoutMs),
      waitForPodsReady: (namespace, selector, o) => waitForPodsReady(api, namespace, selector, o),
      podDiagnostics: (namespace, selector) => podDiagnostics(api, namespace, selector),
      memory: () => (meter as MemoryMeter).sample(),
      peakMemory: () => (meter as MemoryMeter).peak,
      logTail: (component, lines = 40) => servers.get(component)?.logTail(lines) ?? logFileTail(join(logDir, `${component}.log`), lines),
      stop,
      stopTimings: () => ({ ...stopTimings }),
    };
    return node;
  } catch (err) {
    const failure = err instanceof Error ? err : new Error(String(err));
    await stop().catch((teardown: unknown) => {
      failure.message += `\n(and the teardown after it failed: ${teardown instanceof Error ? teardown.message : String(teardown)})`;
    });
    throw failure;
  }
}

/** The bridge (the node IP lives on it before any pod), routes, the FORWARD guard and forwarding. */
async function setUpHostNetwork(tools: HostTools, forwardingWasOff: boolean): Promise<void> {
  await runOk(tools.ip, ['link', 'add', BRIDGE, 'type', 'bridge']);
  await runOk(tools.ip, ['addr', 'add', `${NODE_IP}/${NODE_IP_PREFIX}`, 'dev', BRIDGE]);
  await runOk(tools.ip, ['link', 'set', BRIDGE, 'up']);
  // Nothing in the node's range may take the default route off the machine ...
  await runOk(tools.ip, ['route', 'add', 'unreachable', CLUSTER_RANGE]);
  // ... and the host reaches ClusterIPs over the bridge (kube-proxy's DNAT picks the pod).
  await runOk(tools.ip, ['route', 'add', SERVICE_CIDR, 'dev', BRIDGE, 'src', NODE_IP]);
  const guards = forwardGuards(CLUSTER_RANGE, forwardingWasOff);
  for (const [index, rule] of guards.entries()) {
    const [chain, ...spec] = rule;
    await runOk(tools.iptables, ['-w', '-t', 'mangle', '-I', chain ?? 'FORWARD', String(index + 1), ...spec]);
  }
  // Pods reach Services through the host (DNAT, then forwarded back over the bridge);
  // bridged pod-to-pod traffic must pass iptables for kube-proxy and kube-router.
  writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
  writeFileSync('/proc/sys/net/bridge/bridge-nf-call-iptables', '1');
}

async function importImage(binaries: NodeBinaries, containerdDir: string, image: NodeImage): Promise<void> {
  const ctr = ['--address', containerdSocket(containerdDir), '--namespace', 'k8s.io'];
  await runOk(binaries.ctr, [...ctr, 'images', 'import', '--local', image.archive], { timeoutMs: 600_000 }).catch((err: unknown) => {
    throw new TestbedError('TESTBED_NO_IMAGE', `importing ${image.name} from ${image.archive}: ${err instanceof Error ? err.message : String(err)}`);
  });
  const listed = await runOk(binaries.ctr, [...ctr, 'images', 'list', '--quiet']);
  if (!listed.split('\n').includes(image.ref)) {
    throw new TestbedError('TESTBED_NO_IMAGE', `${basename(image.archive)} was imported but containerd has no ${image.ref} (it has: ${listed.split('\n').filter(Boolean).join(', ')})`);
  }
}

/** SIGKILLs every pod process, then the containerd shims that watched them. */
async function killPods(runDir: string): Promise<void> {
  await killNodeProcesses([]);
  const shims = nodeComponentPids(runDir)['containerd-shim-runc-v2'] ?? [];
  for (const pid of shims) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** true once kubernetes.default resolves through the kube-dns Service from the host (kube-proxy's DNAT, then CoreDNS). */
async function clusterDnsAnswers(): Promise<true | undefined> {
  const resolver = new Resolver({ timeout: 1_000, tries: 1 });
  resolver.setServers([CLUSTER_DNS_IP]);
  const addresses = await resolver.resolve4(`kubernetes.default.svc.${CLUSTER_DOMAIN}`);
  return addresses.includes(KUBERNETES_SERVICE_IP) ? true : undefined;
}

/** Waits for the node lock; resolves with a crashed earlier run's state when it took that over. */
async function takeNodeLock(timeoutMs: number): Promise<NodeState | undefined> {
  const mine: NodeState = { pid: process.pid, startedAt: new Date().toISOString(), baseline: emptyBaseline() };
  const started = Date.now();
  let holder: NodeState | undefined;
  type Outcome = { stale: NodeState | undefined } | { busy: NodeState };
  const outcome = await waitFor<Outcome>(
    'the node lock',
    () => {
      const attempt = tryNodeLock(mine);
      if (attempt.acquired) return Promise.resolve({ stale: attempt.stale });
      holder = attempt.holder;
      // This process's own node will not go away while we wait.
      return Promise.resolve(holder.pid === process.pid ? { busy: holder } : undefined);
    },
    { timeoutMs, intervalMs: 1_000 },
  ).catch((err: unknown) => {
    throw holder ? nodeBusy(holder, Date.now() - started) : err;
  });
  if ('busy' in outcome) throw nodeBusy(outcome.busy);
  return outcome.stale;
}

/** The last lines of a log file (etcd's and kube-apiserver's ServerProcess live inside startKubeApiserver). */
function logFileTail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') || '(no output)';
  } catch {
    return `(no log ${basename(file)})`;
  }
}
