export type {
  GateSpec,
  GateVerdict,
  VerdictStatus,
  Direction,
  MetricGate,
  RelativeGate,
  SignificanceGate,
  FairnessGate,
  LatencyGate,
  SizeGate,
} from "./gate-spec.js";
export { evaluateGates, failedGates, type GateEvidence } from "./evaluate-gates.js";
export { gates, type GatesResult, type GatesStepOptions } from "./gates-step.js";
