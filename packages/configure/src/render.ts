import { formatDuration } from './duration.ts';
import type { ChangeOp, Plan } from './plan-types.ts';
import { writeCount } from './plan-types.ts';
import { Secret } from './secret.ts';

export interface RenderOptions {
  /** ANSI colours (for a TTY without NO_COLOR). */
  color: boolean;
  /** List unchanged resources too, not only their count. */
  showUnchanged?: boolean;
}

const STYLE: Record<ChangeOp, { sign: string; color: string }> = {
  create: { sign: '+', color: '32' },
  update: { sign: '~', color: '33' },
  rotate: { sign: '↻', color: '36' },
  delete: { sign: '-', color: '31' },
  unchanged: { sign: '=', color: '2' },
};

export function summarize(plan: Plan): Record<ChangeOp, number> & { writes: number } {
  const counts = { create: 0, update: 0, rotate: 0, delete: 0, unchanged: 0 };
  for (const c of plan.changes) counts[c.op]++;
  return { ...counts, writes: writeCount(plan) };
}

/** The plan for a terminal: one line per resource, one per changed field. */
export function renderPlan(plan: Plan, options: RenderOptions): string {
  const paint = (code: string, text: string): string => (options.color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const s = summarize(plan);
  const lines: string[] = [];
  for (const change of plan.changes) {
    if (change.op === 'unchanged' && options.showUnchanged !== true) continue;
    const { sign, color } = STYLE[change.op];
    const reason = change.reason === undefined ? '' : paint('2', `  (${change.reason})`);
    lines.push(`${paint(color, `${sign} ${change.op.padEnd(9)}`)} ${change.id}${reason}`);
    for (const f of change.fields) {
      const from = 'from' in f ? `${show(f.field, f.from)} -> ` : '';
      lines.push(`      ${f.field}: ${from}${show(f.field, f.to)}`);
    }
  }
  const summary =
    s.writes === 0
      ? `No changes: Vault matches the configuration (${s.unchanged} resources).`
      : `Plan: ${s.create} to create, ${s.update} to update, ${s.rotate} to rotate, ${s.delete} to delete, ${s.unchanged} unchanged; ${s.writes} write request(s).`;
  return [...lines, ...(lines.length > 0 ? [''] : []), summary, ''].join('\n');
}

/** The plan as JSON-ready data; secrets appear only as their source. */
export function planToJson(plan: Plan): unknown {
  return JSON.parse(JSON.stringify({ summary: summarize(plan), changes: plan.changes })) as unknown;
}

function show(field: string, value: unknown): string {
  if (value instanceof Secret) return value.describe();
  if (typeof value === 'number' && /(_ttl|_period)$/.test(field)) return formatDuration(value);
  if (typeof value === 'string') {
    const lines = value.trimEnd().split('\n');
    return lines.length > 1 ? `<${lines.length} lines>` : JSON.stringify(clip(value));
  }
  if (Array.isArray(value)) return `[${value.map((v) => show(field, v)).join(', ')}]`;
  return JSON.stringify(value) ?? String(value);
}

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
