import { runLocally as run } from '../../lib/rehearsal/local-workflow';
import { scanForSecrets } from './secret-scan';

export {
  loadDefinition,
  localSubstitutions,
  publishStates,
  STATEMACHINES,
  type LocalExecution,
} from '../../lib/rehearsal/local-workflow';

/** Runs a definition locally; its whole history (every state's input and output) is scanned for passwords. */
export const runLocally: typeof run = async (...args) => {
  const execution = await run(...args);
  scanForSecrets('execution history', JSON.stringify(execution.history));
  return execution;
};
