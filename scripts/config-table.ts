/**
 * Rewrites the configuration table in README.md from core/config/variables.ts, so the
 * documentation and the code cannot drift (test/core/config.test.ts checks they agree).
 * Run with `npm run docs:config`; prettier formats the result.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { VARIABLES } from '../core/config/variables.js';

const README = new URL('../README.md', import.meta.url);

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function configTable(): string {
  const rows = [
    '| variable | expects | default | what it does |',
    '| --- | --- | --- | --- |',
    ...VARIABLES.map((v) => `| \`${v.name}\` | ${cell(v.expects)} | ${cell(v.default)} | ${cell(v.description)} |`),
  ];
  return rows.join('\n');
}

const text = await readFile(README, 'utf8');
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
await writeFile(README, text.slice(0, start) + configTable() + text.slice(end));
console.log(`README configuration table: ${VARIABLES.length} variables`);
