// Node's parseArgs says its errors in English; these say them in the learner's language, naming
// the option or argument as it was typed. English keeps Node's own words.

export const args = {
  unknownOption: (option: string, nodeSaid: string) => nodeSaid || `Unknown option '${option}'`,
  missingValue: (option: string, nodeSaid: string) => nodeSaid || `Option '${option} <value>' argument missing`,
  takesNoValue: (option: string, nodeSaid: string) => nodeSaid || `Option '${option}' does not take an argument`,
  unexpectedArgument: (arg: string, nodeSaid: string) => nodeSaid || `Unexpected argument '${arg}'. This command does not take positional arguments`,
};
