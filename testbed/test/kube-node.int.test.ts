// The testbed's real single-node Kubernetes cluster: the node becomes Ready, pods
// run from imported images, CoreDNS answers, Services and NetworkPolicies are
// enforced, nothing leaves the machine, and stop() restores the host exactly,
// twice in a row.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import {
  CLUSTER_DNS_IP,
  KUBERNETES_SERVICE_IP,
  NODE_IP,
  POD_CIDR,
  cleanupStaleNode,
  diffSnapshots,
  hostSnapshot,
  kubeOk,
  startKubeNode,
  waitFor,
  type HostSnapshot,
  type KubeNode,
  type MemorySample,
} from '../src/index.ts';

const MINUTE = 60_000;
const MiB = 1024 * 1024;

/** Pod Security "restricted", as Rotor's own namespaces run. */
function namespace(name: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'pod-security.kubernetes.io/enforce': 'restricted', purpose: name } },
  };
}

const restricted = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  runAsNonRoot: true,
  seccompProfile: { type: 'RuntimeDefault' },
};

/** A pod running `node -e script` from the rotor image (the Dockerfile's Node as user 10001). */
function nodePod(ns: string, name: string, image: string, script: string, labels: Record<string, string>): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: 'main',
          image,
          imagePullPolicy: 'Never',
          command: ['node', '-e', script],
          ports: [{ containerPort: 8080 }],
          securityContext: restricted,
          readinessProbe: script.includes('listen(') ? { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 } : undefined,
        },
      ],
    },
  };
}

const HTTP_SERVER = "require('http').createServer((q, s) => s.end(JSON.stringify({ pod: process.env.HOSTNAME, from: q.socket.remoteAddress }))).listen(8080)";
const IDLE = 'setInterval(() => {}, 1 << 30)';

/** Node code for `kubectl exec ... node -e`: prints the response body, or exits 1 printing the error code. */
function fetchScript(url: string, timeoutMs = 3_000): string {
  return `fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(${timeoutMs}) }).then((r) => r.text()).then((t) => console.log(t), (e) => { console.log('ERR ' + (e.cause?.code ?? e.name)); process.exit(1); })`;
}

function formatMemory(sample: MemorySample): string {
  const parts = Object.entries(sample.byComponent)
    .filter(([, bytes]) => bytes > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([name, bytes]) => `${name} ${(bytes / MiB).toFixed(0)}`);
  return `${(sample.totalBytes / MiB).toFixed(0)} MiB PSS (${parts.join(', ')})`;
}

