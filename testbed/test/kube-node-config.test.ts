// The node's pure parts: its configuration files and the teardown's decisions.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cniConfList } from '../src/node/cni.ts';
import { containerdConfig, defaultRegistryHosts } from '../src/node/containerd.ts';
import { corefile, corednsManifests } from '../src/node/coredns.ts';
import { parseImageCatalog } from '../src/node/images.ts';
import { forwardGuards, iptablesCleanup, ipsetsToDestroy, parseIptablesSave, ruleArgs, tablesToDelete } from '../src/node/iptables.ts';
import { kubeProxyConfig } from '../src/node/kube-proxy.ts';
import { describeKubectlArgs } from '../src/node/kubectl.ts';
import { kubeletConfig } from '../src/node/kubelet.ts';
import { mountsBelow, parseMountinfo } from '../src/node/mounts.ts';
import * as net from '../src/node/network.ts';
import { diffSnapshots } from '../src/node/snapshot.ts';

function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

function inCidr(ip: string, cidr: string): boolean {
  const [base = '', bits = '32'] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  const start = Math.floor(ipToInt(base) / size) * size;
  return ipToInt(ip) >= start && ipToInt(ip) < start + size;
}

describe('node addresses', () => {
  it('keeps every address of the node inside 198.18.0.0/15', () => {
    for (const ip of [net.NODE_IP, net.KUBERNETES_SERVICE_IP, net.CLUSTER_DNS_IP, net.NO_REGISTRY]) assert.ok(inCidr(ip, net.CLUSTER_RANGE), ip);
    for (const cidr of [net.POD_CIDR, net.SERVICE_CIDR]) assert.ok(inCidr(cidr.split('/')[0] ?? '', net.CLUSTER_RANGE), cidr);
    assert.ok(inCidr(net.NODE_IP, net.POD_CIDR), 'the bridge is the pods\' gateway');
    assert.ok(inCidr(net.KUBERNETES_SERVICE_IP, net.SERVICE_CIDR) && inCidr(net.CLUSTER_DNS_IP, net.SERVICE_CIDR));
    assert.ok(!inCidr(net.NO_REGISTRY, net.POD_CIDR) && !inCidr(net.NO_REGISTRY, net.SERVICE_CIDR), 'the pull sink is routed nowhere');
  });

  it('gives pods a route to the cluster range only: no default route, no masquerade', () => {
    const conf = cniConfList('/tmp/x/ipam') as { plugins: { ipMasq: boolean; isDefaultGateway: boolean; bridge: string; ipam: { routes: { dst: string }[]; dataDir: string } }[] };
    const bridge = conf.plugins[0];
    assert.ok(bridge);
    assert.equal(bridge.bridge, net.BRIDGE);
    assert.equal(bridge.ipMasq, false);
    assert.equal(bridge.isDefaultGateway, false);
    assert.deepEqual(bridge.ipam.routes.map((r) => r.dst), [net.CLUSTER_RANGE]);
    assert.equal(bridge.ipam.dataDir, '/tmp/x/ipam', 'host-local keeps its leases in the run dir, not /var/lib/cni');
  });

  it('drops forwarded traffic that leaves or enters the range, and transit traffic when the node turned forwarding on', () => {
    const guards = forwardGuards(net.CLUSTER_RANGE, true).map((rule) => rule.join(' '));
    assert.equal(guards.length, 3);
    assert.ok(guards.every((g) => g.startsWith('FORWARD ') && g.endsWith(`--comment ${net.RULE_COMMENT} -j DROP`)));
    assert.match(guards[0] ?? '', /^FORWARD -s 198\.18\.0\.0\/15 ! -d 198\.18\.0\.0\/15 /);
    assert.match(guards[1] ?? '', /^FORWARD ! -s 198\.18\.0\.0\/15 -d 198\.18\.0\.0\/15 /);
    assert.match(guards[2] ?? '', /^FORWARD ! -s 198\.18\.0\.0\/15 ! -d 198\.18\.0\.0\/15 /);
    assert.equal(forwardGuards(net.CLUSTER_RANGE, false).length, 2);
  });
});

