// `rotor status` as one screen of text.
import { visibleLength, type Paint } from '../color.ts';
import type { NodeReport, StatusReport } from './model.ts';

function stateText(n: NodeReport, p: Paint): string {
  const text = n.state === 'sealed' && n.unsealProgress ? `sealed (${n.unsealProgress})` : n.state;
  if (n.state === 'active') return p.ok(text);
  if (n.state === 'standby') return p.ok(text);
  return p.bad(text);
}

function raftText(n: NodeReport, p: Paint): string {
  if (n.raft === undefined) return p.dim('?');
  if (n.raft === null) return p.bad('not a peer');
  const parts = [n.raft.leader ? 'leader' : 'follower', n.raft.voter ? 'voter' : p.warn('non-voter')];
  return parts.join(', ');
}

function table(rows: string[][], widths: number[]): string[] {
  // Widths are measured without colour codes.
  return rows.map((row) => `  ${row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(Math.max(0, (widths[i] ?? 0) - visibleLength(cell))))).join('  ')}`.trimEnd());
}

export function renderStatus(r: StatusReport, p: Paint): string {
  const lines: string[] = [];
  const c = r.cluster;
  const about = [c.clusterName && `cluster ${c.clusterName}`, c.version && `version ${c.version}`, c.leader && `leader ${c.leader}`].filter(Boolean).join(', ');
  lines.push(`${p.bold('Vault')}  ${c.address ?? '(nodes given directly)'}${about ? `  ${p.dim(about)}` : ''}`);
  if (c.note) lines.push(`  ${p.dim(c.note)}`);
  const rows = [['NODE', 'ADDRESS', 'STATE', 'RAFT'].map((h) => p.dim(h)), ...r.nodes.map((n) => [n.id, n.address ?? p.dim('(unknown)'), stateText(n, p), raftText(n, p)])];
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((row) => visibleLength(row[i] ?? ''))));
  lines.push(...table(rows, widths));

  if (r.unsealer) {
    const u = r.unsealer;
    const parts: string[] = [];
    if (u.url !== undefined) {
      if (!u.reachable) parts.push(p.bad(`unreachable (${u.error ?? 'error'})`));
      else {
        parts.push(u.healthy ? p.ok(u.state ?? 'healthy') : p.bad(`${u.state ?? 'unhealthy'}${u.detail ? ` (${u.detail})` : ''}`));
        if (u.leading !== undefined) parts.push(u.leading ? 'leading' : 'not leading');
      }
    }
    if (u.lease) {
      const holder = u.lease.holder ? `held by ${u.lease.holder}, renewed ${u.lease.renewedSecondsAgo ?? '?'} s ago` : 'not held';
      parts.push(`lease ${u.lease.name} ${u.lease.expired ? p.bad(`${holder} (expired)`) : holder}`);
    }
    parts.push(`pause: ${u.paused === undefined ? p.dim('unknown') : u.paused ? p.warn('paused') : 'off'}`);
    lines.push(`${p.bold('Unsealer')}  ${u.url ?? ''}${u.url ? '  ' : ''}${parts.join('; ')}`);
  }

  if (r.drift) {
    const d = r.drift;
    let text: string;
    if (!d.checked) text = p.warn(`not checked: ${d.error ?? 'error'}`);
    else if (d.inSync) text = p.ok(`in sync (${d.resources ?? 0} resources)`);
    else text = p.bad(`drift: ${d.changes?.length ?? 0} change(s)`);
    lines.push(`${p.bold('Config')}  ${d.config}: ${text}`);
    for (const change of d.changes ?? []) lines.push(`  ${change.op.padEnd(7)} ${change.id}${change.reason ? p.dim(`  (${change.reason})`) : ''}`);
  }

  lines.push(r.problems.length === 0 ? p.ok('OK: nothing needs attention') : p.bad(`${r.problems.length} problem(s):`));
  for (const problem of r.problems) lines.push(`  - ${problem}`);
  return `${lines.join('\n')}\n`;
}
