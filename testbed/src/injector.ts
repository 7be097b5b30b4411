// The Vault Agent injector's pod mutation, as a model.
//
// The real injector (github.com/hashicorp/vault-k8s, package agent-inject) cannot
// be built here: the Go module proxy refuses that module ("This module version is
// not available", for the version list and for v1.7.0), and it refuses OpenBao's
// fork github.com/openbao/openbao-k8s the same way. So this module reproduces the
// injector's documented contract for the annotations Rotor uses, and nothing else:
// any other `vault.hashicorp.com/` annotation is an error, so a typo or a newly
// used annotation fails loudly instead of being silently ignored as it would be
// here (and silently honoured or ignored by the real injector).
//
// What stays real in the tests that use it: the agent configuration this produces
// is run by the real `bao agent` against real OpenBao, kube-apiserver and
// PostgreSQL, which parses and validates it, logs in with it and renders the
// template; users-api then reads what the agent rendered.
import { TestbedError } from './errors.ts';

export const ANNOTATION_PREFIX = 'vault.hashicorp.com/';
export const SECRETS_MOUNT_PATH = '/vault/secrets';
export const AGENT_HOME = '/home/vault';
export const SERVICE_ACCOUNT_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
export const SERVICE_ACCOUNT_TOKEN_PATH = `${SERVICE_ACCOUNT_MOUNT_PATH}/token`;
export const INIT_CONTAINER_NAME = 'vault-agent-init';
export const SIDECAR_CONTAINER_NAME = 'vault-agent';
export const SECRETS_VOLUME_NAME = 'vault-secrets';
/** vault.hashicorp.com/tls-secret is mounted here, in the agent containers only (vault-k8s' tlsSecretVolumePath). */
export const TLS_SECRET_MOUNT_PATH = '/vault/tls';
export const TLS_SECRET_VOLUME_NAME = 'vault-tls-secrets';

/**
 * The injector release this model follows. deploy/vault/injector.yaml must run exactly this
 * image (a test checks it), so moving the manifest to another release means revisiting the model.
 */
export const MODELLED_INJECTOR_IMAGE = 'hashicorp/vault-k8s:1.7.0';

/** The agent's resources, from AGENT_INJECT_{CPU,MEM}_{REQUEST,LIMIT} (vault-k8s defaults otherwise). */
export interface AgentResources {
  requests: { cpu: string; memory: string };
  limits: { cpu: string; memory: string };
}

/** The injector's own settings, i.e. its deployment's AGENT_INJECT_* environment. */
export interface InjectorOptions {
  /** AGENT_INJECT_VAULT_ADDR */
  vaultAddress: string;
  /** AGENT_INJECT_VAULT_AUTH_PATH, e.g. "auth/kubernetes" */
  authPath: string;
  /** AGENT_INJECT_VAULT_IMAGE */
  image: string;
  /** AGENT_INJECT_{CPU,MEM}_{REQUEST,LIMIT} */
  resources?: AgentResources;
  /** AGENT_INJECT_DEFAULT_TEMPLATE: how a secret without a template annotation is rendered. */
  defaultTemplate?: 'map' | 'json';
}

export const DEFAULT_AGENT_RESOURCES: AgentResources = { requests: { cpu: '250m', memory: '64Mi' }, limits: { cpu: '500m', memory: '128Mi' } };

/** The Vault Agent configuration the injector hands its containers (env VAULT_CONFIG, base64 JSON). */
export interface AgentConfig {
  auto_auth: {
    method: { type: string; mount_path: string; config: Record<string, unknown> };
    sink: { type: string; config: Record<string, unknown> }[];
  };
  exit_after_auth: boolean;
  pid_file: string;
  /** ca_cert: vault.hashicorp.com/ca-cert, the CA the agent verifies Vault's listener with. */
  vault: { address: string; ca_cert?: string };
  template: { destination: string; contents: string; left_delimiter: string; right_delimiter: string }[];
  template_config: { exit_on_retry_failure: boolean };
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}

export interface Container {
  name: string;
  image?: string;
  env?: EnvVar[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  [key: string]: unknown;
}

export interface Pod {
  apiVersion: 'v1';
  kind: 'Pod';
  metadata: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [key: string]: unknown };
  spec: {
    containers: Container[];
    initContainers?: Container[];
    volumes?: { name: string; [key: string]: unknown }[];
    serviceAccountName?: string;
    [key: string]: unknown;
  };
}