describe('component configuration', () => {
  const dir = '/tmp/rotor-node-abc/containerd';
  const config = containerdConfig({ dir, runcBinary: '/usr/sbin/runc', cniBinDir: '/cache/cni/bin', cniConfDir: '/tmp/rotor-node-abc/cni/net.d', sandboxImage: 'registry.k8s.io/pause:3.10.1' });

  it('containerd: CRI settings this machine needs, every path in the run dir', () => {
    assert.match(config, /^version = 3$/m);
    assert.match(config, /restrict_oom_score_adj = true/);
    assert.match(config, /SystemdCgroup = false/);
    assert.match(config, /netns_mounts_under_state_dir = true/);
    assert.match(config, /"io\.containerd\.nri\.v1\.nri"/);
    assert.match(config, /sandbox = "registry\.k8s\.io\/pause:3\.10\.1"/);
    const paths = [...config.matchAll(/"(\/[^"]*)"/g)].map((m) => m[1] ?? '');
    assert.ok(paths.length >= 6);
    const outside = paths.filter((p) => !p.startsWith('/tmp/rotor-node-abc/') && p !== '/usr/sbin/runc' && p !== '/cache/cni/bin');
    assert.deepEqual(outside, []);
  });

  it('containerd: a pull of anything not imported goes to an unreachable address of the node range', () => {
    const hosts = defaultRegistryHosts();
    assert.match(hosts, new RegExp(`^server = "https://${net.NO_REGISTRY.replaceAll('.', '\\.')}"$`, 'm'));
  });

  it('kubelet: cgroup v1 with cgroupfs below our root, listeners on the node IP, no host DNS', () => {
    const c = kubeletConfig({ containerdSocket: `${dir}/containerd.sock`, clientCaFile: '/ca', tlsCertFile: '/c', tlsKeyFile: '/k', podLogsDir: '/tmp/rotor-node-abc/kubelet/pod-logs' }) as Record<string, unknown>;
    assert.equal(c.failCgroupV1, false);
    assert.equal(c.cgroupDriver, 'cgroupfs');
    assert.equal(c.cgroupRoot, net.CGROUP_ROOT);
    assert.equal(c.address, net.NODE_IP);
    assert.equal(c.healthzBindAddress, net.NODE_IP);
    assert.equal(c.readOnlyPort, 0);
    assert.equal(c.resolvConf, '');
    assert.deepEqual(c.clusterDNS, [net.CLUSTER_DNS_IP]);
    assert.equal(c.imageGCHighThresholdPercent, 100);
    assert.equal(c.containerRuntimeEndpoint, `unix://${dir}/containerd.sock`);
  });

  it('kube-proxy: iptables mode, listeners on the node IP, host conntrack left alone', () => {
    const c = kubeProxyConfig('/kc') as { mode: string; healthzBindAddress: string; metricsBindAddress: string; nodePortAddresses: string[]; iptables: { localhostNodePorts: boolean }; conntrack: Record<string, unknown> };
    assert.equal(c.mode, 'iptables');
    assert.ok(c.healthzBindAddress.startsWith(`${net.NODE_IP}:`) && c.metricsBindAddress.startsWith(`${net.NODE_IP}:`));
    assert.deepEqual(c.nodePortAddresses, [`${net.NODE_IP}/32`]);
    assert.equal(c.iptables.localhostNodePorts, false);
    assert.equal(c.conntrack.maxPerCore, 0);
  });

  it('CoreDNS: cluster.local only, no forwarding off the machine, kube-dns at the cluster DNS address', () => {
    const text = corefile();
    assert.doesNotMatch(text, /forward|proxy|\/etc\/resolv\.conf/);
    assert.match(text, /kubernetes cluster\.local in-addr\.arpa ip6\.arpa/);
    const objects = corednsManifests('rotor.testbed/coredns:1') as { kind: string; spec?: { clusterIP?: string; template?: { spec: { containers: { image: string; imagePullPolicy: string }[] } } } }[];
    assert.equal(objects.find((o) => o.kind === 'Service')?.spec?.clusterIP, net.CLUSTER_DNS_IP);
    const container = objects.find((o) => o.kind === 'Deployment')?.spec?.template?.spec.containers[0];
    assert.equal(container?.image, 'rotor.testbed/coredns:1');
    assert.equal(container?.imagePullPolicy, 'Never');
  });

  it('kubectl errors mask literal values that may be secrets', () => {
    assert.equal(
      describeKubectlArgs(['-n', 'db', 'create', 'secret', 'generic', 'pg', '--from-literal=password=hunter2', '--from-literal=user=app', '--token=abc']),
      '-n db create secret generic pg --from-literal=password=*** --from-literal=user=*** --token=***',
    );
  });

  it('images: only loadable ones, each with its archive in the cache', () => {
    const catalog = parseImageCatalog(
      JSON.stringify({ images: { debian: { ref: 'x/debian:1', load: false }, pause: { ref: 'registry.k8s.io/pause:3.10.1', load: true }, rotor: { ref: 'x/rotor:local', replaces: ['ghcr.io/r'], load: true } } }),
      '/cache/images',
    );
    assert.deepEqual([...catalog.keys()], ['pause', 'rotor']);
    assert.deepEqual(catalog.get('rotor'), { name: 'rotor', ref: 'x/rotor:local', replaces: ['ghcr.io/r'], archive: '/cache/images/rotor.oci.tar' });
    assert.throws(() => parseImageCatalog(JSON.stringify({ images: { a: { load: true } } }), '/c'), /has no ref/);
  });
});

