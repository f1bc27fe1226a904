/** Stand-ins for a user's own code, named by the churn example in docs/pipelines.md (type-checked only). */
export async function exportParquet(workdir: string, months: number): Promise<string> {
  return `${workdir}/churn-${months}.parquet`;
}
export async function fit(data: string, lr: number, workdir: string): Promise<string> {
  return `${workdir}/model-${lr}-${data.length}`;
}
export function score(_data: unknown, lr: number): number {
  return 1 - lr;
}
