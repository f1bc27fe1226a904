/** docs/testing.md tests "./pipeline.js": the churn pipeline of docs/pipelines.md. */
export { default } from "./pipelines-1.js";
