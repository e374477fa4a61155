import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CATALOGUE } from './index';
import type { BehaviourRow, ErrorRow } from './types';

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const cite = (row: BehaviourRow) => `[source](${row.source.url}): “${cell(row.source.quote)}”`;
const sim = (row: BehaviourRow) => (row.simulated ? 'yes' : 'no');
const code = (e: ErrorRow) =>
  `\`${e.code}\` (${e.status})${e.sdkName === undefined ? '' : `, SDK: \`${e.sdkName}\``}`;

/**
 * docs/aws-behaviour.md, rendered from the catalogue (`npx tsx lib/local-aws/catalogue/render.ts`); the test
 * suite fails when the file and the catalogue differ.
 */
export function renderCatalogue(): string {
  const lines = [
    '# AWS behaviour catalogue',
    '',
    'Every AWS API the Lambdas, the workflows (service integrations) and the `dr` CLI call, with the documented',
    'behaviour the code relies on and every error mode it must handle, each citing the API reference or developer',
    'guide. The local simulators (`lib/local-aws/`) implement these rows and nothing else: a simulator can only',
    'raise an error listed here, a call the catalogue does not list fails, and each row marked simulated has a test',
    'of the simulator itself (`test/local-aws/`, named by the row id in brackets). In local runs (tests and the',
    'rehearsal) every call a step makes is also authorized against its role from the synthesized app.',
    '',
    'Rendered from `lib/local-aws/catalogue/` by `npx tsx lib/local-aws/catalogue/render.ts`; do not edit by hand.',
    '',
  ];
  for (const service of CATALOGUE) {
    lines.push(`## ${service.title} (\`${service.service}\`)`, '');
    const shared: ErrorRow[] = [service.accessDenied, service.throttling, ...(service.common ?? [])];
    lines.push('| Any call | Error (HTTP) | When | Simulated | Source |', '| --- | --- | --- | --- | --- |');
    for (const e of shared)
      lines.push(`| \`${e.id}\` | ${code(e)} | ${cell(e.text)} | ${sim(e)} | ${cite(e)} |`);
    lines.push('');
    for (const op of service.operations) {
      lines.push(`### ${op.operation}`, '');
      lines.push(
        `Reference: ${op.reference}. Called by: ${op.calledBy.map((c) => `\`${c}\``).join(', ')}.`,
        '',
      );
      lines.push('| Row | Relied on | Simulated | Source |', '| --- | --- | --- | --- |');
      for (const r of op.relies) lines.push(`| \`${r.id}\` | ${cell(r.text)} | ${sim(r)} | ${cite(r)} |`);
      if (op.errors.length > 0) {
        lines.push(
          '',
          '| Row | Error (HTTP) | When | Simulated | Source |',
          '| --- | --- | --- | --- | --- |',
        );
        for (const e of op.errors)
          lines.push(`| \`${e.id}\` | ${code(e)} | ${cell(e.text)} | ${sim(e)} | ${cite(e)} |`);
      }
      lines.push('');
    }
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

export const CATALOGUE_DOC = join(__dirname, '..', '..', '..', 'docs', 'aws-behaviour.md');

if (require.main === module) writeFileSync(CATALOGUE_DOC, renderCatalogue());
