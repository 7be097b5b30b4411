import { accessSync, constants, existsSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from '../binaries.ts';
import { TestbedError } from '../errors.ts';
import { kubeBinary } from '../kube.ts';

/** Every executable the node runs, resolved once before anything starts. */
export interface NodeBinaries {
  /** Multi-call: etcd, kube-apiserver, kubelet, kube-controller-manager, kube-scheduler, kube-proxy, kubectl. */
  rotorKube: string;
  containerd: string;
  ctr: string;
  /** containerd finds its shim on PATH, so the node puts this file's directory first. */
  shim: string;
  runc: string;
  kubeRouter: string;
  /** bridge, host-local, loopback. */
  cniBinDir: string;
  iptables: string;
  ip6tables: string;
  ipset: string;
  ip: string;
  /** Deletes the iptables-nft tables the node brought into being. */
  nft: string;
  /** Deletes kube-proxy's packet counters. */
  nfacct: string;
}

const SETUP = 'run "bash scripts/setup.sh" (it builds the node with testbed/build.sh and installs iptables, ipset, nftables, nfacct, conntrack and runc)';
export const CNI_PLUGINS = ['bridge', 'host-local', 'loopback'];

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function missing(what: string, where: string, hint = SETUP): TestbedError {
  return new TestbedError('TESTBED_NO_BINARY', `${what} not found at ${where}: ${hint}`);
}

function cached(name: string): string {
  const path = join(cacheDir(), 'bin', name);
  if (!executable(path)) throw missing(name, path);
  return path;
}

/** A host tool from Debian's packages. */
function system(name: string, pkg: string): string {
  for (const dir of ['/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    const path = join(dir, name);
    if (executable(path)) return path;
  }
  throw missing(name, '/usr/sbin or /usr/bin', `install Debian's "${pkg}" package (${SETUP})`);
}

/**
 * The node's binaries: built ones from the cache (`ROTOR_CACHE_DIR`), host tools
 * from Debian. A missing one is an error naming the setup command, never a skip.
 */
export function nodeBinaries(): NodeBinaries {
  const cniBinDir = join(cacheDir(), 'cni', 'bin');
  for (const plugin of CNI_PLUGINS) {
    if (!executable(join(cniBinDir, plugin))) throw missing(`CNI plugin ${plugin}`, join(cniBinDir, plugin));
  }
  const builtRunc = join(cacheDir(), 'bin', 'runc');
  return {
    rotorKube: kubeBinary(),
    containerd: cached('containerd'),
    ctr: cached('ctr'),
    shim: cached('containerd-shim-runc-v2'),
    runc: existsSync(builtRunc) ? builtRunc : system('runc', 'runc'),
    kubeRouter: cached('kube-router'),
    cniBinDir,
    iptables: system('iptables', 'iptables'),
    ip6tables: system('ip6tables', 'iptables'),
    ipset: system('ipset', 'ipset'),
    ip: system('ip', 'iproute2'),
    nft: system('nft', 'nftables'),
    nfacct: system('nfacct', 'nfacct'),
  };
}
