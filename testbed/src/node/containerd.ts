import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ServerProcess } from '../process.ts';
import { waitFor } from '../wait.ts';
import { run } from './exec.ts';
import { NO_REGISTRY } from './network.ts';

export interface ContainerdPaths {
  /** The node's containerd directory: config, root, state, socket. */
  dir: string;
  runcBinary: string;
  cniBinDir: string;
  cniConfDir: string;
  /** The CRI sandbox ("pause") image, already imported. */
  sandboxImage: string;
}

export function containerdSocket(dir: string): string {
  return join(dir, 'containerd.sock');
}

const toml = (value: string): string => JSON.stringify(value);

/**
 * containerd 2.x configuration (version 3) for the node: every path in the
 * run's directory, CRI on cgroupfs, and the settings this machine needs.
 */
export function containerdConfig(paths: ContainerdPaths): string {
  const { dir } = paths;
  const runtime = "plugins.'io.containerd.cri.v1.runtime'";
  const images = "plugins.'io.containerd.cri.v1.images'";
  return `version = 3
root = ${toml(join(dir, 'root'))}
state = ${toml(join(dir, 'state'))}
# NRI would open /var/run/nri and read /opt/nri and /etc/nri; the rest are unused snapshotters and tracing.
disabled_plugins = [
  "io.containerd.nri.v1.nri",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.blockfile",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

[grpc]
  address = ${toml(containerdSocket(dir))}

[plugins]
  [plugins.'io.containerd.internal.v1.opt']
    path = ${toml(join(dir, 'opt'))}

  [plugins.'io.containerd.grpc.v1.cri']
    disable_tcp_service = true
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"

  [${images}]
    snapshotter = "overlayfs"
    [${images}.pinned_images]
      sandbox = ${toml(paths.sandboxImage)}
    [${images}.registry]
      # _default/hosts.toml sends every pull to an unreachable address of ours.
      config_path = ${toml(join(dir, 'certs.d'))}

  [${runtime}]
    # root here lacks CAP_SYS_RESOURCE: a pause container asking for oom_score_adj -998 would fail to start.
    restrict_oom_score_adj = true
    # Sandbox network namespaces are mounted in the run's state dir, not /var/run/netns.
    netns_mounts_under_state_dir = true
    enable_selinux = false
    disable_apparmor = true
    enable_cdi = false
    cdi_spec_dirs = []
    [${runtime}.containerd]
      default_runtime_name = "runc"
      [${runtime}.containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [${runtime}.containerd.runtimes.runc.options]
          BinaryName = ${toml(paths.runcBinary)}
          Root = ${toml(join(dir, 'runc'))}
          SystemdCgroup = false
    [${runtime}.cni]
      bin_dirs = [${toml(paths.cniBinDir)}]
      conf_dir = ${toml(paths.cniConfDir)}
      max_conf_num = 1
`;
}

/**
 * Registry hosts for every registry: the "server" is an address in the node's
 * range that the host rejects, so a pull of an image that was not imported fails
 * at once and no name is resolved or registry contacted off the machine.
 */
export function defaultRegistryHosts(): string {
  return `server = "https://${NO_REGISTRY}"\n\n[host."https://${NO_REGISTRY}"]\n  capabilities = ["pull", "resolve"]\n`;
}

export function writeContainerdConfig(paths: ContainerdPaths): string {
  const file = join(paths.dir, 'config.toml');
  mkdirSync(join(paths.dir, 'certs.d', '_default'), { recursive: true });
  writeFileSync(join(paths.dir, 'certs.d', '_default', 'hosts.toml'), defaultRegistryHosts());
  writeFileSync(file, containerdConfig(paths));
  return file;
}

export interface StartContainerdOptions {
  containerd: string;
  ctr: string;
  shim: string;
  configFile: string;
  dir: string;
  logFile: string;
  timeoutMs: number;
}

/** containerd as a host process; resolves once its API answers. */
export async function startContainerd(options: StartContainerdOptions): Promise<ServerProcess> {
  const server = new ServerProcess({
    name: 'containerd',
    command: options.containerd,
    args: ['--config', options.configFile, '--log-level', 'info'],
    logFile: options.logFile,
    // containerd finds containerd-shim-runc-v2 on PATH.
    env: { ...process.env, PATH: `${dirname(options.shim)}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}` },
    cwd: options.dir,
  });
  await waitFor(
    'containerd to answer',
    async () => ((await run(options.ctr, ['--address', containerdSocket(options.dir), 'version'], { timeoutMs: 5_000 })).code === 0 ? true : undefined),
    { timeoutMs: options.timeoutMs, intervalMs: 200, signal: server.exitSignal },
  ).catch(async (err: unknown) => {
    const failure = server.failure('did not start', err);
    await server.stop();
    throw failure;
  });
  return server;
}
