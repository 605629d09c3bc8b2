import type { Lake } from '../lake/table/lake.js';
import type { Alert, WindowsState } from './fraud-windows.js';
import { emptyState } from './fraud-windows.js';
import type { CartStates } from './normalize.js';

/**
 * The micro-batch's state, one JSON object in the lake (`_shopstream/microbatch/state.json`): saved
 * before a batch's alerts go out (when it has any) and after, so a restart re-emits only the
 * alerts of an interrupted batch, with the same ids and versions.
 */
export interface SavedState {
  windows: WindowsState;
  /** Source files already taken: path -> size:mtime. */
  files: Record<string, string>;
  spoolSequence: number;
  /** Alerts computed but not yet known to be emitted (re-emitted after a crash, same ids). */
  pending: Alert[];
  /** Each user's last cart state per currency, as of the processed batches (the value at risk's previous cart). */
  carts?: CartStates;
}

export const STATE_KEY = '_shopstream/microbatch/state.json';

export async function loadState(lake: Lake): Promise<SavedState> {
  try {
    return JSON.parse(Buffer.from(await lake.store.get(STATE_KEY)).toString('utf8')) as SavedState;
  } catch {
    return { windows: emptyState(), files: {}, spoolSequence: 0, pending: [] };
  }
}

/** The state without its pending alerts, serialized: what a batch's two saves share. */
export function stateBody(state: SavedState): string {
  const { pending: _pending, ...rest } = state;
  return JSON.stringify(rest);
}

/**
 * Writes the state. `body`: stateBody(state) when already serialized for this batch (the windows,
 * carts and files unchanged since): only the pending alerts are serialized again.
 */
export async function saveState(lake: Lake, state: SavedState, body = stateBody(state)): Promise<void> {
  // the body is a JSON object: the pending alerts go in as its last member
  const members = body === '{}' ? '{' : `${body.slice(0, -1)},`;
  await lake.store.put(STATE_KEY, `${members}"pending":${JSON.stringify(state.pending)}}`);
}
