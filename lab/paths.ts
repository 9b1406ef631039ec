// Where the lab keeps its runtime files: defined beside the servers that use them too
// (servers/net/paths.ts), as servers/ imports nothing from lab/.
export { labDir, repoRoot } from '../servers/net/paths.ts';