describe('the Kubernetes node', { timeout: 40 * MINUTE }, () => {
  let baseline: HostSnapshot;
  let node: KubeNode | undefined;
  let image: string;
  let serverIp: string;
  const log = (line: string): void => console.log(`# ${line}`);

  before(async () => {
    baseline = await hostSnapshot();
    const t0 = Date.now();
    node = await startKubeNode({ images: ['rotor'] });
    log(`node start (Ready, CoreDNS rolled out, pause+coredns+rotor imported): ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    image = node.images.get('rotor')?.ref ?? assert.fail('rotor image in the catalog');
    await node.apply([namespace('np-server'), namespace('np-client')]);
  });

  after(async () => {
    await node?.stop();
  });

  const live = (): KubeNode => node ?? assert.fail('node not started');

  it('registers a Ready node at the bridge address, with the pod CIDR, and refuses a second node on the machine', async () => {
    const n = await kubeOk<{ spec: { podCIDR?: string }; status: { addresses: { type: string; address: string }[]; conditions: { type: string; status: string }[]; nodeInfo: { kubeletVersion: string; containerRuntimeVersion: string } } }>(
      live().api,
      'GET',
      `/api/v1/nodes/${live().nodeName}`,
    );
    assert.equal(n.status.conditions.find((c) => c.type === 'Ready')?.status, 'True');
    assert.deepEqual(n.status.addresses.find((a) => a.type === 'InternalIP')?.address, NODE_IP);
    assert.equal(n.spec.podCIDR, POD_CIDR);
    log(`kubelet ${n.status.nodeInfo.kubeletVersion}, ${n.status.nodeInfo.containerRuntimeVersion}`);
    await assert.rejects(startKubeNode(), /already running on this machine/);
  });

  it('runs a pod from an imported image; the host reaches it at its pod IP', async () => {
    await live().apply(nodePod('np-server', 'web', image, HTTP_SERVER, { app: 'web' }));
    await live().waitForPodsReady('np-server', 'app=web', { timeoutMs: 3 * MINUTE });
    serverIp = (await live().kubectl(['-n', 'np-server', 'get', 'pod', 'web', '-o', 'jsonpath={.status.podIP}'])).trim();
    assert.match(serverIp, /^198\.18\.0\.\d+$/);
    const body = (await (await fetch(`http://${serverIp}:8080/`, { signal: AbortSignal.timeout(5_000) })).json()) as { pod: string; from: string };
    assert.equal(body.pod, 'web');
    assert.equal(body.from.replace(/^::ffff:/, ''), NODE_IP, 'the host reaches pods from the node IP');
  });

  it('resolves cluster names with CoreDNS from a pod, and nothing else', async () => {
    await live().apply(nodePod('np-client', 'client', image, IDLE, { app: 'client' }));
    const [client] = await waitFor(
      'client pod running',
      async () => ((await live().kubectl(['-n', 'np-client', 'get', 'pod', 'client', '-o', 'jsonpath={.status.phase}'])) === 'Running' ? ['client'] : undefined),
      { timeoutMs: 3 * MINUTE, intervalMs: 500 },
    );
    assert.equal(client, 'client');
    const lookup = (name: string): Promise<string> =>
      live().kubectl([
        '-n', 'np-client', 'exec', 'client', '--', 'node', '-e',
        `require('dns').lookup(${JSON.stringify(name)}, (e, a) => console.log(e ? 'ERR ' + e.code : a))`,
      ]);
    assert.equal((await lookup('kubernetes.default.svc.cluster.local')).trim(), KUBERNETES_SERVICE_IP);
    // The pod's resolver is the cluster DNS Service; there is no upstream to forward to.
    const resolvConf = await live().kubectl(['-n', 'np-client', 'exec', 'client', '--', 'cat', '/etc/resolv.conf']);
    assert.match(resolvConf, new RegExp(`^nameserver ${CLUSTER_DNS_IP.replaceAll('.', '\\.')}$`, 'm'));
    assert.equal(resolvConf.match(/^nameserver/gm)?.length, 1);
    assert.match((await lookup('registry.k8s.io')).trim(), /^ERR (ENOTFOUND|EAI_AGAIN|ESERVFAIL)/);
  });

  it('reaches a pod through its Service ClusterIP, from a pod, from the host and from itself', async () => {
    await live().apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'np-server' },
      spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
    });
    const clusterIp = (await live().kubectl(['-n', 'np-server', 'get', 'service', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    assert.match(clusterIp, /^198\.19\./);
    const fromPod = await waitFor(
      'the Service to answer from the client pod',
      async () => {
        const res = await live().kubectlResult(['-n', 'np-client', 'exec', 'client', '--', 'node', '-e', fetchScript('http://web.np-server.svc.cluster.local/')]);
        return res.code === 0 ? res.stdout : undefined;
      },
      { timeoutMs: MINUTE, intervalMs: 1_000 },
    );
    assert.equal((JSON.parse(fromPod) as { pod: string }).pod, 'web');
    const fromHost = (await (await fetch(`http://${clusterIp}/`, { signal: AbortSignal.timeout(5_000) })).json()) as { pod: string };
    assert.equal(fromHost.pod, 'web');
    // Hairpin: the pod reaches itself through its own Service (back out of the same bridge port).
    // The full name: inside the pod, "web" alone is its own hostname (the kubelet's /etc/hosts).
    const hairpin = await live().kubectl(['-n', 'np-server', 'exec', 'web', '--', 'node', '-e', fetchScript('http://web.np-server.svc.cluster.local/')]);
    assert.equal((JSON.parse(hairpin) as { pod: string }).pod, 'web');
  });

  it('enforces a NetworkPolicy: default-deny blocks the client, an allow rule lets it back in', async () => {
    const reach = async (): Promise<string> =>
      (await live().kubectlResult(['-n', 'np-client', 'exec', 'client', '--', 'node', '-e', fetchScript(`http://${serverIp}:8080/`, 2_000)])).stdout.trim();
    assert.match(await reach(), /"pod":"web"/, 'reachable before any policy');
    await live().apply({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'default-deny', namespace: 'np-server' },
      spec: { podSelector: {}, policyTypes: ['Ingress'] },
    });
    await waitFor('default-deny to take effect', async () => ((await reach()).startsWith('ERR') ? true : undefined), { timeoutMs: MINUTE, intervalMs: 1_000 });
    // Not a flake: it stays blocked.
    for (let i = 0; i < 3; i++) assert.match(await reach(), /^ERR /);
    await live().apply({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'allow-client', namespace: 'np-server' },
      spec: {
        podSelector: { matchLabels: { app: 'web' } },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { purpose: 'np-client' } }, podSelector: { matchLabels: { app: 'client' } } }], ports: [{ port: 8080 }] }],
      },
    });
    await waitFor('the allow rule to take effect', async () => ((await reach()).includes('"pod":"web"') ? true : undefined), { timeoutMs: MINUTE, intervalMs: 1_000 });
  });

  it('keeps traffic on the machine: pods have no route out, and pulls go nowhere', async () => {
    const out = await live().kubectlResult(['-n', 'np-client', 'exec', 'client', '--', 'node', '-e', fetchScript('http://192.0.2.1/', 2_000)]);
    assert.equal(out.stdout.trim(), 'ERR ENETUNREACH');
    await live().apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'not-imported', namespace: 'np-client' },
      spec: { containers: [{ name: 'main', image: 'registry.example/not-imported:1', securityContext: restricted }] },
    });
    const event = await waitFor(
      'the pull of an image that was not imported to fail',
      async () => {
        const events = await kubeOk<{ items: { reason: string; message: string; involvedObject: { name: string } }[] }>(live().api, 'GET', '/api/v1/namespaces/np-client/events');
        return events.items.find((e) => e.involvedObject.name === 'not-imported' && e.reason === 'Failed' && e.message.includes('198.18.255.254'))?.message;
      },
      { timeoutMs: 2 * MINUTE, intervalMs: 1_000 },
    );
    log(`pull of a missing image: ${event.slice(0, 200)}`);
  });

  it('stop() restores the host exactly, and a second node starts and stops cleanly on the same machine', async () => {
    const running = live();
    log(`peak node memory: ${formatMemory(running.peakMemory())}`);
    let t0 = Date.now();
    await running.stop();
    log(`node stop: ${((Date.now() - t0) / 1000).toFixed(1)} s (${Object.entries(running.stopTimings()).map(([step, ms]) => `${step} ${ms}`).join(', ')} ms)`);
    await running.stop(); // idempotent
    node = undefined;
    assert.deepEqual(diffSnapshots(baseline, await hostSnapshot()), []);

    t0 = Date.now();
    node = await startKubeNode();
    log(`second node start: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    assert.match(await live().kubectl(['get', 'nodes']), /rotor-node\s+Ready/);
    t0 = Date.now();
    await live().stop();
    log(`second node stop: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    node = undefined;
    assert.deepEqual(diffSnapshots(baseline, await hostSnapshot()), []);
  });

  it('cleans up after a start that fails halfway, and after a process that crashed with its node running', async () => {
    // A deadline too short for the whole start: it fails somewhere after the host was set up.
    await assert.rejects(startKubeNode({ timeoutMs: 4_000 }), /timed out|did not|exited/);
    assert.deepEqual(diffSnapshots(baseline, await hostSnapshot()), [], 'a failed start tears down what it set up');

    // A test process killed with its node up leaves every component running and every rule in place.
    const index = fileURLToPath(new URL('../src/index.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=rotor-source', '--input-type=module', '-e',
      `import { startKubeNode } from ${JSON.stringify(index)}; await startKubeNode(); console.log('NODE UP'); setInterval(() => {}, 1 << 30);`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      await waitFor('the crashing process to start its node', () => Promise.resolve(output.includes('NODE UP') ? true : undefined), { timeoutMs: 6 * MINUTE, intervalMs: 500 });
      // Another process's node: a start waits for the machine, then gives up naming the holder.
      await assert.rejects(startKubeNode({ lockTimeoutMs: 3_000 }), new RegExp(`already running on this machine \\(pid ${child.pid}, .*still after waiting`));
    } finally {
      child.kill('SIGKILL');
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    }
    assert.notDeepEqual(diffSnapshots(baseline, await hostSnapshot()), [], 'the crash left the node behind');
    const t0 = Date.now();
    await cleanupStaleNode();
    log(`cleanupStaleNode after a crash: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    assert.deepEqual(diffSnapshots(baseline, await hostSnapshot()), []);
  });
});
