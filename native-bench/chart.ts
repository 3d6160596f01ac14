// bench-results.svg: every figure that has a baseline, as a bar of ours / baseline (higher is
// better for us), with the 1.0x line where we equal the ceiling or the peer. Plain SVG text, no
// library: one row per figure.
import fs from 'node:fs';
import type { Figure } from './report.js';

const ROW = 22;
const LABEL = 470;
const BAR = 360;
const MAX_RATIO = 3;

function xmlText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function renderChart(figures: Figure[], title: string): string {
  const rows = figures.filter((f) => f.ratio !== undefined && f.baseline !== undefined);
  const width = LABEL + BAR + 90;
  const height = 50 + rows.length * ROW + 30;
  const x = (ratio: number) => LABEL + (Math.min(ratio, MAX_RATIO) / MAX_RATIO) * BAR;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${xmlText(title)}</text>`,
    `<text x="10" y="38" fill="#555">ours / baseline measured in the same run (bars stop at ${MAX_RATIO}x)</text>`,
  ];
  rows.forEach((f, i) => {
    const y = 50 + i * ROW;
    const ratio = f.ratio!;
    const color = ratio >= 1 ? '#2e7d32' : ratio >= 0.5 ? '#f9a825' : '#c62828';
    parts.push(
      `<text x="10" y="${y + 15}">${xmlText(`${f.suite}: ${f.name}`)}</text>`,
      `<title>${xmlText(`${f.name}: ${f.median} ${f.unit} vs ${f.baseline!.name}: ${f.baseline!.median}`)}</title>`,
      `<rect x="${LABEL}" y="${y + 4}" width="${(x(ratio) - LABEL).toFixed(1)}" height="${ROW - 8}" fill="${color}"/>`,
      `<text x="${(x(ratio) + 4).toFixed(1)}" y="${y + 15}">${ratio.toFixed(2)}x vs ${xmlText(f.baseline!.name)}</text>`,
    );
  });
  const one = x(1).toFixed(1);
  parts.push(
    `<line x1="${one}" y1="44" x2="${one}" y2="${50 + rows.length * ROW}" stroke="#000" stroke-dasharray="4 3"/>`,
    `<text x="${one}" y="${height - 10}" text-anchor="middle">1.0x</text>`,
    '</svg>',
  );
  return `${parts.join('\n')}\n`;
}

export function writeChart(file: string, figures: Figure[], title: string): void {
  fs.writeFileSync(file, renderChart(figures, title));
}
