// What the node leaves in iptables, and the iptables-restore batch that removes it.
// Pure functions of `iptables-save` output, so teardown's choices are unit-tested.
import { CHAIN_PREFIXES, RULE_COMMENT } from './network.ts';

export interface SavedTable {
  name: string;
  /** User-defined chains (policy "-"). */
  chains: string[];
  /** Rule lines as iptables-save prints them, e.g. `-A INPUT -j KUBE-FIREWALL`. */
  rules: string[];
}

/** Parses iptables-save output (any table, no counters). */
export function parseIptablesSave(text: string): SavedTable[] {
  const tables: SavedTable[] = [];
  let current: SavedTable | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) {
      current = { name: line.slice(1), chains: [], rules: [] };
      tables.push(current);
    } else if (current && line.startsWith(':')) {
      const [name, policy] = line.slice(1).split(' ');
      if (name && policy === '-') current.chains.push(name);
    } else if (current && line.startsWith('-A ')) {
      current.rules.push(line);
    }
  }
  return tables;
}

/** Splits a rule line into arguments the way iptables-restore does (double quotes group). */
export function ruleArgs(line: string): string[] {
  const args: string[] = [];
  let current = '';
  let quoted = false;
  let pending = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\' && quoted && i + 1 < line.length) {
      current += line[++i];
    } else if (c === '"') {
      quoted = !quoted;
      pending = true;
    } else if (c === ' ' && !quoted) {
      if (pending || current) args.push(current);
      current = '';
      pending = false;
    } else {
      current += c;
    }
  }
  if (pending || current) args.push(current);
  return args;
}

export function isNodeChain(chain: string): boolean {
  return CHAIN_PREFIXES.some((prefix) => chain.startsWith(prefix));
}

function ruleChain(args: string[]): string | undefined {
  return args[0] === '-A' ? args[1] : undefined;
}

function ruleTarget(args: string[]): string | undefined {
  const at = args.findIndex((a) => a === '-j' || a === '-g' || a === '--jump' || a === '--goto');
  return at >= 0 ? args[at + 1] : undefined;
}

function commentOf(args: string[]): string | undefined {
  const at = args.indexOf('--comment');
  return at >= 0 ? args[at + 1] : undefined;
}

/**
 * The batch for `iptables-restore --noflush` that removes what the node added:
 * every KUBE-* and CNI-* chain (kubelet, kube-proxy, kube-router, CNI plugins),
 * every rule elsewhere that jumps to one or carries the node's own comment, and
 * (given the tables saved before the node started) every other rule added
 * since, such as kube-router's ACCEPT rules in FORWARD. Empty when clean.
 */
export function iptablesCleanup(now: SavedTable[], before?: SavedTable[]): string {
  const out: string[] = [];
  for (const table of now) {
    // A table missing from a baseline did not exist then: all of it is new.
    const baseline = before && (before.find((t) => t.name === table.name) ?? { name: table.name, chains: [], rules: [] });
    const remaining = [...(baseline?.rules ?? [])];
    const chains = table.chains.filter((c) => isNodeChain(c) || (baseline !== undefined && !baseline.chains.includes(c)));
    const deletes: string[] = [];
    for (const rule of table.rules) {
      const args = ruleArgs(rule);
      const chain = ruleChain(args);
      if (chain === undefined || chains.includes(chain)) continue; // goes with its chain
      const target = ruleTarget(args);
      const ours = (target !== undefined && chains.includes(target)) || commentOf(args) === RULE_COMMENT;
      const seenAt = remaining.indexOf(rule);
      if (ours || (baseline !== undefined && seenAt < 0)) deletes.push(`-D${rule.slice(2)}`);
      else if (seenAt >= 0) remaining.splice(seenAt, 1);
    }
    if (deletes.length === 0 && chains.length === 0) continue;
    out.push(`*${table.name}`, ...deletes, ...chains.map((c) => `-F ${c}`), ...chains.map((c) => `-X ${c}`), 'COMMIT');
  }
  return out.length ? `${out.join('\n')}\n` : '';
}

/**
 * The rules (for `iptables -t mangle -A`) that keep pod traffic on the machine.
 * mangle FORWARD runs after kube-proxy's DNAT and before every filter rule, so a
 * Service pointed at an outside address, or kube-proxy's ACCEPT of established
 * flows, cannot slip past it. With `transit` (IP forwarding was off before the
 * node turned it on) the host also stays no router for anyone else.
 */
export function forwardGuards(clusterRange: string, transit: boolean): string[][] {
  const guard = (...match: string[]): string[] => ['FORWARD', ...match, '-m', 'comment', '--comment', RULE_COMMENT, '-j', 'DROP'];
  return [
    guard('-s', clusterRange, '!', '-d', clusterRange),
    guard('!', '-s', clusterRange, '-d', clusterRange),
    ...(transit ? [guard('!', '-s', clusterRange, '!', '-d', clusterRange)] : []),
  ];
}

/** ipsets the node created: kube-router's KUBE-* sets (also inet6:), or any not there before. */
export function ipsetsToDestroy(now: string[], before: string[] | undefined): string[] {
  return now.filter((name) => {
    const bare = name.replace(/^inet6:/, '');
    return bare.startsWith('KUBE-') || bare.startsWith('kube-router') || (before !== undefined && !before.includes(name));
  });
}

/**
 * Tables that were not there before (iptables-nft registers one on first use)
 * and are empty again after the cleanup: nft deletes them, so iptables-save
 * prints what it printed before the node started.
 */
export function tablesToDelete(now: SavedTable[], before: SavedTable[]): string[] {
  return now.filter((t) => !before.some((b) => b.name === t.name) && t.rules.length === 0 && t.chains.length === 0).map((t) => t.name);
}
