/**
 * Rewrites the configuration table in README.md from core/config/variables.ts, so the
 * documentation and the code cannot drift (test/core/config.test.ts checks they agree).
 * Run with `npm run docs:config`; prettier formats the result.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { isSecret, VARIABLES, type VariableDoc } from '../core/config/variables.js';

const README = new URL('../README.md', import.meta.url);

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** Secrets say that they may come from a file (Docker and Kubernetes secrets). */
const describe = (v: VariableDoc): string =>
  isSecret(v) ? `${v.description} Or from a file: \`${v.name}_FILE\`.` : v.description;

export function configTable(variables: readonly VariableDoc[] = VARIABLES): string {
  const rows = [
    '| variable | expects | default | what it does |',
    '| --- | --- | --- | --- |',
    ...variables.map((v) => `| \`${v.name}\` | ${cell(v.expects)} | ${cell(v.default)} | ${cell(describe(v))} |`),
  ];
  return rows.join('\n');
}

/** `text` (a README) with its configuration table replaced by `table`. */
export function replaceTable(text: string, table: string): string {
  const start = text.indexOf('| variable ', text.indexOf('## Configuration'));
  if (start < 0) throw new Error('README has no configuration table under "## Configuration"');
  let end = start;
  for (;;) {
    const next = text.indexOf('\n', end);
    if (next < 0 || !text.startsWith('|', next + 1)) {
      end = next < 0 ? text.length : next;
      break;
    }
    end = next + 1;
  }
  return text.slice(0, start) + table + text.slice(end);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await writeFile(README, replaceTable(await readFile(README, 'utf8'), configTable()));
  console.log(`README configuration table: ${VARIABLES.length} variables`);
}
