/**
 * The data contract every landed partition must meet. Drafted with
 * `trainyard contract infer examples/flight-delays/landing/flights-2001-01.parquet`, then edited:
 * ranges widened to what is physically plausible, airport codes constrained.
 */
import type { Contract } from "trainyard/data";

export const flightContract: Contract = {
  name: "flights",
  columns: {
    date: { type: "timestamp", nullable: false },
    delay: { type: "integer", maxNullFraction: 0.02, min: -1440, max: 2880 },
    distance: { type: "integer", nullable: false, min: 1, max: 6000 },
    origin: { type: "string", nullable: false, pattern: "^[A-Z0-9]{3}$" },
    destination: { type: "string", nullable: false, pattern: "^[A-Z0-9]{3}$" },
  },
  table: { minRows: 1000 },
};
