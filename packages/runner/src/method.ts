// Methods come from @densepure/voting's method table; the runner passes its names on to its own users (the
// apps name methods, check their settings and sort reports through it).
export {
  type Method,
  type MethodKind,
  type MethodReads,
  type MethodSetting,
  type MethodSettingsError,
  type MethodSlugError,
  METHOD_KINDS,
  METHOD_SETTINGS,
  describeMethod,
  isMethodKind,
  methodEntry,
  methodIdentity,
  methodLabel,
  methodOrder,
  methodReads,
  methodSlug,
  needsDenoiser,
  parseMethodSettings,
  parseMethodSlug,
  votesOf,
} from '@densepure/voting';
