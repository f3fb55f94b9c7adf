/**
 * What a button that calls the API needs: busy while the call runs, and its error (cleared when it runs again).
 * `run` answers the call's result, or undefined when it failed (the error is then in `error`).
 */
import { useState } from "preact/hooks";

export function useAction<E = unknown>() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<E | null>(null);
  async function run<T>(work: () => Promise<T>): Promise<T | undefined> {
    setBusy(true);
    setError(null);
    try {
      return await work();
    } catch (caught) {
      setError(caught as E);
      return undefined;
    } finally {
      setBusy(false);
    }
  }
  return { busy, error, setError, run };
}
