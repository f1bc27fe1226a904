export interface BundleFile {
  file: string;
  raw: number;
  gzip: number;
}
/** The web UI's first-screen files (entry, static imports, CSS) with raw and gzipped sizes. */
export function firstScreenBundle(dir?: string): { files: BundleFile[]; raw: number; gzip: number; lazy: string[] };
