// The process's language and the catalogues live with the plumbing (servers/net/lang.ts), so the
// roles' own commands can speak both languages without reaching up into lab/. One module, one
// language per process: this file only re-exports it.
export * from '../servers/net/lang.ts';
