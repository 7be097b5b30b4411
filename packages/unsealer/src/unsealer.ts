// The imperative shell around `reconcile`: one pass at a time, observe ->
// decide -> act, then sleep until the plan's wake time or a trigger.
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import { errorMessage } from '@rotor/vault-client';
import { UnsealerError, UnsealerErrorCode, isUnsealerError } from './errors.ts';
import type { NodeDiscovery, NodeTarget } from './discovery.ts';
import { NoElection, type LeaderElection } from './election.ts';
import type { KeyStore } from './key-store.ts';
import type { UnsealKeys } from './keys.ts';
import { UnsealerMetrics } from './metrics.ts';
import { NodeDriver } from './nodes.ts';
import type { PauseSwitch } from './pause-switch.ts';
import { reconcile, type Action, type Alarm, type KeyState, type NodeState, type Plan, type Rejection } from './reconcile.ts';
import { defaultTiming, type Timing } from './timing.ts';
import { SealProbeTrigger, type SealProbeOptions, type Trigger } from './triggers.ts';

/** What happens to the root token init returns. See docs/unsealer.md. */
export type RootTokenPolicy = 'keep' | 'revoke';

export interface UnsealerOptions {
  discovery: NodeDiscovery;
  keyStore: KeyStore;
  /** Default: none (a single instance). */
  election?: LeaderElection;
  /** Key shares and threshold for init; default 5 / 3. */
  shares?: number;
  threshold?: number;
  /** Default "keep": stored with the keys. */
  rootToken?: RootTokenPolicy;
  /**
   * With policy "revoke": the first configuration, done with the initial root token on the
   * active node before that token is revoked (e.g. what lets `rotor configure` log in on its
   * own). Retried on later passes until it succeeds; the token is revoked only afterwards.
   */
  bootstrap?: (rootToken: string, node: NodeTarget) => Promise<void>;
  timing?: Partial<Timing>;
  /** Seal-status probe of known nodes (restart detection); false turns it off. */
  probe?: SealProbeOptions | false;
  /** PEM bundle that signed the nodes' TLS certificates (https nodes only); default: system roots. */
  caCert?: string;
  /** More triggers, e.g. a Kubernetes pod watch. */
  triggers?: Trigger[];
  /** The operator's pause switch (docs/unsealer.md); default: none, never paused. */
  pause?: PauseSwitch;
  logger?: Logger;
  registry?: Registry;
  now?: () => number;
  random?: () => number;
}

export type UnsealerState = 'new' | 'running' | 'halted' | 'stopped';

/** What a pass saw and decided. */
export interface PassReport {
  leading: boolean;
  nodes: NodeState[];
  plan?: Plan;
}

interface PendingKeys {
  keys: UnsealKeys;
  failures: number;
}

const ALARM_MESSAGES: { [C in Alarm['code']]: (alarm: Extract<Alarm, { code: C }>) => string } = {
  'wrong-keys': (a) =>
    `the stored keys do not unseal ${a.node} (${a.detail}): they belong to another cluster; stopping rather than retrying`,
  'split-cluster': (a) => `unsealed nodes ${a.nodes.join(', ')} report different cluster ids: two clusters behind one name; stopping`,
  'keys-missing': (a) =>
    `${a.node} is initialized but the key store is empty: the keys were not stored by this unsealer; stopping (never re-initializing)`,
};

function alarmError(alarm: Alarm): UnsealerError {
  const code = alarm.code === 'split-cluster' ? UnsealerErrorCode.SPLIT_CLUSTER : alarm.code === 'wrong-keys' ? UnsealerErrorCode.WRONG_KEYS : UnsealerErrorCode.KEYS_MISSING;
  const message = (ALARM_MESSAGES[alarm.code] as (a: Alarm) => string)(alarm);
  return new UnsealerError(code, message, 'node' in alarm ? { node: alarm.node } : undefined);
}

/** The longest delay a Node timer holds (2^31-1 ms, about 24.8 days). */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

export class Unsealer {
  readonly registry: Registry;
  readonly #options: UnsealerOptions;
  readonly #timing: Timing;
  readonly #log: Logger;
  readonly #metrics: UnsealerMetrics;
  readonly #nodes: NodeDriver;
  readonly #triggers: Trigger[];
  readonly #election: LeaderElection;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #abort = new AbortController();

  #state: UnsealerState = 'new';
  #alarm: UnsealerError | undefined;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #wakeRequested = false;

