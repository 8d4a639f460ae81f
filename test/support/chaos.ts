/**
 * Shared driver for failure tests and drills. It lives with the drill in
 * packages/cli/src/drill/load.ts; re-exported here so the failure tests keep their import.
 */
export {
  type SessionTally,
  StreamingSessions,
  type Tally,
  utteranceAudio,
} from '../../packages/cli/src/drill/load';