/** The annotations this model implements (after the prefix). Secret-keyed ones end in "-". */
const MODELLED = new Set(['agent-inject', 'agent-inject-status', 'agent-pre-populate-only', 'role', 'agent-run-as-user', 'agent-run-as-group', 'tls-secret', 'ca-cert']);
const MODELLED_KEYED = ['agent-inject-secret-', 'agent-inject-template-'];
/** Real injector annotations that this model does not implement: using one means extending the model. */
const NOT_MODELLED = [
  'agent-inject-file-', 'agent-inject-perms-', 'agent-inject-command-', 'agent-inject-template-file-', 'agent-inject-containers',
  'agent-inject-default-template', 'agent-inject-token', 'agent-image', 'agent-init-first', 'agent-pre-populate', 'agent-configmap',
  'agent-extra-secret', 'agent-limits-', 'agent-requests-', 'agent-revoke-', 'namespace', 'agent-run-as-same-user',
  'agent-share-process-namespace', 'agent-set-security-context', 'agent-service-account-token-volume-name', 'service', 'proxy-address',
  'tls-', 'ca-', 'client-', 'go-max-procs', 'log-', 'auth-', 'secret-volume-path', 'preserve-secret-case', 'agent-cache-',
  'agent-copy-volume-mounts', 'template-', 'agent-enable-quit', 'agent-disable-', 'agent-json-patch', 'agent-init-json-patch',
  'agent-telemetry-', 'agent-auto-auth-exit-on-err', 'agent-inject-',
];

function modelError(message: string): TestbedError {
  return new TestbedError('TESTBED_INJECTOR', `agent injector model: ${message}`);
}

function parseBool(key: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  // Go's strconv.ParseBool, which the injector uses.
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  throw modelError(`${key} is not a boolean: "${value}"`);
}

/** Rejects every vault.hashicorp.com annotation this model does not implement. */
function checkAnnotations(annotations: Record<string, string>): void {
  for (const key of Object.keys(annotations)) {
    if (!key.startsWith(ANNOTATION_PREFIX)) continue;
    const name = key.slice(ANNOTATION_PREFIX.length);
    if (MODELLED.has(name)) continue;
    const keyed = MODELLED_KEYED.find((prefix) => name.startsWith(prefix));
    if (keyed !== undefined && !name.startsWith('agent-inject-template-file-')) continue;
    const known = NOT_MODELLED.some((entry) => (entry.endsWith('-') ? name.startsWith(entry) : name === entry));
    throw modelError(known ? `${key} is a real injector annotation that this model does not implement` : `${key} is not an injector annotation (typo?)`);
  }
}

interface Secret {
  name: string;
  path: string;
  template: string | undefined;
}

/** agent-inject-secret-NAME: PATH, with agent-inject-template-NAME; NAME is lower-cased as the injector does. */
function secretsOf(annotations: Record<string, string>): Secret[] {
  const secrets: Secret[] = [];
  const secretPrefix = `${ANNOTATION_PREFIX}agent-inject-secret-`;
  const templatePrefix = `${ANNOTATION_PREFIX}agent-inject-template-`;
  for (const [key, value] of Object.entries(annotations)) {
    if (!key.startsWith(secretPrefix)) continue;
    const raw = key.slice(secretPrefix.length);
    secrets.push({ name: raw.toLowerCase(), path: value, template: annotations[`${templatePrefix}${raw}`] });
  }
  for (const key of Object.keys(annotations)) {
    if (key.startsWith(templatePrefix) && annotations[`${secretPrefix}${key.slice(templatePrefix.length)}`] === undefined) {
      throw modelError(`${key} has no matching agent-inject-secret- annotation, so the injector would ignore it`);
    }
  }
  return secrets;
}

/** The template of a secret without an agent-inject-template- annotation, as AGENT_INJECT_DEFAULT_TEMPLATE says. */
function defaultTemplate(options: InjectorOptions, path: string): string {
  return options.defaultTemplate === 'json'
    ? `{{ with secret "${path}" }}{{ .Data | toJSON }}\n{{ end }}`
    : `{{ with secret "${path}" }}{{ range $k, $v := .Data }}{{ $k }}: {{ $v }}\n{{ end }}{{ end }}`;
}

