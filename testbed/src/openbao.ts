import { chmodSync, chownSync, copyFileSync, linkSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { request as httpsRequest } from 'node:https';
import { TestbedError } from './errors.ts';
import { issueServingCert, type ServingCert, type TestCa } from './pki.ts';
import { freePort } from './ports.ts';
import { ServerProcess } from './process.ts';
import { serverEnv, serverFlavour, type ServerFlavour } from './server-flavour.ts';
import { waitFor } from './wait.ts';

export interface OpenBaoDevServer {
  /** e.g. http://127.0.0.1:41234 */
  address: string;
  rootToken: string;
  /** The binary, for running `bao agent` (or `vault agent`) against this server. */
  binary: string;
  flavour: ServerFlavour;
  logTail(): string;
  stop(): Promise<void>;
}

export interface StartOpenBaoOptions {
  mode: 'dev';
  timeoutMs?: number;
  /** Which server: OpenBao (default) or HashiCorp Vault, started the same way. */
  flavour?: ServerFlavour;
}

/** The status of GET `url`, over https trusting `ca` (Node's fetch takes no CA). */
function httpsStatus(url: string, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within 2 s`)));
    req.on('error', reject);
    req.end();
  });
}

async function waitForListener(server: ServerProcess, address: string, timeoutMs: number, ca?: string): Promise<void> {
  await waitFor(
    `${server.name} to listen on ${address}`,
    async () => {
      if (ca !== undefined) return (await httpsStatus(`${address}/v1/sys/seal-status`, ca)) === 200 ? true : undefined;
      const res = await fetch(`${address}/v1/sys/seal-status`, { signal: AbortSignal.timeout(2_000) });
      await res.body?.cancel();
      return res.ok ? true : undefined;
    },
    { timeoutMs, signal: server.exitSignal },
  ).catch((err: unknown) => {
    throw server.failure('did not become ready', err);
  });
}

/** A dev-mode OpenBao (or Vault): in-memory, unsealed, with a random root token. */
export async function startOpenBao(options: StartOpenBaoOptions): Promise<OpenBaoDevServer> {
  const flavour = serverFlavour(options.flavour);
  const binary = flavour.binary();
  const dir = mkdtempSync(join(tmpdir(), `rotor-${flavour.command}-dev-`));
  const host = '127.0.0.1';
  const rootToken = `root-${randomBytes(12).toString('hex')}`;
  let server: ServerProcess | undefined;
  try {
    const port = await freePort(host);
    const address = `http://${host}:${port}`;
    server = new ServerProcess({
      name: `${flavour.flavour} dev (${options.mode})`,
      command: binary,
      args: ['server', '-dev', `-dev-root-token-id=${rootToken}`, `-dev-listen-address=${host}:${port}`, '-log-level=info'],
      logFile: join(dir, `${flavour.flavour}.log`),
      env: serverEnv(dir),
      cwd: dir,
    });
    await waitForListener(server, address, options.timeoutMs ?? 30_000);
    const running = server;
    return {
      address,
      rootToken,
      binary,
      flavour: flavour.flavour,
      logTail: () => running.logTail(),
      async stop() {
        await running.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

export interface OpenBaoNode {
  /** Raft node id, e.g. "node-1". */
  id: string;
  /** The node's own loopback address, like a pod IP: 127.0.0.2, 127.0.0.3, ... */
  host: string;
  /** API address, e.g. http://127.0.0.2:41234 */
  address: string;
  /** Raft/cluster address, e.g. https://127.0.0.2:41235 */
  clusterAddress: string;
  /** The port of the raft/cluster address. */
  clusterPort: number;
  /** The uid/gid the node runs as, when the cluster was started with `runAs`. */
  runAs: { uid: number; gid: number } | undefined;
  /** The node's log (all its runs, appended), for scans. */
  logFile: string;
  /** The node's raft data directory (e.g. to wipe it). */
  dataDir: string;
  /** The listener's certificate and key files, when the cluster serves TLS: overwrite them and `reload()` to rotate. */
  tls: ServingCert | undefined;
  running: boolean;
  /** SIGHUP: OpenBao (and Vault) reloads its listener certificates (and log level) without a restart. */
  reload(): void;
  /** Starts the node again with the same data, address and ports (e.g. after kill). */
  start(): Promise<void>;
  /** Graceful stop (SIGTERM). */
  stop(): Promise<void>;
  /** Crash (SIGKILL), waiting until the process is gone. */
  kill(): Promise<void>;
  logTail(): string;
}

export interface OpenBaoCluster {
  nodes: OpenBaoNode[];
  binary: string;
  flavour: ServerFlavour;
  stop(): Promise<void>;
}

export interface StartOpenBaoClusterOptions {
  nodes?: number;
  timeoutMs?: number;
  /**
   * All nodes' API on one port number (each on its own address), as pods of a
   * StatefulSet share a container port: for discovery that addresses pod IPs
   * with a single port. Default false: a free port per node.
   */
  samePort?: boolean;
  /**
   * Run each node as its own (unprivileged) uid/gid, e.g. so that a test can cut one node's
   * traffic with an iptables owner match: on loopback every node dials from 127.0.0.1, so
   * addresses cannot tell them apart. The nodes' dirs are given to these ids.
   */
  runAs?: readonly { uid: number; gid: number }[];
  /**
   * Serve the API over TLS with a certificate per node signed by this CA (its IP and `localhost`);
   * addresses become https. Raft joins then need the CA (leader_ca_cert), as in the cluster.
   */
  tls?: TestCa;
  /** More server configuration (HCL) appended to every node's file, e.g. deploy/'s audit stanza (OpenBao only). */
  extraConfig?: string;
  /** Which server: OpenBao (default) or HashiCorp Vault, configured and started the same way. */
  flavour?: ServerFlavour;
}

/** Whether `port` can be bound on `host` right now. */
function portFreeOn(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** One port number free on every host: the kernel picks it on the first, the others are checked. */
async function sharedFreePort(hosts: readonly string[]): Promise<number> {
  const [first = '127.0.0.2', ...rest] = hosts;
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await freePort(first);
    const free = await Promise.all(rest.map((h) => portFreeOn(h, port)));
    if (free.every(Boolean)) return port;
  }
  throw new TestbedError('TESTBED_NO_PORT', `no port number free on all of ${hosts.join(', ')}`);
}

/**
 * A raft cluster of OpenBao (or Vault) servers, each on its own loopback address so that
 * nodes look like pods. The nodes are left uninitialized and unjoined: that is
 * the unsealer's job.
 */
export async function startOpenBaoCluster(options: StartOpenBaoClusterOptions = {}): Promise<OpenBaoCluster> {
  const flavour = serverFlavour(options.flavour);
  let binary = flavour.binary();
  const count = options.nodes ?? 3;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const dir = mkdtempSync(join(tmpdir(), `rotor-${flavour.command}-raft-`));
  const nodes: OpenBaoNode[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // Nodes running as their own uids must be able to reach their dirs below this one (0700 from
    // mkdtemp), and the binary (the cache under /root is not theirs to read): a link, else a copy.
    if (options.runAs) {
      chmodSync(dir, 0o711);
      const shared = join(dir, flavour.command);
      try {
        linkSync(binary, shared);
      } catch {
        copyFileSync(binary, shared);
        chmodSync(shared, 0o755);
      }
      binary = shared;
    }
    const hosts = Array.from({ length: count }, (_, i) => `127.0.0.${i + 2}`);
    const sharedPort = options.samePort ? await sharedFreePort(hosts) : undefined;
    for (let i = 1; i <= count; i++) {
      const id = `node-${i}`;
      const host = `127.0.0.${i + 1}`;
      const apiPort = sharedPort ?? (await freePort(host));
      const clusterPort = await freePort(host);
      const home = join(dir, id);
      mkdirSync(join(home, 'raft'), { recursive: true });
      const address = `${options.tls ? 'https' : 'http'}://${host}:${apiPort}`;
      const clusterAddress = `https://${host}:${clusterPort}`;
      const tls = options.tls ? await issueServingCert(options.tls, home, 'listener', { ips: [host], dnsNames: ['localhost'] }) : undefined;
      const configFile = join(home, 'config.hcl');
      writeFileSync(
        configFile,
        [
          'ui = false',
          'disable_mlock = true',
          `api_addr = "${address}"`,
          `cluster_addr = "${clusterAddress}"`,
          'storage "raft" {',
          `  path = "${join(home, 'raft')}"`,
          `  node_id = "${id}"`,
          // As deploy/vault/server.yaml: production raft timing (failover, bootstrap).
          '  performance_multiplier = 1',
          '}',
          'listener "tcp" {',
          `  address = "${host}:${apiPort}"`,
          `  cluster_address = "${host}:${clusterPort}"`,
          ...(tls ? [`  tls_cert_file = "${tls.certFile}"`, `  tls_key_file = "${tls.keyFile}"`] : ['  tls_disable = true']),
          '}',
          ...(options.extraConfig !== undefined ? [options.extraConfig] : []),
          '',
        ].join('\n'),
      );
      const runAs = options.runAs?.[i - 1];
      if (runAs) for (const path of [home, join(home, 'raft'), ...(tls ? [tls.certFile, tls.keyFile] : [])]) chownSync(path, runAs.uid, runAs.gid);
      let server: ServerProcess | undefined;
      const node: OpenBaoNode = {
        id,
        host,
        address,
        clusterAddress,
        clusterPort,
        runAs,
        logFile: join(home, `${flavour.flavour}.log`),
        dataDir: join(home, 'raft'),
        tls,
        get running() {
          return server?.running ?? false;
        },
        reload() {
          server?.kill('SIGHUP');
        },
        async start() {
          if (server?.running) return;
          server = new ServerProcess({
            name: `${flavour.flavour} ${id}`,
            command: binary,
            args: ['server', `-config=${configFile}`, '-log-level=info'],
            logFile: join(home, `${flavour.flavour}.log`),
            env: serverEnv(home),
            cwd: home,
            ...runAs,
          });
          await waitForListener(server, address, timeoutMs, options.tls?.certPem);
        },
        async stop() {
          await server?.stop();
        },
        async kill() {
          server?.kill('SIGKILL');
          await server?.stop();
        },
        logTail: () => server?.logTail() ?? '(not started)',
      };
      nodes.push(node);
    }
    await Promise.all(nodes.map((n) => n.start()));
    return { nodes, binary, flavour: flavour.flavour, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
