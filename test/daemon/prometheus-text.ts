/**
 * Reads the Prometheus text exposition format (what GET /metrics returns) into
 * `series → value`, with the series written as `name{label="value",…}` (labels as prom-client
 * writes them, in label-name order) or just `name` without labels.
 */
export function parsePrometheusText(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    out.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return out;
}

/** The series of `map` whose name matches `name` (a RegExp on the part before `{`), as a plain object. */
export function seriesMatching(map: Map<string, number>, name: RegExp): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [series, value] of map) {
    const brace = series.indexOf('{');
    if (name.test(brace === -1 ? series : series.slice(0, brace))) out[series] = value;
  }
  return out;
}
