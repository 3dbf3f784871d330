// Ctrl-C during a bench run.

/** Ctrl-C stops sending; what was sent is still awaited and reported. */
export function onInterrupt(): { stopped: () => boolean; dispose: () => void } {
  let stopped = false;
  const handler = (): void => {
    if (stopped) process.exit(130);
    stopped = true;
  };
  process.on('SIGINT', handler);
  return { stopped: () => stopped, dispose: () => process.removeListener('SIGINT', handler) };
}
