// `rotor unseal`: initialize, join and unseal a Vault/OpenBao raft cluster.
// Exit codes are documented in docs/unsealer.md.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { Command, Option } from 'commander';
import { pino, type Logger } from 'pino';
import { applyPlan, bootstrapSelection, loadConfig, planChanges, readLiveState } from '@rotor/configure';
import { VaultClient } from '@rotor/vault-client';
import {
  ConfigMapPauseSwitch,
  FileKeyStore,
  PAUSED_KEY,
  FileLockElection,
  HealthServer,
  KubernetesLeaseElection,
  KubernetesPodDiscovery,
  KubernetesSecretKeyStore,
  PodWatchTrigger,
  StaticDiscovery,
  Unsealer,
  UnsealerErrorCode,
  generateRoot,
  isUnsealerError,
  parseEnvelopeKey,
  type KeyStore,
  type LeaderElection,
  type NodeDiscovery,
  type PassReport,
  type PauseSwitch,
  type PodDiscoveryOptions,
  type RootTokenPolicy,
  type NodeTarget,
  type Trigger,
} from '@rotor/unsealer';
import { CliError, ExitCode } from '../exit-codes.ts';
import { integer, kubeClients, namespaced } from '../k8s-options.ts';
import { caCertOf, vaultAddressOf, withCaCertOption } from '../vault-options.ts';

interface UnsealOptions {
  nodes?: string[];
  k8sNamespace?: string;
  k8sSelector?: string;
  k8sScheme: 'http' | 'https';
  k8sPort: number;
  k8sPodDns?: string;
  keyStore: string;
  envelopeKeyFile?: string;
  shares: number;
  threshold: number;
  rootToken: RootTokenPolicy;
  bootstrapConfig?: string;
  lockFile?: string;
  k8sLease?: string;
  pauseConfigmap?: string;
  identity: string;
  resync: number;
  healthPort?: number;
  once?: boolean;
  timeout: number;
  logLevel: string;
  json?: boolean;
  caCert?: string;
}

