import type { Command } from 'commander';
import path from 'node:path';

/** Width the reference is wrapped to; a terminal's width would otherwise change the file. */
export const HELP_WIDTH = 100;

/** Paths under the checkout shown relative to it, so the reference reads the same from any clone. */
function relativeToCheckout(text: string, root: string): string {
  return text
    .split(root + path.sep).join('')
    .split(root).join('.')
    .split(path.dirname(root) + path.sep).join('..' + path.sep);
}

/**
 * A command's `--help`, independent of where the checkout lives. Defaults that
 * are absolute paths (the registry, data folders) are made relative before
 * commander wraps the text: relativising after wrapping would leave line
 * breaks that depend on the length of the checkout's path.
 */
export function helpText(command: Command, root: string): string {
  for (const option of command.options) {
    if (typeof option.defaultValue === 'string' && option.defaultValue.includes(path.dirname(root))) {
      option.defaultValueDescription ??= JSON.stringify(relativeToCheckout(option.defaultValue, root));
    }
  }
  command.configureOutput({ getOutHelpWidth: () => HELP_WIDTH, getErrHelpWidth: () => HELP_WIDTH, getOutHasColors: () => false });
  return relativeToCheckout(command.helpInformation(), root).trimEnd();
}