describe('teardown decisions', () => {
  it('finds mounts below the run dir, deepest and newest first, with escaped names', () => {
    const info = [
      '22 1 8:1 / / rw - ext4 /dev/vda rw',
      '30 22 0:50 / /tmp/rotor-node-a/kubelet rw shared:5 - ext4 /dev/vda rw',
      '31 30 0:51 / /tmp/rotor-node-a/kubelet/pods/x/volumes/kubernetes.io~projected/kube-api-access rw - tmpfs tmpfs rw',
      '32 22 0:52 / /tmp/rotor-node-a/containerd/state/netns/cni-1 rw - nsfs nsfs rw',
      '33 22 0:53 / /tmp/rotor-node-ab/other rw - tmpfs tmpfs rw',
      '34 22 0:54 / /tmp/rotor-node-a/with\\040space rw - tmpfs tmpfs rw',
      '35 30 0:50 / /tmp/rotor-node-a/kubelet rw - ext4 /dev/vda rw',
    ].join('\n');
    const mounts = parseMountinfo(info);
    assert.equal(mounts[5]?.mountPoint, '/tmp/rotor-node-a/with space');
    assert.deepEqual(mountsBelow(mounts, ['/tmp/rotor-node-a']), [
      '/tmp/rotor-node-a/kubelet/pods/x/volumes/kubernetes.io~projected/kube-api-access',
      '/tmp/rotor-node-a/containerd/state/netns/cni-1',
      '/tmp/rotor-node-a/kubelet',
      '/tmp/rotor-node-a/with space',
      '/tmp/rotor-node-a/kubelet',
    ]);
  });

  it('splits iptables-save rules as iptables-restore does', () => {
    assert.deepEqual(ruleArgs('-A INPUT -m comment --comment "kube-router netpol - X" -j KUBE-ROUTER-INPUT'), [
      '-A', 'INPUT', '-m', 'comment', '--comment', 'kube-router netpol - X', '-j', 'KUBE-ROUTER-INPUT',
    ]);
    assert.deepEqual(ruleArgs('-A X -m comment --comment "" -j ACCEPT'), ['-A', 'X', '-m', 'comment', '--comment', '', '-j', 'ACCEPT']);
  });

  const before = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKERISH - [0:0]
-A INPUT -i lo -j ACCEPT
-A FORWARD -j DOCKERISH
COMMIT
`;
  const after = `# Generated by iptables-nft-save
*mangle
:FORWARD ACCEPT [0:0]
:KUBE-KUBELET-CANARY - [0:0]
-A FORWARD -s 198.18.0.0/15 ! -d 198.18.0.0/15 -m comment --comment rotor-testbed -j DROP
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKERISH - [0:0]
:KUBE-FIREWALL - [0:0]
:KUBE-ROUTER-FORWARD - [0:0]
-A INPUT -j KUBE-FIREWALL
-A INPUT -i lo -j ACCEPT
-A FORWARD -m comment --comment "kube-router netpol" -j KUBE-ROUTER-FORWARD
-A FORWARD -j DOCKERISH
-A FORWARD -m comment --comment "rule to explicitly ACCEPT traffic that comply to network policies" -m mark --mark 0x20000/0x20000 -j ACCEPT
-A KUBE-FIREWALL -j DROP
-A KUBE-ROUTER-FORWARD -j ACCEPT
COMMIT
`;

  it('removes KUBE-/CNI- chains, jumps to them, its own guard and (with a baseline) every rule added since', () => {
    assert.equal(
      iptablesCleanup(parseIptablesSave(after), parseIptablesSave(before)),
      [
        '*mangle',
        '-D FORWARD -s 198.18.0.0/15 ! -d 198.18.0.0/15 -m comment --comment rotor-testbed -j DROP',
        '-F KUBE-KUBELET-CANARY',
        '-X KUBE-KUBELET-CANARY',
        'COMMIT',
        '*filter',
        '-D INPUT -j KUBE-FIREWALL',
        '-D FORWARD -m comment --comment "kube-router netpol" -j KUBE-ROUTER-FORWARD',
        '-D FORWARD -m comment --comment "rule to explicitly ACCEPT traffic that comply to network policies" -m mark --mark 0x20000/0x20000 -j ACCEPT',
        '-F KUBE-FIREWALL',
        '-F KUBE-ROUTER-FORWARD',
        '-X KUBE-FIREWALL',
        '-X KUBE-ROUTER-FORWARD',
        'COMMIT',
        '',
      ].join('\n'),
    );
  });

  it('without a baseline removes only what is certainly the node\'s; nothing to do when clean', () => {
    const batch = iptablesCleanup(parseIptablesSave(after));
    assert.doesNotMatch(batch, /DOCKERISH|-i lo/);
    assert.doesNotMatch(batch, /0x20000/, 'an unmarked ACCEPT rule is not provably ours');
    assert.match(batch, /-X KUBE-FIREWALL/);
    assert.equal(iptablesCleanup(parseIptablesSave(before), parseIptablesSave(before)), '');
  });

  it('treats a table that did not exist at the start as wholly new, and deletes it once empty', () => {
    const onlyFilter = parseIptablesSave('*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m comment --comment "ours, unmarked" -j ACCEPT\nCOMMIT\n');
    assert.match(iptablesCleanup(onlyFilter, []), /^-D INPUT -m comment --comment "ours, unmarked" -j ACCEPT$/m);
    const emptied = parseIptablesSave('*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n');
    assert.deepEqual(tablesToDelete(emptied, parseIptablesSave('*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n')), ['filter']);
    assert.deepEqual(tablesToDelete(onlyFilter, []), [], 'a table still holding rules stays');
  });

  it('destroys kube-router\'s ipsets and any set new since the start, not older ones', () => {
    assert.deepEqual(ipsetsToDestroy(['theirs', 'KUBE-SRC-ABC', 'inet6:KUBE-DST-X', 'new-one'], ['theirs']), ['KUBE-SRC-ABC', 'inet6:KUBE-DST-X', 'new-one']);
    assert.deepEqual(ipsetsToDestroy(['theirs', 'KUBE-SRC-ABC'], undefined), ['KUBE-SRC-ABC']);
  });

  it('reports what appeared and vanished between two host snapshots', () => {
    assert.deepEqual(diffSnapshots({ links: ['lo', 'eth0'], mounts: ['/ a'] }, { links: ['lo', 'eth0', 'rotor0'], mounts: [] }), ['links: + rotor0', 'mounts: - / a']);
    assert.deepEqual(diffSnapshots({ links: ['a', 'a'] }, { links: ['a', 'a'] }), []);
  });
});