function readEnvelopeKey(path: string | undefined): Buffer | undefined {
  if (path === undefined) return undefined;
  let content: Buffer;
  try {
    content = readFileSync(path);
  } catch (err) {
    throw new CliError(ExitCode.INVALID_CONFIG, `cannot read --envelope-key-file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  return parseEnvelopeKey(content, `--envelope-key-file ${path}`);
}

function keyStoreOf(options: Pick<UnsealOptions, 'keyStore' | 'envelopeKeyFile'>, kube: ReturnType<typeof kubeClients>): KeyStore {
  const envelopeKey = readEnvelopeKey(options.envelopeKeyFile);
  const spec = options.keyStore;
  if (spec.startsWith('file:') && spec.length > 'file:'.length) {
    return new FileKeyStore(spec.slice('file:'.length), envelopeKey ? { envelopeKey } : {});
  }
  if (spec.startsWith('k8s-secret:')) {
    const { namespace, name } = namespaced('--key-store k8s-secret:', spec.slice('k8s-secret:'.length));
    return new KubernetesSecretKeyStore(kube().core, { namespace, name, ...(envelopeKey ? { envelopeKey } : {}) });
  }
  throw new CliError(ExitCode.USAGE, `--key-store must be file:<path> or k8s-secret:<namespace>/<name>, got ${JSON.stringify(spec)}`);
}

function discoveryOf(options: UnsealOptions, kube: ReturnType<typeof kubeClients>): { discovery: NodeDiscovery; triggers: Trigger[] } {
  const pods = options.k8sNamespace !== undefined || options.k8sSelector !== undefined;
  if ((options.nodes !== undefined) === pods) {
    throw new CliError(ExitCode.USAGE, 'give either --nodes, or --k8s-namespace with --k8s-selector');
  }
  if (options.nodes) return { discovery: new StaticDiscovery(options.nodes), triggers: [] };
  if (!options.k8sNamespace || !options.k8sSelector) {
    throw new CliError(ExitCode.USAGE, 'pod discovery needs both --k8s-namespace and --k8s-selector');
  }
  const podOptions: PodDiscoveryOptions = {
    namespace: options.k8sNamespace,
    labelSelector: options.k8sSelector,
    scheme: options.k8sScheme,
    port: options.k8sPort,
    ...(options.k8sPodDns !== undefined ? { dnsService: options.k8sPodDns } : {}),
  };
  return { discovery: new KubernetesPodDiscovery(kube().core, podOptions), triggers: [new PodWatchTrigger(kube().config, podOptions)] };
}

function electionOf(options: UnsealOptions, kube: ReturnType<typeof kubeClients>): LeaderElection | undefined {
  if (options.lockFile && options.k8sLease) throw new CliError(ExitCode.USAGE, 'give at most one of --lock-file and --k8s-lease');
  if (options.lockFile) return new FileLockElection(options.lockFile, { identity: options.identity });
  if (options.k8sLease) {
    const { namespace, name } = namespaced('--k8s-lease', options.k8sLease);
    return new KubernetesLeaseElection(kube().coordination, { namespace, name, identity: options.identity });
  }
  return undefined;
}

function pauseSwitchOf(options: UnsealOptions, kube: ReturnType<typeof kubeClients>): PauseSwitch | undefined {
  if (options.pauseConfigmap === undefined) return undefined;
  const { namespace, name } = namespaced('--pause-configmap', options.pauseConfigmap);
  return new ConfigMapPauseSwitch(kube().core, kube().config, { namespace, name });
}

/**
 * JSON logs; the redaction is a second line of defence, the keys type already hides itself.
 * With --json the logs go to stderr so that stdout holds only the result.
 */
function logger(level: string, toStderr: boolean): Logger {
  const options = {
    level,
    redact: { paths: ['key', 'keys', 'token', 'rootToken', '*.key', '*.keys', '*.token', '*.rootToken'], censor: '[redacted]' },
  };
  return toStderr ? pino(options, pino.destination(2)) : pino(options);
}

/** The `--once --json` result: what the last pass saw of each node (no key, no token). */
export interface UnsealResult {
  ok: boolean;
  leading: boolean;
  nodes: Array<{ id: string; address: string; reachable: boolean; initialized: boolean; sealed: boolean; active: boolean }>;
  error?: { exitCode: number; message: string };
}

function unsealResult(report: PassReport, error?: CliError): UnsealResult {
  return {
    ok: error === undefined,
    leading: report.leading,
    nodes: report.nodes.map((n) => ({ id: n.id, address: n.address, reachable: n.reachable, initialized: n.initialized, sealed: n.sealed, active: n.active })),
    ...(error ? { error: { exitCode: error.exitCode, message: error.message } } : {}),
  };
}

/**
 * The first configuration, with the initial root token: the part of the configure file that
 * lets `rotor configure` log in as its own service account (the rotor-configure role and
 * policy). Loaded (validated) now, so a bad file fails at start, not after init.
 */
function bootstrapOf(file: string, caCert: string | undefined, log: Logger): (rootToken: string, node: NodeTarget) => Promise<void> {
  const load = () => loadConfig(file, { select: bootstrapSelection() });
  load();
  return async (rootToken, node) => {
    const desired = load();
    const client = new VaultClient({ address: node.address, caCert, token: rootToken });
    const plan = planChanges(desired, await readLiveState(client, desired), { prune: false });
    const result = await applyPlan(client, plan);
    log.info({ node: node.id, config: file, writes: result.writes, changes: plan.changes.filter((c) => c.op !== 'unchanged').map((c) => `${c.op} ${c.id}`) }, 'bootstrap applied');
  };
}

async function unseal(options: UnsealOptions): Promise<void> {
  // Checked here, not by commander: a required option of `unseal` would also be required by its subcommands.
  if ((options.keyStore as string | undefined) === undefined) throw new CliError(ExitCode.USAGE, "required option '--key-store <spec>' not specified");
  if (options.json && !options.once) throw new CliError(ExitCode.USAGE, '--json needs --once (without it the unsealer keeps running and its logs are JSON already)');
  const kube = kubeClients();
  const log = logger(options.logLevel, options.json === true);
  const { discovery, triggers } = discoveryOf(options, kube);
  const caCert = caCertOf(options);
  if (options.bootstrapConfig !== undefined && options.rootToken !== 'revoke') {
    throw new CliError(ExitCode.USAGE, '--bootstrap-config needs --root-token=revoke: the initial root token is revoked right after the bootstrap');
  }
  const bootstrap = options.bootstrapConfig === undefined ? undefined : bootstrapOf(options.bootstrapConfig, caCert, log);
  const unsealer = new Unsealer({
    discovery,
    keyStore: keyStoreOf(options, kube),
    election: electionOf(options, kube),
    pause: pauseSwitchOf(options, kube),
    shares: options.shares,
    threshold: options.threshold,
    rootToken: options.rootToken,
    ...(bootstrap !== undefined ? { bootstrap } : {}),
    timing: { resyncMs: options.resync },
    triggers,
    logger: log,
    ...(caCert !== undefined ? { caCert } : {}),
  });

  if (options.once) {
    const report = await unsealer.runUntilSettled(options.timeout);
    const sealed = report.nodes.filter((n) => !n.reachable || n.sealed).map((n) => n.id);
    let failure: CliError | undefined;
    if (!report.leading) failure = new CliError(ExitCode.APPLY_FAILED, 'another unsealer holds the lock; nothing done');
    else if (sealed.length > 0 || report.nodes.length === 0) {
      failure = new CliError(ExitCode.APPLY_FAILED, `not finished: ${sealed.length > 0 ? `still sealed or unreachable: ${sealed.join(', ')}` : 'no nodes found'}`);
    } else if (unsealer.rootTokenPending) {
      failure = new CliError(ExitCode.APPLY_FAILED, 'not finished: the initial root token is not revoked yet (its bootstrap failed, see the log)');
    }
    if (options.json) process.stdout.write(`${JSON.stringify(unsealResult(report, failure))}\n`);
    else if (!failure) process.stdout.write(`rotor: ${report.nodes.length} nodes initialized and unsealed\n`);
    if (failure) throw failure;
    return;
  }

  const health = new HealthServer(unsealer, unsealer.registry);
  if (options.healthPort !== undefined) await health.listen(options.healthPort);
  unsealer.start();
  let signalled = (): void => undefined;
  const stopSignal = new Promise<void>((resolve) => (signalled = resolve));
  const stop = (): void => {
    signalled();
    if (unsealer.state === 'running') void unsealer.stop().catch(() => undefined);
  };
  process.once('SIGTERM', stop).once('SIGINT', stop);
  try {
    const alarm = await unsealer.done();
    if (alarm && options.healthPort !== undefined && unsealer.state === 'halted') {
      // Halted stays up until stopped: /healthz answers 503 and /metrics shows the alarm
      // (rotor_unsealer_passes_total{result="alarm"}), which an exit would take away
      // before Prometheus could scrape it. A restart would not fix an alarm anyway.
      log.error({ code: alarm.code }, 'halted: serving /healthz (503) and /metrics until stopped');
      await stopSignal;
    }
    if (alarm) throw alarm;
  } finally {
    process.off('SIGTERM', stop).off('SIGINT', stop);
    if (unsealer.state === 'halted') await unsealer.stop();
    if (options.healthPort !== undefined) await health.close();
  }
}

/** Maps the unsealer's coded errors to exit codes; its messages hold no secrets. */
function asCliError(err: unknown): unknown {
  if (!isUnsealerError(err)) return err;
  switch (err.code) {
    case UnsealerErrorCode.CONFIG:
    case UnsealerErrorCode.KEY_FORMAT:
      return new CliError(ExitCode.INVALID_CONFIG, err.message, { cause: err });
    case UnsealerErrorCode.WRONG_KEYS:
    case UnsealerErrorCode.SPLIT_CLUSTER:
    case UnsealerErrorCode.KEYS_MISSING:
      return new CliError(ExitCode.VAULT, err.message, { cause: err });
    default:
      return new CliError(ExitCode.APPLY_FAILED, err.message, { cause: err });
  }
}

/**
 * `rotor unseal root-token`: prints the initial root token stored with the keys (kept with
 * --root-token=keep), for the first configuration of a fresh cluster. Standard output is the
 * only place it appears; exit 3 when none is stored.
 */
function rootTokenCommand(): Command {
  return new Command('root-token')
    .description('print the root token stored with the unseal keys (--root-token=keep), for the first configure run')
    .requiredOption('--key-store <spec>', 'where the keys live: file:<path> or k8s-secret:<namespace>/<name>')
    .option('--envelope-key-file <path>', 'the key the stored keys are encrypted with')
    .action(async (options: Pick<UnsealOptions, 'keyStore' | 'envelopeKeyFile'>) => {
      try {
        const keys = await keyStoreOf(options, kubeClients()).load();
        if (keys?.rootToken === undefined) {
          throw new CliError(ExitCode.APPLY_FAILED, `no root token is stored in ${options.keyStore} (not initialized yet, or started with --root-token=revoke)`);
        }
        process.stdout.write(`${keys.rootToken}\n`);
      } catch (err) {
        throw asCliError(err);
      }
    });
}

/**
 * `rotor unseal pause|resume`: sets the pause switch a running `rotor unseal --pause-configmap`
 * follows (the ConfigMap's "paused" key, created when absent). The same as
 * `kubectl create configmap` / `kubectl patch`, with the operator's own credentials.
 */
function pauseCommand(name: 'pause' | 'resume'): Command {
  const paused = name === 'pause';
  return new Command(name)
    .description(paused ? 'pause the running unsealer: it initializes, joins and unseals nothing until resumed' : 'resume a paused unsealer')
    .option('--configmap <namespace/name>', 'the switch the unsealer follows (its --pause-configmap)', 'vault/vault-unsealer')
    .action(async (options: { configmap: string }) => {
      const { namespace, name: cmName } = namespaced('--configmap', options.configmap);
      const { core } = kubeClients()();
      const data = { [PAUSED_KEY]: String(paused) };
      try {
        await core.patchNamespacedConfigMap({ namespace, name: cmName, body: { data } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      } catch (err) {
        if (kubeStatus(err) !== 404) throw new CliError(ExitCode.APPLY_FAILED, `patch configmap ${options.configmap} failed (${kubeStatus(err) ?? 'error'})`);
        try {
          await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: cmName, labels: { 'app.kubernetes.io/name': 'vault-unsealer' } }, data } });
        } catch (createErr) {
          throw new CliError(ExitCode.APPLY_FAILED, `create configmap ${options.configmap} failed (${kubeStatus(createErr) ?? 'error'})`);
        }
      }
      process.stdout.write(`rotor: configmap ${options.configmap} ${PAUSED_KEY}=${String(paused)}\n`);
    });
}

function kubeStatus(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * `rotor unseal generate-root`: break-glass. Vault's generate-root with a one-time pad and
 * the stored key shares; the new root token goes to standard output only. Revoke it when done.
 */
function generateRootCommand(): Command {
  return withCaCertOption(new Command('generate-root'))
    .description('break-glass: generate a new root token from the stored key shares; printed to stdout only (revoke it when done)')
    .requiredOption('--key-store <spec>', 'where the keys live: file:<path> or k8s-secret:<namespace>/<name>')
    .option('--envelope-key-file <path>', 'the key the stored keys are encrypted with')
    .option('--address <url>', 'an unsealed Vault node or the active service (default: $VAULT_ADDR, then $BAO_ADDR)')
    .option('--cancel-existing', 'cancel a generate-root attempt left in progress instead of refusing')
    .action(async (options: Pick<UnsealOptions, 'keyStore' | 'envelopeKeyFile' | 'caCert'> & { address?: string; cancelExisting?: boolean }) => {
      try {
        const address = vaultAddressOf(options);
        const keys = await keyStoreOf(options, kubeClients()).load();
        if (keys === undefined) throw new CliError(ExitCode.APPLY_FAILED, `no keys are stored in ${options.keyStore}`);
        const caCert = caCertOf(options);
        const root = await generateRoot(address, keys, { cancelExisting: options.cancelExisting === true, ...(caCert !== undefined ? { caCert } : {}) });
        process.stdout.write(`${root.token}\n`);
      } catch (err) {
        throw asCliError(err);
      }
    });
}

export function unsealCommand(): Command {
  return withCaCertOption(new Command('unseal'))
    // `unseal root-token --key-store ...`: options after the subcommand's name are its own.
    .enablePositionalOptions()
    .addCommand(rootTokenCommand())
    .addCommand(generateRootCommand())
    .addCommand(pauseCommand('pause'))
    .addCommand(pauseCommand('resume'))
    .description('initialize (once), raft-join and unseal a Vault/OpenBao cluster, and keep it unsealed')
    .option('--nodes <urls>', 'static discovery: comma-separated node API addresses', (text: string) =>
      text.split(',').map((s) => s.trim()).filter((s) => s.length > 0),
    )
    .option('--k8s-namespace <namespace>', 'pod discovery: namespace of the Vault pods')
    .option('--k8s-selector <labels>', 'pod discovery: label selector of the Vault pods')
    .addOption(new Option('--k8s-scheme <scheme>', 'pod discovery: scheme of pod addresses').choices(['http', 'https']).default('http'))
    .option('--k8s-port <port>', 'pod discovery: API port of the pods', integer('--k8s-port', 1), 8200)
    .option('--k8s-pod-dns <service>', 'pod discovery: address pods as <pod>.<service>.<namespace>.svc (a headless service) instead of by IP, for TLS certificates that name them')
    .option('--key-store <spec>', 'where the keys live: file:<path> or k8s-secret:<namespace>/<name> (required)')
    .option('--envelope-key-file <path>', 'encrypt stored keys with this 32-byte AES-256-GCM key (raw, base64 or hex)')
    .option('--shares <n>', 'key shares at init', integer('--shares', 1), 5)
    .option('--threshold <n>', 'shares needed to unseal', integer('--threshold', 1), 3)
    .addOption(
      new Option('--root-token <policy>', 'keep: store the root token with the keys; revoke: revoke it once the cluster is up')
        .choices(['keep', 'revoke'])
        .default('keep'),
    )
    .option(
      '--bootstrap-config <file>',
      'with --root-token=revoke: before revoking, apply the part of this configure file that lets rotor configure log in (role and policy rotor-configure)',
    )
    .option('--lock-file <path>', 'leader election for several instances on one machine')
    .option('--k8s-lease <namespace/name>', 'leader election on a Kubernetes Lease')
    .option('--pause-configmap <namespace/name>', 'follow the operator\'s pause switch: this ConfigMap\'s "paused" key ("true": act on nothing)')
    .option('--identity <id>', 'this instance in the election (default: $POD_NAME or the host name)', process.env.POD_NAME ?? hostname())
    .option('--resync <ms>', 'regular pass interval', integer('--resync', 100), 5_000)
    .option('--health-port <port>', 'serve /healthz and /metrics on this port', integer('--health-port', 0))
    .option('--once', 'run until the cluster is unsealed (or nothing more can be done), then exit')
    .option('--timeout <ms>', 'with --once: give up after this long', integer('--timeout', 1), 120_000)
    .option('--json', 'with --once: print the result as one JSON object on stdout (logs go to stderr)')
    .option('--log-level <level>', 'pino log level', 'info')
    .action(async (options: UnsealOptions) => {
      try {
        await unseal(options);
      } catch (err) {
        throw asCliError(err);
      }
    });
}
