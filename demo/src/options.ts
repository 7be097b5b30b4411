// Command-line flags and environment of the demo.

export interface DemoOptions {
  /** Length of the load phase (file mode), seconds. */
  loadSeconds: number;
  /** Length of the direct-lease phase (vault mode), seconds; 0 skips it. */
  vaultModeSeconds: number;
  /** Concurrent GET loops during the load phases. */
  concurrency: number;
  /** Leave everything running until Ctrl-C. */
  keep: boolean;
  /** Run the seed's kubectl walkthrough on the testbed's Kubernetes node instead. */
  cluster: boolean;
  /** Use approle for the agent even if the Kubernetes testbed is available. */
  forceAppRole: boolean;
  /** TTL (and max TTL) of db-reader-role, seconds: short, so rotation is visible. */
  credentialTtlSeconds: number;
  /** Rotations the load phase must see. */
  minRotations: number;
  help: boolean;
}

export const USAGE = `Usage: npm run demo -- [--quick] [--keep] [--approle] [--no-vault-mode]
       npm run demo -- --cluster

Runs Rotor's whole flow on this machine with real components (PostgreSQL,
a 3-node OpenBao raft cluster, the Rotor unsealer, rotor configure, a
kube-apiserver when built, OpenBao Agent, users-api), drives HTTP load while
the database credentials rotate, checks every step, and tears everything down.

  --quick          shorter load phases (CI uses this)
  --keep           leave everything running after the checks, until Ctrl-C
  --approle        agent logs in with approle even if the kube testbed is built
  --no-vault-mode  skip the direct-lease (users-api vault mode) phase
  --cluster        the seed's kubectl walkthrough on a real single-node Kubernetes
                   cluster built by the testbed (docs/operations.md's steps, the
                   unsealer, the injector webhook, init-container rotation under load)

Environment:
  ROTOR_DEMO_DURATION_S   length of the main load phase in seconds (default 60, --quick 35)
  NO_COLOR                no colours
`;

export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): DemoOptions {
  const flags = new Set(argv);
  const known = new Set(['--quick', '--keep', '--approle', '--no-vault-mode', '--cluster', '--help', '-h']);
  const unknown = argv.filter((a) => !known.has(a));
  if (unknown.length > 0) throw new Error(`unknown option ${unknown.join(' ')}\n\n${USAGE}`);
  const quick = flags.has('--quick');
  let loadSeconds = quick ? 35 : 60;
  const fromEnv = env.ROTOR_DEMO_DURATION_S;
  if (fromEnv !== undefined && fromEnv !== '') {
    const n = Number(fromEnv);
    if (!Number.isInteger(n) || n < 10 || n > 3600) throw new Error(`ROTOR_DEMO_DURATION_S must be a whole number of seconds from 10 to 3600, got "${fromEnv}"`);
    loadSeconds = n;
  }
  return {
    loadSeconds,
    vaultModeSeconds: flags.has('--no-vault-mode') ? 0 : quick ? 15 : 35,
    concurrency: 4,
    keep: flags.has('--keep'),
    cluster: flags.has('--cluster'),
    forceAppRole: flags.has('--approle'),
    credentialTtlSeconds: 15,
    minRotations: 3,
    help: flags.has('--help') || flags.has('-h'),
  };
}
