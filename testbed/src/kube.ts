import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheDir } from './binaries.ts';
import { TestbedError } from './errors.ts';
import { createTestCa, issueServingCert, type TestCa } from './pki.ts';
import { freePort } from './ports.ts';
import { ServerProcess } from './process.ts';
import { waitFor } from './wait.ts';

export interface KubeApiserver {
  /** e.g. https://127.0.0.1:41234 */
  url: string;
  /** PEM of the CA that signed the serving certificate. */
  caCert: string;
  /** Bearer token of a static user in group system:masters. */
  adminToken: string;
  /** A kubeconfig for that admin (mode 0600), for kubectl or @kubernetes/client-node. */
  kubeconfigPath: string;
  /** The `iss` of service-account tokens; also their default audience. */
  serviceAccountIssuer: string;
  /** PEM private key the apiserver signs service-account tokens with, for tests that mint their own. */
  serviceAccountSigningKeyFile: string;
  /** The run CA (files in the run's pki dir): it signs the serving and any client certificates. */
  ca: TestCa;
  logTail(): string;
  stop(): Promise<void>;
}

export interface StartKubeApiserverOptions {
  timeoutMs?: number;
  /** A directory the caller owns (kept by stop()); default: a fresh temp dir that stop() deletes. */
  dir?: string;
  /** Where etcd.log and kube-apiserver.log go; default: `dir`. */
  logDir?: string;
  /** A CA the caller made, to sign its own client certificates too; default: a fresh one. */
  ca?: TestCa;
  /** Default 127.0.0.1; also the advertise address. */
  bindAddress?: string;
  /** Default: a free port. */
  port?: number;
  /** Default 10.0.0.0/24. */
  serviceClusterIpRange?: string;
  /** Extra subject alternative names of the serving certificate. */
  servingIps?: string[];
  servingDnsNames?: string[];
  /**
   * "none" (default): no `kubernetes` Endpoints, which may not hold a loopback
   * address; "lease": the apiserver publishes its address, as on a real cluster.
   */
  endpointReconciler?: 'none' | 'lease';
  /** Default RBAC. */
  authorizationModes?: string[];
  /** --enable-admission-plugins, on top of the default ones. */
  admissionPlugins?: string[];
  extraArgs?: string[];
}

/** The multi-call binary ("rotor-kube etcd|kube-apiserver") built by `testbed/build.sh kube`. */
export function kubeBinary(): string {
  const path = process.env.ROTOR_KUBE_BIN ?? join(cacheDir(), 'bin', 'rotor-kube');
  if (!existsSync(path)) {
    throw new TestbedError('TESTBED_NO_BINARY', `rotor-kube not found at ${path}: run "bash testbed/build.sh kube" (or set ROTOR_KUBE_BIN)`);
  }
  return path;
}