function agentConfig(options: InjectorOptions, role: string, secrets: Secret[], init: boolean, tokenPath: string, caCert: string | undefined): AgentConfig {
  return {
    auto_auth: {
      method: { type: 'kubernetes', mount_path: options.authPath, config: { role, token_path: tokenPath } },
      sink: [{ type: 'file', config: { path: `${AGENT_HOME}/.vault-token` } }],
    },
    exit_after_auth: init,
    pid_file: `${AGENT_HOME}/.pid`,
    vault: { address: options.vaultAddress, ...(caCert !== undefined ? { ca_cert: caCert } : {}) },
    template: secrets.map((secret) => ({
      destination: `${SECRETS_MOUNT_PATH}/${secret.name}`,
      contents: secret.template ?? defaultTemplate(options, secret.path),
      left_delimiter: '{{',
      right_delimiter: '}}',
    })),
    template_config: { exit_on_retry_failure: true },
  };
}

type VolumeMount = NonNullable<Container['volumeMounts']>[number];

/**
 * The service-account token mount that the API server's ServiceAccount admission added to the
 * app container (webhooks run after it). Like vault-k8s, a pod without one is refused: the agent
 * would have no JWT to log in with.
 */
function serviceAccountMount(pod: Pod): VolumeMount {
  const mount = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])]
    .flatMap((c) => c.volumeMounts ?? [])
    .find((m) => m.mountPath === SERVICE_ACCOUNT_MOUNT_PATH);
  if (mount === undefined) {
    throw modelError(`the pod has no service account token mounted at ${SERVICE_ACCOUNT_MOUNT_PATH} (automountServiceAccountToken: false?): the agent could not log in`);
  }
  return mount;
}

