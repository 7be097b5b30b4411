export { UnsealerError, UnsealerErrorCode, isUnsealerError } from './errors.ts';
export { reconcile } from './reconcile.ts';
export type { Action, Alarm, KeyState, NodeState, Plan, ReconcileInput, Rejection, Wait } from './reconcile.ts';
export { defaultTiming, type Timing } from './timing.ts';
export { UnsealKeys, decodeKeys, encodeKeys } from './keys.ts';
export { parseEnvelopeKey, seal as sealEnvelope, open as openEnvelope } from './envelope.ts';
export { KeyCodec, type KeyStore } from './key-store.ts';
export { FileKeyStore } from './file-key-store.ts';
export { KubernetesSecretKeyStore } from './k8s-secret-key-store.ts';
export { StaticDiscovery, type NodeDiscovery, type NodeTarget } from './discovery.ts';
export { KubernetesPodDiscovery, PodWatchTrigger, podTargets, type PodDiscoveryOptions } from './k8s-pod-discovery.ts';
export {
  NoElection,
  checkElectionTiming,
  decideLease,
  defaultRenewDeadlineMs,
  observeLease,
  withinRenewDeadline,
  type LeaderElection,
  type LeaseDecision,
  type LeaseObservation,
  type LeaseRecord,
} from './election.ts';
export { FileLockElection, type FileLockOptions } from './file-lock-election.ts';
export { KubernetesLeaseElection, leaseRecord, type KubernetesLeaseOptions } from './k8s-lease-election.ts';
export { SealProbeTrigger, probeState, type ProbeState, type SealProbeOptions, type Trigger } from './triggers.ts';
export { NodeDriver, keyRejection, type UnsealOutcome } from './nodes.ts';
export { UnsealerMetrics } from './metrics.ts';
export { ConfigMapPauseSwitch, PAUSED_KEY, pausedFromConfigMap, type ConfigMapPauseOptions, type PauseState, type PauseSwitch } from './pause-switch.ts';
export { HealthServer, type HealthSource } from './health-server.ts';
export { Unsealer, type PassReport, type RootTokenPolicy, type UnsealerOptions, type UnsealerState } from './unsealer.ts';
export { loadKubeClients, type KubeClients } from './k8s.ts';
export { GeneratedRoot, decodeRootToken, generateRoot, type GenerateRootOptions } from './generate-root.ts';
