// Node --import hook for tests: any import of commander, sharp or vega fails, so a command that runs under it
// provably loads none of them.
import { register } from 'node:module';

const hooks = `
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  if (/[\\\\/]node_modules[\\\\/](?:\\.pnpm[\\\\/][^\\\\/]+[\\\\/]node_modules[\\\\/])?(commander|sharp|vega)[\\\\/]/.test(resolved.url)) {
    throw new Error('refused import of ' + resolved.url);
  }
  return resolved;
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
