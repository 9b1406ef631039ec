// Where the lab keeps its runtime files. Everything under .lab/ is generated and git-ignored:
// certificates and keys, the TLS key log, the order log, state.json. The roles' CLIs take their
// default paths from here (the lab passes explicit ones), so servers/ never reaches up into lab/.
import path from 'node:path';

// LAB_REPO_ROOT: set for a role started as a process of its own from the lab's one-file bundle,
// whose own folder is not the sources' (lab/role-process.ts).
export const repoRoot = process.env.LAB_REPO_ROOT ?? path.resolve(import.meta.dirname, '..', '..');

/** The runtime folder; LAB_DIR moves it (tests give each run its own). */
export function labDir(): string {
  return path.resolve(process.env.LAB_DIR ?? path.join(repoRoot, '.lab'));
}
