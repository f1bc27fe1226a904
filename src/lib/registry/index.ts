/** The model registry for pipeline steps, the CLI and the model server. */
export { openRegistry, parseModelRef, formatModelRef, type ModelRef } from "./open-registry.js";
export {
  currentUser,
  registerModel,
  promoteAlias,
  rollbackAlias,
  unpinAlias,
  type PromoteOptions,
  type PromoteResult,
} from "./promote-alias.js";
export {
  deployEvent,
  describeHook,
  loadDeployHooks,
  runDeployHooks,
  type CommandHook,
  type DeployEvent,
  type DeployHook,
  type WebhookHook,
} from "./deploy-hooks.js";
export type {
  AliasChange,
  AliasEvent,
  AliasPin,
  AliasRecord,
  GateVerdict,
  ModelSummary,
  ModelVersionRecord,
  PinPolicy,
  PredictionLogEntry,
  RegisterVersionInput,
  RegistryStore,
} from "../../index.js";
