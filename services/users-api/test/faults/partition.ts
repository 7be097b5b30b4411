// A network partition of one raft node, with iptables on loopback. Every node
// dials from 127.0.0.1, so addresses cannot tell them apart; each node runs as
// its own uid and the rules match the sending socket's owner. The rules live
// in a chain of this process (ROTOR-FAULTS-<pid>) jumped to from OUTPUT, and
// heal() removes the jump and the chain.
import { execFile } from 'node:child_process';
import type { OpenBaoNode } from '@rotor/testbed';

function iptables(...args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('iptables', ['-w', '5', ...args], (err, _stdout, stderr) => (err ? reject(new Error(`iptables ${args.join(' ')}: ${stderr.trim() || err.message}`)) : resolve()));
  });
}

export class Partition {
  readonly chain = `ROTOR-FAULTS-${process.pid}`;
  #active = false;

  /** Cuts `isolated` off from `others`: neither reaches the other's cluster (raft) port. */
  async cut(isolated: OpenBaoNode, others: readonly OpenBaoNode[]): Promise<void> {
    const owner = (node: OpenBaoNode): string => {
      if (!node.runAs) throw new Error(`${node.id} does not run as its own uid: start the cluster with runAs`);
      return String(node.runAs.uid);
    };
    await iptables('-N', this.chain);
    this.#active = true;
    await iptables('-I', 'OUTPUT', '-j', this.chain);
    for (const other of others) {
      await iptables('-A', this.chain, '-o', 'lo', '-p', 'tcp', '-m', 'owner', '--uid-owner', owner(isolated), '-d', other.host, '--dport', String(other.clusterPort), '-j', 'DROP');
      await iptables('-A', this.chain, '-o', 'lo', '-p', 'tcp', '-m', 'owner', '--uid-owner', owner(other), '-d', isolated.host, '--dport', String(isolated.clusterPort), '-j', 'DROP');
    }
  }

  /** Removes every rule this partition added (safe to call twice, or without a cut). */
  async heal(): Promise<void> {
    if (!this.#active) return;
    await iptables('-D', 'OUTPUT', '-j', this.chain).catch(() => undefined);
    await iptables('-F', this.chain).catch(() => undefined);
    await iptables('-X', this.chain);
    this.#active = false;
  }
}
