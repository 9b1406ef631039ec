// Where the lab keeps its runtime files. Everything under .lab/ is generated and git-ignored:
// certificates and keys, the TLS key log, the order log, state.json. The roles' CLIs take their
// default paths from here (the lab passes explicit ones), so servers/ never reaches up into lab/.
import path from 'node:path';

export const repoRoot = path.resolve(import.meta.dirname, '..', '..');

/** The runtime folder; LAB_DIR moves it (tests give each run its own). */
export function labDir(): string {
  return path.resolve(process.env.LAB_DIR ?? path.join(repoRoot, '.lab'));
}
