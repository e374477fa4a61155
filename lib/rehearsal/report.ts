import type { RehearsalResult } from './run';

const show = (value: number | null, unit: string) => (value === null ? 'n/a' : `${value} ${unit}`);

/** The terminal summary: each figure against its budget, then the verdict. */
export function terminalReport(result: RehearsalResult): string[] {
  const lines = ['', 'Rehearsal report (AWS simulated in-process; PostgreSQL real)', ''];
  for (const [name, w] of Object.entries(result.workflows))
    lines.push(`  ${name.padEnd(24)} ${w.status}${w.error === undefined ? '' : `  ${w.error}`}`);
  lines.push('', '  Figure                                             Measured      Budget   ');
  for (const b of result.budgets) {
    lines.push(
      `  ${b.met ? 'ok  ' : 'MISS'} ${b.name.padEnd(45)} ${show(b.value, b.unit).padStart(12)}  ≤ ${b.budget} ${b.unit}`,
    );
  }
  lines.push(
    '',
    `  ${result.cutover.ackedWrites} writes acknowledged through the migration record (cutover, rollback, roll forward), ${result.cutover.lostWrites} lost.`,
    `  Rollback: ${result.rollback.ackedWrites} writes acknowledged before it finished, ${result.rollback.lostWrites} missing on the primary after it.`,
    `  Region loss: ${result.regionLoss.ackedWrites} writes acknowledged through the record, ${result.regionLoss.lostWrites} missing on the promoted writer.`,
    `  Failback switchover: ${result.switchover.ackedWrites} writes acknowledged through the record, ${result.switchover.lostWrites} lost.`,
    result.backupRestore.notRun === undefined
      ? `  Backup restore: a ${result.backupRestore.dumpBytes}-byte dump taken during ${result.backupRestore.writesDuringDump} writes, restored into a fresh server and checked against its manifest.`
      : `  Backup restore: not run: ${result.backupRestore.notRun}`,
    ...result.regionLoss.redeploys.map(
      (r) =>
        `  Redeploy after ${r.after}: the record answers ${r.answer.join(', ') || 'nothing'} (the writer: ${r.writer}); ${r.instancesTouched} instances changed or replaced.`,
    ),
    `  SIMULATED CloudWatch received ${result.metricsCaptured} embedded-metric records from the handlers.`,
    `  SIMULATED AWS answered ${result.awsCalls.total} calls; ${result.awsCalls.authorized} were authorized against the calling step's role from the synthesized app (${result.awsCalls.denied} denied).`,
    `  ${result.ok ? 'Every budget met.' : 'A budget was missed or a workflow failed.'} ${result.durationSeconds} s in all.`,
  );
  return lines;
}

const escape = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

/** Requests per second for one application, as stacked bars (ok green, failed red), with the marks. */
function chart(result: RehearsalResult, app: string, title: string): string {
  const rows = result.timeline.filter((t) => t.app === app);
  const seconds = Math.max(1, Math.ceil(result.durationSeconds));
  const peak = Math.max(1, ...rows.map((r) => r.ok + r.failed));
  const width = 900;
  const height = 180;
  const barWidth = width / seconds;
  const y = (n: number) => (n / peak) * (height - 20);
  const bars = rows
    .map((r) => {
      const x = (r.second * barWidth).toFixed(1);
      const okHeight = y(r.ok);
      const failedHeight = y(r.failed);
      return (
        `<rect class="ok" data-second="${r.second}" x="${x}" y="${(height - okHeight).toFixed(1)}" width="${Math.max(1, barWidth - 1).toFixed(1)}" height="${okHeight.toFixed(1)}"><title>${r.second} s: ${r.ok} ok</title></rect>` +
        (r.failed > 0
          ? `<rect class="failed" data-second="${r.second}" x="${x}" y="${(height - okHeight - failedHeight).toFixed(1)}" width="${Math.max(1, barWidth - 1).toFixed(1)}" height="${failedHeight.toFixed(1)}"><title>${r.second} s: ${r.failed} failed</title></rect>`
          : '')
      );
    })
    .join('');
  const marks = result.marks
    .map((m, i) => {
      const x = (m.second * barWidth).toFixed(1);
      return `<line class="mark" x1="${x}" x2="${x}" y1="0" y2="${height}"/><text x="${x}" y="${12 + (i % 2) * 12}">${escape(m.label)}</text>`;
    })
    .join('');
  return `<h2>${escape(title)}</h2><svg class="timeline" data-app="${app}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escape(title)}">${bars}${marks}</svg>`;
}

/** A self-contained HTML page (no scripts, no external resources): figures, steps and the timelines. */
export function htmlReport(result: RehearsalResult): string {
  const figures = result.budgets
    .map(
      (b) =>
        `<tr class="${b.met ? 'met' : 'missed'}"><td>${b.met ? 'ok' : 'MISSED'}</td><td>${escape(b.name)}</td><td>${escape(show(b.value, b.unit))}</td><td>≤ ${b.budget} ${b.unit}</td></tr>`,
    )
    .join('');
  const steps = result.steps
    .map(
      (s) =>
        `<tr><td>${s.at.toFixed(1)} s</td><td>${escape(s.workflow)}</td><td>${escape(s.state)}</td></tr>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>pg-dr rehearsal report</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-bottom: 1.5em; } td, th { padding: 2px 10px; border-bottom: 1px solid #ddd; text-align: left; }
tr.missed td { color: #b00; font-weight: bold; }
svg.timeline { border: 1px solid #ccc; background: #fafafa; }
rect.ok { fill: #3a9a4a; } rect.failed { fill: #d33; } line.mark { stroke: #336; stroke-dasharray: 4 3; } text { font-size: 10px; fill: #336; }
</style></head><body>
<h1>pg-dr rehearsal: ${result.ok ? 'every budget met' : 'BUDGET MISSED'}</h1>
<p>Real PostgreSQL servers, the real workflow definitions and step handlers; AWS simulated in-process from the synthesized app, each call authorized against the calling step's role. ${result.durationSeconds} s, started ${new Date(result.startedAt).toISOString()}.</p>
<table><thead><tr><th></th><th>Figure</th><th>Measured</th><th>Budget</th></tr></thead><tbody>${figures}</tbody></table>
${chart(result, 'migration', 'Application on the migration record: requests per second (green ok, red failed)')}
${chart(result, 'dr', 'Application on the DR record: requests per second (writes fail while DNS points at the read replica)')}
${chart(result, 'region', 'Application on the production record of the region-loss deployment: requests per second (the primary killed, then the failover)')}
${chart(result, 'switchover', 'Application on the production record of the region-loss deployment after re-protect: requests per second through the failback switchover (writes pause from the retirement until DNS answers the promoted home replica)')}
<h2>Steps</h2>
<table><thead><tr><th>At</th><th>Workflow</th><th>State entered</th></tr></thead><tbody>${steps}</tbody></table>
</body></html>
`;
}
