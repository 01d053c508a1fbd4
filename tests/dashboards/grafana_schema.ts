/**
 * What tests/dashboards/test_grafana_schema.py type-checks every generated dashboard against: Grafana's own
 * `Dashboard` type from @grafana/schema (the test writes one copy of this file per pinned schema version,
 * importing from that version's package instead of "@grafana/schema").
 *
 * Two adjustments, neither of which accepts a key or a value Grafana's type does not:
 * - `Loose`: Grafana's JSON holds an enum-typed field as the enum's value ("absolute", 1), which TypeScript
 *   does not take for a string enum (`ThresholdsMode.Absolute`); string enums are compared as their values.
 * - `InfluxQLQuery`: Grafana types a data source's query as an extension of `DataQuery` (panel targets are
 *   `Record<string, unknown>` in the schema, annotation targets `DataQuery`; the data source plug-in adds its
 *   own fields). This names the fields the InfluxDB data source reads in raw InfluxQL mode, so a misspelt
 *   key in a target is an error too.
 *
 * A dashboard is written as an object literal of type `Loose<Checked>` (unknown keys are errors at every
 * depth), then assigned to `Loose<Dashboard>`: it is a Dashboard by Grafana's type, with nothing else.
 */
import type { AnnotationQuery, Dashboard, DataQuery, Panel, RowPanel } from "@grafana/schema";

export type Loose<T> = T extends string
  ? `${T}`
  : T extends number | boolean | bigint | symbol | null | undefined
    ? T
    : T extends readonly (infer U)[]
      ? Loose<U>[]
      : T extends object
        ? { [K in keyof T]: Loose<T[K]> }
        : T;

/** A raw InfluxQL query as Grafana's InfluxDB data source stores it, in a panel or an annotation. */
export interface InfluxQLQuery extends DataQuery {
  query: string;
  rawQuery: true;
  resultFormat: "time_series" | "table" | "logs";
  /** Series name pattern ($tag_device, $col). */
  alias?: string;
  /** Annotation queries: the result columns that become the annotation's text and tags. */
  textColumn?: string;
  tagsColumn?: string;
  /** Set by Grafana's InfluxDB annotation editor. */
  fromAnnotations?: boolean;
  textEditor?: boolean;
}

type InfluxPanel = Omit<Panel, "targets"> & { targets?: InfluxQLQuery[] };

export type Checked = Omit<Dashboard, "panels" | "annotations"> & {
  panels?: Array<InfluxPanel | RowPanel>;
  annotations?: { list?: Array<AnnotationQuery<InfluxQLQuery>> };
};

export type GrafanaDashboard = Loose<Dashboard>;