async function startEtcd(binary: string, dir: string, logDir: string, timeoutMs: number): Promise<{ server: ServerProcess; url: string }> {
  const host = '127.0.0.1';
  const url = `http://${host}:${await freePort(host)}`;
  const peerUrl = `http://${host}:${await freePort(host)}`;
  const server = new ServerProcess({
    name: 'etcd',
    command: binary,
    args: [
      'etcd',
      '--name=testbed',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=testbed=${peerUrl}`,
      // Throwaway data: skipping fsync keeps a noisy CI disk from stalling the apiserver.
      '--unsafe-no-fsync',
    ],
    logFile: join(logDir, 'etcd.log'),
    cwd: dir,
  });
  try {
    await waitFor(
      'etcd to report healthy',
      async () => {
        const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) });
        const body = (await res.json()) as { health?: string };
        return body.health === 'true' ? true : undefined;
      },
      { timeoutMs, signal: server.exitSignal },
    );
  } catch (err) {
    const failure = server.failure('did not become healthy', err);
    await server.stop();
    throw failure;
  }
  return { server, url };
}

function writeKubeconfig(file: string, url: string, caCert: string, token: string): void {
  const ca = Buffer.from(caCert).toString('base64');
  // JSON is YAML, so kubectl and client-node read it as a kubeconfig.
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'testbed', cluster: { server: url, 'certificate-authority-data': ca } }],
    users: [{ name: 'admin', user: { token } }],
    contexts: [{ name: 'testbed', context: { cluster: 'testbed', user: 'admin' } }],
    'current-context': 'testbed',
  };
  writeFileSync(file, JSON.stringify(config, null, 2), { mode: 0o600 });
}

/**
 * A real kube-apiserver on a real etcd, as envtest runs them: per run a temp
 * dir with a CA, a serving certificate for 127.0.0.1/localhost, a
 * service-account signing key and issuer, and a static admin token. RBAC is on
 * and the TokenRequest API works; no controller-manager or kubelet runs, so
 * nothing creates "default" service accounts or runs pods.
 */
export async function startKubeApiserver(options: StartKubeApiserverOptions = {}): Promise<KubeApiserver> {
  const binary = kubeBinary();
  const timeoutMs = options.timeoutMs ?? 90_000;
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'rotor-kube-'));
  const host = options.bindAddress ?? '127.0.0.1';
  const servers: ServerProcess[] = [];
  const stopAll = async (): Promise<void> => {
    // apiserver first, so it does not log etcd's disappearance as a failure.
    for (const server of [...servers].reverse()) await server.stop();
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };
  try {
    const pki = join(dir, 'pki');
    mkdirSync(pki, { recursive: true });
    const ca = options.ca ?? (await createTestCa(pki, 'kube'));
    const serving = await issueServingCert(ca, pki, 'kube-apiserver', {
      ips: [...new Set(['127.0.0.1', host, ...(options.servingIps ?? [])])],
      dnsNames: ['localhost', ...(options.servingDnsNames ?? [])],
    });
    const saKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const saKeyFile = join(pki, 'sa.key');
    const saPubFile = join(pki, 'sa.pub');
    writeFileSync(saKeyFile, saKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(saPubFile, saKeys.publicKey.export({ type: 'spki', format: 'pem' }));
    const adminToken = randomBytes(24).toString('base64url');
    const tokenFile = join(pki, 'tokens.csv');
    writeFileSync(tokenFile, `${adminToken},testbed-admin,testbed-admin,"system:masters"\n`, { mode: 0o600 });

    const etcd = await startEtcd(binary, dir, options.logDir ?? dir, timeoutMs);
    servers.push(etcd.server);

    const port = options.port ?? (await freePort(host));
    const url = `https://${host}:${port}`;
    const serviceAccountIssuer = `https://kubernetes.default.svc.testbed-${randomBytes(4).toString('hex')}`;
    const apiserver = new ServerProcess({
      name: 'kube-apiserver',
      command: binary,
      args: [
        'kube-apiserver',
        `--etcd-servers=${etcd.url}`,
        `--bind-address=${host}`,
        `--advertise-address=${host}`,
        `--secure-port=${port}`,
        `--cert-dir=${join(dir, 'cert-dir')}`,
        `--tls-cert-file=${serving.certFile}`,
        `--tls-private-key-file=${serving.keyFile}`,
        `--client-ca-file=${ca.certFile}`,
        `--token-auth-file=${tokenFile}`,
        `--authorization-mode=${(options.authorizationModes ?? ['RBAC']).join(',')}`,
        `--service-account-issuer=${serviceAccountIssuer}`,
        `--service-account-key-file=${saPubFile}`,
        `--service-account-signing-key-file=${saKeyFile}`,
        `--service-cluster-ip-range=${options.serviceClusterIpRange ?? '10.0.0.0/24'}`,
        '--allow-privileged=true',
        // The "kubernetes" Endpoints may not hold a loopback address; nothing here needs them.
        `--endpoint-reconciler-type=${options.endpointReconciler ?? 'none'}`,
        '--profiling=false',
        ...(options.admissionPlugins?.length ? [`--enable-admission-plugins=${options.admissionPlugins.join(',')}`] : []),
        ...(options.extraArgs ?? []),
      ],
      logFile: join(options.logDir ?? dir, 'kube-apiserver.log'),
      cwd: dir,
    });
    servers.push(apiserver);
    const caCert = ca.certPem;
    const admin = { url, caCert, adminToken };
    await waitFor(
      'kube-apiserver /readyz',
      async () => {
        const res = await kubeRequest(admin, 'GET', '/readyz');
        return res.status === 200 ? true : undefined;
      },
      { timeoutMs, intervalMs: 250, signal: apiserver.exitSignal },
    ).catch((err: unknown) => {
      throw apiserver.failure('did not become ready', err);
    });

    const kubeconfigPath = join(dir, 'kubeconfig');
    writeKubeconfig(kubeconfigPath, url, caCert, adminToken);
    return {
      url,
      caCert,
      adminToken,
      kubeconfigPath,
      serviceAccountIssuer,
      serviceAccountSigningKeyFile: saKeyFile,
      ca,
      logTail: () => apiserver.logTail(),
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** Where and as whom to call the API: the admin by default, any bearer token via `token`. */
export interface KubeTarget {
  url: string;
  caCert: string;
  adminToken: string;
}

export interface KubeRequestOptions {
  /** Another bearer token, e.g. a service account's, instead of the admin's. */
  token?: string;
  /** e.g. application/merge-patch+json for PATCH. */
  contentType?: string;
}

export interface KubeResponse<T> {
  status: number;
  body: T;
}

/** One HTTPS call to the API, trusting only the testbed CA. JSON bodies in and out. */
export function kubeRequest<T = Record<string, unknown>>(
  target: KubeTarget,
  method: string,
  path: string,
  body?: unknown,
  options: KubeRequestOptions = {},
): Promise<KubeResponse<T>> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> = {
    Authorization: `Bearer ${options.token ?? target.adminToken}`,
    Accept: 'application/json',
  };
  if (payload !== undefined) headers['Content-Type'] = options.contentType ?? 'application/json';
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, target.url), { method, headers, ca: target.caCert, timeout: 15_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try {
          parsed = text ? JSON.parse(text) : {};
        } catch {
          // Plain-text endpoints such as /readyz.
        }
        resolve({ status: res.statusCode ?? 0, body: parsed as T });
      });
    });
    req.on('timeout', () => req.destroy(new TestbedError('TESTBED_TIMEOUT', `${method} ${path}: no answer from the apiserver`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Like kubeRequest, but a status of 300 or more throws with the API's own message. */
export async function kubeOk<T = Record<string, unknown>>(
  target: KubeTarget,
  method: string,
  path: string,
  body?: unknown,
  options?: KubeRequestOptions,
): Promise<T> {
  const res = await kubeRequest<T>(target, method, path, body, options);
  if (res.status >= 300) {
    const message = (res.body as { message?: unknown } | undefined)?.message;
    throw new TestbedError('TESTBED_KUBE_API', `${method} ${path} -> ${res.status}: ${typeof message === 'string' ? message : JSON.stringify(res.body)}`);
  }
  return res.body;
}

export interface ServiceAccountTokenOptions {
  /** Defaults to the apiserver's own audience (its issuer). */
  audiences?: string[];
  /** The API's minimum is 600. */
  expirationSeconds?: number;
  /** Ties the token's validity to an object (Secret or Pod) that must keep existing. */
  boundObjectRef?: { kind: 'Secret' | 'Pod'; apiVersion: 'v1'; name: string; uid?: string };
}

/** A service-account token from the TokenRequest API, as a kubelet would obtain it for a pod. */
export async function serviceAccountToken(
  target: KubeTarget,
  namespace: string,
  name: string,
  options: ServiceAccountTokenOptions = {},
): Promise<string> {
  const res = await kubeOk<{ status: { token: string } }>(
    target,
    'POST',
    `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
    {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { audiences: options.audiences ?? null, expirationSeconds: options.expirationSeconds ?? 3600, boundObjectRef: options.boundObjectRef ?? null },
    },
  );
  return res.status.token;
}