function agentContainer(name: string, options: InjectorOptions, config: AgentConfig, home: string, annotations: Record<string, string>, tokenMount: VolumeMount): Container {
  const tlsSecret = annotations[`${ANNOTATION_PREFIX}tls-secret`];
  const user = Number(annotations[`${ANNOTATION_PREFIX}agent-run-as-user`] ?? '100');
  const group = Number(annotations[`${ANNOTATION_PREFIX}agent-run-as-group`] ?? '1000');
  return {
    name,
    image: options.image,
    command: ['/bin/sh', '-ec'],
    args: ['echo ${VAULT_CONFIG?} | base64 -d > /home/vault/config.json && vault agent -config=/home/vault/config.json'],
    env: [
      { name: 'NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
      { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      { name: 'VAULT_LOG_LEVEL', value: 'info' },
      { name: 'VAULT_LOG_FORMAT', value: 'standard' },
      { name: 'VAULT_CONFIG', value: Buffer.from(JSON.stringify(config)).toString('base64') },
    ],
    volumeMounts: [
      { name: home, mountPath: AGENT_HOME },
      { name: SECRETS_VOLUME_NAME, mountPath: SECRETS_MOUNT_PATH },
      { ...tokenMount, readOnly: true },
      ...(tlsSecret !== undefined ? [{ name: TLS_SECRET_VOLUME_NAME, mountPath: TLS_SECRET_MOUNT_PATH, readOnly: true }] : []),
    ],
    securityContext: {
      runAsUser: user,
      runAsGroup: group,
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    },
    resources: structuredClone(options.resources ?? DEFAULT_AGENT_RESOURCES),
  };
}

/**
 * The pod as the injector would return it: unchanged unless agent-inject is true
 * (and not yet injected); otherwise with the shared in-memory volume mounted at
 * /vault/secrets in every app container, the init container vault-agent-init
 * (exit_after_auth) and, unless agent-pre-populate-only, the sidecar vault-agent.
 */
export function mutatePod(pod: Pod, options: InjectorOptions): Pod {
  const annotations = pod.metadata.annotations ?? {};
  if (!parseBool('agent-inject', annotations[`${ANNOTATION_PREFIX}agent-inject`], false)) return structuredClone(pod);
  if (annotations[`${ANNOTATION_PREFIX}agent-inject-status`] === 'injected') return structuredClone(pod);
  checkAnnotations(annotations);
  const role = annotations[`${ANNOTATION_PREFIX}role`];
  if (role === undefined || role === '') throw modelError(`${ANNOTATION_PREFIX}role is required for kubernetes auto-auth`);
  const secrets = secretsOf(annotations);
  const prePopulateOnly = parseBool('agent-pre-populate-only', annotations[`${ANNOTATION_PREFIX}agent-pre-populate-only`], false);
  const tokenMount = serviceAccountMount(pod);
  const tokenPath = `${tokenMount.mountPath}/token`;
  const tlsSecret = annotations[`${ANNOTATION_PREFIX}tls-secret`];
  const caCert = annotations[`${ANNOTATION_PREFIX}ca-cert`];
  if (tlsSecret === '' || caCert === '') throw modelError('tls-secret and ca-cert must not be empty');

  const out = structuredClone(pod);
  out.metadata.annotations = { ...annotations, [`${ANNOTATION_PREFIX}agent-inject-status`]: 'injected' };
  const memory = (name: string): { name: string; emptyDir: { medium: string } } => ({ name, emptyDir: { medium: 'Memory' } });
  out.spec.volumes = [...(out.spec.volumes ?? []), memory('home-init'), ...(prePopulateOnly ? [] : [memory('home-sidecar')]), memory(SECRETS_VOLUME_NAME)];
  // The Secret of tls-secret, for the agent containers only (vault-k8s' ContainerTLSSecretVolume).
  if (tlsSecret !== undefined) out.spec.volumes.push({ name: TLS_SECRET_VOLUME_NAME, secret: { secretName: tlsSecret } });
  // The app's own init containers read the secrets too; the agent's init container runs after them
  // (agent-init-first is not modelled), as vault-k8s orders them.
  for (const container of [...out.spec.containers, ...(out.spec.initContainers ?? [])]) {
    container.volumeMounts = [...(container.volumeMounts ?? []), { name: SECRETS_VOLUME_NAME, mountPath: SECRETS_MOUNT_PATH }];
  }
  out.spec.initContainers = [
    ...(out.spec.initContainers ?? []),
    agentContainer(INIT_CONTAINER_NAME, options, agentConfig(options, role, secrets, true, tokenPath, caCert), 'home-init', annotations, tokenMount),
  ];
  if (!prePopulateOnly) {
    out.spec.containers.push(agentContainer(SIDECAR_CONTAINER_NAME, options, agentConfig(options, role, secrets, false, tokenPath, caCert), 'home-sidecar', annotations, tokenMount));
  }
  return out;
}

/** The agent configuration an injected container carries in env VAULT_CONFIG. */
export function agentConfigOf(container: Container): AgentConfig {
  const encoded = container.env?.find((e) => e.name === 'VAULT_CONFIG')?.value;
  if (encoded === undefined) throw modelError(`container ${container.name} has no VAULT_CONFIG`);
  return JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')) as AgentConfig;
}

/** InjectorOptions from the injector deployment's container env (AGENT_INJECT_*). */
export function injectorOptionsFromEnv(env: EnvVar[]): InjectorOptions {
  const value = (name: string): string => {
    const found = env.find((e) => e.name === name)?.value;
    if (found === undefined) throw modelError(`injector env ${name} is not set`);
    return found;
  };
  const optional = (name: string, fallback: string): string => env.find((e) => e.name === name)?.value ?? fallback;
  const template = optional('AGENT_INJECT_DEFAULT_TEMPLATE', 'map');
  if (template !== 'map' && template !== 'json') throw modelError(`injector env AGENT_INJECT_DEFAULT_TEMPLATE must be map or json, not "${template}"`);
  const d = DEFAULT_AGENT_RESOURCES;
  return {
    vaultAddress: value('AGENT_INJECT_VAULT_ADDR'),
    authPath: value('AGENT_INJECT_VAULT_AUTH_PATH'),
    image: value('AGENT_INJECT_VAULT_IMAGE'),
    defaultTemplate: template,
    resources: {
      requests: { cpu: optional('AGENT_INJECT_CPU_REQUEST', d.requests.cpu), memory: optional('AGENT_INJECT_MEM_REQUEST', d.requests.memory) },
      limits: { cpu: optional('AGENT_INJECT_CPU_LIMIT', d.limits.cpu), memory: optional('AGENT_INJECT_MEM_LIMIT', d.limits.memory) },
    },
  };
}