  // Memory across passes.
  #keys: UnsealKeys | undefined;
  #pending: PendingKeys | undefined;
  #rootTokenToRevoke: string | undefined;
  #bootstrapped = false;
  #targets: NodeTarget[] = [];
  readonly #rejections: Rejection[] = [];
  readonly #unsealSubmittedAt: Record<string, number> = {};
  readonly #sealedSince = new Map<string, number>();
  #leading = false;
  #lastWaits = '[]';
  #lastWithheld = '';

  constructor(options: UnsealerOptions) {
    const shares = options.shares ?? 5;
    const threshold = options.threshold ?? 3;
    if (!Number.isInteger(shares) || !Number.isInteger(threshold) || threshold < 1 || shares < threshold || shares > 255) {
      throw new UnsealerError(UnsealerErrorCode.CONFIG, `key shares ${shares} / threshold ${threshold}: need 1 <= threshold <= shares <= 255`);
    }
    if (options.bootstrap !== undefined && options.rootToken !== 'revoke') {
      throw new UnsealerError(UnsealerErrorCode.CONFIG, 'a bootstrap needs root-token policy "revoke": the token it uses is revoked right after it');
    }
    this.#options = { ...options, shares, threshold };
    this.#timing = { ...defaultTiming, ...options.timing };
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'unsealer' });
    this.registry = options.registry ?? new Registry();
    this.#metrics = new UnsealerMetrics(this.registry);
    this.#election = options.election ?? new NoElection();
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#nodes = new NodeDriver({ caCert: options.caCert });
    const probe = options.probe === false ? [] : [new SealProbeTrigger(() => this.#targets, { ...options.probe, caCert: options.caCert })];
    this.#triggers = [...probe, ...(options.triggers ?? [])];
    this.#metrics.paused(this.#paused());
  }

  get state(): UnsealerState {
    return this.#state;
  }

  /** Whether the initial root token (policy "revoke") still waits for its bootstrap and revocation. */
  get rootTokenPending(): boolean {
    return this.#rootTokenToRevoke !== undefined;
  }

  /** The alarm that stopped the unsealer, if any. */
  get alarm(): UnsealerError | undefined {
    return this.#alarm;
  }

  /** `paused` only with a pause switch: without one the unsealer cannot be paused, and reports nothing about it. */
  health(): { healthy: boolean; state: UnsealerState; detail?: string; paused?: boolean } {
    return {
      healthy: this.#state === 'running',
      state: this.#state,
      ...(this.#alarm ? { detail: this.#alarm.code } : {}),
      ...(this.#options.pause ? { paused: this.#paused() } : {}),
    };
  }

  /** Whether the unsealer holds back from acting: the switch is on, or not read yet. */
  get paused(): boolean {
    return this.#paused();
  }

  #paused(): boolean {
    return this.#options.pause !== undefined && this.#options.pause.paused() !== false;
  }

  /** A pause switch change: reported at once, and a pass to act (or stop acting) on it. */
  #pauseChanged(paused: boolean, before: boolean | undefined): void {
    this.#metrics.paused(paused);
    const pause = this.#options.pause?.description;
    if (paused) this.#log.warn({ pause }, 'paused by the operator: initializing, joining and unsealing nothing');
    else if (before !== undefined) this.#log.warn({ pause }, 'resumed by the operator');
    this.#trigger(paused ? 'paused' : 'resumed');
  }

  /** Runs passes until stop() or an alarm. */
  start(): void {
    this.#enter('running', ['new']);
    this.#logStart();
    this.#options.pause?.start(
      (paused, before) => this.#pauseChanged(paused, before),
      (err) => this.#log.warn({ err: errorMessage(err) }, 'pause switch unreadable; keeping its last state'),
    );
    for (const trigger of this.#triggers) {
      trigger.start(
        (why) => this.#trigger(why),
        (err) => this.#log.warn({ err: errorMessage(err) }, 'trigger failed'),
      );
    }
    this.#loop = this.#run();
  }

  /** Resolves when the unsealer stops: with the alarm if one stopped it. */
  async done(): Promise<UnsealerError | undefined> {
    await this.#loop;
    return this.#alarm;
  }

  /**
   * Stops passes, triggers and timers; releases the election. An in-flight
   * pass is aborted between actions. Legal once, after start() or a halt.
   */
  async stop(): Promise<void> {
    this.#enter('stopped', ['running', 'halted']);
    this.#abort.abort();
    this.#wake?.();
    await this.#loop;
    await Promise.all(this.#triggers.map((t) => t.stop()));
    await this.#options.pause?.stop();
    if (this.#leading) await this.#election.release();
  }

  /**
   * One-shot mode: passes until nothing is left to do (all reachable nodes
   * unsealed, or only waiting), an alarm, or `timeoutMs`. Leaves the unsealer stopped.
   */
  async runUntilSettled(timeoutMs = 120_000): Promise<PassReport> {
    this.#enter('running', ['new']);
    this.#logStart();
    const deadline = this.#now() + timeoutMs;
    try {
      for (;;) {
        const { report, wakeAt } = await this.#pass();
        const busy = report.plan?.actions.length || report.plan?.waits.some((w) => w.why === 'unseal-in-progress');
        if (this.#alarm) throw this.#alarm;
        if (!busy || this.#now() >= deadline) return report;
        await this.#sleepUntil(Math.min(wakeAt, deadline));
      }
    } finally {
      if (this.#state === 'running') this.#state = 'stopped';
      if (this.#leading) await this.#election.release();
    }
  }

  #logStart(): void {
    const { discovery, keyStore, shares, threshold, rootToken = 'keep', pause } = this.#options;
    this.#log.info(
      { discovery: discovery.description, keyStore: keyStore.description, election: this.#election.description, pause: pause?.description ?? 'none', shares, threshold, rootToken },
      'unsealer started',
    );
  }

  #enter(next: UnsealerState, from: UnsealerState[]): void {
    if (!from.includes(this.#state)) {
      throw new UnsealerError(UnsealerErrorCode.ILLEGAL_STATE, `cannot go from ${this.#state} to ${next}`);
    }
    this.#state = next;
  }

  #trigger(why: string): void {
    this.#log.debug({ why }, 'pass triggered');
    this.#wakeRequested = true;
    this.#wake?.();
  }

  async #run(): Promise<void> {
    while (this.#state === 'running') {
      this.#wakeRequested = false;
      let wakeAt: number;
      try {
        wakeAt = (await this.#pass()).wakeAt;
      } catch (err) {
        if (this.#abort.signal.aborted) break;
        this.#metrics.pass('failed');
        this.#log.warn({ err: errorMessage(err), code: isUnsealerError(err) ? err.code : undefined }, 'pass failed');
        wakeAt = this.#now() + this.#timing.resyncMs;
      }
      if (this.#state !== 'running' || this.#wakeRequested) continue;
      await this.#sleepUntil(wakeAt);
    }
  }

  #sleepUntil(wakeAt: number): Promise<void> {
    return new Promise((resolve) => {
      // Clamped to what a Node timer holds (a longer one fires after 1 ms); waking early only resyncs.
      const timer = setTimeout(done, Math.min(Math.max(0, wakeAt - this.#now()), MAX_TIMER_DELAY_MS));
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
      if (this.#abort.signal.aborted) done();
    });
  }

  async #pass(): Promise<{ report: PassReport; wakeAt: number }> {
    const signal = this.#abort.signal;
    // Keys that exist only in memory are stored before anything else, leader or not.
    if (this.#pending) {
      const plan = this.#decide([], { kind: 'unpersisted', shares: this.#pending.keys.shares, failures: this.#pending.failures });
      await this.#act(plan.actions, signal);
      const wakeAt = this.#pending ? (plan.wakeAt ?? this.#now()) : this.#now();
      return { report: { leading: this.#leading, nodes: [], plan }, wakeAt };
    }

    const leading = await this.#election.tryAcquire(signal);
    if (leading !== this.#leading) this.#log.info({ election: this.#election.description }, leading ? 'leading' : 'not leading');
    this.#leading = leading;
    this.#metrics.leading(leading);
    if (!leading) {
      this.#metrics.pass('follower');
      return { report: { leading, nodes: [] }, wakeAt: this.#now() + this.#timing.resyncMs };
    }

    // Stored keys never change (create-once), so one successful read is enough.
    this.#keys ??= await this.#options.keyStore.load(signal);
    this.#targets = await this.#options.discovery.list(signal);
    const nodes = await Promise.all(this.#targets.map((t) => this.#observe(t)));
    this.#metrics.observeNodes(nodes);

    const plan = this.#decide(nodes, this.#keys ? { kind: 'stored', shares: this.#keys.shares } : { kind: 'none' });
    if (plan.alarm) {
      this.#halt(alarmError(plan.alarm));
      this.#metrics.pass('alarm');
      return { report: { leading, nodes, plan }, wakeAt: this.#now() };
    }
    // Paused: the pass observed and reported; what it would have done is logged once per change.
    if (await this.#pausedForPass(signal)) {
      const withheld = JSON.stringify(plan.actions.map(describeAction));
      if (plan.actions.length > 0 && withheld !== this.#lastWithheld) this.#log.warn({ withheld: plan.actions.map(describeAction) }, 'paused: not acting');
      this.#lastWithheld = withheld;
      this.#metrics.pass('paused');
      return { report: { leading, nodes, plan: { ...plan, actions: [] } }, wakeAt: this.#now() + this.#timing.resyncMs };
    }
    this.#lastWithheld = '';
    // Actions are always news; an unchanged wait is logged once, not every pass.
    const waits = JSON.stringify(plan.waits);
    if (plan.actions.length > 0) this.#log.info({ actions: plan.actions.map(describeAction), waits: plan.waits }, 'acting');
    else if (waits !== this.#lastWaits && plan.waits.length > 0) this.#log.info({ waits: plan.waits }, 'waiting');
    this.#lastWaits = waits;
    this.#metrics.pass(plan.actions.length > 0 ? 'acted' : 'idle');
    const changed = await this.#act(plan.actions, signal, () => this.#stillLeading() && !this.#paused());
    // After init (keys to persist) or a rejection (an alarm to raise), decide again at once.
    return { report: { leading, nodes, plan }, wakeAt: changed ? this.#now() : (plan.wakeAt ?? this.#now()) };
  }

  /** The switch read afresh for this pass (a lost watch costs at most one pass); on a failed read, its last state. */
  async #pausedForPass(signal: AbortSignal): Promise<boolean> {
    const pause = this.#options.pause;
    if (!pause) return false;
    const before = pause.paused();
    try {
      await pause.refresh(signal);
    } catch (err) {
      this.#log.warn({ pause: pause.description, err: errorMessage(err) }, 'pause switch unreadable; keeping its last state (not acting while never read)');
    }
    if (pause.paused() !== before) this.#metrics.paused(this.#paused());
    return this.#paused();
  }

  #decide(nodes: NodeState[], keys: KeyState): Plan {
    return reconcile({
      nodes,
      keys,
      rejections: this.#rejections,
      unsealSubmittedAt: this.#unsealSubmittedAt,
      rootTokenToRevoke: this.#rootTokenToRevoke !== undefined,
      now: this.#now(),
      random: this.#random(),
      timing: this.#timing,
    });
  }

  async #observe(target: NodeTarget): Promise<NodeState> {
    let state: NodeState;
    try {
      state = await this.#nodes.observe(target);
    } catch (err) {
      this.#log.warn({ node: target.id, err: errorMessage(err) }, 'node answered with an error; treating it as unreachable');
      state = { ...target, reachable: false, initialized: false, sealed: true, progress: 0, threshold: 0, active: false };
    }
    // The unseal-latency clock runs from "reachable and sealed" to "unsealed".
    if (!state.reachable) this.#sealedSince.delete(target.id);
    else if (state.sealed && !this.#sealedSince.has(target.id)) this.#sealedSince.set(target.id, this.#now());
    else if (!state.sealed) this.#recordUnsealed(target.id);
    if (!state.sealed) delete this.#unsealSubmittedAt[target.id];
    return state;
  }

  #recordUnsealed(node: string): void {
    const since = this.#sealedSince.get(node);
    if (since === undefined) return;
    this.#sealedSince.delete(node);
    this.#metrics.unsealed((this.#now() - since) / 1000);
  }

  /**
   * A slow pass (unreachable nodes, a slow API) must not act on a lease it
   * could no longer renew: past the renew deadline, step down until the next
   * pass renews it, before any other replica may take over.
   */
  #stillLeading(): boolean {
    if (this.#election.isLeading()) return true;
    this.#log.warn({ election: this.#election.description }, 'renew deadline passed during the pass: not acting until the lease is renewed');
    this.#leading = false;
    this.#metrics.leading(false);
    return false;
  }

  /** Carries out the actions in order, each only while `mayAct()` holds; true when the next pass should come at once. */
  async #act(actions: readonly Action[], signal: AbortSignal, mayAct: () => boolean = () => true): Promise<boolean> {
    let changed = false;
    for (const action of actions) {
      if (signal.aborted || !mayAct()) break;
      try {
        changed = (await this.#perform(action, signal)) || changed;
      } catch (err) {
        this.#metrics.action(action.kind, 'failed');
        this.#log.warn({ action: describeAction(action), err: errorMessage(err) }, 'action failed');
        if (action.kind === 'initialize') break;
      }
    }
    return changed;
  }

  async #perform(action: Action, signal: AbortSignal): Promise<boolean> {
    switch (action.kind) {
      case 'initialize': {
        const { shares = 5, threshold = 3 } = this.#options;
        const keys = await this.#nodes.initialize(targetOf(action), shares, threshold);
        this.#pending = { keys, failures: 0 };
        this.#metrics.action(action.kind, 'ok');
        this.#log.info({ node: action.node, keys }, 'initialized the cluster; storing the keys before anything else');
        return true;
      }
      case 'persist-keys':
        await this.#persist();
        return false;
      case 'join':
        await this.#nodes.join(targetOf(action), action.leaderAddress);
        this.#metrics.action(action.kind, 'ok');
        this.#log.info({ node: action.node, leader: action.leaderAddress }, 'joined raft');
        return false;
      case 'unseal': {
        if (!this.#keys) return false;
        const outcome = await this.#nodes.unseal(targetOf(action), this.#keys, signal);
        if (outcome.rejection) {
          this.#rejections.push(outcome.rejection);
          this.#metrics.action(action.kind, 'rejected');
          return true;
        }
        if (outcome.unsealed) {
          this.#recordUnsealed(action.node);
          this.#metrics.action(action.kind, 'ok');
          this.#log.info({ node: action.node }, 'unsealed');
        } else {
          this.#unsealSubmittedAt[action.node] = this.#now();
          this.#metrics.action(action.kind, 'pending');
          this.#log.info({ node: action.node }, 'all shares submitted; the node unseals once it has joined');
        }
        return false;
      }
      case 'revoke-root-token': {
        if (this.#rootTokenToRevoke === undefined) return false;
        if (this.#options.bootstrap !== undefined && !this.#bootstrapped) {
          try {
            await this.#options.bootstrap(this.#rootTokenToRevoke, targetOf(action));
          } catch (err) {
            this.#metrics.action('bootstrap', 'failed');
            throw new UnsealerError(UnsealerErrorCode.NODE, `${action.node}: bootstrap with the initial root token failed (retried; the token is revoked only after it succeeds): ${errorMessage(err)}`, { node: action.node, cause: err });
          }
          this.#bootstrapped = true;
          this.#metrics.action('bootstrap', 'ok');
          this.#log.info({ node: action.node }, 'bootstrap done with the initial root token');
        }
        await this.#nodes.revokeRootToken(targetOf(action), this.#rootTokenToRevoke);
        this.#rootTokenToRevoke = undefined;
        this.#metrics.action(action.kind, 'ok');
        this.#log.info({ node: action.node }, 'revoked the initial root token (policy "revoke")');
        return false;
      }
    }
  }

  async #persist(): Promise<void> {
    const pending = this.#pending;
    if (!pending) return;
    const revoke = this.#options.rootToken === 'revoke';
    const toStore = revoke ? pending.keys.withoutRootToken() : pending.keys;
    try {
      await this.#options.keyStore.save(toStore);
    } catch (err) {
      if (!(isUnsealerError(err) && err.code === UnsealerErrorCode.KEYS_EXIST && (await this.#storedMatch(toStore)))) {
        pending.failures++;
        this.#metrics.action('persist-keys', 'failed');
        this.#log.error(
          { store: this.#options.keyStore.description, failures: pending.failures, err: errorMessage(err) },
          'cannot store the keys; they exist only in memory, retrying and doing nothing else',
        );
        return;
      }
    }
    this.#keys = toStore;
    this.#pending = undefined;
    if (revoke) this.#rootTokenToRevoke = pending.keys.rootToken;
    this.#metrics.action('persist-keys', 'ok');
    this.#log.info({ store: this.#options.keyStore.description }, 'keys stored');
  }

  /** After "already exists": whether what is stored is what we tried to store (an earlier attempt landed). */
  async #storedMatch(keys: UnsealKeys): Promise<boolean> {
    const stored = await this.#options.keyStore.load().catch(() => undefined);
    return stored !== undefined && stored.keys.length === keys.keys.length && stored.keys.every((k, i) => k === keys.keys[i]);
  }

  #halt(alarm: UnsealerError): void {
    this.#alarm = alarm;
    this.#state = 'halted';
    this.#log.error({ code: alarm.code, node: alarm.node }, alarm.message);
    void Promise.all(this.#triggers.map((t) => t.stop()));
  }
}

function targetOf(action: { node: string; address: string }): NodeTarget {
  return { id: action.node, address: action.address };
}

function describeAction(action: Action): string {
  if (action.kind === 'persist-keys') return `persist-keys (${action.reason})`;
  return `${action.kind} ${action.node} (${action.reason})`;
}
