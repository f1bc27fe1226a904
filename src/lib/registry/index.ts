/** The model registry for pipeline steps, the CLI and the model server. */
export { openRegistry, parseModelRef, formatModelRef, resolveModelVersion, type ModelRef } from "./open-registry.js";
export {
  currentUser,
  registerModel,
  promoteAlias,
  rollbackAlias,
  unpinAlias,
  type PromoteOptions,
  type PromoteResult,
} from "./promote-alias.js";
export { artifactLineage, modelLineage, type ArtifactLineage, type ModelLineage } from "./model-lineage.js";
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
} from "../../store/registry-store.js";
