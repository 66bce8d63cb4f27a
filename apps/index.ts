import type { AppConfig, AppKind } from '../protocol/app-config.ts';
import type { LaunchSpec } from '../protocol/launch-spec.ts';
import { ValidationError } from '../protocol/validate.ts';
import { compileContainer, type CompileOptions } from './container.ts';
import { compileJupyter } from './jupyter.ts';

export type { CompileOptions } from './container.ts';

/** How one app kind turns its config into a launch spec. */
export type Compiler<C extends AppConfig> = (config: C, options: CompileOptions) => LaunchSpec;

/** One entry per app kind (DESIGN.md: one file per kind in apps/). */
export const COMPILERS: { readonly [K in AppKind]?: Compiler<Extract<AppConfig, { app: K }>> } = {
  container: compileContainer,
  jupyter: compileJupyter,
};

/** Compiles a checked app config of any kind; a kind without a compiler yet is refused on `app`. */
export function compileApp(config: AppConfig, options: CompileOptions): LaunchSpec {
  const compile = COMPILERS[config.app] as Compiler<AppConfig> | undefined;
  if (!compile) throw new ValidationError('app', `"${config.app}" apps cannot be launched yet`);
  return compile(config, options);
}
