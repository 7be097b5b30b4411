export { TestbedError, isTestbedError } from './errors.ts';
export { waitFor, type WaitOptions } from './wait.ts';
export { freePort } from './ports.ts';
export { ServerProcess, archiveServerLogs, type ServerProcessOptions } from './process.ts';
export { alertmanagerBinary, cacheDir, openBaoBinary, postgresBinDir, prometheusBinary, promtoolBinary, vaultBinary } from './binaries.ts';
export { SERVER_FLAVOURS, isServerFlavour, serverEnv, serverFlavour, type ServerFlavour, type ServerFlavourTraits } from './server-flavour.ts';
export { promtool, runTool, startPrometheus, type PrometheusSample, type PrometheusServer, type StartPrometheusOptions, type ToolRun } from './prometheus.ts';
export { exactSelector, promqlRefs, templateLabels, type LabelMatcher, type PromqlRefs, type SeriesSelector } from './promql.ts';
export { createTestCa, issueServingCert, issueClientCert, type TestCa, type ServingCert, type ServingCertOptions } from './pki.ts';
export { startPostgres, type PostgresServer, type StartPostgresOptions } from './postgres.ts';
export {
  startOpenBao,
  startOpenBaoCluster,
  type OpenBaoDevServer,
  type OpenBaoNode,
  type OpenBaoCluster,
  type StartOpenBaoOptions,
  type StartOpenBaoClusterOptions,
} from './openbao.ts';
export * from './kube.ts';
export * from './injector.ts';
export { kustomizeBinary, kustomizeBuild } from './kustomize.ts';
export { createKubernetesAuthObjects, type KubernetesAuthObjectsOptions } from './kubernetes-auth.ts';
export {
  SECRET_SHAPES,
  SecretSet,
  assertNoSecretsInLogs,
  logFilesUnder,
  readLog,
  scanLogs,
  scanProblem,
  type LogText,
  type ScanReport,
} from './secret-scan.ts';
export { VaultTap, type VaultTapOptions } from './vault-tap.ts';
export { review, startInjectorWebhook, type AdmissionResponse, type InjectorWebhook, type WebhookTls } from './injector-webhook.ts';
export { generateWebhookCertificates, type WebhookCertificates } from './injector-tls.ts';
export { counterByLabel, counterTotal } from './metrics-text.ts';
export { driveHttpLoad, describeFailures, type HttpLoadOptions, type HttpLoadResult } from './http-load.ts';
export { docSteps, readDocSteps, runDocStep, type DocStep, type StepRun } from './walkthrough/docs-steps.ts';
export { PodTurnover, hostPathVolumes, objectUid, pods, serviceUrl, vaultStatus, type Kubectl as ClusterKubectl, type PodView, type VaultNodeStatus } from './walkthrough/observe.ts';
export * from './node/index.ts';
export * from './walkthrough/cluster-steps.ts';
export * from './walkthrough/cluster-logs.ts';
export { mariaDbRoot, startMariaDb, type MariaDbServer, type StartMariaDbOptions } from './mariadb.ts';
export * from './walkthrough/storage-steps.ts';
export * as vaultAdmin from './vault-admin.ts';
