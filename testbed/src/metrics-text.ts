// Reads counters out of a Prometheus /metrics text: the demo and the cluster walkthrough count
// rotations by reason this way, from a process or from a pod.

/** Sum of a counter's samples whose labels include all of `labels`. */
export function counterTotal(metricsText: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue;
    const labelText = line[name.length] === '{' ? line.slice(name.length + 1, line.indexOf('}')) : '';
    if (!wanted.every((w) => labelText.split(',').includes(w))) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) total += value;
  }
  return total;
}

/** A counter's non-zero samples by the value of one label (e.g. rotations by reason). */
export function counterByLabel(metricsText: string, name: string, label: string): Record<string, number> {
  const by: Record<string, number> = {};
  const pattern = new RegExp(`^${name}\\{(?:[^}]*,)?${label}="([^"]*)"[^}]*\\} (\\S+)$`);
  for (const line of metricsText.split('\n')) {
    const m = pattern.exec(line);
    const value = Number(m?.[2]);
    if (m?.[1] !== undefined && Number.isFinite(value) && value > 0) by[m[1]] = (by[m[1]] ?? 0) + value;
  }
  return by;
}
